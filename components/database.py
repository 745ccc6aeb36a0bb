"""DigitalOcean managed PostgreSQL: cluster, database, user, trusted sources = the app hosts, and the grants
the app's user needs.

The cluster's own inputs never wait on a droplet (only on the VPC), so the engine creates it in
parallel with the servers; just the firewall rule, which names the hosts, comes after them. The grants
run on the primary host (a trusted source) as the cluster's admin, before the release command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from .clouds.base import stateful
from .render.database import CLIENT_IMAGE, database_url, grant_command
from .render.release import RunSpec, docker_run_script
from .sdk import digitalocean as do

if TYPE_CHECKING:
    from .config import Stack
    from .hosts import Host, Servers


@dataclass(frozen=True)
class TrustedSource:
    kind: str  # "droplet" (by id) or "ip_addr"
    value: pulumi.Output[str]


@dataclass
class ManagedPostgresArgs:
    service: str
    stack_name: str
    region: str
    version: str
    size: str
    nodes: int
    database: str
    user: str
    network_id: pulumi.Output[str] | None
    trusted_sources: list[TrustedSource]
    private: bool  # the app hosts share the cluster's VPC: connect over the private host
    admin_host: "Host"  # where the grants run: the primary host, which the cluster trusts

    @classmethod
    def from_stack(cls, stack: "Stack", stack_name: str, servers: "Servers") -> "ManagedPostgresArgs":
        db = stack.database
        on_do = stack.provider == "digitalocean"
        region = db.region or stack.cloud.region
        # A VPC is per region: only droplets in the cluster's region reach its private host. Everyone
        # else (Hetzner, existing hosts, droplets elsewhere) connects to the public host, over TLS.
        private = on_do and region == stack.cloud.region
        sources = [
            TrustedSource("droplet", host.machine.server_id) if on_do and host.machine.server_id is not None
            else TrustedSource("ip_addr", host.machine.public_ipv4)
            for host in servers.hosts
        ]
        return cls(service=stack.service, stack_name=stack_name, region=region,
                   version=db.version, size=db.size, nodes=db.nodes, database=db.name, user=db.user,
                   network_id=servers.cloud.network_id if private else None, trusted_sources=sources,
                   admin_host=servers.by_role()[stack.primary_role][0],
                   private=private)


class ManagedPostgres(pulumi.ComponentResource):
    url: pulumi.Output[str]  # secret

    def __init__(self, name: str, args: ManagedPostgresArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:index:ManagedPostgres", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = do.DatabaseCluster(
            f"{name}-cluster", name=f"{args.service}-{args.stack_name}", engine="pg", version=args.version,
            size=args.size, region=args.region, node_count=args.nodes, private_network_uuid=args.network_id,
            tags=["berth", args.service], opts=stateful(self),
        )
        self.db = do.DatabaseDb(f"{name}-db", cluster_id=self.cluster.id, name=args.database, opts=stateful(self))
        # Kept with the database: the release command creates the app's tables as this user, and PostgreSQL
        # refuses to drop a role that owns objects or holds grants in a database that stays (DROP ROLE).
        self.user = do.DatabaseUser(f"{name}-user", cluster_id=self.cluster.id, name=args.user, opts=stateful(self))
        self.firewall = do.DatabaseFirewall(
            f"{name}-trusted-sources", cluster_id=self.cluster.id,
            rules=[do.DatabaseFirewallRuleArgs(type=source.kind, value=source.value)
                   for source in args.trusted_sources],
            opts=child,
        )
        host = self.cluster.private_host if args.private else self.cluster.host
        self.url = pulumi.Output.secret(pulumi.Output.all(
            self.user.name, self.user.password, host, self.cluster.port, self.db.name,
        ).apply(lambda v: database_url(*v)))
        self.summary = pulumi.Output.all(host=host, port=self.cluster.port, name=self.db.name, user=self.user.name)
        self.grants = self._grants(name, args, host)
        self.register_outputs({"host": host, "url": self.url})

    def _grants(self, name: str, args: ManagedPostgresArgs, host: pulumi.Output[str]) -> pulumi.Resource:
        """As doadmin, in the app's database: what the app's user needs to create its tables."""
        admin_url = pulumi.Output.all(self.cluster.user, self.cluster.password, host, self.cluster.port,
                                      self.db.name).apply(lambda v: database_url(*v))
        run = RunSpec(name=f"{args.service}-database-grants", image=CLIENT_IMAGE.format(version=args.version),
                      mounts=(), command=grant_command(args.database, args.user))
        script = admin_url.apply(lambda url: docker_run_script([run], {"DATABASE_ADMIN_URL": url}, run.name))
        return args.admin_host.run_script(
            f"{name}-grants", pulumi.Output.secret(script), parent=self,
            triggers=[self.cluster.id, self.db.name, self.user.name],
            depends_on=[self.db, self.user, self.firewall, args.admin_host.ready])
