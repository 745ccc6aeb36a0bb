"""The stack file (`Pulumi.<stack>.yaml`, namespace `berth:`) as typed models.

Each section validates itself; `checks.py` holds the rules that span sections; `validation.load` runs
both and raises one `ConfigError` naming every bad key. Defaults are the safe choice: TLS on, SSH restricted,
accessories unexposed. Derived values (the TLS mode `auto` resolves to, the roles behind the proxy)
live here so no component re-derives them.
"""

from __future__ import annotations

import ipaddress
import re
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from . import catalog
from .fields import (
    AbsolutePath,
    AccessoryImage,
    Address,
    Cidr,
    Cpus,
    DockerVolumeName,
    Duration,
    EnvName,
    EnvValue,
    ExtraHost,
    Hostname,
    Memory,
    MountPoint,
    Name,
    Port,
    ProxyHost,
    RegistryHost,
    Repository,
    SecretName,
    SshPublicKey,
    Text,
    Version,
    looks_like_credential,
    looks_like_secret_name,
)
from .layout import MachineLayout, carrying, machines
from .render.accessory import SECRET_REFERENCE

PRIMARY_ROLE = "web"
_PG_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PUBLISH = re.compile(r"^(?P<ip>[0-9a-fA-F:.]+|private):(?P<port>\d{1,5})$")
_USER = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$"
_GROUP = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"


class Section(BaseModel):
    """Common settings: camelCase keys as in the stack file, unknown keys refused, values immutable."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
    )


# --- mounts ---------------------------------------------------------------------------------------

class Mount(typing.NamedTuple):
    source: str  # absolute host path or Docker volume name
    target: str
    read_only: bool

    @property
    def is_host_path(self) -> bool:
        return self.source.startswith("/")


def parse_mount(value: str) -> Mount:
    """Kamal's `source:target[:ro]` syntax."""
    parts = value.split(":")
    mode = "rw"
    if len(parts) == 3:
        mode = parts.pop()
    if len(parts) != 2 or mode not in ("ro", "rw"):
        raise ValueError(f"{value!r} is not a mount like /mnt/storage:/rails/storage or data:/data[:ro]")
    source, target = parts
    if source.startswith("/"):
        AbsolutePathCheck.validate_python(source)
    else:
        DockerVolumeCheck.validate_python(source)
    AbsolutePathCheck.validate_python(target)
    return Mount(source, target, mode == "ro")


def _mount(value: str) -> str:
    try:
        parse_mount(value)
    except ValidationError as error:
        raise ValueError(f"{value!r}: {error.errors()[0]['ctx']['error']}") from None
    return value


AbsolutePathCheck = TypeAdapter(AbsolutePath)
DockerVolumeCheck = TypeAdapter(DockerVolumeName)
MountSpec = typing.Annotated[str, AfterValidator(_mount)]


# --- sections -------------------------------------------------------------------------------------

class Registry(Section):
    server: RegistryHost = "docker.io"
    username: str | None = Field(None, min_length=1)
    username_secret: SecretName | None = None  # the user name kept in berth:secrets (Kamal's `username: [NAME]`)
    password: SecretName

    @model_validator(mode="after")
    def _one_username(self) -> "Registry":
        if (self.username is None) == (self.username_secret is None):
            raise ValueError("needs username (the name itself) or usernameSecret (a berth:secrets name), one of them")
        return self


class Cloud(Section):
    provider: Literal["digitalocean", "hetzner", "existing"]
    region: str | None = Field(None, validate_default=True)

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str | None, info: ValidationInfo) -> str | None:
        known = {"digitalocean": catalog.DIGITALOCEAN_REGIONS, "hetzner": catalog.HETZNER_LOCATIONS}
        provider = info.data.get("provider")
        if provider in known:
            if region is None:
                raise ValueError(f"is required for {provider}; one of {', '.join(known[provider])}")
            if region not in known[provider]:
                raise ValueError(f"{region!r} is not a {provider} region; one of {', '.join(known[provider])}")
        return region


class Ssh(Section):
    user: str = Field("root", pattern=r"^[a-z_][a-z0-9_-]*$")
    port: Port = 22
    authorized_keys: list[SshPublicKey] = []  # required for cloud hosts; existing hosts keep the keys they have
    allow_from: list[Cidr] = Field(min_length=1)
    private_key: SecretName | None = None  # otherwise the ssh-agent


class ContainerOptions(Section):
    memory: Memory | None = None  # as `docker run --memory` reads it (components/gounits.py)
    cpus: Cpus | None = None
    user: Text | None = Field(None, pattern=_USER)  # docker run --user: name, uid, name:group or uid:gid
    group_add: list[Text] = Field([], json_schema_extra={"items": {"pattern": _GROUP}})  # docker run --group-add
    add_host: list[ExtraHost] = []  # docker run --add-host name:ip (or name:host-gateway)

    @field_validator("group_add")
    @classmethod
    def _groups(cls, groups: list[str]) -> list[str]:
        bad = [g for g in groups if not re.match(_GROUP, g)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not a group name or id")
        if len(set(groups)) != len(groups):
            raise ValueError("names a group twice")
        return groups

    def spec(self) -> dict[str, Any]:
        """What a change of these options must change in an app container's name (release.py `_container_spec`):
        memory and cpus as they always were, the others only when set, so a stack that sets none of them keeps
        its containers' names (and containers) on upgrade."""
        return {**self.model_dump(include={"memory", "cpus"}),
                **self.model_dump(exclude={"memory", "cpus"}, exclude_defaults=True)}


class Logging(Section):
    """Docker's logging driver and its options for a container (`docker run --log-driver --log-opt`), as
    Kamal's `logging` section says them. Unset: json-file with max-size 10m, Kamal's default."""

    driver: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_./:-]*$")  # json-file, journald, a plugin
    options: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")], Text] = {}

    @field_validator("options")
    @classmethod
    def _no_credentials(cls, options: dict[str, str]) -> dict[str, str]:
        suspects = [key for key, value in options.items()
                    if looks_like_credential(re.sub(r"[-.]", "_", key), str(value))]
        if suspects:
            raise ValueError(f"{', '.join(suspects)} looks like a credential, and log options are written in plain "
                             "text on the container: set it in the host's /etc/docker/daemon.json instead (the "
                             "value is not shown)")
        return options

    @property
    def declared(self) -> bool:
        """Kamal passes its own default (max-size 10m) unless the section names a driver or an option."""
        return bool(self.driver or self.options)

    def merged(self, role: "Logging | None") -> "Logging":
        """A role's logging over the stack's, as Kamal's `Logging#merge` (deep_merge): the role's driver wins,
        options merge key by key."""
        if role is None:
            return self
        return Logging.model_construct(driver=role.driver or self.driver, options={**self.options, **role.options})


class Role(Section):
    count: int | None = Field(None, ge=1, le=20)
    hosts: list[Address] | None = Field(None, min_length=1)
    runs_on: Name | None = None  # another role whose machines this one runs on (web and jobs on one droplet)
    size: str | None = None
    os_image: str | None = None
    cmd: str | None = None
    options: ContainerOptions = ContainerOptions()
    volumes: list[MountSpec] = []  # this role's own mounts, after berth:volumes (Kamal: the role's options)
    logging: Logging | None = None  # merged over berth:logging, as Kamal merges a role's logging
    proxy: bool | None = None  # default: only the primary role is behind the proxy
    env: Env | None = None  # merged over berth:env for this role's containers, as Kamal merges a role's env

    @field_validator("size")
    @classmethod
    def _known_size(cls, size: str | None, info: ValidationInfo) -> str | None:
        context = info.context or {}
        provider, region = context.get("provider"), context.get("region")
        if size is None:
            return size
        if provider == "digitalocean" and size not in catalog.DIGITALOCEAN_SIZES:
            raise ValueError(f"{size!r} is not a digitalocean size this version knows; one of "
                             f"{', '.join(sorted(catalog.DIGITALOCEAN_SIZES))} (add new ones to components/catalog.py)")
        if provider == "hetzner":
            problem = catalog.hetzner_problem(size, region)
            if problem:
                raise ValueError(problem)
        return size

    @field_validator("hosts")
    @classmethod
    def _unique_hosts(cls, hosts: list[str] | None) -> list[str] | None:
        if hosts and len(set(hosts)) != len(hosts):
            raise ValueError("lists a host twice")
        return hosts


class OutboundRule(Section):
    protocol: Literal["tcp", "udp", "icmp"]
    ports: Text | None = Field(None, pattern=r"^\d{1,5}(-\d{1,5})?$")
    to: list[Cidr] = Field(["0.0.0.0/0", "::/0"], min_length=1)

    @model_validator(mode="after")
    def _ports_match_protocol(self) -> "OutboundRule":
        if self.protocol == "icmp" and self.ports:
            raise ValueError("icmp has no ports; remove `ports`")
        if self.protocol != "icmp" and not self.ports:
            raise ValueError(f"{self.protocol} needs `ports`, like \"443\" or \"1-65535\"")
        if self.ports:
            bounds = [int(p) for p in self.ports.split("-")]
            if not all(1 <= p <= 65535 for p in bounds) or bounds != sorted(bounds):
                raise ValueError(f"ports {self.ports!r} is not a port or an ascending range within 1-65535")
        return self


class Firewall(Section):
    outbound: list[OutboundRule] | None = None  # None: all outbound traffic allowed


class Volume(Section):
    size_gb: int = Field(ge=1, le=16384)
    mount_path: MountPoint = "/mnt/storage"


class Healthcheck(Section):
    path: str = Field("/up", pattern=r"^/\S*$")
    interval: Duration = "1s"
    timeout: Duration = "5s"


class Buffering(Section):
    requests: bool = True
    responses: bool = True
    max_request_body: int = Field(0, ge=0)
    max_response_body: int = Field(0, ge=0)
    memory: int = Field(1_048_576, gt=0)  # kamal-proxy's own default (1 MiB), which Kamal leaves in place


TlsMode = Literal["letsencrypt", "cloudflare-origin", "off", "external"]
_HEADER_NAME = r"^[A-Za-z0-9-]+$"


class ProxyLogging(Section):
    """Headers kamal-proxy writes into its request log; the defaults are Kamal's."""

    request_headers: list[str] = Field(["Cache-Control", "Last-Modified", "User-Agent"])
    response_headers: list[str] = []

    @field_validator("request_headers", "response_headers")
    @classmethod
    def _header_names(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if not re.match(_HEADER_NAME, n)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not an HTTP header name")
        return names


class ProxyRun(Section):
    """How kamal-proxy's container publishes its ports (Kamal's `proxy.run`): the host ports for its HTTP (80) and
    HTTPS (443) listeners, the host addresses they bind (default every IPv4 and IPv6 address), or none at all."""

    http_port: Port = 80
    https_port: Port = 443
    bind_ips: list[Annotated[str, AfterValidator(lambda ip: str(ipaddress.ip_address(ip)))]] = []
    publish: bool = True

    @model_validator(mode="after")
    def _distinct(self) -> "ProxyRun":
        if self.http_port == self.https_port:
            raise ValueError(f"httpPort and httpsPort are both {self.http_port}")
        if len(set(self.bind_ips)) != len(self.bind_ips):
            raise ValueError("bindIps lists an address twice")
        return self


class Proxy(Section):
    hosts: list[ProxyHost] = []
    app_port: Port = 80
    # external: TLS ends before kamal-proxy (a load balancer, nginx, Cloudflare's Flexible mode set elsewhere), which
    # then serves plain HTTP to every name or to `hosts` (Kamal's `ssl: false`, or a proxy without a host)
    ssl: Literal["auto", "letsencrypt", "cloudflare-origin", "off", "external"] = "auto"
    acknowledge_plaintext_origin: bool = False  # required with ssl: off and external
    healthcheck: Healthcheck = Healthcheck()
    response_timeout: Duration = "30s"
    deploy_timeout: Duration = "30s"
    drain_timeout: Duration = "30s"
    forward_headers: bool | None = None  # default: true behind Cloudflare's proxy
    buffering: Buffering = Buffering()
    logging: ProxyLogging = ProxyLogging()
    version: str = Field("v0.9.2", pattern=r"^v\d+\.\d+\.\d+$")
    run: ProxyRun = ProxyRun()  # the published ports (a web server of yours on 80/443 in front: httpPort 8080)
    shared: bool = False  # deploy into a kamal-proxy another stack owns
    # Route only these paths of the hosts to the app (kamal-proxy --path-prefix); such a route takes its TLS from
    # the route at / of its first host, so it goes with `shared` (another stack's route at /) or plain HTTP.
    path_prefixes: list[Annotated[str, Field(pattern=r"^/[^\s,]*$")]] = []
    strip_path_prefix: bool = True  # forward /api/users as /users (kamal-proxy's default)

    @field_validator("hosts")
    @classmethod
    def _unique(cls, hosts: list[str]) -> list[str]:
        if len(set(hosts)) != len(hosts):
            raise ValueError("lists a host twice")
        return hosts


class Env(Section):
    clear: dict[EnvName, EnvValue] = {}
    secret: list[str] = []  # "NAME" or "NAME:SECRET" (env var NAME from berth:secrets SECRET)

    @field_validator("clear")
    @classmethod
    def _no_credentials_in_clear(cls, clear: dict[str, Any]) -> dict[str, Any]:
        suspects = [name for name, value in clear.items() if looks_like_credential(name, str(value))]
        if suspects:
            raise ValueError(f"{', '.join(suspects)} {'looks' if len(suspects) == 1 else 'look'} like a credential "
                             "in plain text: delete it here, run pulumi config set --secret --path 'secrets.NAME' "
                             "<value>, and list NAME under env.secret (the value is not shown)")
        return clear

    @field_validator("secret")
    @classmethod
    def _secret_entries(cls, entries: list[str]) -> list[str]:
        for i, entry in enumerate(entries):
            name, _, secret = entry.partition(":")
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) or not looks_like_secret_name(secret or name):
                # never echo the entry: it may be a pasted credential
                raise ValueError(f"[{i}] is not NAME or ENV_NAME:NAME, where NAME is a berth:secrets entry in "
                                 "capitals. If it is the credential itself, delete it here, run pulumi config set "
                                 "--secret --path 'secrets.NAME' <value>, and list NAME (the value is not shown)")
        names = [entry.split(":")[0] for entry in entries]
        if len(set(names)) != len(names):
            raise ValueError("names an environment variable twice")
        return entries

    @model_validator(mode="after")
    def _clear_or_secret(self) -> "Env":
        both = set(self.clear) & {name for name, _ in self.secret_pairs()}
        if both:
            raise ValueError(f"{', '.join(sorted(both))} is both clear and secret; keep one")
        return self

    def secret_pairs(self) -> list[tuple[str, str]]:
        """(env var name, berth:secrets name) for each secret entry."""
        pairs = []
        for entry in self.secret:
            name, _, secret = entry.partition(":")
            pairs.append((name, secret or name))
        return pairs

    def merged(self, role: Env | None) -> Env:
        """A role's env over this one, as Kamal's `Env#merge` does: clear values merge (the role's win),
        secrets are the union, and a role's entry for a name replaces the stack's. A role's clear value over a
        stack secret of the same name wins too: Kamal passes both and Docker reads `--env` after `--env-file`
        (docker/cli opts.ReadKVEnvStrings), so the container sees the clear one."""
        if role is None:
            return self
        secret = {name: entry for entry in self.secret for name in [entry.partition(":")[0]]
                  if name not in role.clear}
        secret.update({entry.partition(":")[0]: entry for entry in role.secret})
        return Env.model_construct(clear={**self.clear, **role.clear}, secret=list(secret.values()))


class Bootstrap(Section):
    """How the bootstrap gets Docker Engine onto a host."""

    docker: Literal["docker", "distribution", "preinstalled"] = "docker"  # Docker's apt repository by default


class App(Section):
    """Who the app's image runs as. Rails' generated Dockerfile makes a `rails` user with uid and gid
    1000; host-path storage and restored SQLite files are given to it, or the app could not write them."""

    user: str = Field("1000:1000", pattern=r"^\d{1,10}:\d{1,10}$")


class Rollout(Section):
    batch_size: int = Field(0, ge=0)


class Database(Section):
    engine: Literal["pg"] = "pg"
    version: Text = "18"
    size: str = "db-s-1vcpu-1gb"
    nodes: int = Field(1, ge=1, le=3)
    name: str = Field(pattern=_PG_IDENTIFIER.pattern)
    user: str = Field(pattern=_PG_IDENTIFIER.pattern)
    env_var: EnvName = "DATABASE_URL"
    region: str | None = None  # default: berth:cloud.region (required when the hosts are not on DigitalOcean)

    @field_validator("version")
    @classmethod
    def _known_version(cls, version: str, info: ValidationInfo) -> str:
        versions = catalog.DATABASE_ENGINE_VERSIONS[info.data.get("engine", "pg")]
        if version not in versions:
            raise ValueError(f"{version!r} is not one of {', '.join(versions)}")
        return version

    @field_validator("size")
    @classmethod
    def _known_size(cls, size: str) -> str:
        if size not in catalog.DIGITALOCEAN_DATABASE_SIZES:
            raise ValueError(f"{size!r} is not one of {', '.join(catalog.DIGITALOCEAN_DATABASE_SIZES)}")
        return size

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str | None) -> str | None:
        if region is not None and region not in catalog.DIGITALOCEAN_REGIONS:
            raise ValueError(f"{region!r} is not a DigitalOcean region")
        return region

    @model_validator(mode="after")
    def _standby_needs_size(self) -> "Database":
        if self.nodes > 1 and self.size in catalog.SINGLE_NODE_DATABASE_SIZES:
            raise ValueError(f"size {self.size} runs one node only; pick db-s-1vcpu-2gb or larger for standby nodes")
        return self


class Dns(Section):
    zone: Hostname
    proxied: bool = True


class Hsts(Section):
    max_age: int = Field(31536000, ge=0)
    include_subdomains: bool = False
    preload: bool = False


class Cloudflare(Section):
    ssl_mode: Literal["off", "flexible", "full", "strict"] = "strict"
    always_use_https: bool = True
    min_tls_version: Literal["1.0", "1.1", "1.2", "1.3"] = "1.2"
    restrict_origin: bool | None = None  # default: true when records are proxied
    hsts: Hsts | None = None
    acknowledge_weak_ssl_mode: bool = False  # required for sslMode off or flexible

    @field_validator("min_tls_version", mode="before")
    @classmethod
    def _yaml_float(cls, value: Any) -> Any:
        return f"{value:.1f}" if isinstance(value, float) else value


class Backups(Section):
    provider: Literal["spaces", "s3"]
    bucket: str = Field(pattern=_BUCKET.pattern)
    region: str
    endpoint: str | None = Field(None, pattern=r"^https://[a-z0-9.-]+(:\d+)?/?$")
    access_key_id: SecretName | None = None  # provider s3
    secret_access_key: SecretName | None = None

    @model_validator(mode="after")
    def _provider_fields(self) -> "Backups":
        if self.provider == "spaces":
            if self.region not in catalog.SPACES_REGIONS:
                raise ValueError(f"region {self.region!r} has no Spaces; one of {', '.join(catalog.SPACES_REGIONS)}")
            if self.endpoint or self.access_key_id or self.secret_access_key:
                raise ValueError("spaces creates its own endpoint and key; remove endpoint/accessKeyId/secretAccessKey")
        else:
            missing = [key for key, value in (("endpoint", self.endpoint), ("accessKeyId", self.access_key_id),
                                              ("secretAccessKey", self.secret_access_key)) if not value]
            if missing:
                raise ValueError(f"provider s3 needs {', '.join(missing)}")
        return self

    @property
    def endpoint_url(self) -> str:
        return self.endpoint or f"https://{self.region}.digitaloceanspaces.com"


class PostgresSettings(Section):
    name: str = Field(pattern=_PG_IDENTIFIER.pattern)
    user: str = Field(pattern=_PG_IDENTIFIER.pattern)
    password: SecretName
    env_var: EnvName = "DATABASE_URL"


Preset = Literal["litestream", "meilisearch", "postgres", "generic"]
_PRESET_BY_REPOSITORY = {
    "litestream/litestream": "litestream",
    "getmeili/meilisearch": "meilisearch",
    "postgres": "postgres",
    "library/postgres": "postgres",
}


class AccessoryProxy(Section):
    """A kamal-proxy route of the accessory's own (Kamal's accessory `proxy`): its host names, on the hosts it runs
    on, with the stack's TLS mode; route `<service>-<name>`."""

    hosts: list[ProxyHost] = Field(min_length=1)
    app_port: Port = 80  # the port the accessory listens on (Kamal's default too)
    healthcheck: Healthcheck = Healthcheck()


class Accessory(Section):
    image: AccessoryImage  # pin a tag or digest; an unpinned one gets a review warning
    preset: Preset | None = None  # inferred from the image when omitted
    roles: list[Name] | None = None  # run on every host of these roles; default: the primary host only
    port: Port | None = None  # reachable from the app over the kamal network, never published
    # "127.0.0.1:7700": the host's loopback; "private:5432": the host's private address, open to the stack's other
    # hosts only (as Kamal users publish `10.0.0.5:5432:5432`); "0.0.0.0:PORT" with publishPublic
    publish: str | None = Field(None, pattern=_PUBLISH.pattern)
    publish_public: bool = False
    env: Env = Env()
    files: dict[AbsolutePath, str] = {}  # container path -> content; `{{ secrets.NAME }}` inserts a secret
    directories: list[MountSpec] = []
    volumes: list[MountSpec] = []
    cmd: str | None = None
    options: ContainerOptions = ContainerOptions()
    proxy: AccessoryProxy | None = None  # a route of its own through kamal-proxy (host names of its own)
    databases: list[AbsolutePath] = []  # litestream: paths as the app container sees them
    sync_interval: Duration = "1s"  # litestream
    master_key: SecretName | None = None  # meilisearch
    database: PostgresSettings | None = None  # postgres

    @property
    def kind(self) -> str:
        if self.preset:
            return self.preset
        repository = self.image.split("@")[0].rsplit(":", 1)[0]
        return _PRESET_BY_REPOSITORY.get(repository, "generic")

    @model_validator(mode="after")
    def _preset_fields(self) -> "Accessory":
        kind = self.kind
        if kind == "litestream" and not self.databases:
            raise ValueError("litestream needs `databases`: the SQLite files to replicate")
        if kind != "litestream" and self.databases:
            raise ValueError("`databases` belongs to the litestream preset")
        if kind == "litestream" and self.image.split("@")[0].endswith("-scratch"):
            raise ValueError(f"{self.image} is Litestream's shell-less image, but the restore before the app starts "
                             "and `berth restore` run `sh` in it: use the default image "
                             f"({self.image.removesuffix('-scratch')})")
        secret_env = {name for name, _ in self.env.secret_pairs()}
        if kind == "meilisearch" and not self.master_key and "MEILI_MASTER_KEY" not in secret_env:
            raise ValueError("meilisearch needs its master key: `env: {secret: [MEILI_MASTER_KEY]}` as in Kamal, "
                             "or `masterKey: NAME` (a berth:secrets name)")
        if kind == "meilisearch" and self.master_key and "MEILI_MASTER_KEY" in secret_env:
            raise ValueError("sets the master key twice (masterKey and env.secret MEILI_MASTER_KEY); keep one")
        if kind == "postgres" and self.database is None and "POSTGRES_PASSWORD" not in secret_env:
            raise ValueError("postgres needs `database: {name, user, password}` (Berth then gives the app its "
                             "DATABASE_URL), or Kamal's `env: {secret: [POSTGRES_PASSWORD]}`")
        if kind == "postgres":
            self._postgres_data_mount()
        if self.publish:
            ip = _PUBLISH.match(self.publish)["ip"]
            if ip in ("0.0.0.0", "::") and not self.publish_public:
                raise ValueError(f"publish {self.publish!r} opens the port to the world; "
                                 "use 127.0.0.1:PORT, or set publishPublic: true if you mean it")
        if self.publish_public and not self.publish:
            raise ValueError("publishPublic needs publish")
        return self

    @property
    def published_privately(self) -> int | None:
        """The host port of a `private:PORT` publish: other hosts of the stack reach the accessory there."""
        found = _PUBLISH.match(self.publish or "")
        return int(found["port"]) if found and found["ip"] == "private" else None

    @property
    def postgres_major(self) -> int | None:
        """The major version in the image tag (postgres:18.1, postgres:17-alpine), None for a digest."""
        tag = self.image.rsplit(":", 1)[1] if "@" not in self.image else ""
        major = re.match(r"^(\d+)", tag)
        return int(major.group(1)) if major else None

    def _postgres_data_mount(self) -> None:
        """docker-library/postgres up to 17: PGDATA and VOLUME /var/lib/postgresql/data, so a mount at its parent
        leaves the data in an anonymous volume; 18: PGDATA /var/lib/postgresql/18/docker under
        VOLUME /var/lib/postgresql, and the entrypoint refuses a mount at /var/lib/postgresql/data."""
        major = self.postgres_major
        targets = [parse_mount(v).target.rstrip("/") or "/" for v in (*self.volumes, *self.directories)]
        if major is None:
            if not targets:
                raise ValueError("pin postgres by a tag with its major version (postgres:18.1), or give `volumes` "
                                 "(or `directories`), so the data directory is known")
            return
        if major <= 17 and "/var/lib/postgresql" in targets:
            raise ValueError(f"postgres {major} keeps its data in /var/lib/postgresql/data (its VOLUME); a mount at "
                             "/var/lib/postgresql leaves the data in an anonymous volume, lost with the container: "
                             "mount /var/lib/postgresql/data")
        if major >= 18 and "/var/lib/postgresql/data" in targets:
            raise ValueError(f"postgres {major} keeps its data under /var/lib/postgresql (PGDATA "
                             f"/var/lib/postgresql/{major}/docker): images built since 2025-10-15 refuse to start "
                             "with a mount at /var/lib/postgresql/data, older ones write to an anonymous volume "
                             "instead; mount /var/lib/postgresql")

    @property
    def postgres_data_dir(self) -> str:
        major = self.postgres_major
        return "/var/lib/postgresql" if major is None or major >= 18 else "/var/lib/postgresql/data"

    def mounts(self) -> list[tuple[str, str]]:
        """(key path below the accessory, container path) of every mount the stack file gives it: volumes,
        directories, then files, each container path without a trailing '/' (Docker's own comparison)."""
        out = [(f"volumes[{i}]", parse_mount(v).target) for i, v in enumerate(self.volumes)]
        out += [(f"directories[{i}]", parse_mount(d).target) for i, d in enumerate(self.directories)]
        out += [("files", path) for path in self.files]
        return [(key, target.rstrip("/") or "/") for key, target in out]

    def default_data_mount(self, service: str, name: str) -> str | None:
        """The named volume a postgres or meilisearch preset mounts at the image's data directory when the stack
        file mounts nothing there: no `volumes` at all (as before `directories` counted) and no directory at that
        path, since Kamal's `directories: [data:/var/lib/postgresql/data]` is the data mount itself, and a second
        mount at one path is one Docker refuses ("Duplicate mount point")."""
        target = {"postgres": self.postgres_data_dir, "meilisearch": "/meili_data"}.get(self.kind)
        if target is None or self.volumes or target in {t for key, t in self.mounts() if key.startswith("directories")}:
            return None
        return f"{service}-{name}-data:{target}"

    def secret_refs(self) -> list[tuple[str, str]]:
        refs = [(f"env.secret[{i}]", secret) for i, (_, secret) in enumerate(self.env.secret_pairs())]
        if self.master_key:
            refs.append(("masterKey", self.master_key))
        if self.database:
            refs.append(("database.password", self.database.password))
        for path, content in self.files.items():
            refs += [(f"files.{path}", secret) for secret in SECRET_REFERENCE.findall(content)]
        return refs


# --- the stack ------------------------------------------------------------------------------------

class Stack(Section):
    """One validated stack file. Components receive pieces of it; only this module reads raw config."""

    service: Name
    image: Repository
    version: Version
    secrets: dict[SecretName, SecretStr] = {}
    registry: Registry | None = None
    cloud: Cloud
    ssh: Ssh
    servers: dict[Name, Role] = Field(min_length=1)
    primary_role: Name = PRIMARY_ROLE
    app: App = App()
    bootstrap: Bootstrap = Bootstrap()
    firewall: Firewall = Firewall()
    volume: Volume | None = None
    volumes: list[MountSpec] = []
    logging: Logging | None = None  # every container's logging (roles merge their own over it); unset: json-file 10m
    asset_path: AbsolutePath | None = None
    proxy: Proxy = Proxy()
    env: Env = Env()
    release_command: str | None = Field(None, min_length=1)
    retain_containers: int = Field(5, ge=0, le=50)
    maintenance: bool = False
    maintenance_message: str | None = None
    rollout: Rollout = Rollout()
    database: Database | None = None
    dns: Dns | None = None
    cloudflare: Cloudflare | None = None
    backups: Backups | None = None
    accessories: dict[Name, Accessory] = {}

    # Derived values ------------------------------------------------------------------------------

    @field_validator("servers", mode="before")
    @classmethod
    def _settings_are_not_roles(cls, servers: Any) -> Any:
        """A dedented `size: cx23` lands beside the roles; say so instead of "not a valid Role"."""
        if isinstance(servers, dict):
            settings = keys_at(("servers", "<role>"))
            stray = [key for key, value in servers.items() if key in settings and not isinstance(value, dict)]
            if stray:
                raise ValueError(f"{', '.join(stray)} {'is a setting' if len(stray) == 1 else 'are settings'} of a "
                                 "role, not a role: indent under its role, as berth:servers.<role>."
                                 f"{stray[0]}")
        return servers

    @property
    def provider(self) -> str:
        return self.cloud.provider

    @property
    def machines(self) -> list[MachineLayout]:
        """Every machine and the roles it runs (layout.py)."""
        return machines(self)

    def role_count(self, role: str) -> int:
        """The machines that run the role, its own or another role's."""
        return len(carrying(self.machines, role))

    def role_env(self, role: str) -> Env:
        """The env a role's containers get: berth:env with the role's own env merged over it."""
        return self.env.merged(self.servers[role].env)

    def is_proxied(self, role: str) -> bool:
        spec = self.servers[role]
        return spec.proxy if spec.proxy is not None else role == self.primary_role

    @property
    def proxied_roles(self) -> list[str]:
        return [role for role in self.servers if self.is_proxied(role)]

    @property
    def behind_cloudflare(self) -> bool:
        return self.dns is not None and self.dns.proxied

    @property
    def tls_mode(self) -> TlsMode:
        if self.proxy.ssl != "auto":
            return self.proxy.ssl
        return "cloudflare-origin" if self.behind_cloudflare else "letsencrypt"

    @property
    def forward_headers(self) -> bool:
        """Behind Cloudflare, and with TLS ending before the proxy (kamal-proxy's own default without TLS, which
        Kamal keeps), the client's address and scheme arrive in X-Forwarded-* and are passed on."""
        if self.proxy.forward_headers is not None:
            return self.proxy.forward_headers
        return self.behind_cloudflare or self.tls_mode == "external"

    @property
    def cloudflare_settings(self) -> Cloudflare:
        return self.cloudflare or Cloudflare()

    @property
    def restrict_origin(self) -> bool:
        restrict = self.cloudflare_settings.restrict_origin
        return self.behind_cloudflare if restrict is None else (restrict and self.behind_cloudflare)

    @property
    def urls(self) -> list[str]:
        """Where users reach the app: HTTPS in every TLS mode (Cloudflare's edge, or the proxy's own)."""
        return [f"https://{host}" for host in self.proxy.hosts]

    @property
    def healthcheck_url(self) -> str | None:
        return f"{self.urls[0]}{self.proxy.healthcheck.path}" if self.proxy.hosts else None

    @property
    def mounts(self) -> list[Mount]:
        return [parse_mount(volume) for volume in self.volumes]

    def role_volumes(self, role: str) -> list[str]:
        """The mounts a role's containers get: berth:volumes, then the role's own."""
        return [*self.volumes, *self.servers[role].volumes]

    def role_logging(self, role: str) -> Logging | None:
        """The role's logging merged over the stack's; None when neither declares any (Berth's default)."""
        merged = (self.logging or Logging()).merged(self.servers[role].logging)
        return merged if merged.declared else None

    @property
    def routed_hosts(self) -> list[str]:
        """Every host name kamal-proxy answers for this stack: the app's, then each accessory route's."""
        return [*self.proxy.hosts, *[h for a in self.accessories.values() if a.proxy for h in a.proxy.hosts]]

    @property
    def storage_directories(self) -> list[str]:
        """Host paths the app's containers mount: created on every host and owned by `app.user`."""
        shared = [mount.source for mount in self.mounts if mount.is_host_path]
        roles = self.servers.values() if isinstance(self.servers, dict) else []
        own = [m.source for spec in roles for m in map(parse_mount, spec.volumes) if m.is_host_path]
        return shared + [source for source in dict.fromkeys(own) if source not in shared]

    def secret_refs(self) -> list[tuple[str, str]]:
        """(key path, secret name) for every place that names a berth:secrets entry."""
        refs = [(f"env.secret[{i}]", secret) for i, (_, secret) in enumerate(self.env.secret_pairs())]
        # A partial stack (validation.load) has no servers when that section failed; its secrets wait for the fix.
        for role, spec in (self.servers if isinstance(self.servers, dict) else {}).items():
            pairs = spec.env.secret_pairs() if spec.env is not None else []
            refs += [(f"servers.{role}.env.secret[{i}]", secret) for i, (_, secret) in enumerate(pairs)]
        if self.registry:
            refs.append(("registry.password", self.registry.password))
            if self.registry.username_secret:
                refs.append(("registry.usernameSecret", self.registry.username_secret))
        if self.ssh.private_key:
            refs.append(("ssh.privateKey", self.ssh.private_key))
        if self.backups and self.backups.provider == "s3":
            refs += [("backups.accessKeyId", self.backups.access_key_id),
                     ("backups.secretAccessKey", self.backups.secret_access_key)]
        for name, accessory in self.accessories.items():
            refs += [(f"accessories.{name}.{path}", secret) for path, secret in accessory.secret_refs()]
        return refs

    def secret(self, name: str) -> SecretStr:
        return self.secrets[name]


# --- loading --------------------------------------------------------------------------------------

# Keys Pulumi hands over as plain text; every other top-level key arrives as JSON.
SCALAR_KEYS = frozenset({
    "service", "image", "version", "primaryRole", "assetPath", "releaseCommand", "retainContainers",
    "maintenance", "maintenanceMessage",
})


def keys_at(loc: tuple) -> list[str]:
    """The keys the stack file accepts at a key path, for "did you mean" hints."""
    model: Any = Stack
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is not None:  # otherwise `part` is a dict key or list index: stay on the item model
            model = model_of(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


def paths_of(key: str) -> list[str]:
    """Every key path (dotted, `<name>` for map keys) that ends in `key`, for "wrong section" hints."""
    found: list[str] = []

    def walk(model: type[BaseModel], prefix: str, depth: int) -> None:
        for name, field in model.model_fields.items():
            alias = field.alias or name
            path = f"{prefix}{alias}"
            if alias == key and prefix:
                found.append(path)
            inner = _strip_optional(field.annotation)
            if typing.get_origin(inner) is dict:
                inner, path = _strip_optional(typing.get_args(inner)[1]), f"{path}.<name>"
            elif typing.get_origin(inner) is list:
                inner = _strip_optional(typing.get_args(inner)[0])
            if isinstance(inner, type) and issubclass(inner, BaseModel) and depth < 4:
                walk(inner, f"{path}.", depth + 1)

    walk(Stack, "", 0)
    return found


def scalar_kind(loc: tuple) -> str | None:
    """What the stack file expects at a key path: "text", "number", "bool", or None (a section, or unknown)."""
    annotation: Any = Stack
    for part in loc:
        annotation = _strip_optional(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next((f for n, f in annotation.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return None
            annotation = field.annotation
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        elif typing.get_origin(annotation) is list and isinstance(part, int):
            annotation = typing.get_args(annotation)[0]
        else:
            return None
    annotation = _strip_optional(annotation)
    if annotation is bool:
        return "bool"
    if annotation in (int, float):
        return "number"
    if annotation in (str, SecretStr) or typing.get_origin(annotation) is Literal:
        return "text"
    return None


def _strip_optional(annotation: Any) -> Any:
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)) and \
                len(args) == 1:
            annotation = args[0]
            continue
        return annotation


def model_of(annotation: Any) -> Any:
    """Model class behind Optional[...], list[...] and dict[str, ...]."""
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for inner in typing.get_args(arg):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return annotation
