"""Validation problems, each with the full key path a user types into `pulumi config set --path`."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    message: str
    missing_secret: str | None = None  # set when the only fault is an unset berth:secrets entry

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """Every problem in a stack file at once, so one edit fixes them all."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems))
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"The stack configuration has {len(self.problems)} problem(s):"]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)

    @property
    def only_missing_secrets(self) -> bool:
        return all(problem.missing_secret for problem in self.problems)


def key_path(loc: Iterable[Any], namespace: str = "berth") -> str:
    """('proxy', 'healthcheck', 'interval') -> berth:proxy.healthcheck.interval; list items as [0]."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            path += f".{part}" if path else str(part)
    return f"{namespace}:{path}" if path else namespace


_QUIET_PREFIXES = ("secrets",)  # never echo what the user typed under these keys


def from_pydantic(errors: list[dict[str, Any]], keys_at: Callable[[tuple], list[str]]) -> list[Problem]:
    """Turn pydantic's error list into Problems with key paths and plain wording."""
    problems = []
    for error in errors:
        loc = tuple(error["loc"])
        path = key_path(loc)
        kind = error["type"]
        quiet = bool(loc) and loc[0] in _QUIET_PREFIXES
        shown = "" if quiet else f" (got {error.get('input')!r})"
        if kind == "missing":
            message = "is required"
        elif kind == "extra_forbidden":
            siblings = keys_at(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), siblings, n=1)
            message = "is not a known key" + (f"; did you mean {close[0]!r}?" if close else "")
        elif kind == "value_error":
            message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        elif kind == "literal_error":
            message = f"expected {error['ctx']['expected']}{shown}"
        else:
            message = f"{error['msg'][0].lower()}{error['msg'][1:]}{shown}"
        problems.append(Problem(path, message))
    return problems
