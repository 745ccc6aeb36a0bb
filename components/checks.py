"""Rules that span sections of the stack file. Each returns Problems; `load` reports them all at once."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from . import catalog
from .clouds.names import (
    DIGITALOCEAN_TAG,
    DIGITALOCEAN_VOLUME,
    HETZNER_LABEL,
    HETZNER_SERVER,
    STACK_NAME,
    Names,
    Rule,
    broken_rule,
)
from .config import Stack, parse_mount
from .errors import Problem
from .fields import unpinned
from .host_ports import port_clashes
from .render.edge import resolves_itself
from .render.registry import auth_addresses, docker_registry, provider_registry, same_registry


def _servers(stack: Stack) -> list[Problem]:
    problems = []
    provider = stack.provider
    if provider != "existing" and not stack.ssh.authorized_keys:
        problems.append(Problem("berth:ssh.authorizedKeys", f"is required for {provider}: the public keys installed "
                                                             "on every new host (existing hosts keep theirs)"))
    for role, spec in stack.servers.items():
        at = f"berth:servers.{role}"
        if spec.runs_on is not None:
            problems += _runs_on(stack, role)
            continue
        if provider == "existing":
            if not spec.hosts:
                problems.append(Problem(f"{at}.hosts", "is required for cloud provider existing: the hosts' addresses "
                                                       "(or runsOn: another role, to run on its hosts)"))
            for key, value in (("count", spec.count), ("size", spec.size), ("osImage", spec.os_image)):
                if value is not None:
                    problems.append(Problem(f"{at}.{key}", "does not apply to existing hosts; list them under hosts"))
            continue
        if spec.hosts:
            problems.append(Problem(f"{at}.hosts", f"is for cloud provider existing; {provider} creates hosts from count"))
    for layout in stack.machines:
        proxied = [role for role in layout.roles if stack.is_proxied(role)]
        if len(proxied) > 1:
            where = layout.address or layout.name(stack.service)
            problems.append(Problem(f"berth:servers.{proxied[1]}.proxy",
                                    f"{proxied[0]} and {proxied[1]} both sit behind the proxy on {where}, and one "
                                    "berth:proxy serves the same hostnames for both: keep one of them behind it "
                                    "(proxy: false), or give the other machines of its own"))
    if stack.primary_role not in stack.servers:
        problems.append(Problem("berth:primaryRole", f"{stack.primary_role!r} is not a role under berth:servers"))
    for role, spec in stack.servers.items():
        env = stack.role_env(role)
        both = set(env.clear) & {name for name, _ in env.secret_pairs()} if spec.env is not None else set()
        if both:
            problems.append(Problem(f"berth:servers.{role}.env", f"{', '.join(sorted(both))} would be both clear and "
                                                                 "secret once merged with berth:env; keep one"))
    return problems


def _runs_on(stack: Stack, role: str) -> list[Problem]:
    """A role on another role's machines has none of its own to describe."""
    spec, at = stack.servers[role], f"berth:servers.{role}"
    target = stack.servers.get(spec.runs_on)
    problems = []
    if spec.runs_on == role or target is None:
        problems.append(Problem(f"{at}.runsOn", f"{spec.runs_on!r} is not another role under berth:servers: name the "
                                                "role whose machines this one runs on"))
    elif target.runs_on is not None:
        problems.append(Problem(f"{at}.runsOn", f"{spec.runs_on} runs on {target.runs_on}'s machines itself: name "
                                                f"{target.runs_on}, which has machines of its own"))
    for key, value in (("count", spec.count), ("hosts", spec.hosts), ("size", spec.size), ("osImage", spec.os_image)):
        if value is not None:
            problems.append(Problem(f"{at}.{key}", f"does not go with runsOn: {role} runs on {spec.runs_on}'s machines, "
                                                   "which that role describes"))
    return problems


def _proxy(stack: Stack) -> list[Problem]:
    problems = []
    mode = stack.tls_mode
    if not stack.proxied_roles:
        return problems
    if mode in ("letsencrypt", "cloudflare-origin") and not stack.proxy.hosts:
        problems.append(Problem("berth:proxy.hosts", f"is required for TLS ({mode}): the hostnames the app answers"))
    web_hosts = len([m for m in stack.machines if any(stack.is_proxied(role) for role in m.roles)])
    wildcards = [host for host in stack.proxy.hosts if host.startswith("*.")]
    if mode == "letsencrypt" and wildcards:
        problems.append(Problem("berth:proxy.hosts", f"{', '.join(wildcards)}: Let's Encrypt cannot issue a wildcard "
                                                      "certificate over kamal-proxy's HTTP challenge (kamal-proxy: "
                                                      "\"automatic TLS does not support wildcards\"); serve it behind "
                                                      "Cloudflare (cloudflare-origin) or with TLS ending before the "
                                                      "proxy"))
    if mode == "letsencrypt" and web_hosts > 1:
        problems.append(Problem("berth:proxy.ssl", f"letsencrypt works on one host only; {web_hosts} hosts sit behind "
                                                    "the proxy. Put them behind Cloudflare (berth:dns.proxied: true) "
                                                    "for cloudflare-origin"))
    if mode == "cloudflare-origin" and not stack.behind_cloudflare:
        problems.append(Problem("berth:proxy.ssl", "cloudflare-origin needs berth:dns with proxied: true"))
    if mode == "off":
        if not stack.behind_cloudflare:
            problems.append(Problem("berth:proxy.ssl", "off is only allowed behind Cloudflare's proxy "
                                                        "(berth:dns.proxied: true)"))
        if not stack.proxy.acknowledge_plaintext_origin:
            problems.append(Problem("berth:proxy.acknowledgePlaintextOrigin",
                                    "must be true with ssl: off (traffic from Cloudflare to the host is unencrypted)"))
    if stack.proxy.path_prefixes and mode in ("letsencrypt", "cloudflare-origin") and not stack.proxy.shared:
        problems.append(Problem("berth:proxy.pathPrefixes", f"kamal-proxy serves TLS ({mode}) only on a host's route at "
                                                            "/, and a route below a path takes it from there: set "
                                                            "proxy.shared: true (another stack's route at / serves "
                                                            "TLS for these hosts), or ssl: external"))
    if stack.proxy.shared and stack.proxy.run != type(stack.proxy.run)():
        problems.append(Problem("berth:proxy.run", "belongs to the stack that owns kamal-proxy on these hosts; this "
                                                   "one only routes into it (proxy.shared: true)"))
    if mode == "external":
        if stack.behind_cloudflare:
            problems.append(Problem("berth:proxy.ssl", "external behind Cloudflare's proxy is ssl: off (with "
                                                        "cloudflare.sslMode flexible), or better cloudflare-origin"))
        if not stack.proxy.acknowledge_plaintext_origin:
            problems.append(Problem("berth:proxy.acknowledgePlaintextOrigin",
                                    "must be true with ssl: external (kamal-proxy serves plain HTTP: TLS must end "
                                    "before it, at your load balancer or web server)"))
    return problems


# Cloudflare SSL modes that weaken TLS, and what each means for the site.
_WEAK_SSL_MODES = {"flexible": "Cloudflare then reaches the origin over plain HTTP",
                   "off": "Cloudflare then serves visitors without HTTPS"}


def _edge(stack: Stack) -> list[Problem]:
    problems = []
    if stack.cloudflare is not None and stack.dns is None:
        problems.append(Problem("berth:cloudflare", "applies to a Cloudflare zone; set berth:dns.zone too"))
    if stack.dns is not None:
        zone = stack.dns.zone
        for i, host in enumerate(stack.proxy.hosts):
            if host != zone and not host.endswith("." + zone):
                problems.append(Problem(f"berth:proxy.hosts[{i}]", f"{host!r} is not in the zone {zone!r}"))
        for name, accessory in stack.accessories.items():
            for i, host in enumerate(accessory.proxy.hosts if accessory.proxy else []):
                if host != zone and not host.endswith("." + zone):
                    problems.append(Problem(f"berth:accessories.{name}.proxy.hosts[{i}]",
                                            f"{host!r} is not in the zone {zone!r}"))
        if stack.behind_cloudflare:
            ssl_mode = stack.cloudflare_settings.ssl_mode
            weak = ssl_mode in _WEAK_SSL_MODES
            if stack.tls_mode != "off" and weak:
                problems.append(Problem("berth:cloudflare.sslMode", f"{ssl_mode} makes Cloudflare speak HTTP to an "
                                                                     "origin that redirects to HTTPS (a redirect loop); "
                                                                     "use strict, or serve plain HTTP at the origin "
                                                                     "(proxy.ssl: off)"))
            if stack.tls_mode == "off" and not weak:
                problems.append(Problem("berth:cloudflare.sslMode", f"{ssl_mode} needs TLS at the origin; with "
                                                                     "proxy.ssl off use flexible"))
            if weak and not stack.cloudflare_settings.acknowledge_weak_ssl_mode:
                problems.append(Problem("berth:cloudflare.acknowledgeWeakSslMode",
                                        f"must be true with sslMode {ssl_mode}: {_WEAK_SSL_MODES[ssl_mode]}"))
    return problems


def _secrets(stack: Stack) -> list[Problem]:
    return [
        Problem(f"berth:{path}", f"names {secret!r}, which is not set in berth:secrets "
                                 f"(pulumi config set --secret --path 'secrets.{secret}' ...)", missing_secret=secret)
        for path, secret in stack.secret_refs()
        if secret not in stack.secrets
    ]


def _registry(stack: Stack) -> list[Problem]:
    """The credentials reach a pull only when the Docker provider looks them up under a name it has them for."""
    if stack.registry is None:
        return []
    server, image = stack.registry.server, stack.image
    if not same_registry(docker_registry(image), server):
        return [Problem("berth:registry.server", f"is {server}, but berth:image {image} is pulled from "
                                                 f"{docker_registry(image)}: the credentials would not be sent and a "
                                                 "private image would be refused; name the image's registry")]
    if provider_registry(image) not in auth_addresses(server):
        return [Problem("berth:image", f"{image} has no registry host in front, so Docker pulls it from Docker Hub "
                                       f"but the Docker provider looks for its credentials under "
                                       f"{provider_registry(image)!r}, and the pull would be anonymous; write it "
                                       f"as docker.io/{image}")]
    return []


def _database(stack: Stack) -> list[Problem]:
    problems = []
    db = stack.database
    if db is None:
        return problems
    if db.region is None and stack.provider != "digitalocean":
        problems.append(Problem("berth:database.region", "is required when the hosts are not on DigitalOcean"))
    for role in stack.servers:
        env = stack.role_env(role)
        if db.env_var in env.clear or db.env_var in dict(env.secret_pairs()):
            where = "berth:env" if stack.servers[role].env is None else f"berth:env or berth:servers.{role}.env"
            problems.append(Problem("berth:database.envVar", f"{db.env_var} is also set in {where}; keep one"))
    return problems


def _volume(stack: Stack) -> list[Problem]:
    problems = []
    if stack.volume is not None:
        if stack.provider == "existing":
            problems.append(Problem("berth:volume", "existing hosts bring their own disks; use berth:volumes with a "
                                                     "host path or a Docker volume"))
        if stack.provider == "hetzner" and stack.volume.size_gb < 10:
            problems.append(Problem("berth:volume.sizeGb", "Hetzner volumes start at 10 GB"))
    return problems


def _mounts(stack: Stack) -> list[Problem]:
    problems = []
    targets = [mount.target for mount in stack.mounts]
    if len(set(targets)) != len(targets):
        problems.append(Problem("berth:volumes", "mounts two volumes at the same container path"))
    lists = [("berth:volumes", stack.mounts)]
    for role, spec in stack.servers.items():
        own = [parse_mount(v) for v in spec.volumes]
        lists.append((f"berth:servers.{role}.volumes", own))
        taken = set(targets) & {m.target for m in own}
        if taken or len({m.target for m in own}) != len(own):
            problems.append(Problem(f"berth:servers.{role}.volumes", f"mounts two volumes at the same container path "
                                                                     f"({', '.join(sorted(taken)) or 'twice here'})"))
    for key, mounts in lists:
        for i, mount in enumerate(mounts):
            under_volume = stack.volume is not None and (
                mount.source == stack.volume.mount_path or mount.source.startswith(stack.volume.mount_path + "/"))
            if mount.is_host_path and stack.provider != "existing" and not under_volume:
                problems.append(Problem(f"{key}[{i}]", f"host path {mount.source} is on the server's boot disk, which "
                                                       "a rebuilt server loses; mount it under berth:volume.mountPath "
                                                       "or use a Docker volume name"))
    return problems


def servers_running(stack: Stack, roles: list[str]) -> list:
    return [m for m in stack.machines if set(m.roles) & set(roles)]


def _accessories(stack: Stack) -> list[Problem]:
    problems = []
    replicated: dict[str, str] = {}
    app_targets = [mount.target for mount in stack.mounts]
    hosts = len(stack.machines)
    for name, accessory in stack.accessories.items():
        at = f"berth:accessories.{name}"
        for role in accessory.roles or []:
            if role not in stack.servers:
                problems.append(Problem(f"{at}.roles", f"{role!r} is not a role under berth:servers"))
        if accessory.kind in ("postgres", "meilisearch") and hosts > 1 and not accessory.published_privately:
            # The kamal network is per host: app containers on other hosts could not reach it by name.
            port = 5432 if accessory.kind == "postgres" else 7700
            advice = {"postgres": "or use berth:database (DigitalOcean's managed PostgreSQL)",
                      "meilisearch": "or give the app the URL of a hosted Meilisearch in berth:env"}[accessory.kind]
            problems.append(Problem(at, f"the {accessory.kind} preset serves the app over one host's Docker network, "
                                        f"and this stack has {hosts} hosts: publish it to them with `publish: "
                                        f"private:{port}` (on the private network, open to the stack's hosts only), "
                                        f"{advice}"))
        if accessory.published_privately and accessory.roles and len(servers_running(stack, accessory.roles)) > 1:
            problems.append(Problem(f"{at}.publish", "private publishes one accessory to the other hosts: it runs on "
                                                     "one host (its roles run it on several)"))
        if accessory.kind == "litestream":
            if stack.backups is None:
                problems.append(Problem(f"{at}", "litestream replicates to berth:backups; configure it"))
            for i, path in enumerate(accessory.databases):
                if path in replicated:
                    problems.append(Problem(f"{at}.databases[{i}]", f"{path} is already replicated by "
                                                                     f"{replicated[path]}; one Litestream per file"))
                replicated[path] = name
                if not any(path.startswith(target.rstrip("/") + "/") for target in app_targets):
                    problems.append(Problem(f"{at}.databases[{i}]", f"{path} is not under any of berth:volumes' "
                                                                     "container paths, so Litestream cannot see it"))
        if accessory.kind == "postgres" and stack.database is not None:
            if accessory.database and accessory.database.env_var == stack.database.env_var:
                problems.append(Problem(f"{at}.database.envVar", f"{stack.database.env_var} is already set by "
                                                                  "berth:database"))
        problems += _accessory_mounts(stack, name)
    return problems


def _accessory_mounts(stack: Stack, name: str) -> list[Problem]:
    """One mount per container path across an accessory's volumes, directories and files (and, for litestream,
    the app's storage its preset mounts): Docker refuses a container with two ("Duplicate mount point", moby
    daemon/volumes.go), so `pulumi up` would fail at the container after creating everything before it."""
    accessory, at = stack.accessories[name], f"berth:accessories.{name}"
    mounts: list[tuple[str, str]] = []
    if accessory.kind == "litestream":
        mounts += [(f"berth:volumes[{i}] (the app's storage, which the litestream preset mounts)",
                    mount.target.rstrip("/") or "/") for i, mount in enumerate(stack.mounts)
                   if any(db.startswith(mount.target.rstrip("/") + "/") for db in accessory.databases)]
    mounts += [(f"{at}.{key}", target) for key, target in accessory.mounts()]
    seen: dict[str, str] = {}
    problems = []
    for key, target in mounts:
        if target in seen:
            problems.append(Problem(key.split(" ")[0], f"mounts {target} again, which {seen[target]} mounts already: "
                                                       "Docker refuses two mounts at one container path (\"Duplicate "
                                                       "mount point\"); keep one"))
        seen.setdefault(target, key)
    return problems


def _accessory_routes(stack: Stack) -> list[Problem]:
    """An accessory's own route runs on the hosts the accessory runs on, which must run kamal-proxy; its name
    `<service>-<accessory>` must not be a role's route, and each host name is routed once."""
    problems = []
    seen = {host: "berth:proxy.hosts" for host in stack.proxy.hosts}
    for name, accessory in stack.accessories.items():
        if accessory.proxy is None:
            continue
        at = f"berth:accessories.{name}.proxy"
        roles = accessory.roles or [stack.primary_role]
        unproxied = [role for role in roles if role in stack.servers and not stack.is_proxied(role)]
        if unproxied:
            problems.append(Problem(at, f"the accessory runs on the {', '.join(unproxied)} hosts, which run no "
                                        "kamal-proxy: give it roles behind the proxy"))
        if name in stack.servers:
            problems.append(Problem(at, f"its route {stack.service}-{name} would be the {name} role's; rename the "
                                        "accessory"))
        for i, host in enumerate(accessory.proxy.hosts):
            if host in seen:
                problems.append(Problem(f"{at}.hosts[{i}]", f"{host} is already routed by {seen[host]}"))
            seen.setdefault(host, at)
        placed = sum(stack.role_count(role) for role in roles if role in stack.servers) if accessory.roles else 1
        if stack.tls_mode == "letsencrypt" and (placed > 1 or any(h.startswith("*.") for h in accessory.proxy.hosts)):
            problems.append(Problem(at, "letsencrypt serves one host and no wildcard; run the accessory on one host, "
                                        "or behind Cloudflare (cloudflare-origin)"))
    return problems


CHECKS: tuple[Callable[[Stack], list[Problem]], ...] = (
    _servers, _proxy, _edge, _secrets, _registry, _database, _volume, _mounts, _accessories, _accessory_routes,
    port_clashes,
)


def cross_section_problems(stack: Stack, tolerant: bool = False) -> list[Problem]:
    """Every rule's problems. `tolerant`: the stack is partial (some sections or fields failed to validate),
    so a rule that reads one of them is skipped rather than guessed at; rules are small, so that one broken
    value silences only the rules that need it."""
    problems = []
    for check in CHECKS:
        try:
            problems += check(stack)
        except (AttributeError, KeyError, TypeError, StopIteration):
            if not tolerant:
                raise
    return problems


def stack_name_problems(stack: Stack, stack_name: str) -> list[Problem]:
    """The stack's name goes into the names of its cloud resources (clouds/names.py), whose rules the clouds
    enforce only when they are asked to create one; checked here, before anything is declared."""
    provider = stack.provider
    if provider == "existing" and stack.database is None and not (stack.backups and stack.backups.provider == "spaces"):
        return []  # nothing named after the stack in a cloud account
    if not STACK_NAME.match(stack_name):
        return [Problem(f"stack {stack_name!r}", "must hold only lowercase letters, digits and single '-' between "
                                                 "them: it goes into the cloud resources' names, and DigitalOcean "
                                                 "takes only those in volume names, refuses '.' in tags and '_' in "
                                                 "firewall and VPC names (pulumi stack rename <new name> changes it)")]
    names = Names(stack.service, stack_name)
    candidates: list[tuple[Rule, str]] = []
    for layout in stack.machines:  # named after the role that has the machine
        role, number = layout.owner, layout.index + 1
        if provider == "digitalocean" and stack.volume is not None:
            candidates.append((DIGITALOCEAN_VOLUME, names.kept(role, number, "data", "x" * 4)))
        if provider == "hetzner":
            candidates.append((HETZNER_SERVER, names.host(role, number)))
    if provider in ("digitalocean", "hetzner"):
        candidates.append((DIGITALOCEAN_TAG if provider == "digitalocean" else HETZNER_LABEL, names.tag))
    return [Problem("berth:service", f"{broken}, with stack {stack_name!r}; shorten the service, the role or the "
                                     "stack name")
            for broken in (broken_rule(rule, name) for rule, name in candidates) if broken]


# Litestream before 0.5.16 cannot upload to S3-compatible storage (aws-chunked encoding, fixed in 0.5.6)
# and does not sign payloads for Hetzner from a config file (0.5.16); see docs/compatibility.md.
LITESTREAM_MINIMUM = (0, 5, 16)


def _tag_version(image: str) -> tuple[int, ...] | None:
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    parts = tag.removeprefix("v").split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) and tag else None


def unpinned_image(image: str) -> str:
    """Why an unpinned accessory image deserves a pin, and how to pin the one running today."""
    tagged = image if ":" in image.rsplit("/", 1)[-1] else f"{image}:latest"
    return (f"{image} is not pinned: each host keeps the {tagged} it has (Berth pulls again only when the name "
            "changes), so a host that has it runs what runs today and a new host gets whatever latest is then. "
            f"Pin what runs today: on the host, docker image inspect {tagged} --format '{{{{index .RepoDigests 0}}}}' "
            f"names its digest; write image: {tagged.rsplit(':', 1)[0]}@sha256:<digest>, or the version tag it is")


def warnings(stack: Stack) -> list[Problem]:
    """Allowed but worth a reviewer's eye, each at the key it is about: the plan prints these with their
    lines, and `pulumi preview` / `up` log them."""
    notes = []
    for name, accessory in stack.accessories.items():
        version = _tag_version(accessory.image) if accessory.kind == "litestream" else None
        if version is not None and version < LITESTREAM_MINIMUM:
            notes.append(Problem(f"berth:accessories.{name}.image",
                                 f"pins Litestream {'.'.join(map(str, version))}: releases before 0.5.16 fail to "
                                 "upload to S3-compatible storage (Spaces, Hetzner, R2); pin "
                                 "litestream/litestream:0.5.16 or later"))
        if unpinned(accessory.image):
            notes.append(Problem(f"berth:accessories.{name}.image", unpinned_image(accessory.image)))
    if stack.provider == "hetzner":
        for role, spec in stack.servers.items():
            retirement = catalog.hetzner_retirement(spec.size, stack.cloud.region) if spec.size else None
            if retirement:
                notes.append(Problem(f"berth:servers.{role}.size", retirement))
    for role, spec in stack.servers.items():
        for i, host in enumerate(spec.hosts or []):
            if "." not in host and ":" not in host:
                notes.append(Problem(f"berth:servers.{role}.hosts[{i}]",
                                     f"{host} must resolve on the machine that runs `pulumi up` (DNS or /etc/hosts): "
                                     "Berth's remote commands dial it directly and do not read ~/.ssh/config, so an "
                                     "ssh alias alone is not enough"))
    world = {"0.0.0.0/0", "::/0"}
    if world & set(stack.ssh.allow_from):
        notes.append(Problem("berth:ssh.allowFrom", "opens SSH to the whole internet (key-only login still applies)"))
    for name, accessory in stack.accessories.items():
        if accessory.publish_public:
            notes.append(Problem(f"berth:accessories.{name}.publish",
                                 f"exposes {accessory.publish} to the internet"))
    if stack.tls_mode == "off":
        notes.append(Problem("berth:proxy.ssl", "is off: Cloudflare reaches the hosts over plain HTTP"))
    run = stack.proxy.run
    addresses = [ipaddress.ip_address(ip) for ip in (run.bind_ips or ["0.0.0.0", "::"])]
    public = [str(a) for a in addresses if a.is_unspecified or not (a.is_private or a.is_loopback)]
    moved = [str(port) for port, default in ((run.http_port, 80), (run.https_port, 443)) if port != default]
    if run.publish and moved and public and not stack.proxy.shared and stack.proxied_roles:
        notes.append(Problem("berth:proxy.run", f"publishes kamal-proxy on port {', '.join(moved)} of "
                                                f"{', '.join(public)}: Berth's firewalls open 80 and 443 only, so a "
                                                "cloud firewall closes it to the world, but on an existing host "
                                                "Docker's published port passes ufw; bind it where your web server "
                                                "reaches it (bindIps: [127.0.0.1] or a private address)"))
    if stack.tls_mode == "external" and stack.proxied_roles:
        names = ", ".join(stack.proxy.hosts) or "every name"
        notes.append(Problem("berth:proxy.ssl", f"is external: kamal-proxy serves plain HTTP on port {run.http_port} "
                                                f"for {names}, with X-Forwarded-* passed on; TLS must end before it "
                                                "(a load balancer, nginx, Cloudflare) or visitors get plain HTTP"))
    manual = [host for host in stack.proxy.hosts if not resolves_itself(host)]
    if stack.dns is None and manual:
        notes.append(Problem("berth:dns", "is not set: point these names at the web hosts by hand (the stack output "
                                          "dnsRecordsToCreate lists each record after `pulumi up`): "
                                          + ", ".join(manual)))
    return notes
