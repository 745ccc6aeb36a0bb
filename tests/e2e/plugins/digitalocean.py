"""The `digitalocean` package (pulumi-digitalocean 4.84.1): previewed only (see clouds.py), except the managed
database, which the lab plays with a real PostgreSQL server (tests/e2e/postgres.py) when the lab provides one
(BERTH_LAB_POSTGRES): DigitalOcean's ownership model, as its docs describe it ("manage users and databases"):
the admin `doadmin` owns the databases made through the API and is no superuser; a user made through the API
gets no privileges. The cluster itself is that one server; its firewall is kept in state."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import uuid

from .clouds import PreviewOnly, kind, ssh_keys_answer
from .server import Failed, Package

ADMIN = "doadmin"


def _server() -> dict | None:
    text = os.environ.get("BERTH_LAB_POSTGRES")
    return json.loads(text) if text else None


def _sql(statement: str, database: str = "postgres") -> str:
    """One statement as the lab server's superuser (the role DigitalOcean's API acts as)."""
    from ..postgres import server_bin

    server = _server()
    if server is None:
        raise Failed("the lab has no managed database here: it can be previewed, not created")
    conninfo = f"host={server['host']} port={server['port']} user={server['user']} dbname={database} sslmode=require"
    result = subprocess.run([str(server_bin() / "psql"), conninfo, "-v", "ON_ERROR_STOP=1", "-tAc", statement],
                            env={**os.environ, "PGPASSWORD": server["password"]}, capture_output=True, text=True,
                            timeout=60)
    if result.returncode != 0:
        raise Failed(f"the lab's database refused {statement!r}: {result.stderr.strip()}")
    return result.stdout.strip()


class Cluster(PreviewOnly):
    def create(self, config, name, inputs):
        server = _server()
        password = secrets.token_urlsafe(18)
        exists = _sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{ADMIN}'")
        verb = "ALTER" if exists else "CREATE"
        _sql(f"{verb} ROLE {ADMIN} LOGIN CREATEDB CREATEROLE PASSWORD '{password}'")
        if not _sql("SELECT 1 FROM pg_database WHERE datname = 'defaultdb'"):
            _sql(f"CREATE DATABASE defaultdb OWNER {ADMIN}")
        host, port = server["host"], server["port"]
        uri = f"postgresql://{ADMIN}:{password}@{host}:{port}/defaultdb?sslmode=require"
        id_ = str(uuid.uuid4())
        return id_, {**inputs, "host": host, "privateHost": host, "port": port, "user": ADMIN, "password": password,
                     "database": "defaultdb", "uri": uri, "privateUri": uri, "urn": f"do:dbaas:{id_}"}


class Database(PreviewOnly):
    def create(self, config, name, inputs):
        _sql(f'CREATE DATABASE "{inputs["name"]}" OWNER {ADMIN}')
        return f"{inputs['clusterId']}/database/{inputs['name']}", dict(inputs)

    def delete(self, config, id_, state):
        _sql(f'DROP DATABASE IF EXISTS "{state["name"]}"')


class User(PreviewOnly):
    def create(self, config, name, inputs):
        password = secrets.token_urlsafe(18)
        _sql(f'CREATE ROLE "{inputs["name"]}" LOGIN PASSWORD \'{password}\'')
        return f"{inputs['clusterId']}/user/{inputs['name']}", {**inputs, "password": password, "role": "normal"}

    def delete(self, config, id_, state):
        _sql(f'DROP ROLE IF EXISTS "{state["name"]}"')


class TrustedSources(PreviewOnly):
    def create(self, config, name, inputs):
        return str(uuid.uuid4()), dict(inputs)


def _real(kind_class, preview: PreviewOnly) -> PreviewOnly:
    return kind_class(preview.schema, preview.autonamed)

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
    _real(Cluster, kind("digitalocean:index/databaseCluster:DatabaseCluster", SOURCE,
                        required=("name", "engine", "size", "region", "nodeCount"),
                        optional=("version", "privateNetworkUuid", "tags"),
                        replace=("name", "engine", "region", "privateNetworkUuid"),
                        outputs=("host", "privateHost", "port", "uri", "privateUri", "database", "user", "password",
                                 "urn"), secrets=("uri", "privateUri", "password"))),
    _real(Database, kind("digitalocean:index/databaseDb:DatabaseDb", SOURCE, required=("clusterId", "name"),
                         replace=("clusterId", "name"))),
    _real(User, kind("digitalocean:index/databaseUser:DatabaseUser", SOURCE, required=("clusterId", "name"),
                     replace=("clusterId", "name"), outputs=("password", "role"), secrets=("password",))),
    _real(TrustedSources, kind("digitalocean:index/databaseFirewall:DatabaseFirewall", SOURCE,
                               required=("clusterId", "rules"), replace=("clusterId",))),
    kind("digitalocean:index/spacesBucket:SpacesBucket", SOURCE, required=("name",),
         optional=("region", "acl", "versioning", "forceDestroy"), replace=("name", "region"),
         outputs=("bucketDomainName", "endpoint", "urn")),
    kind("digitalocean:index/spacesKey:SpacesKey", SOURCE, required=("name",), optional=("grants",),
         outputs=("accessKey", "secretKey", "createdAt"), secrets=("secretKey",)),
], invokes={"digitalocean:index/getSshKeys:getSshKeys": ssh_keys_answer})
