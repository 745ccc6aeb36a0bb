"""Accessories: long-lived containers beside the app (`<service>-<name>` on the kamal network).

They never depend on the app's version, so a release leaves them alone, and they publish no port
unless the stack file asks (`publish: 127.0.0.1:PORT`; `private:PORT` for the stack's other hosts, on the
private network, as Kamal users publish `10.0.0.5:5432:5432`). A fixed name means a changed accessory is
replaced delete-first: a short restart, as `kamal accessory reboot` does. Presets fill in what
Litestream, Meilisearch and Postgres need; everything else is the generic container.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from . import containers, presets
from .accessory_args import AccessoryArgs
from .backups import BackupsStorage
from .config import Accessory as AccessoryConfig
from .config import Stack, parse_mount
from .hosts import Host, Servers
from .render import accessory as text
from .render.argv import shell_words
from .render.bootstrap import DOCKER_NETWORK
from .render.database import database_url
from .render.files import File
from .render.release import docker_run_script
from .sdk import docker
from .secrets import Secrets, resolved


class Accessory(pulumi.ComponentResource):
    container: docker.Container

    def __init__(self, name: str, args: AccessoryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:index:Accessory", name, {}, opts)
        host = args.host
        self.accessory, self.host = args.name, host  # for its route (accessory_routes.py)
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=host.on_machine(self))

        host_files = resolved(args.file_secrets).apply(lambda secrets: [
            File(text.file_host_path(args.service, args.name, f.container_path),
                 text.fill_secrets(f.content, secrets), mode="0600" if f.secrets else "0644")
            for f in args.files])
        depends_on = [image, *args.depends_on]
        if args.files or args.directories:
            script = host_files.apply(lambda files: text.setup_script(files, [d for d, _ in args.directories]))
            depends_on.append(host.run_script(f"{name}-setup", pulumi.Output.secret(script) if args.file_secrets
                                              else script, parent=self, depends_on=[host.ready]))
        if args.runs_before_start:
            env_name = f"{args.service}-{args.name}"
            script = self._env(args).apply(lambda env: docker_run_script(args.runs_before_start, env, env_name))
            depends_on.append(host.run_script(f"{name}-before-start", pulumi.Output.secret(script), parent=self,
                                              depends_on=list(depends_on)))
        self.before_start = depends_on[-1] if args.runs_before_start else None
        volumes = [containers.volume(mount) for mount in args.volumes]
        volumes += [docker.ContainerVolumeArgs(host_path=h, container_path=c) for h, c in args.directories]
        volumes += [docker.ContainerVolumeArgs(host_path=text.file_host_path(args.service, args.name, f.container_path),
                                               container_path=f.container_path, read_only=True) for f in args.files]
        envs = self._env(args).apply(lambda env: [f"{k}={env[k]}" for k in sorted(env)])
        logs = containers.logging(args.logging)
        labels = [docker.ContainerLabelArgs(label="service", value=args.service),
                  docker.ContainerLabelArgs(label="accessory", value=args.name), logs.label]
        if args.files:  # a changed file restarts the container onto it (secret files hash as a secret)
            digest = host_files.apply(text.content_hash)
            labels.append(docker.ContainerLabelArgs(
                label="berth.files", value=pulumi.Output.secret(digest) if args.file_secrets else digest))
        self.container = docker.Container(
            name, name=text.container_name(args.service, args.name), image=image.image_id,
            command=args.command, envs=envs, volumes=volumes or None, labels=labels,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=DOCKER_NETWORK)],
            ports=[docker.ContainerPortArgs(ip=host.private_address if args.publish[0] == "private" else args.publish[0],
                                            external=args.publish[1], internal=args.publish[2])]
            if args.publish else None,
            **containers.limits(args.options, host.daemon), **containers.identity_and_hosts(args.options),
            healthcheck=containers.healthcheck(args.healthcheck, interval="5s", timeout="5s", retries=12)
            if args.healthcheck else None,
            wait=bool(args.healthcheck), wait_timeout=120 if args.healthcheck else None,
            restart="unless-stopped", must_run=True, **logs.args,
            destroy_grace_seconds=containers.STOP_SECONDS,
            # The provider "updates" a changed health check in state only (resourceDockerContainerUpdate applies
            # restart and resources, nothing else), and cannot lift a memory limit: a new container is the only
            # way to change either, and to start one whose first start failed (containers.REPLACE_ON_ANY_CHANGE).
            opts=host.on_machine(self, depends_on=depends_on, delete_before_replace=True,
                                 ignore_changes=containers.IGNORED, replace_on_changes=containers.REPLACE_ON_ANY_CHANGE),
        )
        self.register_outputs({"container": self.container.name})

    @staticmethod
    def _env(args: AccessoryArgs) -> pulumi.Output[dict[str, str]]:
        return resolved(args.env_secret).apply(lambda secret: {**args.env_clear, **secret})


# --- from the stack file -----------------------------------------------------------------------------

@dataclass
class Accessories:
    """What the release needs from the accessories: what to wait for, and env the app gets."""

    by_host: dict[str, list[Accessory]] = field(default_factory=dict)
    before_app: dict[str, list[pulumi.Resource]] = field(default_factory=dict)  # per host name
    before_release: list[pulumi.Resource] = field(default_factory=list)
    app_secret_env: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    litestream: list[dict] = field(default_factory=list)  # host, container, databases: for `berth backup`

    def summary(self) -> pulumi.Output[dict]:
        return pulumi.Output.all(**{host: pulumi.Output.all(*[a.container.name for a in accessories])
                                    for host, accessories in self.by_host.items()})


def placement(stack: Stack, accessory: AccessoryConfig, servers: Servers) -> list[Host]:
    """Every host that runs one of the accessory's roles (once, however many of them it runs), or the first host
    of the primary role."""
    if accessory.roles:
        return servers.running(list(accessory.roles))
    return servers.running([stack.primary_role])[:1]


def declare(stack: Stack, stack_name: str, servers: Servers, secrets: Secrets,
            backups: BackupsStorage | None) -> Accessories:
    out = Accessories()
    for name, config in stack.accessories.items():
        for host in placement(stack, config, servers):
            args = _args(stack, stack_name, name, config, host, secrets, backups)
            accessory = Accessory(f"{host.spec.name}-{name}", args)
            out.by_host.setdefault(host.spec.name, []).append(accessory)
            out.before_app.setdefault(host.spec.name, []).append(accessory.container)
            out.before_release.append(accessory.container)
            if config.kind == "litestream":
                out.litestream.append({"host": host.spec.name, "container": text.container_name(stack.service, name),
                                       "databases": list(config.databases), "owner": stack.app.user})
            if accessory.before_start is not None:  # the restore gates the app too, not only the accessory
                out.before_app[host.spec.name].append(accessory.before_start)
                out.before_release.append(accessory.before_start)
        if config.kind == "postgres" and config.database:
            db = config.database
            # On the host's own Docker network, or published to the stack's other hosts on the private network:
            # no TLS between the containers either way.
            if config.published_privately:
                (host,) = placement(stack, config, servers)[:1]
                address, port = host.private_address, config.published_privately
            else:
                address, port = pulumi.Output.from_input(text.container_name(stack.service, name)), 5432
            out.app_secret_env[db.env_var] = pulumi.Output.all(secrets.output(db.password), address).apply(
                lambda v, db=db, port=port: database_url(db.user, v[0], v[1], port, db.name, sslmode=None))
    return out


def _args(stack: Stack, stack_name: str, name: str, config: AccessoryConfig, host: Host, secrets: Secrets,
          backups: BackupsStorage | None) -> AccessoryArgs:
    """The generic accessory from its stack-file section; a preset then fills in what its image needs."""
    files = [text.HostFile(path, content, text.secret_names(content)) for path, content in sorted(config.files.items())]
    publish = None
    if config.publish:
        ip, _, port = config.publish.rpartition(":")
        publish = (ip, int(port), config.port or int(port))
    args = AccessoryArgs(
        service=stack.service, name=name, host=host, image=config.image,
        command=shell_words(config.cmd) if config.cmd else None, env_clear=dict(config.env.clear),
        env_secret={env: secrets.output(secret) for env, secret in config.env.secret_pairs()}, files=files,
        file_secrets={s: secrets.output(s) for f in files for s in f.secrets},
        directories=[(text.directory_host_path(stack.service, name, parse_mount(d).source), parse_mount(d).target)
                     for d in config.directories],
        volumes=list(config.volumes), publish=publish, options=config.options, logging=stack.logging,
    )
    preset = presets.PRESETS.get(config.kind)
    return preset(args, presets.PresetContext(stack, stack_name, config, secrets, backups)) if preset else args
