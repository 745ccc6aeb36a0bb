"""A stack's outputs, as `pulumi stack output --json` prints them, in the shape the commands need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HostAccess:
    name: str
    role: str  # the role that has the host
    address: str
    user: str
    port: int
    roles: tuple[str, ...] = ()  # every role it runs (a stack from before roles shared hosts: its one role)
    host_key: str | None = None  # the key Berth gave the server, which ssh must see; None: trusted when first seen
    server_urn: str | None = None  # a server Berth created (what `pulumi up --replace` takes); None: an existing host

    def runs(self, role: str) -> bool:
        return role in (self.roles or (self.role,))


def _host_order(host: HostAccess) -> tuple[str, int]:
    """<service>-<role>-<n> in numeric order (outputs arrive as an unordered map)."""
    prefix, _, number = host.name.rpartition("-")
    return (prefix, int(number)) if number.isdigit() else (host.name, 0)


@dataclass(frozen=True)
class Litestream:
    host: str
    container: str
    databases: tuple[str, ...]
    owner: str = "1000:1000"  # berth:app.user: who the restored files belong to


@dataclass(frozen=True)
class StackOutputs:
    service: str
    primary_role: str
    proxied_roles: tuple[str, ...]
    hosts: tuple[HostAccess, ...]  # in the stack's order
    containers: dict[str, str]  # host name -> current app container of the role that has the host
    version: str
    litestream: tuple[Litestream, ...]
    role_containers: dict[str, dict[str, str]] = field(default_factory=dict)  # host name -> role -> container

    def container(self, host: str, role: str | None = None) -> str | None:
        """The current app container of `role` (default: the role that has the host) on `host`."""
        chosen = role or next((h.role for h in self.hosts if h.name == host), None)
        return (self.role_containers.get(host) or {}).get(chosen) or (self.containers.get(host) if role is None
                                                                     or self.host(host).role == role else None)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> "StackOutputs":
        release = raw.get("release") or {}
        roles = raw.get("roles") or {}
        return cls(
            service=raw["service"],
            primary_role=roles.get("primary", "web"),
            proxied_roles=tuple(roles.get("proxied", ["web"])),
            hosts=tuple(sorted((HostAccess(name, h["role"], h["address"], h["user"], int(h["port"]),
                                           tuple(h.get("roles") or (h["role"],)), h.get("hostKey"), h.get("serverUrn"))
                               for name, h in (raw.get("hosts") or {}).items()), key=_host_order)),
            containers=dict(release.get("containers") or {}),
            role_containers={host: dict(roles) for host, roles in (release.get("roleContainers") or {}).items()},
            version=str(release.get("version", "")),
            litestream=tuple(Litestream(e["host"], e["container"], tuple(e["databases"]), e.get("owner", "1000:1000"))
                             for e in raw.get("litestream") or []),
        )

    def select(self, role: str | None = None, host: str | None = None) -> list[HostAccess]:
        """Hosts by name, else by role, else the primary role's hosts."""
        if host:
            chosen = [h for h in self.hosts if h.name == host or h.address == host]
        else:
            chosen = [h for h in self.hosts if h.runs(role or self.primary_role)]
        if not chosen:
            raise LookupError(f"no host matches {host or role or self.primary_role!r}; "
                              f"hosts: {', '.join(h.name for h in self.hosts)}")
        return chosen

    def proxied_hosts(self) -> list[HostAccess]:
        return [h for h in self.hosts if any(h.runs(role) for role in self.proxied_roles)]

    def host(self, name: str) -> HostAccess:
        return next(h for h in self.hosts if h.name == name)
