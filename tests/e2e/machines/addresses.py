"""The cloud subnet's address plan (pure functions, unit-tested).

One IPv4 subnet per lab cloud, split the way a provider's pool is: the router is the gateway (the first
address); machines get addresses from the lower part; reserved (DigitalOcean) and primary (Hetzner)
addresses that a caller allocates on their own come from the top quarter, so an address that outlives its
machine never collides with one the pool hands to a new machine.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    subnet: ipaddress.IPv4Network
    gateway: str
    machines: tuple[str, ...]
    standalone: tuple[str, ...]

    @property
    def prefixlen(self) -> int:
        return self.subnet.prefixlen


def plan(subnet: str) -> Plan:
    """The plan of `subnet` (at least a /27): gateway .1, machines from .10, standalone addresses on top."""
    network = ipaddress.IPv4Network(subnet, strict=True)
    if network.prefixlen > 27:
        raise ValueError(f"lab cloud subnet {subnet} is too small: a /27 or larger")
    hosts = [str(a) for a in network.hosts()]
    quarter = len(hosts) - len(hosts) // 4
    return Plan(network, hosts[0], tuple(hosts[9:quarter]), tuple(hosts[quarter:]))


def first_free(pool: tuple[str, ...], used: set[str]) -> str:
    """The lowest address of `pool` not in `used` (deterministic, so runs are comparable)."""
    for address in pool:
        if address not in used:
            return address
    raise RuntimeError(f"lab cloud: all {len(pool)} addresses of the pool are in use")


def mac_for(address: str) -> str:
    """A stable locally administered MAC from the address: a replacement machine that keeps its address
    (a Hetzner primary IP) keeps its MAC, so neighbours' ARP caches stay right."""
    octets = ipaddress.IPv4Address(address).packed
    return "52:54:" + ":".join(f"{b:02x}" for b in octets)
