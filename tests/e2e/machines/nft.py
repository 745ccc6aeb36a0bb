"""The router's nftables table for the lab cloud: NAT to the outside, the lab's egress limits, reserved
addresses and the cloud firewalls (rendering is pure and unit-tested; `apply` loads it).

The whole table is rendered from the records and replaced in one nft transaction on every change, so the
rules are always exactly what the records say, whichever process changed them last, and a half-applied
update cannot exist. Connections already established keep their conntrack entries across a reload.

Every packet to or from a machine crosses the router's IP layer (the bridge isolates the machines' ports
and the router answers ARP for the subnet: see network.py), so these chains see machine-to-machine
traffic too, as a cloud firewall does.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from .firewall import Firewall, chain_lines

TABLE = "berth_cloud"
# Destinations a machine never reaches through the outside link, whatever the port: private, shared,
# loopback, link-local, multicast and reserved ranges (the lab machine's own networks are among them, and
# its public addresses are added by the caller).
NEVER_OUTSIDE = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                 "192.168.0.0/16", "224.0.0.0/3")


@dataclass(frozen=True)
class Links:
    """Where the table's chains attach: the cloud bridge, the slirp link to the outside, the link to the
    lab machine (the operator) if any, and the router's own addresses the rules name."""

    bridge: str
    outside: str
    subnet: str
    gateway: str
    outside_dns: str
    operator: str | None = None
    blocked: tuple[str, ...] = ()


def render(links: Links, machines: dict[str, str], reserved: dict[str, str], firewalls: list[Firewall]) -> str:
    """`machines`: id -> address; `reserved`: reserved address -> the machine address it maps to."""
    out = [f"table ip {TABLE} {{"]

    def chain(name: str, *lines: str, hook: str | None = None) -> None:
        out.append(f"  chain {name} {{")
        if hook:
            out.append(f"    {hook}")
        out.extend(f"    {line}" for line in lines)
        out.append("  }")

    dnat = [f"ip daddr {a} dnat to {target}" for a, target in sorted(reserved.items())]
    chain("prerouting", *dnat, hook="type nat hook prerouting priority dstnat; policy accept;")
    chain("output_nat", *dnat, hook="type nat hook output priority -100; policy accept;")
    chain("postrouting", f'oifname "{links.outside}" ip saddr {links.subnet} masquerade',
          hook="type nat hook postrouting priority srcnat; policy accept;")

    # Established traffic passes; a new packet from a machine passes its outbound checks, then a packet to
    # a machine passes its inbound checks; each check drops or returns. Only the cloud's own traffic is
    # touched: other traffic of the router (the rest of the lab) meets no verdict here.
    chain("forward", "ct state established,related accept", f'iifname "{links.bridge}" jump from_machines',
          f'oifname "{links.bridge}" jump to_machines', f'iifname != "{links.bridge}" oifname "{links.outside}" drop',
          hook="type filter hook forward priority filter; policy accept;")
    chain("input", f'iifname "{links.bridge}" jump from_machines_local',
          hook="type filter hook input priority filter; policy accept;")
    # The router's own processes reach the outside for DNS only (the resolver forwarding to slirp's).
    chain("output", "ct state established,related accept", f'oifname "{links.bridge}" jump to_machines',
          f'oifname "{links.outside}" ip daddr {links.outside_dns} meta l4proto {{ tcp, udp }} th dport 53 accept',
          f'oifname "{links.outside}" drop', hook="type filter hook output priority filter; policy accept;")

    members: dict[str, list[Firewall]] = {}
    for firewall in sorted(firewalls, key=lambda f: f.id):
        for machine in firewall.machines:
            if machine in machines:
                members.setdefault(machine, []).append(firewall)
    guarded = sorted(members, key=lambda m: machines[m])

    def vmap(selector: str, suffix: str) -> list[str]:
        if not guarded:
            return []
        entries = ", ".join(f"{machines[m]} : jump machine_{m}_{suffix}" for m in guarded)
        return [f"ip {selector} vmap {{ {entries} }}"]

    never = ", ".join([*NEVER_OUTSIDE, *links.blocked])
    chain("from_machines", "ct state invalid drop",
          *([f'oifname "{links.operator}" drop'] if links.operator else []),
          f'oifname "{links.outside}" ip saddr != {links.subnet} drop',
          f'oifname "{links.outside}" jump outside', *vmap("saddr", "out"))
    chain("from_machines_local", "ct state established,related accept", *vmap("saddr", "out"))
    chain("to_machines", "ct state invalid drop", *vmap("daddr", "in"))
    chain("outside", f"ip daddr {{ {never} }} drop", "tcp dport { 80, 443 } return",
          "meta l4proto { tcp, udp } th dport 53 return", "drop")
    for machine in guarded:
        for direction in ("in", "out"):
            lines = [line for f in members[machine] for line in chain_lines(f, direction, links.gateway)]
            chain(f"machine_{machine}_{direction}", *lines, "drop")
    out.append("}")
    return "\n".join(out) + "\n"


def apply(netns: str, ruleset: str) -> None:
    """Replace the table in one transaction (create it empty first so the delete cannot fail)."""
    script = f"table ip {TABLE} {{}}\ndelete table ip {TABLE}\n{ruleset}"
    _nft(netns, script)


def remove(netns: str) -> None:
    _nft(netns, f"table ip {TABLE} {{}}\ndelete table ip {TABLE}\n")


def _nft(netns: str, script: str) -> None:
    result = subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "nft", "-f", "-"], input=script, text=True,
                            capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"lab cloud: nft refused the ruleset: {result.stderr.strip()}\n{script}")
