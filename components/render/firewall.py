"""Firewall rule sets as plain data; each cloud translates them into its own resource shape."""

from __future__ import annotations

from dataclasses import dataclass

WORLD = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class Rule:
    protocol: str  # tcp | udp | icmp
    ports: str | None  # "22", "1-65535"; None for icmp
    addresses: tuple[str, ...]
    peers: bool = False  # from the stack's own hosts (an accessory other hosts use); each cloud says how

@dataclass(frozen=True)
class RuleSet:
    inbound: tuple[Rule, ...]
    outbound: tuple[Rule, ...]


def inbound(ssh_port: int, ssh_from: list[str], web_from: list[str]) -> tuple[Rule, ...]:
    """SSH from the operators only, HTTP(S) from the world or the CDN; nothing else reaches the host."""
    return (
        Rule("tcp", str(ssh_port), tuple(ssh_from)),
        Rule("tcp", "80", tuple(web_from)),
        Rule("tcp", "443", tuple(web_from)),
    )


def outbound(custom: list[tuple[str, str | None, list[str]]] | None) -> tuple[Rule, ...]:
    """Explicit egress, always: a DigitalOcean firewall with no outbound rule drops all outbound traffic."""
    if custom is None:
        return (Rule("tcp", "1-65535", WORLD), Rule("udp", "1-65535", WORLD), Rule("icmp", None, WORLD))
    return tuple(Rule(protocol, ports, tuple(to)) for protocol, ports, to in custom)


def peer_rules(ports: list[int], peers: list[str] | None) -> tuple[Rule, ...]:
    """Accessory ports the stack's other hosts reach: from those hosts only. `peers`: their addresses where
    they are known in advance (existing hosts); None where the cloud names them itself (a tag, its IPs)."""
    return tuple(Rule("tcp", str(port), tuple(f"{p}/32" if ":" not in p else f"{p}/128" for p in peers or ()),
                      peers=peers is None) for port in sorted(set(ports)))


def rule_set(ssh_port: int, ssh_from: list[str], web_from: list[str],
             custom_outbound: list[tuple[str, str | None, list[str]]] | None,
             peers: tuple[Rule, ...] = ()) -> RuleSet:
    return RuleSet(inbound(ssh_port, ssh_from, web_from) + peers, outbound(custom_outbound))
