"""Hetzner Cloud: servers with a kept primary IPv4, a volume each, one firewall attached to all."""

from __future__ import annotations

import base64
import hashlib

import pulumi

from ..render.firewall import RuleSet
from ..sdk import hcloud
from .base import KEEP_NAME, AccountCloud, HostSpec, Machine, server_options, stateful
from .keys import AccountKey, KeyPlan


class Hetzner(AccountCloud):
    provider = "hetzner"

    def account_keys(self) -> list[AccountKey]:
        return [AccountKey(str(k.id), k.name, k.public_key, k.fingerprint)
                for k in hcloud.get_ssh_keys().ssh_keys or []]

    def declare_key(self, plan: KeyPlan, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        return hcloud.SshKey(plan.logical, name=plan.name, public_key=plan.public_key, opts=opts).id

    def key_reference(self, key: AccountKey) -> str:
        return key.id

    @staticmethod
    def user_data_state(user_data: str) -> str:
        """SHA-1 in base64: `userDataHashSum`, the server's `user_data` StateFunc (internal/server/resource.go)."""
        return base64.b64encode(hashlib.sha1(user_data.encode()).digest()).decode()

    def machine(self, spec: HostSpec, parent: pulumi.Resource,
                user_data: pulumi.Input[str] | None = None) -> Machine:
        child = pulumi.ResourceOptions(parent=parent)
        labels = {"berth": self.group_tag, "service": self.service, "role": spec.role}
        # Server, volume and primary IP names are unique per project: each carries the stack, and what
        # outlives the stack its generation too.
        ip = hcloud.PrimaryIp(f"{spec.name}-ip", name=self.kept_name(spec, "ipv4"), type="ipv4", location=self.region,
                              assignee_type="server", auto_delete=False, delete_protection=True, labels=labels,
                              opts=stateful(parent, ignore_changes=KEEP_NAME))
        server = hcloud.Server(
            spec.name, name=self.names.host(spec.role, spec.number), server_type=spec.size, image=spec.os_image,
            location=self.region, ssh_keys=self.ssh_keys, labels=labels, user_data=user_data,
            public_nets=[hcloud.ServerPublicNetArgs(ipv4_enabled=True, ipv4=ip.id.apply(int), ipv6_enabled=True)],
            # Hetzner requires both protections to be equal; servers are replaceable, their data is not.
            delete_protection=False, rebuild_protection=False,
            opts=server_options(parent, KEEP_NAME),
        )
        ready_after: list[pulumi.Resource] = []
        device = None
        if spec.volume_gb:
            # Formatted and mounted by the bootstrap (format only if blank), not by Hetzner's automount.
            volume = hcloud.Volume(f"{spec.name}-data", name=self.kept_name(spec, "data"), size=spec.volume_gb,
                                   location=self.region, automount=False, delete_protection=True,
                                   labels=labels, opts=stateful(parent, ignore_changes=KEEP_NAME))
            ready_after.append(hcloud.VolumeAttachment(f"{spec.name}-data", server_id=server.id.apply(int),
                                                       volume_id=volume.id.apply(int), automount=False,
                                                       opts=child))
            device = volume.id.apply(lambda volume_id: f"/dev/disk/by-id/scsi-0HC_Volume_{volume_id}")
        return Machine(public_ipv4=ip.ip_address, public_ipv6=server.ipv6_address, private_ipv4=None,
                       server_id=server.id, volume_device=device, ready_after=ready_after, server_urn=server.urn,
                       user_data_state=server.user_data, size=server.server_type)

    def firewall(self, rules: pulumi.Output[RuleSet], machines: list[Machine], parent: pulumi.Resource) -> None:
        # The stack's own servers, for an accessory the other hosts use: by their primary IPs, which exist before
        # the servers do (Hetzner's firewalls name addresses, not labels, as sources).
        peers = pulumi.Output.all(*[m.public_ipv4 for m in machines])

        def hcloud_rules(rs: RuleSet, peer_ips: list[str]) -> list[hcloud.FirewallRuleArgs]:
            return [hcloud.FirewallRuleArgs(direction="in", protocol=r.protocol, port=r.ports,
                                            source_ips=[f"{ip}/32" for ip in peer_ips] if r.peers else list(r.addresses))
                    for r in rs.inbound] + [
                hcloud.FirewallRuleArgs(direction="out", protocol=r.protocol, port=r.ports,
                                        destination_ips=list(r.addresses)) for r in rs.outbound]

        firewall = hcloud.Firewall(f"{self.service}-firewall", name=self.names.group,
                                   rules=pulumi.Output.all(rules, peers).apply(lambda v: hcloud_rules(*v)),
                                   opts=pulumi.ResourceOptions(parent=parent))
        hcloud.FirewallAttachment(
            f"{self.service}-firewall", firewall_id=firewall.id.apply(int),
            server_ids=[m.server_id.apply(int) for m in machines if m.server_id is not None],
            opts=pulumi.ResourceOptions(parent=parent),
        )


CLOUD = Hetzner
