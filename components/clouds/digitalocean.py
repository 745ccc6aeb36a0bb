"""DigitalOcean: droplets in a VPC, a block volume and a reserved IP each, one firewall by tag."""

from __future__ import annotations

import pulumi
import pulumi_digitalocean as do

from ..render.firewall import RuleSet
from .base import Cloud, HostSpec, Machine, stateful


class DigitalOcean(Cloud):
    provider = "digitalocean"

    def prepare(self, authorized_keys: list[str], parent: pulumi.Resource) -> None:
        self.ssh_keys = [
            do.SshKey(f"{self.service}-key-{i + 1}", public_key=key,
                      name=f"{self.service}-{self.stack}-{i + 1}", opts=pulumi.ResourceOptions(parent=parent))
            for i, key in enumerate(authorized_keys)
        ]
        # DigitalOcean refuses a firewall whose tag does not exist yet ("Tag names must exist") and the provider
        # does not retry: the tag is declared, and the droplets and the firewall name it through this resource.
        self.tag = do.Tag(f"{self.service}-group-tag", name=self.group_tag, opts=pulumi.ResourceOptions(parent=parent))
        self.vpc = do.Vpc(f"{self.service}-vpc", name=f"{self.service}-{self.stack}", region=self.region,
                          opts=pulumi.ResourceOptions(parent=parent))

    @property
    def network_id(self) -> pulumi.Output[str]:
        return self.vpc.id

    def machine(self, spec: HostSpec, parent: pulumi.Resource) -> Machine:
        child = pulumi.ResourceOptions(parent=parent)
        droplet = do.Droplet(
            spec.name, name=spec.name, region=self.region, size=spec.size, image=spec.os_image,
            vpc_uuid=self.vpc.id, monitoring=True, ipv6=True,
            ssh_keys=[key.fingerprint for key in self.ssh_keys], user_data=spec.user_data,
            tags=[*spec.tags, self.tag.name],
            # A new image or key list must never rebuild a running host; the bootstrap adapts it instead.
            opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["image", "sshKeys", "userData"]),
        )
        ready_after: list[pulumi.Resource] = []
        device = None
        if spec.volume_gb:
            volume = do.Volume(f"{spec.name}-data", name=f"{spec.name}-data", region=self.region,
                               size=spec.volume_gb, description=f"Berth data for {spec.name}",
                               opts=stateful(parent))
            ready_after.append(do.VolumeAttachment(f"{spec.name}-data", droplet_id=droplet.id.apply(int),
                                                   volume_id=volume.id, opts=child))
            device = volume.name.apply(lambda name: f"/dev/disk/by-id/scsi-0DO_Volume_{name}")
        reserved = do.ReservedIp(f"{spec.name}-ip", region=self.region, opts=stateful(parent))
        ready_after.append(do.ReservedIpAssignment(f"{spec.name}-ip", ip_address=reserved.ip_address,
                                                   droplet_id=droplet.id.apply(int), opts=child))
        return Machine(public_ipv4=reserved.ip_address, public_ipv6=droplet.ipv6_address,
                       private_ipv4=droplet.ipv4_address_private, server_id=droplet.id,
                       volume_device=device, ready_after=ready_after)

    def firewall(self, rules: pulumi.Output[RuleSet], machines: list[Machine], parent: pulumi.Resource) -> None:
        do.Firewall(
            f"{self.service}-firewall", name=f"{self.service}-{self.stack}", tags=[self.tag.name],
            inbound_rules=rules.apply(lambda rs: [
                do.FirewallInboundRuleArgs(protocol=r.protocol, port_range=r.ports, source_addresses=list(r.addresses))
                for r in rs.inbound]),
            outbound_rules=rules.apply(lambda rs: [
                do.FirewallOutboundRuleArgs(protocol=r.protocol, port_range=r.ports,
                                            destination_addresses=list(r.addresses))
                for r in rs.outbound]),
            opts=pulumi.ResourceOptions(parent=parent),
        )


CLOUD = DigitalOcean
