"""Kamal accessories as Berth accessories: where they run, their image, port, env, files and volumes.

Kamal's Accessory#hosts takes one of host, hosts, role, roles, tag or tags; Berth places an accessory on
the primary host or on every host of some roles, so hosts that are exactly one of those carry over and
any other placement (a database server of its own) is left as Kamal runs it, with a note. Kamal's
`port` publishes on every interface unless it names an address; Berth keeps accessories on the Docker
network and publishes only on loopback. A Litestream whose config file sits in the repository becomes
Berth's litestream preset (restore before the app, replication to berth:backups); any other stays the
container Kamal ran.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import shlex
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml

from components.checks import unpinned_image
from components.fields import looks_like_credential

from . import docker_options, env, reach, storage
from .notes import KamalAccessory, Note
from .source import MAX_LOCAL_FILE

if TYPE_CHECKING:
    from .translate import Translation

LITESTREAM_PIN = "litestream/litestream:0.5.16"  # the oldest release Berth's compatibility table accepts
PRESETS = {"litestream/litestream": "litestream", "getmeili/meilisearch": "meilisearch", "postgres": "postgres",
           "library/postgres": "postgres"}
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def kamal_hosts(spec: Any, roles: dict[str, list[str]], servers: Any) -> list[str] | None:
    """Accessory#hosts: host, hosts, role, roles, tag or tags (Kamal allows exactly one). A tag selects hosts
    only in roles written as plain lists of hosts (`extract_hosts_from_config_with_tag`); otherwise Kamal
    resolves it to no host at all (nil)."""
    if not isinstance(spec, dict):
        return []
    if "host" in spec:
        return [str(spec["host"])]
    if "hosts" in spec:
        return [str(h) for h in spec["hosts"] or []]
    if "role" in spec:
        return list(roles.get(str(spec["role"]), []))
    if "roles" in spec:
        return [h for role in spec["roles"] or [] for h in roles.get(str(role), [])]
    if "tag" not in spec and "tags" not in spec:
        return []
    if not isinstance(servers, dict):
        return None
    wanted = {str(t) for t in ([spec["tag"]] if "tag" in spec else spec.get("tags") or [])}
    found = []
    for entries in servers.values():
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry:
                host, tags = next(iter(entry.items()))
                if wanted & {str(t) for t in ([tags] if isinstance(tags, str) else tags or [])}:
                    found.append(str(host))
    return found


def translate(t: Translation, roles: dict[str, list[str]]) -> None:
    accessories = t.k.get("accessories") or {}
    out: dict[str, Any] = {}
    litestreams = 0
    for name, spec in accessories.items():
        path = ("accessories", name)
        if not isinstance(spec, dict):
            continue
        berth_name = t.role(name)
        placement = _placement(t, spec, roles, path)
        found = tuple(kamal_hosts(spec, roles, t.k.get("servers")) or ())
        if placement is None:
            t.d.left.append(KamalAccessory(str(name), kamal_container(t, spec, name), found))
            continue
        image = _image(t, spec, path)
        if image is None:
            continue
        kind = PRESETS.get(image.split("@")[0].rsplit(":", 1)[0], "generic")
        entry: dict[str, Any] = {"image": image, **placement}
        if kind == "litestream" and litestreams == 0 and _litestream(t, spec, path, entry):
            litestreams += 1
        else:
            if kind == "litestream":
                entry["preset"] = "generic"
            _generic(t, spec, path, entry, berth_name, found)
            reach.translate(t, berth_name, spec, entry, kamal_hosts(spec, roles, t.k.get("servers")) or [], roles)
            if kind == "meilisearch" and not _has_secret(entry, "MEILI_MASTER_KEY"):
                entry["preset"] = "generic"
                t.note("changed", path, "runs without a master key: Berth's meilisearch preset runs in production "
                                        "mode, which needs one, so it stays the plain container Kamal ran")
        if "proxy" in spec:
            route = _route(t, spec["proxy"] if isinstance(spec["proxy"], dict) else {}, (*path, "proxy"))
            if route:
                entry["proxy"] = route
        for key in ("service", "labels", "network", "registry"):
            if key in spec:
                _side_key(t, spec, path, key, berth_name)
        out[berth_name] = entry
        t.d.replaced.append(KamalAccessory(str(name), kamal_container(t, spec, name), found,
                                           f"{t.d.config.get('service')}-{berth_name}"))
        t.d.origins[("accessories", berth_name)] = t.k.at(*path)
        t.d.kamal_keys[("accessories", berth_name)] = tuple(path)
        if berth_name != name:
            t.note("changed", path, f"Berth names take a-z, 0-9 and '-': the accessory is {berth_name}, its container "
                                    f"{t.d.config.get('service')}-{berth_name}")
    if out:
        t.put(("accessories",), out, ("accessories",))


def kamal_container(t: Translation, spec: dict, name: str) -> str:
    """Accessory#service_name: its own `service`, else `<service>-<name>`: the container's name and the directory
    on the host that holds its files and `directories` (`$PWD/<service_name>/...`)."""
    return str(spec.get("service") or f"{t.k.get('service')}-{name}")


def _placement(t: Translation, spec: dict, roles: dict[str, list[str]], path: tuple) -> dict[str, Any] | None:
    hosts = kamal_hosts(spec, roles, t.k.get("servers"))
    for key in ("host", "hosts", "role", "roles", "tag", "tags"):
        if key in spec:
            t.take(*path, key)
    if hosts is None:
        t.note("not-taken", path, "Kamal resolves its tags to no host (a tag selects hosts only in roles written as "
                                  "plain lists of hosts), so it runs nowhere; not carried")
        return None
    primary_host = roles.get(t.primary, [None])[0]
    if hosts == [primary_host]:
        return {}
    covering = [role for role, role_hosts in roles.items() if set(role_hosts) <= set(hosts)]
    if hosts and sorted(h for role in covering for h in roles[role]) == sorted(hosts):
        return {"roles": [t.role(role) for role in covering]}
    app_hosts = {h for role_hosts in roles.values() for h in role_hosts}
    where = ", ".join(hosts) or "no host"
    why = ("its hosts are not the app's" if not set(hosts) <= app_hosts
           else "it runs on some of a role's hosts only")
    t.note("not-taken", path, f"runs on {where}: {why}, and Berth runs an accessory on the primary host or on every "
                              "host of some roles. Kamal's container keeps running there untouched; Berth does not "
                              "manage it")
    return None


def _image(t: Translation, spec: dict, path: tuple) -> str | None:
    raw = str(spec.get("image") or "")
    server = (spec.get("registry") or {}).get("server") if isinstance(spec.get("registry"), dict) else None
    image = f"{server}/{raw}" if server else raw  # Kamal's Accessory#image
    t.take(*path, "image")
    repository, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    if "@" in image or (tag and tag != "latest"):
        return image
    if PRESETS.get(repository) == "litestream":
        t.note("changed", (*path, "image"), f"{image} is not pinned: Berth pins {LITESTREAM_PIN} (a restart never "
                                            "upgrades it; 0.5.16 is the oldest release that uploads to every "
                                            "S3-compatible store)")
        return LITESTREAM_PIN
    t.note("check", (*path, "image"), unpinned_image(image))
    return image


def _generic(t: Translation, spec: dict, path: tuple, entry: dict[str, Any], name: str,
             hosts: tuple[str, ...]) -> None:
    if spec.get("cmd"):
        entry["cmd"] = str(spec["cmd"])
        t.take(*path, "cmd")
    if "port" in spec:
        _port(t, spec["port"], (*path, "port"), entry, name)
    clear, secret = env.section(t, spec.get("env"), (*path, "env"), f"accessories.{name}.env")
    if clear or secret:
        entry["env"] = {k: v for k, v in (("clear", clear), ("secret", secret)) if v}
    for key in ("env",):
        t.take(*path, key)
    files = _files(t, spec.get("files") or [], (*path, "files"), name)
    if files:
        entry["files"] = files
    directories = [_kamals_directory(t, spec, (*path, "directories", i), d, name, hosts)
                   for i, item in enumerate(spec.get("directories") or [])
                   if (d := _directory(t, item, (*path, "directories", i)))]
    if directories:
        entry["directories"] = directories
    volumes = [v for i, item in enumerate(spec.get("volumes") or [])
               if (v := storage.mount(t, str(item), (*path, "volumes", i)))]
    if volumes:
        entry["volumes"] = volumes
    if t.s.provider != "existing":
        for i, volume in enumerate(volumes):
            if not volume.startswith("/"):
                storage.named_volume_note(t, (*path, "volumes", i), volume.split(":")[0],
                                          ", ".join(hosts) or "the Kamal host")
    host_paths = [v.split(":")[0] for v in volumes if v.startswith("/")]
    if host_paths and t.s.provider != "existing":
        t.d.notes.append(Note("check", "/".join(map(str, path)), f"mounts {', '.join(host_paths)} from the host: a new "
                              f"{t.s.provider} server starts without them; put them there before `pulumi up`, or "
                              "carry small files in files:", t.k.at(*path, "volumes")))
    carried = docker_options.translate(t, spec.get("options"), (*path, "options"))
    if carried.options:
        entry["options"] = carried.options
    if carried.volumes:
        entry["volumes"] = [*entry.get("volumes", []), *carried.volumes]
    if carried.logging:
        t.note("not-taken", (*path, "options"), "--log-driver/--log-opt on an accessory: Berth's accessories log as "
                                                "berth:logging says, as Kamal's do without these options")


def _port(t: Translation, port: Any, path: tuple, entry: dict[str, Any], name: str) -> None:
    """Kamal's Accessory#port: "P" publishes P:P on every interface, "H:C" likewise, "IP:H:C" on IP only."""
    parts = str(port).split(":")
    t.take(*path)
    if not all(p.isdigit() for p in parts[-2:]) or len(parts) > 3:
        t.note("not-taken", path, f"{port!r}: Berth takes a TCP port, optionally published on 127.0.0.1")
        return
    container = int(parts[-1])
    entry["port"] = container
    ip = parts[0] if len(parts) == 3 else ""
    host_port = parts[-2] if len(parts) >= 2 else parts[-1]
    if ip in _LOOPBACK:
        entry["publish"] = f"127.0.0.1:{host_port}"
        return
    if _private_address(ip):
        _published_privately(t, path, entry, ip, host_port)
        return
    t.note("changed", path, f"Kamal published {host_port} on every interface{' of ' + ip if ip else ''}; Berth keeps "
                            f"it on the Docker network (the app reaches {t.d.config.get('service')}-{name}:{container}). "
                            f"To reach it from the host, add publish: 127.0.0.1:{host_port}")


def _private_address(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.is_private and not address.is_loopback and not address.is_unspecified


def _published_privately(t: Translation, path: tuple, entry: dict[str, Any], ip: str, host_port: str) -> None:
    """Kamal published on a private address (`10.0.0.5:5432:5432`, a VPC's): only that network reaches it. An
    existing host keeps the address; a new server has another one, which `private:` names."""
    if t.s.provider == "existing":
        entry["publish"] = f"{ip}:{host_port}"
        t.note("check", path, f"published on {ip}:{host_port} only, as Kamal did: whatever reaches that private "
                              "network reaches it (a machine outside the stack included), so keep the network's "
                              "own rules as they are")
        return
    entry["publish"] = f"private:{host_port}"
    t.note("changed", path, f"Kamal published it on {ip}; the new {t.s.provider} server publishes it on its own "
                            "private address, which Berth's firewall opens to the stack's other hosts only (a "
                            "machine outside the stack needs a rule of yours)")


def _files(t: Translation, items: list, path: tuple, name: str) -> dict[str, str]:
    """Kamal uploads repository files; Berth writes their content into the stack file (never an ERB file)."""
    out: dict[str, str] = {}
    for i, item in enumerate(items):
        at = (*path, i)
        t.take(*at)
        if isinstance(item, dict):
            local, remote = str(item.get("local") or ""), str(item.get("remote") or "")
            if item.get("mode") or item.get("owner"):
                t.note("changed", at, "mode and owner are not carried: Berth writes files 0644 (0600 with a secret), "
                                      "mounted read-only")
        else:
            local, remote = (str(item).split(":") + [""])[:2]
        if local.endswith(".erb"):
            t.problem(at, _erb_file_advice(local, (t.k.local_files.get(local) or {}).get(""), remote, name))
            continue
        found = t.k.local_files.get(local)
        if found is None:
            t.problem(at, f"{local} does not exist beside the configuration (Kamal would fail to upload it too)")
            continue
        for relative, data in found.items():
            target = f"{remote.rstrip('/')}/{relative}" if relative else remote
            shown = f"{local.rstrip('/')}/{relative}" if relative else local
            content = _file_text(t, data, at, shown)
            if content is None:
                continue
            if "PRIVATE KEY-----" in content or any(looks_like_credential("", w) for w in content.split()):
                secret = re.sub(r"[^A-Z0-9]+", "_", f"{name}_{PurePosixPath(target).name}".upper()).strip("_")
                out[target] = f"{{{{ secrets.{secret} }}}}"
                t.secret(secret, f"accessories.{name}.files.{target}")
                t.d.expressions[secret] = f"$(cat {shlex.quote(shown)})"
                t.note("changed", at, f"{shown} holds a key or token: the file's content is the secret {secret}, never "
                                      "written in the stack file")
            else:
                out[target] = content
    return out


_ERB_TAG = re.compile(r"<%=?(.*?)-?%>", re.DOTALL)
_ENV_READ = re.compile(r"""ENV(?:\.fetch\(|\[)\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")


def _erb_file_advice(local: str, data: bytes | None, remote: str, name: str) -> str:
    """What to write instead of an ERB file Kamal renders: its text in `files`, each value it reads from the
    environment as a `{{ secrets.NAME }}` reference (a berth:secrets entry, set with `pulumi config set --secret`).
    Never a rendered copy: that would put the secrets it reads in plain text, in the stack file."""
    reads = []
    for match in _ERB_TAG.finditer((data or b"").decode(errors="replace")):
        env = _ENV_READ.search(match.group(1))
        line = (data or b"")[:match.start()].count(b"\n") + 1
        reads.append(f"line {line} `{match.group(1).strip()}`: "
                     + (f"{{{{ secrets.{env.group(1)} }}}}" if env else "its value, if it is not a secret"))
    found = f"; its tags: {'; '.join(reads)}" if reads else ""
    return (f"{local} is an ERB template, which berth import does not evaluate: write its text under "
            f"berth:accessories.{name}.files.{remote or '<path>'} with each value it reads from your environment as "
            "{{ secrets.NAME }} (a berth:secrets entry: pulumi config set --secret --path 'secrets.NAME' <value>), "
            f"never a rendered copy, which would put those secrets in plain text{found}")


def _file_text(t: Translation, data: bytes, at: tuple, local: str) -> str | None:
    if len(data) > MAX_LOCAL_FILE:
        t.problem(at, f"{local} is larger than {MAX_LOCAL_FILE // 1024} KiB: Berth carries files in the stack file; "
                      "mount it from a host path or a volume instead")
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        t.problem(at, f"{local} is not text: Berth carries files in the stack file; mount it from a volume instead")
        return None


def _directory(t: Translation, item: Any, path: tuple) -> str | None:
    t.take(*path)
    if isinstance(item, dict):
        local, remote = str(item.get("local") or ""), str(item.get("remote") or "")
        if item.get("mode") or item.get("owner"):
            t.note("changed", path, "mode and owner are not carried: Berth creates directories 0755")
    else:
        local, remote = (str(item).split(":") + [""])[:2]
    return f"{local}:{remote}"


def _kamals_directory(t: Translation, spec: dict, path: tuple, directory: str, name: str,
                      hosts: tuple[str, ...]) -> str:
    """Kamal keeps a relative `directories` entry in `$PWD/<service_name>/<name>` (Accessory#directories,
    `expand_host_path_for_volume`), `$PWD` being the SSH user's login directory. On the same hosts Berth mounts
    that very directory, so the data is used in place (and Kamal's accessory could start on it again); a new
    server has none of it, which is said with how to copy it. An absolute path is the same path either way."""
    local, _, remote = directory.partition(":")
    if local.startswith("/"):
        return directory
    container = kamal_container(t, spec, path[1])
    kamal_dir = posixpath.normpath(f"{storage.ssh_home(t)}/{container}/{local}")
    host = hosts[0] if hosts else "<host>"
    user = storage.ssh_user(t)
    if t.s.provider == "existing":
        t.note("changed", path, f"Kamal keeps {local} in $HOME/{container}/{local} of the SSH user {user}, "
                                f"{kamal_dir} (its home on a standard host); Berth mounts that same directory, so "
                                f"the data stays where it is. Check before `pulumi up`: ssh {user}@{host} ls -d "
                                f"~/{container}/{local} (if the home is elsewhere, write that path here)")
        return f"{kamal_dir}:{remote}"
    berth_container = f"{t.d.config.get('service')}-{name}"
    t.d.to_copy.append(f"{path[1]}'s {local} ({kamal_dir})")
    fresh = f"/var/lib/berth/{t.d.config.get('service')}/accessories/{name}/{local}"
    t.note("check", path, f"the data in {kamal_dir} on {', '.join(hosts) or 'the Kamal host'} does not move: on the "
                          f"new {t.s.provider} server the accessory starts with an empty {fresh}, on its boot disk. "
                          f"Copy it before you move traffic, the accessory stopped on both sides (kamal accessory stop "
                          f"{path[1]}; docker stop {berth_container}), as root keeping owners (rsync -aHAX), then "
                          f"docker start {berth_container}; or dump and restore with the database's own tools. To keep "
                          f"it on a block volume that outlives the server, write {storage.STORAGE}/{berth_container}-"
                          f"{local.replace('/', '-')}:{remote} here with berth:volume")
    return directory


def _has_secret(entry: dict[str, Any], name: str) -> bool:
    return any(s.partition(":")[0] == name for s in (entry.get("env") or {}).get("secret", []))


def _side_key(t: Translation, spec: dict, path: tuple, key: str, name: str) -> None:
    service = t.d.config.get("service")
    messages = {
        "service": f"a container name of its own ({spec.get('service')}); Berth names it {service}-{name}: values that "
                   "name the old one change",
        "labels": "Berth labels accessories with service and accessory; custom labels are not carried",
        "network": "Berth runs accessories on the kamal network, beside the app",
    }
    if key == "registry":
        registry = spec.get("registry") or {}
        app_server = t.k.get("registry", "server") or "docker.io"
        if str(registry.get("server") or "docker.io") == str(app_server):
            t.take(*path, "registry")
            return
        messages["registry"] = (f"credentials for {registry.get('server')}: Berth's hosts log in to berth:registry only, "
                                "so this image must be public there (its name keeps the registry)")
    t.note("not-taken", (*path, key), messages[key])


def _route(t: Translation, proxy: dict, path: tuple) -> dict[str, Any] | None:
    """Kamal's accessory `proxy` (its own kamal-proxy route): host names, app_port and health check carry over;
    TLS and the other settings are the stack's (berth:proxy), so a difference is said."""
    hosts = proxy.get("hosts") or [h.strip() for h in str(proxy.get("host") or "").split(",") if h.strip()]
    if not hosts:
        t.problem(path, f"{'/'.join(map(str, path))}: no host: Kamal would route every name not claimed by another "
                        "route to this accessory, and Berth routes an accessory only for named hosts: add host")
        return None
    route: dict[str, Any] = {"hosts": [str(h) for h in hosts]}
    if "app_port" in proxy:
        route["appPort"] = int(proxy["app_port"])
    check = proxy.get("healthcheck") or {}
    if check:
        route["healthcheck"] = {**({"path": str(check["path"])} if "path" in check else {}),
                                **{k: f"{check[k]}s" for k in ("interval", "timeout") if k in check}}
    for key in ("host", "hosts", "app_port", "healthcheck"):
        t.take(*path, key)
    mode = (t.d.config.get("proxy") or {}).get("ssl")
    if mode and bool(proxy.get("ssl")) != (mode != "external"):
        t.note("changed", (*path, "ssl"), f"Kamal served this route {'with' if proxy.get('ssl') else 'without'} TLS; "
                                          f"Berth serves it as it serves the app (proxy.ssl: {mode})")
    for key in sorted(set(proxy) - {"host", "hosts", "app_port", "healthcheck", "ssl"}):
        t.note("changed", (*path, key), "an accessory's route takes the stack's TLS mode and proxy settings "
                                        "(berth:proxy), not its own")
    return route


# --- Litestream -------------------------------------------------------------------------------------------

def _litestream(t: Translation, spec: dict, path: tuple, entry: dict[str, Any]) -> bool:
    """Berth's preset when Litestream's config is a repository file: its databases (at the app's paths, through
    the volume both mount) and its one replica bucket become berth:accessories.<name>.databases and berth:backups.
    False (and no change) when any of it is missing: the accessory then stays the container Kamal ran."""
    found = _litestream_config(t, spec)
    if found is None:
        t.note("check", path, "Litestream's config is not a file in the repository (files:), so Berth cannot "
                              "replicate for it: it stays the container Kamal ran. Berth's litestream preset restores "
                              "before the app on a fresh host: give it databases and berth:backups to use it")
        return False
    file_index, config = found
    databases, replica = [], None
    mounts = [str(v) for v in (spec.get("volumes") or []) + (spec.get("directories") or []) if isinstance(v, str)]
    app_mounts = [str(v) for v in t.k.get("volumes") or []]
    for db in config.get("dbs") or []:
        app_path = _app_path(str(db.get("path", "")), mounts, app_mounts)
        replicas = db.get("replicas") or ([db["replica"]] if db.get("replica") else [])
        if app_path is None or len(replicas) != 1 or (replica is not None and _same(replicas[0]) != _same(replica)):
            t.note("check", path, f"Litestream's {db.get('path')} is not a database the app mounts with one replica in "
                                  "the same bucket as the others: the accessory stays the container Kamal ran")
            return False
        databases.append(app_path)
        replica = replicas[0]
    bucket = _bucket(replica) if replica else None
    env = spec.get("env") or {}
    secret = [str(s) for s in (env.get("secret") or [])] if isinstance(env, dict) else []
    names = {s.partition(":")[0]: s.partition(":")[2] or s for s in secret}
    key_id, secret_key = names.get("LITESTREAM_ACCESS_KEY_ID"), names.get("LITESTREAM_SECRET_ACCESS_KEY")
    if not databases or bucket is None or None in bucket or not key_id or not secret_key:
        t.note("check", path, "Litestream's config names no bucket with an endpoint and region, or its env lacks "
                              "LITESTREAM_ACCESS_KEY_ID and LITESTREAM_SECRET_ACCESS_KEY: it stays the container Kamal ran")
        return False
    name, endpoint, region, _ = bucket
    entry["databases"] = databases
    interval = replica.get("sync-interval")
    if interval:
        entry["syncInterval"] = str(interval)
    t.put(("backups",), {"provider": "s3", "bucket": name, "region": region, "endpoint": endpoint,
                         "accessKeyId": key_id, "secretAccessKey": secret_key}, (*path, "files", file_index),
          comment="from Litestream's replica in " + _local(spec["files"][file_index]))
    t.secret(key_id, f"{'.'.join(map(str, path))}.env.secret")
    t.secret(secret_key, f"{'.'.join(map(str, path))}.env.secret")
    for key in ("files", "volumes", "directories", "env", "cmd"):
        t.take(*path, key)
    t.note("changed", path, f"Berth's litestream preset: it writes litestream.yml itself, restores each database "
                            "before the app on a fresh host and replicates to berth:backups under "
                            f"<service>/<stack>/<host>/ in {name}; the replicas Kamal's Litestream wrote there are not "
                            "read: copy them under that prefix if a fresh host must start from them")
    return True


def _litestream_config(t: Translation, spec: dict) -> tuple[int, dict] | None:
    for i, item in enumerate(spec.get("files") or []):
        local = _local(item)
        found = t.k.local_files.get(local)
        if local.endswith(".erb") or not found or "" not in found:
            continue
        try:
            config = yaml.safe_load(found[""].decode())
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if isinstance(config, dict) and isinstance(config.get("dbs"), list):
            return i, config
    return None


def _local(item: Any) -> str:
    return str(item.get("local") or "") if isinstance(item, dict) else str(item).split(":")[0]


def _app_path(path: str, accessory_mounts: list[str], app_mounts: list[str]) -> str | None:
    """A database path as Litestream sees it, as the app sees it: the same volume mounted in both."""
    for mount in accessory_mounts:
        source, _, target = mount.partition(":")
        target = target.split(":")[0].rstrip("/")
        if path.startswith(target + "/"):
            for app in app_mounts:
                app_source, _, app_target = app.partition(":")
                if app_source == source:
                    return app_target.split(":")[0].rstrip("/") + path[len(target):]
    return None


def _same(replica: dict) -> tuple | None:
    """What two replicas must share to be one berth:backups: bucket, endpoint and region."""
    bucket = _bucket(replica)
    return bucket[:3] if bucket else None


def _bucket(replica: dict) -> tuple[str | None, str | None, str | None, str] | None:
    """(bucket, endpoint, region, path) of an S3 replica, from `url: s3://bucket/path` or its keys."""
    if not isinstance(replica, dict):
        return None
    url = str(replica.get("url") or "")
    match = re.match(r"^s3://([^/?]+)/?([^?]*)", url)
    bucket = match.group(1) if match else replica.get("bucket")
    prefix = match.group(2) if match else str(replica.get("path") or "")
    region = replica.get("region")
    endpoint = replica.get("endpoint") or (f"https://s3.{region}.amazonaws.com" if region else None)
    if endpoint and not str(endpoint).startswith("https://"):
        endpoint = f"https://{endpoint}"
    return (str(bucket) if bucket else None, str(endpoint) if endpoint else None, str(region) if region else None,
            prefix)
