"""Validation of the `berth:` namespace: every field, then the rules that span sections, all at once.

Models live in config.py, the cross-section rules in checks.py; this module runs both (so neither
imports the other) and turns their findings into one ConfigError, with lines when the file is known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .checks import cross_section_problems, stack_name_problems
from .config import Section, Stack, keys_at, model_of, paths_of
from .errors import ConfigError, Problem, from_pydantic, loc_of


def load(raw: dict[str, Any], lines: Callable[[tuple], int | None] | None = None,
         stack_name: str | None = None) -> Stack:
    """Validate the `berth:` namespace (keys without the prefix) and return the Stack, or raise one
    ConfigError with every problem: field errors and the cross-section rules the valid sections allow,
    each with its line when `lines` knows it, and, given the stack's name, the names it makes."""
    # The cloud decides which sizes exist; passing it as context lets each role check its own.
    cloud = raw.get("cloud") if isinstance(raw, dict) else None
    provider = cloud.get("provider") if isinstance(cloud, dict) else None
    region = cloud.get("region") if isinstance(cloud, dict) else None
    context = {"provider": provider if isinstance(provider, str) else None,
               "region": region if isinstance(region, str) else None}
    try:
        stack = Stack.model_validate(raw, context=context)
        problems = cross_section_problems(stack) + _name_problems(stack, stack_name)
    except ValidationError as error:
        problems = from_pydantic(error.errors(), keys_at, paths_of)
        partial = _partial(raw, error.errors(), context)
        if partial is not None:
            problems += cross_section_problems(partial, tolerant=True) + _name_problems(partial, stack_name, True)
    if problems:
        locate = lines or (lambda loc: None)
        raise ConfigError([_other_key_lines(p, locate).at(locate(loc_of(p.path))) for p in problems])
    return stack


_OTHER_KEY = re.compile(r"\((berth:[A-Za-z0-9_.\[\]-]+)\)")  # "(berth:proxy.run.httpsPort)" in a message


def _other_key_lines(problem: Problem, locate: Callable[[tuple], int | None]) -> Problem:
    """A rule that names a second key, in parentheses, as the other side of a clash: that key's line too, so
    both places are found from the one message."""
    def lined(match: re.Match) -> str:
        line = locate(loc_of(match.group(1)))
        return f"({match.group(1)}, line {line})" if line else match.group(0)

    message = _OTHER_KEY.sub(lined, problem.message)
    return problem if message == problem.message else Problem(problem.path, message, problem.missing_secret,
                                                              problem.line)


def _name_problems(stack: Stack, stack_name: str | None, tolerant: bool = False) -> list[Problem]:
    try:
        return stack_name_problems(stack, stack_name) if stack_name is not None else []
    except (AttributeError, KeyError, TypeError):
        if not tolerant:
            raise
        return []


class _Broken:
    """A value that failed validation, inside a partial Stack: any use of it (an attribute, a comparison, its
    truth or text) raises AttributeError, so a rule that reads it is skipped instead of misjudging it."""

    def _refuse(self, *args, **kwargs):
        raise AttributeError("a value that failed validation")

    __getattr__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __bool__ = __len__ = __iter__ = __contains__ = __str__ = __format__ = __int__ = __float__ = _refuse
    __hash__ = None  # type: ignore[assignment]


def _partial(raw: Any, errors: list[dict], context: dict) -> Stack | None:
    """The stack as far as it validates, so the cross-section rules that need only valid values still report
    (at once, with the field errors). A section with a bad field keeps its good fields: an unknown region
    must not hide that the provider is hetzner, which the volume's minimum size depends on."""
    if not isinstance(raw, dict):
        return None
    bad_fields: dict[str, set[str] | None] = {}  # section -> its failed fields, None: the section as a whole
    for error in errors:
        loc = error["loc"]
        if not loc:
            continue
        if len(loc) > 1 and isinstance(loc[1], str) and bad_fields.get(loc[0], set()) is not None:
            bad_fields.setdefault(loc[0], set()).add(loc[1])
        else:
            bad_fields[loc[0]] = None
    values: dict[str, Any] = {}
    for name, field in Stack.model_fields.items():
        key = field.alias or name
        if key in bad_fields:
            values[name] = _salvaged(field.annotation, raw.get(key), bad_fields[key], context)
            continue
        if key not in raw:
            continue
        try:
            values[name] = TypeAdapter(field.annotation).validate_python(raw[key], context=context)
        except ValidationError:
            continue
    return Stack.model_construct(**values)


def _salvaged(annotation: Any, value: Any, bad: set[str] | None, context: dict) -> Any:
    """A section with its failed fields broken and the others validated; never a default in a broken
    value's place, so the rules that read it are skipped."""
    model = model_of(annotation)
    if bad is None or not isinstance(value, dict) or not (isinstance(model, type) and issubclass(model, Section)):
        return _Broken()
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in bad:
            fields[name] = _Broken()
        elif key in value:
            try:
                fields[name] = TypeAdapter(field.annotation).validate_python(value[key], context=context)
            except ValidationError:
                fields[name] = _Broken()
    return model.model_construct(**fields)
