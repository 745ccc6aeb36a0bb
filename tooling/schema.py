"""The JSON Schema of `Pulumi.<stack>.yaml`, generated from the models so it never drifts from them.

Editors use it for completion and early red squiggles (see README); the test suite checks every
shipped stack and example against it. Regenerate with `make schema`.
"""

from __future__ import annotations

import json
from typing import Any

from components.config import Stack
from components.stackfile import NAMESPACE

_SECURE = {
    "type": "object",
    "description": "An encrypted value written by `pulumi config set --secret --path 'secrets.NAME'`.",
    "properties": {"secure": {"type": "string"}},
    "required": ["secure"],
    "additionalProperties": False,
}


def stack_file_schema() -> dict[str, Any]:
    inner = Stack.model_json_schema(by_alias=True)
    definitions = inner.pop("$defs", {})
    properties = {f"{NAMESPACE}:{key}": value for key, value in inner["properties"].items()}
    properties[f"{NAMESPACE}:secrets"] = {
        "type": "object",
        "description": "Every secret the stack uses, by name; everything else refers to these names.",
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "additionalProperties": _SECURE,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Berth stack file (Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": properties,
                "required": [f"{NAMESPACE}:{key}" for key in inner.get("required", [])],
                # Provider settings such as digitalocean:token live beside berth: keys.
                "patternProperties": {f"^(?!{NAMESPACE}:)[A-Za-z0-9_-]+:.+$": {}},
                "additionalProperties": False,
            },
            "encryptionsalt": {"type": "string"},
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
        },
        "required": ["config"],
        "$defs": definitions,
    }


if __name__ == "__main__":
    print(json.dumps(stack_file_schema(), indent=2, sort_keys=True))
