"""Where the app runs and how Berth reaches it: Kamal's roles and their hosts as Kamal resolves them
(Role#hosts, host tags, primary_role), each role's Docker options, the cloud the import targets, and ssh."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from components import catalog

from . import docker_options, notes
from .notes import Note
from .source import Origin

if TYPE_CHECKING:
    from .translate import Translation

DEFAULT_REGIONS = {"digitalocean": "nyc3", "hetzner": "fsn1"}  # the import's choice when --region is not given


def translate(t: Translation) -> dict[str, list[str]]:
    """Roles and their hosts as Kamal resolves them (Role#hosts); the stack's servers from them."""
    servers = t.k.get("servers")
    if servers is None:
        t.problem(("servers",), "no servers: Berth needs hosts to release onto (accessories alone are "
                                   "not a Berth stack)")
        return {}
    raw_roles = {"web": servers} if isinstance(servers, list) else dict(servers)
    roles: dict[str, list[str]] = {}
    tags: dict[str, list[str]] = {}
    for role, spec in raw_roles.items():
        path = ("servers",) if isinstance(servers, list) else ("servers", role)
        entries = spec if isinstance(spec, list) else (spec or {}).get("hosts") or []
        hosts = []
        for i, entry in enumerate(entries):
            if isinstance(entry, dict) and entry:
                host, host_tags = next(iter(entry.items()))
                tags[str(host)] = [str(t) for t in ([host_tags] if isinstance(host_tags, str) else host_tags or [])]
                hosts.append(str(host))
            elif entry is not None:
                hosts.append(str(entry))
            t.take(*path, *(() if isinstance(spec, list) else ("hosts",)), i)
        if not hosts:
            if t.k.get("allow_empty_roles"):
                t.note("not-taken", path, "has no hosts (allow_empty_roles); a Berth role needs at least one")
                continue
            t.problem(path, f"No servers specified for the {role} role (Kamal refuses it too)")
            continue
        roles[role] = hosts
    t.host_tags = tags
    primary = t.primary
    if roles and primary not in roles:
        t.problem(("primary_role",), f"the primary_role {primary} isn't defined (Kamal refuses it too)")
    runs_on = shared_machines(t, roles, primary)
    out: dict[str, Any] = {}
    for role, hosts in roles.items():
        spec = raw_roles[role] if isinstance(raw_roles[role], dict) else {}
        path = ("servers", role)
        if role in runs_on:
            entry: dict[str, Any] = {"runsOn": t.role(runs_on[role])}
        elif t.s.provider == "existing":
            entry = {"hosts": hosts}  # a host under two roles, as Kamal writes it, is one machine running both
        else:
            entry = {"count": len(hosts), "size": catalog.default_size(t.s.provider, region(t))}
        if spec.get("cmd"):
            entry["cmd"] = str(spec["cmd"])
            t.take(*path, "cmd")
        carried = docker_options.translate(t, spec.get("options"), (*path, "options"))
        if carried.options:
            entry["options"] = carried.options
        if carried.volumes:
            entry["volumes"] = carried.volumes
            t.d.kamal_keys[("servers", t.role(role), "volumes")] = (*path, "options")
        logging = docker_options.logging(t, spec.get("logging"), (*path, "logging"), carried.logging)
        if logging:
            entry["logging"] = logging
        if "labels" in spec:
            t.note("not-taken", (*path, "labels"), notes.SECTIONS["labels"])
        name = t.role(role)
        if name in out:
            t.problem(path, f"becomes the Berth role {name}, as another role does: rename one of them in deploy.yml")
        elif name != role:
            t.note("changed", path, f"Berth names take a-z, 0-9 and '-': the role is {name}, so its containers are "
                                    f"{t.d.config.get('service')}-{name}-<version> (Kamal: ...-{role}-...)")
        out[name] = entry
        t.d.origins[("servers", name)] = t.k.at(*path) or Origin(t.k.files[0], 1)
        t.d.kamal_keys[("servers", name)] = tuple(path)
        if t.s.provider != "existing" and role not in runs_on:
            t.d.comments[("servers", name, "size")] = "the plan's default (components/catalog.py)"
        if role in runs_on:
            t.d.comments[("servers", name, "runsOn")] = (f"on {t.role(runs_on[role])}'s servers, as Kamal ran it "
                                                         f"on {', '.join(hosts)}")
    if t.s.provider != "existing":
        sizes = ", ".join(sorted({e["size"] for e in out.values() if "size" in e}))
        t.d.notes.append(Note("changed", "servers", f"new {t.s.provider} servers replace the hosts listed, "
                                                       f"one per address with the same roles: size {sizes} (the "
                                                       f"plan's default) in {region(t)}"
                                                       f"{'' if t.s.region else ' (the import default)'}; they "
                                                       "get new addresses", t.k.at("servers")))
    tagged = {h: t for h, t in tags.items() if t}
    if tagged:
        described = ", ".join(f"{h} ({', '.join(t)})" for h, t in tagged.items())
        t.d.notes.append(Note("not-taken", "servers (host tags)", f"{described}: a tag gives some hosts extra "
                                 "env; Berth runs one env per role: give those hosts a role of their own with "
                                 "servers.<role>.env", t.k.at("servers")))
    t.put(("servers",), out)
    if t.role(primary) != "web" and primary in roles:
        t.put(("primaryRole",), t.role(primary), ("primary_role",))
    t.take("primary_role")
    t.take("allow_empty_roles")
    return roles


def shared_machines(t: Translation, roles: dict[str, list[str]], primary: str) -> dict[str, str]:
    """Roles that share hosts. Existing hosts keep Kamal's form (the same address under both roles: one machine
    running both). New servers cannot take addresses: a role on exactly another role's hosts becomes
    `runsOn: <that role>` (the primary role has the hosts it lists, then the others in Kamal's order); a role
    that shares only some of them is refused, as Berth's runsOn covers every machine of a role."""
    owner: dict[str, str] = {}
    for role in sorted(roles, key=lambda r: r != primary):
        for host in roles[role]:
            owner.setdefault(host, role)
    runs_on: dict[str, str] = {}
    if t.s.provider == "existing":
        return runs_on
    for role, hosts in roles.items():
        others = {owner[h] for h in hosts if owner[h] != role}
        if not others:
            continue
        (other, *more) = sorted(others)
        if not more and set(hosts) == set(roles[other]) and len(hosts) == len(roles[other]):
            runs_on[role] = other
            continue
        shared = ", ".join(h for h in hosts if owner[h] != role)
        t.problem(("servers", role), f"shares {shared} with {', '.join(sorted(others))} but not every host: new "
                                     f"{t.s.provider} servers run a role either on machines of its own or on every "
                                     "machine of another role (runsOn); list the same hosts under both roles, or "
                                     "none of them")
    return runs_on


def region(t: Translation) -> str | None:
    """Where new servers go: --region, else the import's default for the provider (none for existing hosts)."""
    return t.s.region or DEFAULT_REGIONS.get(t.s.provider)


def cloud_and_ssh(t: Translation) -> None:
    cloud: dict[str, Any] = {"provider": t.s.provider}
    if t.s.provider != "existing":
        cloud["region"] = region(t)
        comment = None if t.s.region else "the import's default region; pass --region to choose"
        t.put(("cloud",), cloud, comment=comment)
    else:
        t.put(("cloud",), cloud, comment="the hosts Kamal deployed to, reached over SSH")
    ssh = t.k.get("ssh") or {}
    out: dict[str, Any] = {}
    if "user" in ssh:
        out["user"] = str(ssh["user"])
        t.take("ssh", "user")
    if "port" in ssh and not str(ssh["port"]).isdigit():
        t.problem(("ssh", "port"), f"{ssh['port']!r} is not a port number")
    elif "port" in ssh:
        out["port"] = int(ssh["port"])
        t.take("ssh", "port")
    if t.s.authorized_keys:
        out["authorizedKeys"] = list(t.s.authorized_keys)
    out["allowFrom"] = list(t.s.allow_from)
    t.put(("ssh",), out, ("ssh",), comment="allowFrom: who may reach port 22 once Berth's firewall is on "
                                              "(from --allow-from)")
    if isinstance(ssh.get("key_data"), list) and ssh["key_data"]:
        first = str(ssh["key_data"][0])
        if re.match(r"^[A-Z_][A-Z0-9_]*$", first):
            out["privateKey"] = first
            t.secret(first, "ssh.key_data")
            t.take("ssh", "key_data")
        else:
            t.note("not-taken", ("ssh", "key_data"), "holds a key inline (not shown): put it in a secret and "
                                                        "name it in berth:ssh.privateKey")
    for key in ("keys", "keys_only", "config", "log_level", "proxy", "proxy_command"):
        if key in ssh:
            message = {
                "keys": "Berth uses your ssh-agent: ssh-add " + " ".join(map(str, ssh.get("keys") or []))
                        + (" (the public keys of new servers: berth:ssh.authorizedKeys)"
                           if t.s.authorized_keys else ""),
                "proxy": "Berth connects to each host directly (no jump host)",
                "proxy_command": "Berth connects to each host directly (no proxy command)",
            }.get(key, "Berth's SSH connections have no such setting")
            t.note("not-taken", ("ssh", key), message)
    if t.s.cloudflare_zone:
        t.put(("dns",), {"zone": t.s.cloudflare_zone, "proxied": True},
                 comment="from --cloudflare-zone: records proxied by Cloudflare, origin certificate from it")

