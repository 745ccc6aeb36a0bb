"""Which SSH keys a stack creates in the cloud account and which it only refers to. Pure.

DigitalOcean refuses a key that is already in the account ("SSH Key is already in use on your account")
and Hetzner a duplicate fingerprint in a project; a key being there is the normal case (added in the
console, created by a second stack of the same account, staging beside production). So a key already in
the account is referred to, and only a missing one is created. A key this stack created itself, found by
its name, stays this stack's: declaring it again keeps it in the stack's state (and adopts it should the
state have lost it), where dropping it would delete it from the account.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .names import Names


@dataclass(frozen=True)
class AccountKey:
    """An SSH key already in the cloud account, as the provider's getSshKeys lists it."""

    id: str
    name: str
    public_key: str
    fingerprint: str


@dataclass(frozen=True)
class KeyPlan:
    public_key: str
    logical: str  # the resource's name in the stack, from the key itself: reordering keys changes nothing
    legacy_logical: str  # what earlier versions called it, by position, kept as an alias
    name: str  # in the account: the name it already has there, or a new one carrying the stack
    existing: AccountKey | None  # the account's copy of this key
    owned: bool  # declared by this stack; otherwise only referred to

    @property
    def import_id(self) -> str | None:
        return self.existing.id if self.existing and self.owned else None


def key_material(public_key: str) -> tuple[str, ...]:
    """Type and key, without the comment: two lines with the same material are the same key."""
    return tuple(public_key.split()[:2])


def key_digest(public_key: str) -> str:
    return hashlib.sha256(" ".join(key_material(public_key)).encode()).hexdigest()[:12]


def plan_keys(names: Names, authorized_keys: list[str], account: list[AccountKey]) -> list[KeyPlan]:
    plans = []
    for i, public_key in enumerate(authorized_keys):
        existing = next((k for k in account if key_material(k.public_key) == key_material(public_key)), None)
        digest = key_digest(public_key)
        plans.append(KeyPlan(
            public_key=public_key, logical=f"{names.service}-key-{digest}",
            legacy_logical=f"{names.service}-key-{i + 1}",
            name=existing.name if existing else names.key(digest), existing=existing,
            owned=existing is None or names.owns_key(existing.name),
        ))
    return plans
