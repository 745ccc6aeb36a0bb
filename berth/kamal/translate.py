"""A Kamal configuration (as Kamal resolved it) to the keys of a Berth stack file. Pure: no files, no I/O.

Each section follows what Kamal itself derives from deploy.yml (lib/kamal/configuration/*.rb at
v2.11.0): the web role when `servers` is a list, the primary role's proxy unless `proxy: false`,
another role's only when it asks, a role's proxy settings deep-merged over the root's, seconds as
durations, `boot.limit` as a count or a percentage of every host. What Berth does differently, or not at
all, becomes a Note; what Berth cannot run (ERB, one host in two roles) a Problem, with its line.

`Translation` keeps the bookkeeping and the small sections; the larger ones are modules of their own that
work on it: hosts (roles, servers, cloud and ssh), proxy, env, accessories and storage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import accessories, addresses, docker_options, env, hosts, notes, proxy, registry, storage
from .names import berth_name
from .notes import KamalAccessory, Note
from .source import KamalConfig, Origin, Problem, erb_problems, renders_nothing

PROVIDERS = ("existing", "digitalocean", "hetzner")
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
    kamal_keys: dict[tuple, tuple] = field(default_factory=dict)  # berth key path -> the Kamal key it came from
    problems: list[Problem] = field(default_factory=list)
    # Kamal's accessories as the next steps name them: those Berth runs instead, and those it leaves running
    replaced: list[KamalAccessory] = field(default_factory=list)
    left: list[KamalAccessory] = field(default_factory=list)
    to_copy: list[str] = field(default_factory=list)  # with --provider: data that stays on the Kamal hosts


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
        if at is not None:
            self.d.kamal_keys[berth_path] = tuple(at)
        if comment:
            self.d.comments[berth_path] = comment

    def secret(self, name: str, where: str) -> None:
        self.d.secrets.setdefault(name, []).append(where)

    def role(self, name: Any) -> str:
        """A Kamal role's Berth name: a-z, 0-9 and '-' (`job_worker` becomes `job-worker`), as the service is."""
        return berth_name(str(name))

    # --- the sections -----------------------------------------------------------------------------------

    def run(self) -> Draft:
        for tag in [t for t in self.k.erb if renders_nothing(t)]:
            self.d.notes.append(Note("check", "ERB", f"`{tag.code}` renders nothing and is not run by berth import: "
                                                     "the values it would load reach the file only through other "
                                                     "tags, each reported on its own", tag.origin))
        self.d.problems += erb_problems([t for t in self.k.erb if not (t.output and t.in_comment) and not
                                         renders_nothing(t) and (not t.path or t.path[0] not in NOT_TAKEN_SECTIONS)
                                         and not registry.command_password(t)])
        for tag in self.k.erb:
            if tag.path and tag.path[0] in NOT_TAKEN_SECTIONS and not (tag.output and tag.in_comment):
                self.d.notes.append(Note("check", "ERB", f"`{tag.code}` in {tag.path[0]} is not evaluated; Berth "
                                                          f"does not take {tag.path[0]}", tag.origin))
        self.service()
        self.image()
        self.put(("version",), self.s.version, comment="the image tag this `pulumi up` releases (CI sets it)")
        registry.translate(self)
        roles = hosts.translate(self)
        hosts.cloud_and_ssh(self)
        if roles:
            proxy.translate(self, roles)
            env.translate(self, roles)
            accessories.translate(self, roles)
            env.renamed_containers(self)
            addresses.translate(self, roles)
        storage.translate(self)
        self.scalars(roles)
        self.unaccounted()
        return self.d

    def service(self) -> None:
        raw = str(self.k.get("service", default=""))
        name = berth_name(raw)
        if not _NAME.match(name) or len(name) > 40:
            self.problem(("service",), f"{raw!r} cannot be a Berth service name (a-z, 0-9 and '-', starting with a "
                                       "letter, at most 40 characters): rename the service in deploy.yml")
            return
        self.put(("service",), name, ("service",))
        self.take("service")
        if name != raw:
            self.note("changed", ("service",), f"Berth names take a-z, 0-9 and '-': the service is {name}, so its "
                                               f"containers are {name}-<role>-<version> and its accessories "
                                               f"{name}-<name> (Kamal: {raw}-...); the env values that name an accessory's "
                                               "container are rewritten (each is listed)")

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
        logging = docker_options.logging(self, self.k.get("logging"), ("logging",))
        if logging:
            self.put(("logging",), logging, ("logging",))
        for key in ("readiness_delay", "labels", "minimum_version", "run_directory", "error_pages_path",
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
            known = len(self.all_hosts(roles))
            count = max(known * int(limit[:-1]) // 100, 1)
            comment = f"boot.limit {limit} of {known} hosts, as Kamal counts it"
        else:
            count = int(limit)
        self.put(("rollout",), {"batchSize": count}, ("boot", "limit"), comment)
        self.take("boot", "limit")

    def all_hosts(self, roles: dict[str, list[str]]) -> list[str | None]:
        """Configuration#all_hosts: the roles' hosts, then the accessories', once each."""
        known: list[str | None] = [h for role_hosts in roles.values() for h in role_hosts]
        for spec in (self.k.get("accessories") or {}).values():
            found = accessories.kamal_hosts(spec, roles, self.k.get("servers"))
            known += [None] if found is None else found  # Kamal's nil counts as a host too
        return list(dict.fromkeys(known))

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


NOT_TAKEN_SECTIONS = ("builder", "aliases", "sshkit", "labels", "hooks_output", "minimum_version",
                      "run_directory", "error_pages_path", "readiness_delay")


def translate(kamal: KamalConfig, settings: Settings) -> Draft:
    return Translation(kamal, settings).run()

