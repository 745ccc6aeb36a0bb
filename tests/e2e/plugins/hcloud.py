"""The `hcloud` package (pulumi-hcloud 1.43.3): previewed only (see clouds.py)."""

from __future__ import annotations

from .clouds import kind, ssh_keys_answer
from .server import Package

SOURCE = "hetznercloud/terraform-provider-hcloud internal/<service>/resource.go"

PACKAGE = Package("hcloud", "pulumi_hcloud", [
    kind("hcloud:index/sshKey:SshKey", SOURCE, required=("name", "publicKey"), optional=("labels",),
         replace=("publicKey",), outputs=("fingerprint",), framework=True),
    kind("hcloud:index/primaryIp:PrimaryIp", SOURCE, required=("type", "assigneeType", "autoDelete"),
         optional=("name", "location", "datacenter", "labels", "deleteProtection", "assigneeId"),
         replace=("type", "assigneeType", "location", "datacenter"), outputs=("ipAddress", "ipNetwork"),
         framework=True),
    kind("hcloud:index/server:Server", SOURCE, required=("name", "serverType"),
         optional=("image", "location", "sshKeys", "labels", "userData", "publicNets", "deleteProtection",
                   "rebuildProtection", "backups"),
         replace=("location", "sshKeys", "userData"),
         outputs=("ipv4Address", "ipv6Address", "ipv6Network", "status", "primaryDiskSize")),
    kind("hcloud:index/volume:Volume", SOURCE, required=("name", "size"),
         optional=("location", "serverId", "automount", "format", "deleteProtection", "labels"),
         replace=("location",), outputs=("linuxDevice",)),
    kind("hcloud:index/volumeAttachment:VolumeAttachment", SOURCE, required=("serverId", "volumeId"),
         optional=("automount",), replace=("serverId", "volumeId", "automount")),
    kind("hcloud:index/firewall:Firewall", SOURCE, required=("name",), optional=("rules", "labels", "applyTos")),
    kind("hcloud:index/firewallAttachment:FirewallAttachment", SOURCE, required=("firewallId",),
         optional=("serverIds", "labelSelectors"), replace=("firewallId",)),
], invokes={"hcloud:index/getSshKeys:getSshKeys": ssh_keys_answer})
