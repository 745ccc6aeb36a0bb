"""One listener per host port and address on each machine. kamal-proxy publishes its HTTP and HTTPS ports
(80 and 443 on 0.0.0.0 and ::, or `proxy.run`'s) on every machine that runs a proxied role, sshd listens on
`ssh.port` on every machine, and an accessory's `publish` binds its port on the machines it runs on (the primary
role's first machine, or every machine of its roles, shared machines included). Docker cannot start a container
whose port is taken there ("address already in use"), and `pulumi up` would fail at it after creating everything
before it, so each clash is refused before any resource, naming both keys.

Two bindings of one TCP port clash on a machine when their addresses meet: the same address, or a wildcard
(0.0.0.0, ::) and any address of its family. `private:PORT` is the machine's private address: an IPv4 address
not known before the server exists, other than loopback (an existing server's is the address listed).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .config import Stack
from .errors import Problem
from .render.proxy import bindings

_PRIVATE = "private"


@dataclass(frozen=True)
class Binding:
    port: int
    address: str  # an IP address, or "private" (the machine's own, not known yet)
    key: str  # the stack key that asks for it
    what: str  # who listens, in the message


def _family(address: str) -> int:
    return 4 if address == _PRIVATE else ipaddress.ip_address(address).version


def _meet(a: str, b: str) -> bool:
    if _family(a) != _family(b):
        return False
    return a == b or a in ("0.0.0.0", "::") or b in ("0.0.0.0", "::")


def _machine_bindings(stack: Stack, roles: tuple[str, ...], first_of_primary: bool, address: str | None
                      ) -> list[Binding]:
    out = [Binding(stack.ssh.port, ip, "berth:ssh.port", "sshd") for ip in ("0.0.0.0", "::")]
    if any(stack.is_proxied(role) for role in roles):
        run = stack.proxy.run
        keys = {80: ("berth:proxy.run.httpPort", "kamal-proxy's HTTP port"),
                443: ("berth:proxy.run.httpsPort", "kamal-proxy's HTTPS port")}
        out += [Binding(external, ip, *keys[internal])
                for external, internal, ip in bindings(run.http_port, run.https_port, tuple(run.bind_ips), run.publish)]
    for name, accessory in stack.accessories.items():
        runs_here = bool(set(accessory.roles) & set(roles)) if accessory.roles else first_of_primary
        if accessory.publish and runs_here:
            ip, _, port = accessory.publish.rpartition(":")
            if ip == _PRIVATE and address and _is_ip(address):
                ip = address  # an existing server's private address is the one listed
            out.append(Binding(int(port), ip, f"berth:accessories.{name}.publish", f"the accessory {name}"))
    return out


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def port_clashes(stack: Stack) -> list[Problem]:
    problems: list[Problem] = []
    said: set[tuple[str, str]] = set()
    primary = next((m for m in stack.machines if stack.primary_role in m.roles), None)
    for machine in stack.machines:
        where = machine.address or machine.name(stack.service)
        found = _machine_bindings(stack, machine.roles, machine == primary, machine.address)
        for i, later in enumerate(found):
            for earlier in found[:i]:
                if later.port != earlier.port or later.key == earlier.key or not _meet(later.address, earlier.address):
                    continue
                if (later.key, earlier.key) in said:
                    continue  # the same two keys on another machine: one edit fixes both
                said.add((later.key, earlier.key))
                problems.append(Problem(later.key, f"{later.what} would listen on {_shown(later)} on {where}, where "
                                                   f"{earlier.what} ({earlier.key}) listens on {_shown(earlier)}: "
                                                   "Docker refuses a port already taken (\"address already in use\"); "
                                                   "give one of them another port"))
    return problems


def _shown(binding: Binding) -> str:
    address = f"[{binding.address}]" if ":" in binding.address else binding.address
    return f"{address}:{binding.port}"
