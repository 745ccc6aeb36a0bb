"""The one reader of Pulumi configuration: the `berth:` namespace in, a validated Stack out.

Pulumi hands the program every config value as text (objects as JSON) through its runtime; this module
turns that back into the shapes the stack file had and refuses a `berth:secrets` that was stored in
plain text.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi.runtime import config as runtime_config

from .config import SCALAR_KEYS, Stack, load
from .errors import ConfigError, Problem

NAMESPACE = "berth"


def pulumi_values(namespace: str = NAMESPACE) -> dict[str, str]:
    """Every `<namespace>:` key the engine passed, as the engine passed it (text)."""
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{namespace}:"
    return {key[len(prefix):]: value for key, value in merged.items() if key.startswith(prefix)}


def decode(values: dict[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """Text back to YAML shapes: JSON for sections, text for scalar keys."""
    raw: dict[str, Any] = {}
    problems = []
    for key, value in values.items():
        if key in SCALAR_KEYS or not isinstance(value, str):
            raw[key] = value
            continue
        try:
            raw[key] = json.loads(value)
        except json.JSONDecodeError:
            problems.append(Problem(f"{NAMESPACE}:{key}", "must be a YAML mapping or list, not text"))
    return raw, problems


def read_stack() -> Stack:
    """Validate the running stack's config before any resource is declared."""
    raw, problems = decode(pulumi_values())
    if "secrets" in raw and not runtime_config.is_config_secret(f"{NAMESPACE}:secrets"):
        problems.append(Problem(f"{NAMESPACE}:secrets", "holds plain text; set each value with "
                                                        "pulumi config set --secret --path 'secrets.NAME'"))
    try:
        stack = load(raw)
    except ConfigError as error:
        raise ConfigError([*problems, *error.problems]) from None
    if problems:
        raise ConfigError(problems)
    return stack
