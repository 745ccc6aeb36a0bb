"""A router namespace of our own for developing the backend and for the smoke test, shaped like the
suite's (`be2e-net`, which this never touches):

    lab machine  bmdev-h0 10.240.0.1/30 ── veth ── op 10.240.0.2/30  in netns bmdev-net
    route 10.241.0.0/24 via 10.240.0.2 (added by the cloud network's host_route_via)
"""

from __future__ import annotations

from pathlib import Path

from .network import NetworkSettings
from .procs import sh

NETNS = "bmdev-net"
HOST_LINK, ROUTER_LINK = "bmdev-h0", "op"
HOST_ADDRESS, ROUTER_ADDRESS = "10.240.0.1", "10.240.0.2"
SUBNET = "10.241.0.0/24"


def up(lab_names: dict[str, str] | None = None) -> NetworkSettings:
    if Path(f"/run/netns/{NETNS}").exists():
        raise RuntimeError(f"{NETNS} exists: python -m tests.e2e.machines.smoke --down removes it")
    sh("ip", "netns", "add", NETNS)
    sh("ip", "link", "add", HOST_LINK, "type", "veth", "peer", "name", ROUTER_LINK, "netns", NETNS)
    sh("ip", "addr", "add", f"{HOST_ADDRESS}/30", "dev", HOST_LINK)
    sh("ip", "link", "set", HOST_LINK, "up")
    sh("ip", "netns", "exec", NETNS, "ip", "addr", "add", f"{ROUTER_ADDRESS}/30", "dev", ROUTER_LINK)
    sh("ip", "netns", "exec", NETNS, "ip", "link", "set", ROUTER_LINK, "up")
    sh("ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up")
    return NetworkSettings(netns=NETNS, subnet=SUBNET, operator=ROUTER_LINK, host_route_via=ROUTER_ADDRESS,
                           lab_names=lab_names or {})


def down() -> None:
    """Remove the namespace and its veth (the cloud's own down() stops what runs inside first)."""
    sh("ip", "link", "del", HOST_LINK, check=False)
    sh("ip", "netns", "del", NETNS, check=False)
