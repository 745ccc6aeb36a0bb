"""Cloud firewalls: the rule model and its nftables statements (pure, unit-tested).

Semantics, from the providers' documentation (notes/research-27.md A.8, B.5):
- both are stateful: the answers to a permitted connection pass back (nft `ct state established,related`);
- inbound is an allow-list: once a machine is behind a firewall, inbound traffic no rule permits is dropped
  (dropped, not refused: a client sees a timeout, as on the real clouds);
- outbound differs: DigitalOcean "If no outbound rules are configured, no outbound traffic is permitted";
  Hetzner "If you don't define any rules for the outbound direction, all traffic is allowed" (and once it
  has outbound rules, "DNS resolver traffic" stays allowed, which the lab's resolver is);
- a machine behind several firewalls gets the union of their rules (both providers allow several).

Addresses are CIDRs or bare addresses. The lab's machines have IPv4 only: IPv6 sources are accepted and
kept in the record but render to nothing (no IPv6 packet reaches a machine), and a rule whose addresses are
all IPv6 permits nothing in the lab.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

PROTOCOLS = ("tcp", "udp", "icmp")
OUTBOUND_DEFAULT = {"digitalocean": "drop", "hetzner": "accept"}


@dataclass(frozen=True)
class Rule:
    """One allow rule. `ports`: "22", "8000-9000", or None / "any" / "all" / "1-65535" for every port
    (required by both providers for tcp and udp, absent for icmp). `addresses`: the sources of an
    inbound rule, the destinations of an outbound one."""

    protocol: str
    addresses: tuple[str, ...]
    ports: str | None = None

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"firewall rule protocol {self.protocol!r}: the lab models {', '.join(PROTOCOLS)}")
        if self.protocol == "icmp" and self.ports not in (None, "", "any", "all"):
            raise ValueError("an icmp firewall rule has no ports")
        if self.protocol != "icmp":
            port_range(self.ports)
        for address in self.addresses:
            ipaddress.ip_network(address, strict=False)

    @classmethod
    def from_dict(cls, value: dict) -> Rule:
        return cls(value["protocol"], tuple(value.get("addresses") or ()), value.get("ports"))

    def to_dict(self) -> dict:
        return {"protocol": self.protocol, "addresses": list(self.addresses), "ports": self.ports}


@dataclass(frozen=True)
class Firewall:
    id: str
    provider: str
    inbound: tuple[Rule, ...] = ()
    outbound: tuple[Rule, ...] = ()
    machines: tuple[str, ...] = field(default=())

    def __post_init__(self):
        if self.provider not in OUTBOUND_DEFAULT:
            raise ValueError(f"firewall provider must be one of {sorted(OUTBOUND_DEFAULT)}, not {self.provider!r}")

    @classmethod
    def from_dict(cls, value: dict) -> Firewall:
        return cls(value["id"], value["provider"], tuple(Rule.from_dict(r) for r in value.get("inbound", ())),
                   tuple(Rule.from_dict(r) for r in value.get("outbound", ())), tuple(value.get("machines", ())))

    def to_dict(self) -> dict:
        return {"id": self.id, "provider": self.provider, "inbound": [r.to_dict() for r in self.inbound],
                "outbound": [r.to_dict() for r in self.outbound], "machines": list(self.machines)}


def port_range(ports: str | None) -> tuple[int, int] | None:
    """None for every port, else (low, high)."""
    if ports in (None, "", "any", "all", "0", "1-65535"):
        return None
    match = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", str(ports))
    if not match:
        raise ValueError(f"firewall port {ports!r}: a port, a range like 8000-9000, or any")
    low, high = int(match[1]), int(match[2] or match[1])
    if not 1 <= low <= high <= 65535:
        raise ValueError(f"firewall port range {ports!r} is outside 1-65535 or reversed")
    return low, high


def ipv4_set(addresses: tuple[str, ...]) -> list[str] | None:
    """The IPv4 networks of `addresses`, merged (nft refuses overlapping intervals); None means any
    address (0.0.0.0/0 among them); [] means no IPv4 address at all."""
    networks = [ipaddress.ip_network(a, strict=False) for a in addresses]
    v4 = [n for n in networks if n.version == 4]
    if any(n.prefixlen == 0 for n in v4):
        return None
    return [n.with_prefixlen if n.prefixlen < 32 else str(n.network_address)
            for n in ipaddress.collapse_addresses(v4)]


def statement(rule: Rule, direction: str, verdict: str = "accept") -> str | None:
    """The nft statement of one rule, or None when it can match nothing in the lab (IPv6 only)."""
    match = []
    networks = ipv4_set(rule.addresses)
    if networks == []:
        return None
    if networks is not None:
        match.append(f"ip {'saddr' if direction == 'in' else 'daddr'} {{ {', '.join(networks)} }}")
    if rule.protocol == "icmp":
        match.append("ip protocol icmp")
    else:
        ports = port_range(rule.ports)
        if ports is None:
            match.append(f"meta l4proto {rule.protocol}")
        else:
            low, high = ports
            match.append(f"{rule.protocol} dport {low if low == high else f'{low}-{high}'}")
    return " ".join([*match, verdict])


def chain_lines(firewall: Firewall, direction: str, resolver: str, verdict: str = "return") -> list[str]:
    """The statements that permit what `firewall` permits in `direction` ("in" or "out"), each ending in
    `verdict`. The machine's chain inlines those of all its firewalls and drops the rest; `return` lets the
    packet go on to the other end's checks (a machine-to-machine packet passes the sender's outbound rules
    and the receiver's inbound rules)."""
    rules = firewall.inbound if direction == "in" else firewall.outbound
    lines = [s for s in (statement(r, direction, verdict) for r in rules) if s]
    if direction == "out" and firewall.provider == "hetzner":
        if not rules:
            return [verdict]
        lines.insert(0, f"ip daddr {resolver} meta l4proto {{ tcp, udp }} th dport 53 {verdict}")
    return lines
