"""How the app reaches an accessory whose port Kamal published on the host (`port: 6379` is `--publish
6379:6379` on every interface): an app whose env names the host's address and that port (`redis://10.0.0.5:6379`)
would lose it, since Berth keeps an accessory's port on the Docker network. So, per accessory and address:

- every app container that names it runs on the accessory's host: the value names the container instead
  (`redis://<service>-redis:6379`), reached over the kamal network, as the rest of Berth's accessories are;
- app containers on other hosts name it, at a private address: the port is published on that address only
  (`publish: 10.0.0.5:6379`; a new server's own: `private:6379`), which the private network reaches and the
  internet does not;
- at a public address or a name: refused, with why (Kamal published it to the internet).

Only clear values are read: a secret's value is never seen here, and the note says so.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .translate import Translation


def translate(t: Translation, name: str, spec: dict, entry: dict[str, Any], hosts: list[str],
              roles: dict[str, list[str]]) -> None:
    published = _published(spec.get("port"))
    if published is None or "publish" in entry:
        return
    host_port, container = published
    service = t.d.config.get("service")
    servers = t.d.config.get("servers") or {}
    placed = _placed_on(t, entry, roles)
    for address in hosts:
        needle = f"{address}:{host_port}"
        users = _users(t, needle, servers, roles)
        if not users:
            continue
        key = f"accessories/{name}/port"  # the general note on the port is replaced by what is done here
        t.d.notes = [n for n in t.d.notes if not (n.key == key and n.message.startswith("Kamal published"))]
        if set().union(*(set(users[role]) for role in users)) <= placed:
            target = f"{service}-{name}:{container}"
            for env in _clear_envs(t, servers):
                for key, value in env.items():
                    if needle in str(value):
                        env[key] = str(value).replace(needle, target)
            t.note("changed", ("accessories", name, "port"),
                   f"the app reaches it at {needle} (its env says so); on the same host Berth's app reaches it over "
                   f"the kamal network, so the env names {target} instead")
        elif _private(address) and t.s.provider != "existing":
            entry["publish"] = f"private:{host_port}"  # the new server's address is not known yet: addresses.py
            t.note("changed", ("accessories", name, "port"),
                   f"the app on other hosts reaches it at {needle} (its env says so): the new {t.s.provider} server "
                   "publishes it on its own private address only, not on every interface as Kamal did (each env "
                   "value that names the old address is listed under Check)")
        elif _private(address):
            entry["publish"] = needle
            t.note("changed", ("accessories", name, "port"),
                   f"the app on other hosts reaches it at {needle} (its env says so): published there only, on the "
                   "private network, not on every interface as Kamal did")
        else:
            t.problem(("accessories", name, "port"),
                      f"accessories/{name}/port: the app reaches it at {needle} (its env says so), which Kamal "
                      "published on every interface, to the internet; Berth publishes an accessory's port on a "
                      "private address only: give the hosts a private network and name that address in the env")


def _published(port: Any) -> tuple[str, int] | None:
    """(host port, container port) of a port Kamal publishes on every interface ("P" or "H:C"); None otherwise
    (an "IP:H:C" port is published on that address only, which accessories.py `_port` takes as it is)."""
    parts = str(port).split(":") if port is not None else []
    if not 1 <= len(parts) <= 2 or not all(p.isdigit() for p in parts):
        return None
    return parts[0], int(parts[-1])


def _clear_envs(t: Translation, servers: dict) -> list[dict]:
    envs = [(t.d.config.get("env") or {}).get("clear") or {}]
    envs += [((spec.get("env") or {}).get("clear") or {}) for spec in servers.values()]
    return [env for env in envs if env]


def _users(t: Translation, needle: str, servers: dict, roles: dict[str, list[str]]) -> dict[str, list[str]]:
    """The roles (Berth names) whose containers see a clear value naming `needle`, with their Kamal hosts."""
    root = (t.d.config.get("env") or {}).get("clear") or {}
    everyone = any(needle in str(v) for v in root.values())
    out = {}
    for kamal_role, hosts in roles.items():
        role = t.role(kamal_role)
        own = ((servers.get(role) or {}).get("env") or {}).get("clear") or {}
        if everyone or any(needle in str(v) for v in own.values()):
            out[role] = hosts
    return out


def _placed_on(t: Translation, entry: dict[str, Any], roles: dict[str, list[str]]) -> set[str]:
    """The Kamal hosts Berth runs the accessory on: its roles' hosts, or the primary role's first host."""
    if entry.get("roles"):
        return {h for kamal_role, hosts in roles.items() if t.role(kamal_role) in entry["roles"] for h in hosts}
    return {roles.get(t.primary, [None])[0]} - {None}


def _private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # a name: which address it stands for is not known here
    return ip.is_private and not ip.is_loopback and not ip.is_unspecified
