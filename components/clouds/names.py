"""The names Berth gives cloud resources, and the clouds' rules for them. Pure: validation checks a stack's
names against the rules before anything is declared, and the clouds declare exactly these names.

Every name carries the stack, so a second stack of the same account or project (staging beside
production) never collides. What outlives a stack (volumes, primary IPs: retained on `pulumi destroy`)
also carries a generation drawn once per stack, so re-creating a destroyed stack does not collide with
what the old one left behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GENERATION_BYTES = 2  # four hex digits: distinct from what an earlier life of the same stack left behind

# Stack names go into DigitalOcean volume names (lowercase letters, digits and '-'), tags (no '.') and
# firewall and VPC names (no '_'), and into Hetzner server names, which are hostnames.
STACK_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    what: str
    pattern: re.Pattern
    max_length: int


# DigitalOcean's API (digitalocean/openapi: volumes/models/volume_base.yml, tags/models/tags.yml) and
# Hetzner's (server names are RFC 1123 hostnames; label values per hcloud-go hcloud/labels.go).
DIGITALOCEAN_VOLUME = Rule("DigitalOcean volume name", re.compile(r"^[a-z][a-z0-9-]*$"), 64)
DIGITALOCEAN_TAG = Rule("DigitalOcean tag", re.compile(r"^[a-zA-Z0-9_:-]+$"), 255)
HETZNER_SERVER = Rule("Hetzner server name (a hostname)", re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"), 63)
HETZNER_LABEL = Rule("Hetzner label value", re.compile(r"^(([a-z0-9A-Z](?:[\-_.]|[a-z0-9A-Z]){0,62})?[a-z0-9A-Z]$|$)"),
                     64)


@dataclass(frozen=True)
class Names:
    service: str
    stack: str

    @property
    def group(self) -> str:
        """The stack's shared resources: VPC, firewall, SSH keys."""
        return f"{self.service}-{self.stack}"

    @property
    def tag(self) -> str:
        """Marks exactly this stack's hosts (two stacks of one service never share a firewall)."""
        return f"berth-{self.service}-{self.stack}"

    def host(self, role: str, number: int) -> str:
        return f"{self.service}-{self.stack}-{role}-{number}"

    def kept(self, role: str, number: int, kind: str, generation: str) -> str:
        """A resource that outlives the stack: the host's name, what it is, and the stack's generation."""
        return f"{self.host(role, number)}-{kind}-{generation}"

    def key(self, digest: str) -> str:
        return f"{self.group}-{digest}"

    def owns_key(self, name: str) -> bool:
        """A key this stack created: named `<service>-<stack>-<digest>`, or `-<n>` as before the digest."""
        return re.fullmatch(re.escape(self.group) + r"-([0-9]+|[0-9a-f]{12})", name) is not None


def broken_rule(rule: Rule, name: str) -> str | None:
    """Why `name` breaks `rule`, or None."""
    if len(name) > rule.max_length:
        return f"the {rule.what} {name!r} has {len(name)} characters, over the {rule.max_length} allowed"
    if not rule.pattern.match(name):
        return f"the {rule.what} {name!r} holds characters it refuses"
    return None
