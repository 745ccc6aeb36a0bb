"""DigitalOcean: droplets in a VPC, a block volume and a reserved IP each, one firewall by tag."""

from __future__ import annotations

import hashlib

import pulumi

from ..render.firewall import RuleSet
from ..sdk import digitalocean as do
from .base import KEEP_NAME, AccountCloud, HostSpec, Machine, server_options, stateful
from .keys import AccountKey, KeyPlan


class DigitalOcean(AccountCloud):
    provider = "digitalocean"

    def account_keys(self) -> list[AccountKey]:
        return [AccountKey(str(k.id), k.name, k.public_key, k.fingerprint) for k in do.get_ssh_keys().ssh_keys or []]

    def declare_key(self, plan: KeyPlan, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        return do.SshKey(plan.logical, name=plan.name, public_key=plan.public_key, opts=opts).fingerprint

    def key_reference(self, key: AccountKey) -> str:
        return key.fingerprint

    def prepare_network(self, parent: pulumi.Resource) -> None:
        # DigitalOcean refuses a firewall whose tag does not exist yet ("Tag names must exist") and the provider
        # does not retry: the tag is declared, and the droplets and the firewall name it through this resource.
        self.tag = do.Tag(f"{self.service}-group-tag", name=self.group_tag, opts=pulumi.ResourceOptions(parent=parent))
        self.vpc = do.Vpc(f"{self.service}-vpc", name=self.names.group, region=self.region,
                          opts=pulumi.ResourceOptions(parent=parent))

    @property
    def network_id(self) -> pulumi.Output[str]:
        return self.vpc.id

    @staticmethod
    def user_data_state(user_data: str) -> str:
        """SHA-1 in hex: `util.HashStringStateFunc()` on the droplet's `user_data` (digitalocean/util/hash.go)."""
        return hashlib.sha1(user_data.encode()).hexdigest()

    def machine(self, spec: HostSpec, parent: pulumi.Resource,
                user_data: pulumi.Input[str] | None = None) -> Machine:
        child = pulumi.ResourceOptions(parent=parent)
        droplet = do.Droplet(
            spec.name, name=spec.name, region=self.region, size=spec.size, image=spec.os_image,
            vpc_uuid=self.vpc.id, monitoring=True, ipv6=True,
            ssh_keys=self.ssh_keys, user_data=user_data,
            tags=[*spec.tags, self.tag.name],
            opts=server_options(parent, []),
        )
        ready_after: list[pulumi.Resource] = []
        device = None
        if spec.volume_gb:
            # Volume names are unique per region: the name carries the stack and its generation.
            volume = do.Volume(f"{spec.name}-data", name=self.kept_name(spec, "data"), region=self.region,
                               size=spec.volume_gb, description=f"Berth data for {spec.name}",
                               opts=stateful(parent, ignore_changes=KEEP_NAME))
            ready_after.append(do.VolumeAttachment(f"{spec.name}-data", droplet_id=droplet.id.apply(int),
                                                   volume_id=volume.id, opts=child))
            device = volume.name.apply(lambda name: f"/dev/disk/by-id/scsi-0DO_Volume_{name}")
        reserved = do.ReservedIp(f"{spec.name}-ip", region=self.region, opts=stateful(parent))
        ready_after.append(do.ReservedIpAssignment(f"{spec.name}-ip", ip_address=reserved.ip_address,
                                                   droplet_id=droplet.id.apply(int), opts=child))
        return Machine(public_ipv4=reserved.ip_address, public_ipv6=droplet.ipv6_address,
                       private_ipv4=droplet.ipv4_address_private, server_id=droplet.id,
                       volume_device=device, ready_after=ready_after, server_urn=droplet.urn,
                       user_data_state=droplet.user_data, size=droplet.size)

    def firewall(self, rules: pulumi.Output[RuleSet], machines: list[Machine], parent: pulumi.Resource) -> None:
        do.Firewall(
            f"{self.service}-firewall", name=self.names.group, tags=[self.tag.name],
            # The stack's own droplets, for an accessory the other hosts use: by the tag every one of them has.
            inbound_rules=rules.apply(lambda rs: [
                do.FirewallInboundRuleArgs(protocol=r.protocol, port_range=r.ports, source_tags=[self.group_tag])
                if r.peers else
                do.FirewallInboundRuleArgs(protocol=r.protocol, port_range=r.ports, source_addresses=list(r.addresses))
                for r in rs.inbound]),
            outbound_rules=rules.apply(lambda rs: [
                do.FirewallOutboundRuleArgs(protocol=r.protocol, port_range=r.ports,
                                            destination_addresses=list(r.addresses))
                for r in rs.outbound]),
            opts=pulumi.ResourceOptions(parent=parent),
        )


CLOUD = DigitalOcean
