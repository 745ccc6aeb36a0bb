"""A router namespace of its own for a hand-run proof of the lab cloud, shaped like the suite's (`be2e-net`,
which this never touches); the smoke test's:

    lab machine  bmdev-h0 10.240.0.1/30 ── veth ── op 10.240.0.2/30  in netns bmdev-net
    route 10.241.0.0/24 via 10.240.0.2 (added by the cloud network's host_route_via)

and the cloud plugins' proof's (plugins/cloudproof.py), on other names and addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .network import NetworkSettings
from .procs import sh

ROUTER_LINK = "op"


@dataclass(frozen=True)
class DevNet:
    netns: str
    host_link: str
    host_address: str  # the lab machine's end of the veth (a /30); the router's is the next address
    router_address: str
    subnet: str  # the cloud subnet, routed from the lab machine through the router
    removed_by: str  # the command that removes what a killed run left

    def up(self, lab_names: dict[str, str] | None = None) -> NetworkSettings:
        if Path(f"/run/netns/{self.netns}").exists():
            raise RuntimeError(f"{self.netns} exists: {self.removed_by} removes it")
        sh("ip", "netns", "add", self.netns)
        sh("ip", "link", "add", self.host_link, "type", "veth", "peer", "name", ROUTER_LINK, "netns", self.netns)
        sh("ip", "addr", "add", f"{self.host_address}/30", "dev", self.host_link)
        sh("ip", "link", "set", self.host_link, "up")
        sh("ip", "netns", "exec", self.netns, "ip", "addr", "add", f"{self.router_address}/30", "dev", ROUTER_LINK)
        sh("ip", "netns", "exec", self.netns, "ip", "link", "set", ROUTER_LINK, "up")
        sh("ip", "netns", "exec", self.netns, "ip", "link", "set", "lo", "up")
        return NetworkSettings(netns=self.netns, subnet=self.subnet, operator=ROUTER_LINK,
                               host_route_via=self.router_address, lab_names=lab_names or {})

    def down(self) -> None:
        """Remove the namespace and its veth (the cloud's own down() stops what runs inside first)."""
        sh("ip", "link", "del", self.host_link, check=False)
        sh("ip", "netns", "del", self.netns, check=False)


SMOKE = DevNet("bmdev-net", "bmdev-h0", "10.240.0.1", "10.240.0.2", "10.241.0.0/24",
               "python -m tests.e2e.machines.smoke --down")
CLOUDPROOF = DevNet("bmplug-net", "bmplug-h0", "10.244.0.1", "10.244.0.2", "10.245.0.0/24",
                    "python -m tests.e2e.plugins.cloudproof --down")
