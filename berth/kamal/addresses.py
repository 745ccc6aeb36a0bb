"""With `--provider`, new servers replace the Kamal hosts and get addresses of their own, so a clear env value
that names an old host's address (`REDIS_URL: redis://10.0.0.3:6379/0`) would send the new app to the old host,
or nowhere. Each such value (the root's, a role's, an accessory's) is dealt with where its meaning is known:

- the address and port of an accessory Berth runs, seen only by containers on that accessory's server: the
  value names the container instead (`redis://<service>-redis:6379/0`), as on the same hosts (reach.py);
- the same, seen from other servers: the accessory is published on its new server's private address
  (`private:PORT`), which is known only once the server exists, so the value is flagged with what to write;
- any other old address: flagged with the server that replaces that host.

A secret's value is never seen here, so one note asks for the same change there. Existing hosts keep their
addresses: nothing is done for them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import env
from .notes import Note

if TYPE_CHECKING:
    from .translate import Translation


def translate(t: Translation, roles: dict[str, list[str]]) -> None:
    if t.s.provider == "existing":
        return
    published = _published(t)
    old = {*(h for hosts in roles.values() for h in hosts), *(address for address, _ in published)}
    if not old:
        return
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, sorted(old, key=len, reverse=True)))
                         + r")(?::(\d+))?(?![\w-]|\.\w)")
    service = t.d.config.get("service")
    for node, key, at in env.clear_values(t):
        value = node[key]
        if not isinstance(value, str) or not pattern.search(value):
            continue
        seen_by = _seen_by(t, at, roles)
        instead: dict[str, tuple[str, str]] = {}  # old text -> (what to write, why)

        def replace(match: re.Match, seen_by: set[str] = seen_by, instead: dict = instead) -> str:
            address, port = match.group(1), match.group(2)
            accessory = published.get((address, port or ""))
            if accessory and seen_by <= set(accessory["hosts"]):
                return f"{service}-{accessory['berth']}:{accessory['container']}"
            if accessory:
                _publish_privately(t, accessory)
                server = _server(t, roles, accessory["hosts"][0])
                instead[match.group(0)] = (f"<private ip of {server}>:{accessory['port']}",
                                           f"{match.group(0)} is where Kamal published the accessory "
                                           f"{accessory['name']}, which {server} publishes on its private address, "
                                           f"publish: private:{accessory['port']}")
            else:
                host = next((a["hosts"][0] for (at_, _), a in published.items() if at_ == address and a["hosts"]),
                            address)
                server = _server(t, roles, host)
                instead[match.group(0)] = (f"<ip of {server}>{':' + port if port else ''}",
                                           f"{address} is the Kamal host {server} replaces")
            return match.group(0)

        new = pattern.sub(replace, value)
        if new != value:
            node[key] = new
            t.note("changed", at, f"{value} names an accessory's Kamal address on the server that runs it: the app "
                                  f"there reaches it over the kamal network, so the value is now {new}")
        if instead:
            wanted = pattern.sub(lambda m, instead=instead: instead.get(m.group(0), (m.group(0),))[0], new)
            t.note("check", at, f"{new} names a Kamal host the new {t.s.provider} servers replace "
                                f"({'; '.join(why for _, why in instead.values())}): write {wanted}. The address is "
                                f"known once `pulumi up` has made the server (pulumi stack output --stack {t.s.stack} "
                                "servers: privateIp, publicIpv4; berth-plan's reach): set it, then `pulumi up` again")
    if t.d.secrets:
        t.d.notes.append(Note("check", "env/secret", "the import never reads a secret's value: one that names an "
                                                     f"address of the Kamal hosts ({', '.join(sorted(old))}) must name "
                                                     f"the new {t.s.provider} server's instead", t.k.at("env")))


def _published(t: Translation) -> dict[tuple[str, str], dict[str, Any]]:
    """(address, host port) -> the accessory Berth runs that Kamal published there: `P` and `H:C` on each of its
    hosts, `IP:H:C` on IP only (often the host's private address, which the servers list does not name)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for accessory in t.d.replaced:
        spec = (t.k.get("accessories") or {}).get(accessory.name) or {}
        parts = str(spec.get("port") or "").split(":")
        if not spec.get("port") or len(parts) > 3 or not all(p.isdigit() for p in parts[-2:]):
            continue
        addresses = [parts[0]] if len(parts) == 3 else list(accessory.hosts)
        found = {"name": accessory.name, "berth": accessory.berth.removeprefix(f"{t.d.config.get('service')}-"),
                 "hosts": list(accessory.hosts), "port": parts[-2] if len(parts) > 1 else parts[0],
                 "container": parts[-1]}
        for address in addresses:
            out[(address, found["port"])] = found
    return out


def _seen_by(t: Translation, at: tuple, roles: dict[str, list[str]]) -> set[str]:
    """The Kamal hosts whose containers get a value at this Kamal key path: every app host for the root env, the
    role's for a role's, the accessory's for an accessory's."""
    if at[0] == "servers":
        return set(roles.get(at[1], []))
    if at[0] == "accessories":
        return {h for a in t.d.replaced if a.name == at[1] for h in a.hosts}
    return {h for hosts in roles.values() for h in hosts}


def _publish_privately(t: Translation, accessory: dict[str, Any]) -> None:
    """The old address cannot be bound on a new server: publish on its own private address instead."""
    entry = (t.d.config.get("accessories") or {}).get(accessory["berth"])
    if isinstance(entry, dict):
        entry["publish"] = f"private:{accessory['port']}"


def _server(t: Translation, roles: dict[str, list[str]], address: str) -> str:
    """The new server that takes a Kamal host's place: `<service>-<role>-<n>` of the first role listing it with
    servers of its own (a role that shares them has runsOn), n its place in that role's hosts."""
    servers = t.d.config.get("servers") or {}
    for role, hosts in roles.items():
        if address in hosts and "runsOn" not in (servers.get(t.role(role)) or {}):
            return f"{t.d.config.get('service')}-{t.role(role)}-{hosts.index(address) + 1}"
    return f"the new server of {address}"
