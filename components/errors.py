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
    line: int | None = None  # in the stack file, when it is known

    def __str__(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line else self.path
        return f"{where}: {self.message}"

    def at(self, line: int | None) -> "Problem":
        return self if line is None or self.line else Problem(self.path, self.message, self.missing_secret, line)


def besides(named: Iterable[Problem], faults: Iterable[Problem]) -> list[Problem]:
    """Validation's faults but those at a key the stack file's own reading already names (a date read as a
    timestamp, a key without its namespace): one message per mistake, the one that says what to write."""
    paths = {problem.path for problem in named}
    return [fault for fault in faults if fault.path not in paths]


class ConfigError(Exception):
    """Every problem in a stack file at once, so one edit fixes them all; unset secrets apart, as the to-do."""

    def __init__(self, problems: Iterable[Problem], file: str | None = None):
        self.problems = sorted(set(problems), key=lambda p: (p.line or 0, p.path, p.message))
        self.file = file
        super().__init__(str(self))

    @property
    def faults(self) -> list[Problem]:
        return [p for p in self.problems if not p.missing_secret]

    @property
    def unset_secrets(self) -> list[Problem]:
        return [p for p in self.problems if p.missing_secret]

    def __str__(self) -> str:
        lines = []
        where = self.file or "The stack configuration"
        if self.faults:
            lines.append(f"{where} has {len(self.faults)} problem{'s' if len(self.faults) > 1 else ''}:")
            lines += [f"  {problem}" for problem in self.faults]
        if self.unset_secrets:
            lines.append("Secrets named but not set (each with: pulumi config set --secret --path 'secrets.NAME' ...):")
            lines += [f"  {p.missing_secret}, named by {p.path}" + (f" (line {p.line})" if p.line else "")
                      for p in self.unset_secrets]
        return "\n".join(lines)

    @property
    def only_missing_secrets(self) -> bool:
        return all(problem.missing_secret for problem in self.problems)


def loc_of(path: str, namespace: str = "berth") -> tuple:
    """berth:servers.web.hosts[0] -> ('servers', 'web', 'hosts', 0): the inverse of key_path."""
    if not path.startswith(f"{namespace}:"):
        return ()
    loc: list[Any] = []
    for part in path.removeprefix(f"{namespace}:").split("."):
        name, *indexes = part.split("[")
        if name:
            loc.append(name)
        loc += [int(i.rstrip("]")) for i in indexes if i.rstrip("]").isdigit()]
    return tuple(loc)


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


# Never echo what the user typed at these keys: it may be a credential pasted in plain text.
_CREDENTIAL_KEYS = {"password", "privateKey", "accessKeyId", "secretAccessKey", "masterKey", "secret"}
# What to call a secret the message asks for, by the key that names it.
SUGGESTED_SECRET_NAMES = {("registry", "password"): "KAMAL_REGISTRY_PASSWORD", ("ssh", "privateKey"): "DEPLOY_SSH_KEY",
                          ("backups", "accessKeyId"): "BACKUPS_ACCESS_KEY_ID",
                          ("backups", "secretAccessKey"): "BACKUPS_SECRET_ACCESS_KEY",
                          ("database", "password"): "POSTGRES_PASSWORD", ("masterKey",): "MEILI_MASTER_KEY"}


def _quiet(loc: tuple) -> bool:
    return bool(loc) and (loc[0] == "secrets" or any(part in _CREDENTIAL_KEYS for part in loc if isinstance(part, str)))


def _suggested_name(loc: tuple) -> str:
    for key, name in SUGGESTED_SECRET_NAMES.items():
        if tuple(part for part in loc if isinstance(part, str))[-len(key):] == key:
            return name
    return "NAME"


def _env_form(loc: tuple) -> str:
    """Kamal's simple env form (`env: {RAILS_ENV: production}`) is Berth's env.clear."""
    if len(loc) >= 2 and loc[-2] == "env":
        return (f"; a value goes under {key_path(loc[:-1])}.clear ({loc[-1]}: ...), a secret's name under "
                f"{key_path(loc[:-1])}.secret, as Kamal's env clear and secret")
    return ""


def from_pydantic(errors: list[dict[str, Any]], keys_at: Callable[[tuple], list[str]],
                  homes: Callable[[str], list[str]] = lambda key: []) -> list[Problem]:
    """Turn pydantic's error list into Problems with key paths and plain wording."""
    problems = []
    for error in errors:
        loc = tuple(error["loc"])
        path = key_path(loc)
        kind = error["type"]
        given = error.get("input")
        # As the file says it: YAML's true/false, not Python's True/False.
        shown = "" if _quiet(loc) else f" (got {str(given).lower() if isinstance(given, bool) else repr(given)})"
        if kind == "missing":
            message = "is required"
        elif kind == "extra_forbidden":
            siblings = keys_at(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), siblings, n=1)
            elsewhere = [f"berth:{h}" for h in homes(str(loc[-1])) if h.rsplit(".", 1)[0] != key_path(loc[:-1])]
            message = "is not a known key" + (f"; did you mean {close[0]!r}?" if close else
                                              f"; it belongs under {' or '.join(elsewhere)}: check its indentation"
                                              if elsewhere else _env_form(loc))
        elif kind == "secret_name":
            name = _suggested_name(loc)
            message = (f"is not the name of a berth:secrets entry (a NAME in capitals). If it is the credential "
                       f"itself, delete it from the file, run pulumi config set --secret --path 'secrets.{name}' "
                       f"<value>, and write {loc[-1]}: {name} here (the value is not shown)")
        elif kind == "value_error":
            message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        elif kind == "literal_error":
            message = f"expected {error['ctx']['expected']}{shown}" + (
                f"; Kamal's ssl: {str(given).lower()} is {'letsencrypt' if given else 'external'} here"
                if loc[-1:] == ("ssl",) and isinstance(given, bool) else "")
        else:
            message = f"{error['msg'][0].lower()}{error['msg'][1:]}{shown}"
        problems.append(Problem(path, message))
    return problems
