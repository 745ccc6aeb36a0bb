"""What a real provider's schema tells the engine: which inputs exist, their defaults, and which changes
replace a resource. A lab plugin declares each resource type it serves as a `Schema`, copied attribute by
attribute from the provider's source (cited in `source`; docs/compatibility.md has a row per fact).

`check` fills in defaults and refuses what the lab does not model, as a provider's Check refuses what its
schema does not have. `diff` follows the Terraform plugin SDK's rules, which the bridged providers
(docker, cloudflare, tls, random, digitalocean, hcloud) answer with:
- an input the program leaves out is no change when the attribute is Computed (the provider's value
  stands) or when the state holds nothing; otherwise it is a change to nothing (schema.go `diffString`:
  `removed`), and so a diff on every `up` when the provider reads back a value the program never set;
- a changed input replaces the resource when its attribute is ForceNew (RequiresReplace), else updates it;
- a DiffSuppressFunc (`same`) can call two different values equal, an input left out included (it is
  then compared as the type's zero value: schema.go `diffString`, then `DiffSuppressFunc`);
- set attributes (TypeSet) compare without order;
- paths in `ignoreChanges` are left out (the engine also keeps their old inputs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .wire import UNKNOWN, Secret, has_unknown, reveal


@dataclass(frozen=True)
class Attr:
    """One attribute of a resource type, as the real provider's schema declares it."""

    replace: bool = False  # ForceNew / RequiresReplace
    required: bool = False
    computed: bool = False  # Optional+Computed: left out of the program, the provider's value stands
    output: bool = False  # Computed only: set by the provider, never by the program
    default: Any = None  # Default: filled in by Check when the program leaves it out
    secret: bool = False  # Sensitive: kept encrypted in the state
    unordered: bool = False  # TypeSet: order does not matter
    same: Callable[[Any, Any], bool] | None = None  # DiffSuppressFunc


@dataclass(frozen=True)
class Diff:
    changed: list[str]
    replaces: list[str]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def empty(value: Any) -> bool:
    return value in (None, "", 0, False, [], {})


def _canonical(value: Any, unordered: bool) -> Any:
    value = reveal(value)
    if unordered and isinstance(value, list):
        return sorted(json.dumps(item, sort_keys=True) for item in value)
    return value


def _top(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


@dataclass(frozen=True)
class Schema:
    token: str
    attrs: dict[str, Attr]
    source: str  # the provider's file that declares the schema, at the version the SDK wraps

    def check(self, news: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Inputs with defaults filled in, and failures as (property, reason)."""
        failures = []
        for key in sorted(news):
            attr = self.attrs.get(key)
            if attr is None or attr.output:
                failures.append((key, f"the lab's plugin does not model input {key} of {self.token}; add it from "
                                      f"{self.source} (tests/e2e/plugins) before the program may use it"))
        for key, attr in self.attrs.items():
            if attr.required and key not in news:
                failures.append((key, f"Missing required argument: the argument {key!r} is required, but no "
                                      "definition was found."))
        defaults = {k: a.default for k, a in self.attrs.items() if a.default is not None and k not in news}
        return {**defaults, **news}, failures

    def diff(self, olds: dict[str, Any], news: dict[str, Any], ignore: list[str]) -> Diff:
        ignored = {_top(path) for path in ignore}
        changed, replaces, added, removed = [], [], [], []
        for key, attr in self.attrs.items():
            if attr.output or key in ignored:
                continue
            old, new = olds.get(key), news.get(key)
            if new is None:
                if attr.computed or empty(old) or (attr.same is not None and attr.same(reveal(old), None)):
                    continue
                removed.append(key)
            elif not has_unknown(new) and (
                    (attr.same is not None and attr.same(reveal(old), reveal(new)))
                    or _canonical(old, attr.unordered) == _canonical(new, attr.unordered)):
                continue
            elif old is None:
                added.append(key)
            changed.append(key)
            if attr.replace:
                replaces.append(key)
        return Diff(changed, replaces, added, removed)

    def unknown_outputs(self) -> dict[str, Any]:
        """What a preview knows of a new resource's outputs: nothing."""
        return {key: UNKNOWN for key, attr in self.attrs.items() if attr.output}

    def secret_outputs(self, outputs: dict[str, Any]) -> dict[str, Any]:
        """Sensitive attributes are returned as secrets."""
        return {key: Secret(value) if self.attrs.get(key, Attr()).secret and not isinstance(value, Secret)
                and value is not None else value for key, value in outputs.items()}
