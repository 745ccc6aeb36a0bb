"""Read `Pulumi.<stack>.yaml` the way the Pulumi engine would hand it to the program, without the CLI.

The offline plan and the tests use this: encrypted values cannot be decrypted here, so each
`{secure: ...}` under `berth:secrets` becomes a placeholder that stays a secret all the way through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem
from .settings import NAMESPACE

PLACEHOLDER = "offline-placeholder-secret"


@dataclass
class StackFile:
    name: str
    berth: dict[str, Any]  # the berth: namespace, keys without prefix, YAML shapes
    other_keys: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def engine_config(self) -> dict[str, str]:
        """What the engine would put in PULUMI_CONFIG: text values, sections as JSON."""
        out = {}
        for key, value in self.berth.items():
            if value is None:  # `key:` with no value: the engine passes nothing
                continue
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, (int, float)):
                text = str(value)
            out[f"{NAMESPACE}:{key}"] = text
        return out

    @property
    def secret_keys(self) -> list[str]:
        return [f"{NAMESPACE}:secrets"] if "secrets" in self.berth else []

    def with_secrets(self, names: list[str]) -> "StackFile":
        """A copy in which these secrets are set (to placeholders): the plan's stand-in for unset values."""
        secrets = dict(self.berth.get("secrets") or {})
        secrets.update({name: PLACEHOLDER for name in names})
        return StackFile(self.name, {**self.berth, "secrets": secrets}, self.other_keys, self.problems)


def parse(name: str, document: dict[str, Any] | None) -> StackFile:
    config = (document or {}).get("config") or {}
    berth: dict[str, Any] = {}
    other = []
    problems = []
    for key, value in config.items():
        namespace, _, rest = str(key).partition(":")
        if namespace != NAMESPACE or not rest:
            other.append(str(key))
            continue
        berth[rest] = value
    secrets = berth.get("secrets")
    if isinstance(secrets, dict):
        placeholders = {}
        for secret_name, value in secrets.items():
            if isinstance(value, dict) and set(value) == {"secure"}:
                placeholders[secret_name] = PLACEHOLDER
            else:
                problems.append(Problem(f"{NAMESPACE}:secrets.{secret_name}",
                                        "is plain text in the stack file; set it with pulumi config set --secret "
                                        f"--path 'secrets.{secret_name}' (the value is not shown here)"))
        berth["secrets"] = placeholders
    return StackFile(name, berth, other, problems)


def read(path: Path) -> StackFile:
    name = path.name.removeprefix("Pulumi.").rsplit(".", 1)[0]
    return parse(name, yaml.safe_load(path.read_text()))
