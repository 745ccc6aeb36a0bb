"""Which machines a stack has, and which roles each one runs. Pure: from the validated stack, for the hosts,
the release, the accessories, the checks and the plan alike.

A role either has machines of its own (`count` on a cloud, `hosts` for existing servers) or runs on another
role's (`runsOn: web`), as Kamal users put the job worker on the web host. An existing server listed under
two roles, as Kamal writes it, is one machine running both, named after the primary role if it lists the
server, else after the first role that does in the order the program receives them (the Pulumi CLI hands
mappings over with their keys sorted, as Kamal sorts roles): `<service>-<role>-<n>`, n its place in that
role's list. So a stack whose roles never share a machine keeps every name, and every resource, it had.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Stack


@dataclass(frozen=True)
class MachineLayout:
    owner: str  # the role that has the machine: its name is <service>-<owner>-<index + 1>
    index: int
    roles: tuple[str, ...]  # the owner first, then every role that shares the machine, in the file's order
    address: str | None  # existing servers only

    def name(self, service: str) -> str:
        return f"{service}-{self.owner}-{self.index + 1}"


def machines(stack: Stack) -> list[MachineLayout]:
    """Every machine, in the order of the roles that have them."""
    owned: list[tuple[str, int, str | None]] = []  # (owner, index, address)
    roles: dict[tuple[str, int], list[str]] = {}
    by_address: dict[str, tuple[str, int]] = {}
    claim_order = sorted(stack.servers, key=lambda role: role != stack.primary_role)  # the primary role first
    for role in claim_order:
        spec = stack.servers[role]
        if spec.runs_on is not None:
            continue
        if spec.hosts:
            for index, address in enumerate(spec.hosts):
                if address in by_address:  # Kamal's way to share a server: the same address under two roles
                    roles[by_address[address]].append(role)
                    continue
                by_address[address] = (role, index)
                owned.append((role, index, address))
                roles[(role, index)] = [role]
        else:
            for index in range(spec.count or 1):
                owned.append((role, index, None))
                roles[(role, index)] = [role]
    for role, spec in stack.servers.items():
        if spec.runs_on is not None:
            for key, carried in roles.items():
                if key[0] == spec.runs_on:
                    carried.append(role)
    ordering = list(stack.servers)
    owned.sort(key=lambda machine: ordering.index(machine[0]))
    return [MachineLayout(owner, index, tuple(sorted(roles[(owner, index)], key=lambda r: (r != owner, ordering.index(r)))),
                          address)
            for owner, index, address in owned]


def carrying(layouts: list[MachineLayout], role: str) -> list[MachineLayout]:
    return [layout for layout in layouts if role in layout.roles]
