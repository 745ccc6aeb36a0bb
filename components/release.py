"""Release: the app's containers on every host, the release command, and the health-gated switch.

Why the container name carries the version: a new version is a new Docker name, so Pulumi creates the
new container while the old one still serves; the switch (`kamal-proxy deploy`) depends on the new
container, waits for its health check and drains the old target; only then does the same script stop
the superseded container and prune. A failed health check fails the `up` at the switch with the old
version still serving.

Why app containers are `retain_on_delete`: Pulumi deletes a replaced resource at the end of a
successful update, but after a failed one it deletes it at the *start* of the next update — which for
the container still serving traffic would be an outage. So Pulumi only forgets superseded containers;
the switch's prune removes them after a successful deploy and keeps `retainContainers` stopped ones,
with their images, for a rollback that needs no pull.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi

from . import containers
from .config import Logging, Role, Stack
from .fields import duration_seconds
from .hosts import Host, Servers
from .proxy import KamalProxy
from .render import proxy as proxy_text
from .render import release as text
from .render.argv import shell_words
from .render.bootstrap import DOCKER_NETWORK
from .sdk import docker, random, remote
from .secrets import Secrets, resolved


@dataclass(frozen=True)
class Unit:
    """One role on one host: its container, revision, and switch (a prune, for a role the proxy does not serve).
    The role that has the host names them as it always has (`<host>-app`); another role on the same machine adds
    its name (`<host>-jobs-app`)."""

    host: Host
    role: str

    @property
    def owns(self) -> bool:
        return self.role == self.host.spec.role

    def named(self, what: str) -> str:
        return f"{self.host.spec.name}-{what}" if self.owns else f"{self.host.spec.name}-{self.role}-{what}"


@dataclass
class ReleaseArgs:
    service: str
    repository: str
    version: str
    primary_role: str
    hosts: list[Host]
    proxied_roles: list[str]
    roles: dict[str, Role]  # cmd and container options per role
    logging: dict[str, Logging | None]  # per role: berth:logging with the role's merged over it
    env_clear: dict[str, dict[str, str]]  # per role: berth:env with the role's env merged over it
    env_secret: dict[str, dict[str, pulumi.Output[str]]]  # per role: env name -> secret value
    mounts: dict[str, list[str]]  # per role: berth:volumes, then the role's own
    asset_path: str | None
    app_port: int
    deploy: proxy_text.DeployOptions
    release_command: str | None
    retain: int
    maintenance: bool
    maintenance_message: str | None
    batch_size: int
    proxies: dict[str, KamalProxy]  # by host name
    after: dict[str, list[pulumi.Resource]] = field(default_factory=dict)  # per host: accessories, a restore
    release_after: list[pulumi.Resource] = field(default_factory=list)  # e.g. the database accessory

    @classmethod
    def from_stack(cls, stack: Stack, servers: Servers, secrets: Secrets, proxies: dict[str, KamalProxy],
                   extra_secret_env: dict[str, pulumi.Output[str]] | None = None,
                   after: dict[str, list[pulumi.Resource]] | None = None,
                   release_after: list[pulumi.Resource] | None = None) -> "ReleaseArgs":
        p = stack.proxy
        deploy = proxy_text.DeployOptions(
            hosts=tuple(p.hosts), tls=stack.tls_mode,
            tls_files=proxy_text.tls_files(stack.service) if stack.tls_mode == "cloudflare-origin" else None,
            health_check_path=p.healthcheck.path, health_check_interval=p.healthcheck.interval,
            health_check_timeout=p.healthcheck.timeout, deploy_timeout=p.deploy_timeout,
            drain_timeout=p.drain_timeout, target_timeout=p.response_timeout,
            buffer_requests=p.buffering.requests, buffer_responses=p.buffering.responses,
            buffer_memory=p.buffering.memory, max_request_body=p.buffering.max_request_body,
            max_response_body=p.buffering.max_response_body, forward_headers=stack.forward_headers,
            log_request_headers=tuple(p.logging.request_headers), log_response_headers=tuple(p.logging.response_headers),
            path_prefixes=tuple(p.path_prefixes), strip_path_prefix=p.strip_path_prefix,
        )
        env_clear = {role: dict(stack.role_env(role).clear) for role in stack.servers}
        env_secret = {role: {**{name: secrets.output(secret) for name, secret in stack.role_env(role).secret_pairs()},
                             **(extra_secret_env or {})} for role in stack.servers}
        return cls(
            service=stack.service, repository=stack.image, version=stack.version, primary_role=stack.primary_role,
            hosts=servers.hosts, proxied_roles=stack.proxied_roles,
            roles=dict(stack.servers), logging={role: stack.role_logging(role) for role in stack.servers},
            env_clear=env_clear, env_secret=env_secret,
            mounts={role: stack.role_volumes(role) for role in stack.servers},
            asset_path=stack.asset_path, app_port=p.app_port, deploy=deploy, release_command=stack.release_command,
            retain=stack.retain_containers, maintenance=stack.maintenance,
            maintenance_message=stack.maintenance_message, batch_size=stack.rollout.batch_size,
            proxies=proxies, after=after or {}, release_after=release_after or [],
        )

    @property
    def image(self) -> str:
        return text.image_ref(self.repository, self.version)


class Release(pulumi.ComponentResource):
    """Everything that changes when `berth:version` changes, and nothing else."""

    def __init__(self, name: str, args: ReleaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:index:Release", name, {}, opts)
        self.args = args
        self._env_values = {role: resolved(secret) for role, secret in args.env_secret.items()}
        self.images = {h.spec.name: self._image(h) for h in args.hosts}  # one pull per machine, for all its roles
        primary = next(h for h in args.hosts if args.primary_role in h.spec.roles)
        self.release_command = self._release_command(primary) if args.release_command else None

        units = [Unit(host, role) for host in args.hosts for role in host.spec.roles]
        self.containers: dict[Unit, docker.Container] = {}
        switches: dict[Unit, remote.Command] = {}
        previous_batch: list[pulumi.Resource] = []
        proxied = [u for u in units if u.role in args.proxied_roles]
        size = args.batch_size or len(proxied) or 1
        for start in range(0, len(proxied), size):
            batch = proxied[start:start + size]
            for unit in batch:
                switches[unit] = self._switch(unit, self._container(unit), previous_batch)
            previous_batch = [switches[u] for u in batch]
        for unit in units:
            if unit.role not in args.proxied_roles:
                self._container(unit)
        for unit in units:
            if unit not in switches:
                self._prune(unit)
            elif args.maintenance:
                self._maintenance(unit, switches[unit])

        primary_image = self.images[primary.spec.name]
        owned = {u.host.spec.name: c.name for u, c in self.containers.items() if u.owns}
        by_role: dict[str, dict[str, pulumi.Output[str]]] = {}
        for unit, container in self.containers.items():
            by_role.setdefault(unit.host.spec.name, {})[unit.role] = container.name
        self.summary = pulumi.Output.all(
            digest=primary_image.repo_digest, containers=pulumi.Output.all(**owned),
            roles=pulumi.Output.all(**{host: pulumi.Output.all(**roles) for host, roles in by_role.items()}),
        ).apply(lambda v: {"version": args.version, "image": args.image, "digest": v["digest"],
                           "containers": v["containers"], "roleContainers": v["roles"]})
        self.register_outputs({"release": self.summary})

    # --- pieces ------------------------------------------------------------------------------------

    def _opts(self, host: Host, **kwargs) -> pulumi.ResourceOptions:
        return host.on_machine(self, **kwargs)

    def _image(self, host: Host) -> docker.RemoteImage:
        """Pulled with the registry credentials of the host's provider; kept, so a rollback needs no pull."""
        return docker.RemoteImage(f"{host.spec.name}-image", name=self.args.image, keep_locally=True,
                                  opts=self._opts(host))

    def _container_spec(self, role: str) -> dict:
        """Every setting of a role's container that does not come from another resource. The revision (part
        of the container's name) is drawn from it: any change that makes the provider replace the container
        also gives it a new name, or the replacement would meet the running container's name."""
        a = self.args
        return {"image": a.image, "cmd": a.roles[role].cmd, "env": a.env_clear[role], "secrets": sorted(a.env_secret[role]),
                "mounts": a.mounts[role], "options": a.roles[role].options.spec(),
                "port": a.app_port, "healthcheck": a.deploy.health_check_path, "assets": a.asset_path,
                "container": {"healthcheck": self._health(role), "logging": self._logs(role).args,
                              "restart": "unless-stopped", "network": DOCKER_NETWORK, "labels": self._labels(role)},
                # The command once split with continuations removed, where that changes it (render/argv.py): such a
                # container gets a new command, so it needs a new name; every other keeps its digest.
                **({"argv": shell_words(cmd)} if (cmd := a.roles[role].cmd) and shell_words(cmd) != shlex.split(cmd)
                   else {})}

    def _logs(self, role: str) -> containers.Logs:
        return containers.logging(self.args.logging[role])

    def _health(self, role: str) -> dict | None:
        """Docker's own view for `docker ps` on proxied roles; kamal-proxy's check gates traffic, so no need
        to poll every second."""
        a = self.args
        if role not in a.proxied_roles:
            return None
        return {"tests": text.healthcheck_command(a.app_port, a.deploy.health_check_path), "interval": "10s",
                "timeout": a.deploy.health_check_timeout, "retries": 3}

    def _labels(self, role: str) -> dict[str, str]:
        a = self.args
        label = self._logs(role).label
        return {"service": a.service, "role": role, "version": a.version, label.label: label.value}

    def _container(self, unit: Unit) -> docker.Container:
        a = self.args
        host, role = unit.host, unit.role
        image = self.images[host.spec.name]
        # A settings or secret change without a new version still needs a new name, or the
        # create-before-delete replacement would collide with the running container.
        keepers: dict[str, pulumi.Input[str]] = {"spec": text.spec_hash(self._container_spec(role))}
        if a.env_secret[role]:
            keepers["secrets"] = pulumi.Output.secret(self._env_values[role].apply(
                lambda env: text.secrets_hash([f"{k}={env[k]}" for k in sorted(env)])))
        revision = random.RandomId(unit.named("revision"), byte_length=3, keepers=keepers,
                                   opts=pulumi.ResourceOptions(parent=self))
        name = revision.hex.apply(lambda suffix: f"{text.container_base(a.service, role, a.version)}-{suffix}")
        # Like Kamal's pre-deploy hook: the release command (migrations) runs before any new container boots.
        depends_on: list[pulumi.Resource] = [*a.after.get(host.spec.name, [])]
        if self.release_command is not None:
            depends_on.append(self.release_command)
        volumes = [containers.volume(mount) for mount in a.mounts[role]]
        if a.asset_path:
            script = text.asset_bridge_script(a.service, role, a.version, a.image, a.asset_path, a.retain)
            depends_on.append(host.run_script(unit.named("assets"), script, parent=self, triggers=[a.version],
                                              depends_on=[image]))
            volumes.append(docker.ContainerVolumeArgs(host_path=text.assets_dir(a.service, role, a.version),
                                                      container_path=a.asset_path))
        clear = [f"{k}={v}" for k, v in sorted(a.env_clear[role].items())]
        envs = self._env_values[role].apply(lambda env: clear + [f"{k}={env[k]}" for k in sorted(env)])
        container = docker.Container(
            unit.named("app"), name=name, image=image.image_id,
            command=shell_words(a.roles[role].cmd) if a.roles[role].cmd else None,
            envs=envs, volumes=volumes or None,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=DOCKER_NETWORK)],
            labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in self._labels(role).items()],
            **containers.limits(a.roles[role].options, host.daemon), **containers.identity_and_hosts(a.roles[role].options),
            healthcheck=containers.healthcheck(**health) if (health := self._health(role)) else None,
            restart="unless-stopped", must_run=True, **self._logs(role).args,
            destroy_grace_seconds=int(duration_seconds(a.deploy.drain_timeout)),
            opts=self._opts(host, depends_on=[image, *depends_on], retain_on_delete=True,
                            ignore_changes=containers.IGNORED),
        )
        self.containers[unit] = container
        return container

    def _release_command(self, host: Host) -> remote.Command:
        """Once per version on the primary host, with the primary role's env, before any switch; a failure
        stops the release there."""
        a = self.args
        role = a.primary_role
        run = text.RunSpec(name=f"{a.service}-release-{text.docker_safe(a.version)}", image=a.image,
                           mounts=tuple(a.mounts[role]), command=a.release_command or "")
        script = self._env_values[role].apply(
            lambda env: text.docker_run_script([run], {**a.env_clear[role], **env}, run.name))
        # Once per version (and command): a changed env alone makes new containers, not a new release.
        return host.run_script(f"{host.spec.name}-release-command", pulumi.Output.secret(script), parent=self,
                               triggers=[a.version, a.release_command],
                               depends_on=[self.images[host.spec.name], *a.release_after], again_when_changed=False)

    def _switch(self, unit: Unit, container: docker.Container,
                previous_batch: list[pulumi.Resource]) -> remote.Command:
        """The proxied role's switch (`kamal-proxy deploy`) and its prune, in one SSH session. No `delete`: when
        a new version replaces this command, Pulumi deletes the old one after the new one ran, and a
        `kamal-proxy remove` there would take the route, and the site, down."""
        a = self.args
        host = unit.host
        route = proxy_text.route_name(a.service, unit.role)
        gates = [container, *a.proxies[host.spec.name].ready, *previous_batch]
        if self.release_command is not None:
            gates.append(self.release_command)
        return self._boot(unit, "switch", gates, switch=lambda target: proxy_text.proxy_exec(
            proxy_text.deploy_args(route, f"{target}:{a.app_port}", a.deploy)))

    def _prune(self, unit: Unit) -> None:
        """A role kamal-proxy does not serve (jobs): its new container runs, the old ones go."""
        self._boot(unit, "prune", [self.containers[unit]])

    def _boot(self, unit: Unit, name: str, gates: list[pulumi.Resource],
              switch: Callable[[str], str] | None = None) -> remote.Command:
        a = self.args
        container = self.containers[unit]
        script = container.name.apply(lambda current: text.boot_script(
            a.service, unit.role, current, a.repository, a.retain, int(duration_seconds(a.deploy.drain_timeout)),
            switch=switch(current) if switch else None))
        return unit.host.run_script(unit.named(name), script, parent=self, triggers=[container.id], depends_on=gates)

    def _maintenance(self, unit: Unit, switch: remote.Command) -> None:
        """Exists only while `berth:maintenance` is true: creating it stops the route (503 with the
        message), a new message updates it in place, and deleting it (maintenance back to false) resumes.
        kamal-proxy keeps a stopped route stopped across deploys, so a release does not touch it."""
        a = self.args
        route = proxy_text.route_name(a.service, unit.role)
        stop = proxy_text.proxy_exec(proxy_text.stop_args(route, a.maintenance_message, a.deploy.drain_timeout))
        # Not per machine: a replacement would stop the route, then resume it as it deletes the old one.
        unit.host.run(unit.named("maintenance"), create=stop, update=stop,
                 delete=proxy_text.proxy_exec(proxy_text.resume_args(route)), parent=self, depends_on=[switch],
                 per_machine=False)
