"""The `digitalocean` package (pulumi-digitalocean 4.84.1): previewed only (see clouds.py)."""

from __future__ import annotations

from .clouds import kind, ssh_keys_answer
from .server import Package

SOURCE = "digitalocean/terraform-provider-digitalocean digitalocean/<service>/resource_*.go"

PACKAGE = Package("digitalocean", "pulumi_digitalocean", [
    kind("digitalocean:index/sshKey:SshKey", SOURCE, required=("name", "publicKey"), replace=("publicKey",),
         outputs=("fingerprint",)),
    kind("digitalocean:index/tag:Tag", SOURCE, required=("name",), replace=("name",),
         outputs=("urn", "totalResourceCount", "dropletsCount", "volumesCount", "databasesCount")),
    kind("digitalocean:index/vpc:Vpc", SOURCE, required=("name",), optional=("region", "ipRange", "description"),
         replace=("region", "ipRange"), computed=("ipRange",), outputs=("urn", "default", "createdAt")),
    kind("digitalocean:index/droplet:Droplet", SOURCE, required=("image", "name", "size"),
         optional=("region", "vpcUuid", "monitoring", "ipv6", "sshKeys", "userData", "tags", "backups"),
         replace=("image", "region", "vpcUuid", "monitoring", "sshKeys", "userData"), computed=("vpcUuid",),
         outputs=("ipv4Address", "ipv4AddressPrivate", "ipv6Address", "urn", "status", "memory", "vcpus", "disk",
                  "locked", "priceHourly", "priceMonthly", "createdAt")),
    kind("digitalocean:index/volume:Volume", SOURCE, required=("name", "region", "size"),
         optional=("description", "filesystemType", "tags"), replace=("name", "region", "description"),
         outputs=("urn", "dropletIds", "filesystemLabel")),
    kind("digitalocean:index/volumeAttachment:VolumeAttachment", SOURCE, required=("dropletId", "volumeId"),
         replace=("dropletId", "volumeId")),
    kind("digitalocean:index/reservedIp:ReservedIp", SOURCE, required=("region",), optional=("dropletId",),
         replace=("region",), outputs=("ipAddress", "urn")),
    kind("digitalocean:index/reservedIpAssignment:ReservedIpAssignment", SOURCE, required=("ipAddress", "dropletId"),
         replace=("ipAddress", "dropletId")),
    kind("digitalocean:index/firewall:Firewall", SOURCE, required=("name",),
         optional=("tags", "dropletIds", "inboundRules", "outboundRules"),
         outputs=("status", "createdAt", "pendingChanges")),
    kind("digitalocean:index/databaseCluster:DatabaseCluster", SOURCE,
         required=("name", "engine", "size", "region", "nodeCount"),
         optional=("version", "privateNetworkUuid", "tags"), replace=("name", "engine", "region", "privateNetworkUuid"),
         outputs=("host", "privateHost", "port", "uri", "privateUri", "database", "user", "password", "urn"),
         secrets=("uri", "privateUri", "password")),
    kind("digitalocean:index/databaseDb:DatabaseDb", SOURCE, required=("clusterId", "name"),
         replace=("clusterId", "name")),
    kind("digitalocean:index/databaseUser:DatabaseUser", SOURCE, required=("clusterId", "name"),
         replace=("clusterId", "name"), outputs=("password", "role"), secrets=("password",)),
    kind("digitalocean:index/databaseFirewall:DatabaseFirewall", SOURCE, required=("clusterId", "rules"),
         replace=("clusterId",)),
    kind("digitalocean:index/spacesBucket:SpacesBucket", SOURCE, required=("name",),
         optional=("region", "acl", "versioning", "forceDestroy"), replace=("name", "region"),
         outputs=("bucketDomainName", "endpoint", "urn")),
    kind("digitalocean:index/spacesKey:SpacesKey", SOURCE, required=("name",), optional=("grants",),
         outputs=("accessKey", "secretKey", "createdAt"), secrets=("secretKey",)),
], invokes={"digitalocean:index/getSshKeys:getSshKeys": ssh_keys_answer})
