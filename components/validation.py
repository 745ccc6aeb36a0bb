"""Validation of the `berth:` namespace: every field, then the rules that span sections, all at once.

Models live in config.py, the cross-section rules in checks.py; this module runs both (so neither
imports the other) and turns their findings into one ConfigError, with lines when the file is known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .checks import cross_section_problems
from .config import Stack, keys_at, paths_of
from .errors import ConfigError, from_pydantic, loc_of


def load(raw: dict[str, Any], lines: Callable[[tuple], int | None] | None = None) -> Stack:
    """Validate the `berth:` namespace (keys without the prefix) and return the Stack, or raise one
    ConfigError with every problem: field errors and the cross-section rules the valid sections allow,
    each with its line when `lines` knows it."""
    # The cloud decides which sizes exist; passing it as context lets each role check its own.
    cloud = raw.get("cloud") if isinstance(raw, dict) else None
    provider = cloud.get("provider") if isinstance(cloud, dict) else None
    region = cloud.get("region") if isinstance(cloud, dict) else None
    context = {"provider": provider if isinstance(provider, str) else None,
               "region": region if isinstance(region, str) else None}
    try:
        stack = Stack.model_validate(raw, context=context)
        problems = cross_section_problems(stack)
    except ValidationError as error:
        problems = from_pydantic(error.errors(), keys_at, paths_of)
        partial = _partial(raw, {e["loc"][0] for e in error.errors() if e["loc"]}, context)
        problems += cross_section_problems(partial, tolerant=True) if partial is not None else []
    if problems:
        locate = lines or (lambda loc: None)
        raise ConfigError([p.at(locate(loc_of(p.path))) for p in problems])
    return stack


class _Broken:
    """A section that failed validation, inside a partial Stack: reading it raises AttributeError."""

    def __getattr__(self, name: str):
        raise AttributeError(name)

    def __iter__(self):
        raise AttributeError("__iter__")


def _partial(raw: Any, broken: set, context: dict) -> Stack | None:
    """The stack as far as it validates: every section without an error, so the cross-section rules that
    need only those can still report (at once, with the field errors)."""
    if not isinstance(raw, dict):
        return None
    values: dict[str, Any] = {}
    for name, field in Stack.model_fields.items():
        key = field.alias or name
        if key in broken:
            values[name] = _Broken()  # never a default in its place: rules that read it are skipped
            continue
        if key not in raw:
            continue
        try:
            values[name] = TypeAdapter(field.annotation).validate_python(raw[key], context=context)
        except ValidationError:
            continue
    return Stack.model_construct(**values)
