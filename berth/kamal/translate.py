"""A Kamal configuration (as Kamal resolved it) to the keys of a Berth stack file. Pure: no files, no I/O.

Each section follows what Kamal itself derives from deploy.yml (lib/kamal/configuration/*.rb at
v2.11.0): the web role when `servers` is a list, the primary role's proxy unless `proxy: false`,
another role's only when it asks, a role's proxy settings deep-merged over the root's, seconds as
durations, `boot.limit` as a count or a percentage of every host. What Berth does differently, or not at
all, becomes a Note; what Berth cannot run (ERB, one host in two roles) a Problem, with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from components import catalog
from components.fields import looks_like_credential

from . import accessories, notes, proxy
from .notes import Note
from .source import KamalConfig, Origin, Problem, erb_problems

PROVIDERS = ("existing", "digitalocean", "hetzner")
DEFAULT_REGIONS = {"digitalocean": "nyc3", "hetzner": "fsn1"}  # the import's choice when --region is not given
STORAGE = "/mnt/storage"  # where host paths move on new servers: a block volume that outlives the server
STORAGE_GB = 10  # the smallest volume both clouds sell (Hetzner's minimum)
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Settings:
    """What the stack needs and Kamal's configuration does not say."""

    stack: str
    version: str
    allow_from: tuple[str, ...]
    provider: str = "existing"
    region: str | None = None
    authorized_keys: tuple[str, ...] = ()
    cloudflare_zone: str | None = None


@dataclass
class Draft:
    """The stack file to write: `berth:` keys (without the prefix), a comment per key path, the notes, and
    every secret the configuration names with where it is named."""

    config: dict[str, Any] = field(default_factory=dict)
    comments: dict[tuple, str] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    secrets: dict[str, list[str]] = field(default_factory=dict)  # name -> where Kamal names it
    hidden: dict[str, str] = field(default_factory=dict)  # secret name -> where its value is written in deploy.yml
    expressions: dict[str, str] = field(default_factory=dict)  # secret name -> shell text the import made up for it
    origins: dict[tuple, Origin] = field(default_factory=dict)  # berth key path -> the Kamal line it came from
    problems: list[Problem] = field(default_factory=list)


class Translation:
    """One pass over a KamalConfig; `consumed` records every Kamal key path the stack took or a note covers."""

    def __init__(self, kamal: KamalConfig, settings: Settings):
        self.k = kamal
        self.s = settings
        self.d = Draft()
        self.consumed: set[tuple] = set()
        self.host_tags: dict[str, list[str]] = {}  # host -> its tags, as servers lists them
        self.primary = str(kamal.get("primary_role") or "web")

    # --- bookkeeping ------------------------------------------------------------------------------------

    def take(self, *path: Any) -> None:
        self.consumed.add(tuple(path))

    def note(self, kind: notes.Kind, path: tuple, message: str, key: str | None = None) -> None:
        self.take(*path)
        self.d.notes.append(Note(kind, key or "/".join(map(str, path)), message, self.k.at(*path)))

    def problem(self, path: tuple, message: str) -> None:
        self.take(*path)
        self.d.problems.append(Problem(message, self.k.at(*path)))

    def put(self, berth_path: tuple, value: Any, at: tuple | None = None, comment: str | None = None) -> None:
        """Set a stack key; `at` is the Kamal key it comes from (for messages), which `take` consumes."""
        node = self.d.config
        for part in berth_path[:-1]:
            node = node.setdefault(part, {})
        node[berth_path[-1]] = value
        origin = self.k.at(*at) if at is not None else None
        if origin:
            self.d.origins[berth_path] = origin
        if comment:
            self.d.comments[berth_path] = comment

    def secret(self, name: str, where: str) -> None:
        self.d.secrets.setdefault(name, []).append(where)

    # --- the sections -----------------------------------------------------------------------------------

    def run(self) -> Draft:
        self.d.problems += erb_problems([t for t in self.k.erb if not (t.output and t.in_comment)
                                         and (not t.path or t.path[0] not in NOT_TAKEN_SECTIONS)])
        for tag in self.k.erb:
            if tag.path and tag.path[0] in NOT_TAKEN_SECTIONS and not (tag.output and tag.in_comment):
                self.d.notes.append(Note("check", "ERB", f"`{tag.code}` in {tag.path[0]} is not evaluated; Berth "
                                                          f"does not take {tag.path[0]}", tag.origin))
        self.service()
        self.image()
        self.put(("version",), self.s.version, comment="the image tag this `pulumi up` releases (CI sets it)")
        self.registry()
        roles = self.servers()
        self.cloud_and_ssh()
        if roles:
            proxy.translate(self, roles)
            self.env(roles)
            accessories.translate(self, roles)
        self.storage()
        self.scalars(roles)
        self.unaccounted()
        return self.d

    def service(self) -> None:
        raw = str(self.k.get("service", default=""))
        name = re.sub(r"-+", "-", raw.lower().replace("_", "-")).strip("-")
        if not _NAME.match(name) or len(name) > 40:
            self.problem(("service",), f"{raw!r} cannot be a Berth service name (a-z, 0-9 and '-', starting with a "
                                       "letter, at most 40 characters): rename the service in deploy.yml")
            return
        self.put(("service",), name, ("service",))
        self.take("service")
        if name != raw:
            self.note("changed", ("service",), f"Berth names take a-z, 0-9 and '-': the service is {name}, so its "
                                               f"containers are {name}-<role>-<version> and its accessories "
                                               f"{name}-<name> (Kamal: {raw}-...); values that name them change too")

    def image(self) -> None:
        image = str(self.k.get("image", default="") or "")
        server = self.k.get("registry", "server")
        repository = f"{server}/{image}" if server else image  # Kamal's `repository`: server, then image
        self.put(("image",), repository, ("image",))
        self.take("image")
        if server and image.split("/", 1)[0] == server:
            self.note("check", ("image",), f"image already starts with the registry {server}, and Kamal puts the "
                                           f"registry in front of it: Kamal (and so this stack) pulls {repository}. "
                                           f"If you meant {image}, drop {server}/ from image in deploy.yml")

    def registry(self) -> None:
        registry = self.k.get("registry") or {}
        server = registry.get("server")
        if server and re.match(r"^localhost[:$]", str(server)):
            self.problem(("registry", "server"), f"{server} is Kamal's local registry, which it pushes to from your "
                                                 "machine over SSH; Berth hosts pull from a registry your CI pushes to: "
                                                 "set registry.server (and image) to it")
            return
        out: dict[str, Any] = {}
        if server:
            out["server"] = str(server)
            self.take("registry", "server")
        username = registry.get("username")
        if isinstance(username, list):
            self.problem(("registry", "username"), "reads the user name from a secret; Berth's registry.username is "
                                                   "plain text: write the name itself in deploy.yml")
        elif username:
            out["username"] = str(username)
            self.take("registry", "username")
        password = registry.get("password")
        if isinstance(password, list) and password:
            out["password"] = str(password[0])
            self.secret(out["password"], "registry.password")
            self.take("registry", "password")
        elif password:
            out["password"] = "KAMAL_REGISTRY_PASSWORD"
            self.secret("KAMAL_REGISTRY_PASSWORD", "registry.password")
            self.d.hidden["KAMAL_REGISTRY_PASSWORD"] = str(self.k.at("registry", "password"))
            self.note("changed", ("registry", "password"), "is written in the configuration itself (not shown): Berth "
                                                           "names it KAMAL_REGISTRY_PASSWORD, a secret; remove the "
                                                           "value from deploy.yml")
        if "username" in out and "password" in out:
            self.put(("registry",), out, ("registry",))

    def servers(self) -> dict[str, list[str]]:
        """Roles and their hosts as Kamal resolves them (Role#hosts); the stack's servers from them."""
        servers = self.k.get("servers")
        if servers is None:
            self.problem(("servers",), "no servers: Berth needs hosts to release onto (accessories alone are "
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
                self.take(*path, *(() if isinstance(spec, list) else ("hosts",)), i)
            if not hosts:
                if self.k.get("allow_empty_roles"):
                    self.note("not-taken", path, "has no hosts (allow_empty_roles); a Berth role needs at least one")
                    continue
                self.problem(path, f"No servers specified for the {role} role (Kamal refuses it too)")
                continue
            roles[role] = hosts
        self.host_tags = tags
        primary = self.primary
        if roles and primary not in roles:
            self.problem(("primary_role",), f"the primary_role {primary} isn't defined (Kamal refuses it too)")
        seen: dict[str, str] = {}
        for role, hosts in roles.items():
            for host in hosts:
                if host in seen:
                    self.problem(("servers", role), f"{host} is also a {seen[host]} host: Berth runs one role per "
                                                    "host (each host is one server with one app container); give "
                                                    "each role its own hosts")
                seen.setdefault(host, role)
        out: dict[str, Any] = {}
        for role, hosts in roles.items():
            spec = raw_roles[role] if isinstance(raw_roles[role], dict) else {}
            path = ("servers", role)
            entry: dict[str, Any] = {"hosts": hosts} if self.s.provider == "existing" else {
                "count": len(hosts), "size": catalog.default_size(self.s.provider, self.region)}
            if spec.get("cmd"):
                entry["cmd"] = str(spec["cmd"])
                self.take(*path, "cmd")
            options = self.options(spec.get("options"), (*path, "options"))
            if options:
                entry["options"] = options
            for key in ("labels", "logging"):
                if key in spec:
                    self.note("not-taken", (*path, key), notes.SECTIONS[key])
            out[role] = entry
            self.d.origins[("servers", role)] = self.k.at(*path) or Origin(self.k.files[0], 1)
            if self.s.provider != "existing":
                self.d.comments[("servers", role, "size")] = "the plan's default (components/catalog.py)"
        if self.s.provider != "existing":
            sizes = ", ".join(sorted({e["size"] for e in out.values()}))
            self.d.notes.append(Note("changed", "servers", f"new {self.s.provider} servers replace the hosts listed, "
                                                           f"one per address with the same roles: size {sizes} (the "
                                                           f"plan's default) in {self.region}"
                                                           f"{'' if self.s.region else ' (the import default)'}; they "
                                                           "get new addresses", self.k.at("servers")))
        tagged = {h: t for h, t in tags.items() if t}
        if tagged:
            described = ", ".join(f"{h} ({', '.join(t)})" for h, t in tagged.items())
            self.d.notes.append(Note("not-taken", "servers (host tags)", f"{described}: a tag gives some hosts extra "
                                     "env; Berth runs one env per role: give those hosts a role of their own with "
                                     "servers.<role>.env", self.k.at("servers")))
        self.put(("servers",), out)
        if primary != "web" and primary in roles:
            self.put(("primaryRole",), primary, ("primary_role",))
        self.take("primary_role")
        self.take("allow_empty_roles")
        return roles

    def options(self, options: Any, path: tuple) -> dict[str, Any]:
        """Docker options: memory and cpus carry over; Berth sets restart and logging itself."""
        if not isinstance(options, dict):
            return {}
        out = {}
        for key, value in options.items():
            if key in ("memory", "cpus"):
                out[key] = str(value) if key == "memory" else value
                self.take(*path, key)
            else:
                self.note("not-taken", (*path, key), f"docker run --{key}: Berth sets only memory and cpus on a "
                                                     "container")
        return out

    @property
    def region(self) -> str | None:
        return self.s.region or DEFAULT_REGIONS.get(self.s.provider)

    def cloud_and_ssh(self) -> None:
        cloud: dict[str, Any] = {"provider": self.s.provider}
        if self.s.provider != "existing":
            cloud["region"] = self.region
            comment = None if self.s.region else "the import's default region; pass --region to choose"
            self.put(("cloud",), cloud, comment=comment)
        else:
            self.put(("cloud",), cloud, comment="the hosts Kamal deployed to, reached over SSH")
        ssh = self.k.get("ssh") or {}
        out: dict[str, Any] = {}
        if "user" in ssh:
            out["user"] = str(ssh["user"])
            self.take("ssh", "user")
        if "port" in ssh and not str(ssh["port"]).isdigit():
            self.problem(("ssh", "port"), f"{ssh['port']!r} is not a port number")
        elif "port" in ssh:
            out["port"] = int(ssh["port"])
            self.take("ssh", "port")
        if self.s.authorized_keys:
            out["authorizedKeys"] = list(self.s.authorized_keys)
        out["allowFrom"] = list(self.s.allow_from)
        self.put(("ssh",), out, ("ssh",), comment="allowFrom: who may reach port 22 once Berth's firewall is on "
                                                  "(from --allow-from)")
        if isinstance(ssh.get("key_data"), list) and ssh["key_data"]:
            first = str(ssh["key_data"][0])
            if re.match(r"^[A-Z_][A-Z0-9_]*$", first):
                out["privateKey"] = first
                self.secret(first, "ssh.key_data")
                self.take("ssh", "key_data")
            else:
                self.note("not-taken", ("ssh", "key_data"), "holds a key inline (not shown): put it in a secret and "
                                                            "name it in berth:ssh.privateKey")
        for key in ("keys", "keys_only", "config", "log_level", "proxy", "proxy_command"):
            if key in ssh:
                message = {
                    "keys": "Berth uses your ssh-agent: ssh-add " + " ".join(map(str, ssh.get("keys") or []))
                            + (" (the public keys of new servers: berth:ssh.authorizedKeys)"
                               if self.s.authorized_keys else ""),
                    "proxy": "Berth connects to each host directly (no jump host)",
                    "proxy_command": "Berth connects to each host directly (no proxy command)",
                }.get(key, "Berth's SSH connections have no such setting")
                self.note("not-taken", ("ssh", key), message)
        if self.s.cloudflare_zone:
            self.put(("dns",), {"zone": self.s.cloudflare_zone, "proxied": True},
                     comment="from --cloudflare-zone: records proxied by Cloudflare, origin certificate from it")

    def env(self, roles: dict[str, list[str]]) -> None:
        clear, secret = self.env_section(self.k.get("env"), ("env",), "env")
        if clear or secret:
            self.put(("env",), {k: v for k, v in (("clear", clear), ("secret", secret)) if v}, ("env",))
        tags = (self.k.get("env") or {}).get("tags") if isinstance(self.k.get("env"), dict) else None
        for tag in tags or {}:
            hosts = [h for h, t in self.host_tags.items() if tag in t]
            self.note("not-taken", ("env", "tags", tag), f"extra env for the hosts tagged {tag} "
                                                         f"({', '.join(hosts) or 'none'}); Berth runs one env per role: "
                                                         "give those hosts a role of their own with servers.<role>.env")
        servers = self.k.get("servers")
        for role in roles:
            spec = servers.get(role) if isinstance(servers, dict) else None
            if isinstance(spec, dict) and "env" in spec:
                clear, secret = self.env_section(spec["env"], ("servers", role, "env"), f"servers.{role}.env")
                if clear or secret:
                    self.put(("servers", role, "env"), {k: v for k, v in (("clear", clear), ("secret", secret)) if v},
                             ("servers", role, "env"))

    def env_section(self, env: Any, path: tuple, where: str) -> tuple[dict[str, Any], list[str]]:
        """Kamal's Env: a mapping without clear/secret/tags is all clear. A plain value that is a credential
        becomes a secret (its value is never shown)."""
        if not isinstance(env, dict):
            return {}, []
        complex_ = bool(set(env) & {"clear", "secret", "tags"})
        clear_raw = (env.get("clear") or {}) if complex_ else env
        clear: dict[str, Any] = {}
        secret: list[str] = []
        for name, value in clear_raw.items():
            at = (*path, "clear", name) if complex_ else (*path, name)
            self.take(*at)
            text = _env_text(value)
            if looks_like_credential(str(name), text):
                secret.append(str(name))
                self.secret(str(name), f"{where}.clear")
                self.d.hidden[str(name)] = str(self.k.at(*at))
                self.note("changed", at, "looks like a credential written in plain text (not shown): Berth makes it "
                                         "a secret; remove the value from deploy.yml")
            else:
                clear[str(name)] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else text
        for i, entry in enumerate((env.get("secret") or []) if complex_ else []):
            secret.append(str(entry))
            name = str(entry).partition(":")[2] or str(entry)
            self.secret(name, f"{where}.secret")
            self.take(*path, "secret", i)
        self.take(*path, "clear")
        self.take(*path, "secret")
        return clear, secret

    def storage(self) -> None:
        volumes = self.k.get("volumes") or []
        out = []
        moved = []
        for i, volume in enumerate(volumes):
            text = self.mount(str(volume), ("volumes", i))
            if text is None:
                continue
            source, _, rest = text.partition(":")
            if source.startswith("/") and self.s.provider != "existing":
                new = f"{STORAGE}/{source.strip('/').replace('/', '-')}"
                moved.append(f"{source} -> {new}")
                text = f"{new}:{rest}"
            out.append(text)
        if out:
            self.put(("volumes",), out, ("volumes",))
        if moved:
            self.put(("volume",), {"sizeGb": STORAGE_GB, "mountPath": STORAGE},
                     comment="host paths live on a block volume that outlives the server; size it for your data")
            self.d.notes.append(Note("changed", "volumes", f"host paths move onto a {STORAGE_GB} GB block volume at "
                                     f"{STORAGE} on the new servers ({'; '.join(moved)}); copy the data across "
                                     "before the switch", self.k.at("volumes")))
        self.take("volumes")
        asset_path = self.k.get("asset_path")
        if asset_path:
            path, _, options = str(asset_path).partition(":")
            self.put(("assetPath",), path, ("asset_path",))
            self.take("asset_path")
            if options:
                self.note("changed", ("asset_path",), f"mount options {options} dropped: Berth mounts the merged assets "
                                                      "as they are")
        servers = self.k.get("servers")
        for role, spec in (servers.items() if isinstance(servers, dict) else []):
            if isinstance(spec, dict) and spec.get("asset_path") not in (None, asset_path):
                self.note("not-taken", ("servers", role, "asset_path"), "Berth bridges one asset path for the app "
                                                                         "(berth:assetPath)")
            elif isinstance(spec, dict) and "asset_path" in spec:
                self.take("servers", role, "asset_path")

    def mount(self, text: str, path: tuple) -> str | None:
        """Kamal passes volumes to `docker run --volume` as written; Berth takes `source:target[:ro]`."""
        parts = text.split(":")
        if len(parts) < 2:
            self.problem(path, f"{text!r} is not source:target; Berth mounts only named volumes and host paths")
            return None
        options = parts[2].split(",") if len(parts) > 2 else []
        kept = ":ro" if "ro" in options else ""
        dropped = [o for o in options if o not in ("ro", "rw")]
        if dropped:
            self.note("changed", path, f"mount option {','.join(dropped)} dropped (Berth mounts read-write, or :ro)")
        self.take(*path)
        return f"{parts[0]}:{parts[1]}{kept}"

    def scalars(self, roles: dict[str, list[str]]) -> None:
        if self.k.get("retain_containers") is not None:
            self.put(("retainContainers",), int(self.k.get("retain_containers")), ("retain_containers",))
            self.take("retain_containers")
        boot = self.k.get("boot") or {}
        if "limit" in boot:
            self.boot_limit(str(boot["limit"]), roles)
        for key, message in (("wait", "Berth switches the next batch as soon as the previous one is healthy"),
                             ("parallel_roles", "Berth starts every role's containers when they are ready")):
            if key in boot:
                self.note("not-taken", ("boot", key), message)
        for key in ("readiness_delay", "labels", "logging", "minimum_version", "run_directory", "error_pages_path",
                    "hooks_output", "builder", "sshkit"):
            if key in self.k.raw:
                self.note("not-taken", (key,), notes.SECTIONS[key])
        for name, command in (self.k.get("aliases") or {}).items():
            self.note("not-taken", ("aliases", name), f"Berth has no aliases: {notes.alias_replacement(str(command))}")
        for key in ("require_destination", "secrets_path", "hooks_path"):
            self.take(key)
        self.d.notes += notes.hook_notes(self.k.hooks, str(self.k.get("hooks_path") or ".kamal/hooks"))
        for key in self.k.raw:
            if str(key).startswith("x-"):
                self.note("not-taken", (key,), "an extension block Kamal ignores; its anchors were read where they "
                                               "are used")

    def boot_limit(self, limit: str, roles: dict[str, list[str]]) -> None:
        """Kamal's Boot#limit: a count, or a percentage of every host Kamal knows (accessories' own too), at
        least 1."""
        if not re.fullmatch(r"\d+%?", limit) or limit in ("0", "0%"):
            self.problem(("boot", "limit"), f"{limit!r} is not a number of hosts or a percentage like 25%")
            return
        comment = None
        if limit.endswith("%"):
            hosts = len(self.all_hosts(roles))
            count = max(hosts * int(limit[:-1]) // 100, 1)
            comment = f"boot.limit {limit} of {hosts} hosts, as Kamal counts it"
        else:
            count = int(limit)
        self.put(("rollout",), {"batchSize": count}, ("boot", "limit"), comment)
        self.take("boot", "limit")

    def all_hosts(self, roles: dict[str, list[str]]) -> list[str | None]:
        """Configuration#all_hosts: the roles' hosts, then the accessories', once each."""
        hosts: list[str | None] = [h for role_hosts in roles.values() for h in role_hosts]
        for spec in (self.k.get("accessories") or {}).values():
            found = accessories.kamal_hosts(spec, roles, self.k.get("servers"))
            hosts += [None] if found is None else found  # Kamal's nil counts as a host too
        return list(dict.fromkeys(hosts))

    def unaccounted(self) -> None:
        """Every key no section took and no note names: never dropped silently."""
        def walk(value: Any, path: tuple) -> None:
            if any(path[:n] in self.consumed for n in range(1, len(path) + 1)):
                return
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(item, (*path, key))
                return
            if isinstance(value, list) and value and any((*path, i) in self.consumed for i in range(len(value))):
                for i, item in enumerate(value):
                    walk(item, (*path, i))
                return
            if path and value not in (None, [], ""):
                self.note("not-taken", path, "Berth has no setting for it")
        walk(self.k.raw, ())


NOT_TAKEN_SECTIONS = ("builder", "aliases", "sshkit", "labels", "logging", "hooks_output", "minimum_version",
                      "run_directory", "error_pages_path", "readiness_delay")


def translate(kamal: KamalConfig, settings: Settings) -> Draft:
    return Translation(kamal, settings).run()


def _env_text(value: Any) -> str:
    """Env values as Kamal passes them to `docker run --env`: Ruby's to_s (true, 2, 1.5)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)
