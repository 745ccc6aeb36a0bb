"""Hosts: one `Host` per role and count, and `Servers`, which owns what they share (keys, network, firewall).

A host is ready when `docker info` answers over SSH after the bootstrap script ran; everything its Docker
provider (`ssh://user@ip`) makes there depends on that (`Host.on_machine`), so nothing is released onto a
half-configured machine.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace

import pulumi

from . import catalog, hostkeys
from .clouds.base import Cloud, HostSpec, Machine, cloud_for
from .config import Stack
from .render import cloudinit
from .render import hostkeys as host_key_options
from .render.bootstrap import BootstrapSpec, bootstrap_script, command_digest, privileged, script_hash
from .render.daemon import INFO_FORMAT, DaemonFacts, daemon_facts
from .render.firewall import RuleSet, peer_rules, rule_set
from .render.registry import auth_addresses
from .sdk import docker, random, remote
from .secrets import Secrets

# What a command's update runs: nothing (Host.run says when a command runs again).
UNCHANGED = "true"
DIAL_ATTEMPTS = 60  # dials of a host before a remote command gives up (pulumi-command's default: 10)
DIAL_SECONDS = 10  # one dial's limit (pulumi-command's default: 15)
SWAP_BELOW_MB = 2048  # hosts with less memory than this get a swap file
SWAP_MB = 2048


@dataclass(frozen=True)
class SshAccess:
    user: str
    port: int
    private_key: pulumi.Output[str] | None  # None: the ssh-agent (SSH_AUTH_SOCK)

    def connection(self, host: pulumi.Input[str], host_key: pulumi.Input[str | None] = None) -> remote.ConnectionArgs:
        """`host_key`: the key the server must present (None: any, pulumi-command's InsecureIgnoreHostKey).

        pulumi-command gives up on a host after 10 refused dials, about 8 s (connection.go `Dial`; its waits
        grow 1.5x from 100 ms to at most 5 s), while a new server's sshd, or a custom `ssh.port`, only listens
        late in cloud-init. With these limits a first `up` waits for it: about 4 minutes of refused dials, and
        at most 15 when its packets are dropped (each dial then lasts DIAL_SECONDS)."""
        return remote.ConnectionArgs(host=host, user=self.user, port=float(self.port),
                                     private_key=self.private_key, dial_error_limit=DIAL_ATTEMPTS,
                                     per_dial_timeout=DIAL_SECONDS, host_key=host_key)

    def command_line(self, address: str) -> str:
        port = "" if self.port == 22 else f" -p {self.port}"
        return f"ssh{port} {self.user}@{address}"


def host_specs(stack: Stack, stack_name: str) -> list[HostSpec]:
    """Every machine the stack file asks for, in a stable order (roles as written, then index), each with the
    roles it runs (layout.py)."""
    specs = []
    provider = stack.provider
    for layout in stack.machines:
        spec = stack.servers[layout.owner]
        specs.append(HostSpec(
            name=layout.name(stack.service),
            role=layout.owner,
            roles=layout.roles,
            index=layout.index,
            region=stack.cloud.region,
            size=None if provider == "existing" else (spec.size or catalog.default_size(provider, stack.cloud.region)),
            os_image=None if provider == "existing" else (spec.os_image or catalog.DEFAULT_OS_IMAGES[provider]),
            tags=("berth", stack.service, *layout.roles),
            volume_gb=stack.volume.size_gb if stack.volume else None,
            address=layout.address,
            cloud_init=None if provider == "existing" else cloudinit.CloudInit(
                stack.ssh.user, stack.ssh.port, tuple(stack.ssh.authorized_keys)),
        ))
    return specs


@dataclass
class WebHost:
    """A host behind kamal-proxy, by its public addresses."""

    name: str
    ipv4: pulumi.Output[str]
    ipv6: pulumi.Output[str] | None


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials the host's Docker provider pulls private images with."""

    server: str
    username: pulumi.Input[str]  # a secret Output when the stack keeps it in berth:secrets
    password: pulumi.Output[str]  # secret


@dataclass
class HostArgs:
    spec: HostSpec
    cloud: Cloud
    ssh: SshAccess
    bootstrap: BootstrapSpec
    host_firewall: pulumi.Output[RuleSet] | None = None  # ufw rules, for hosts no cloud firewall covers
    registry: RegistryAuth | None = None


class Host(pulumi.ComponentResource):
    """A machine that runs Docker, has its volume mounted, and can be deployed to."""

    machine: Machine
    docker_provider: docker.Provider
    ready: remote.Command
    daemon: pulumi.Output[DaemonFacts]  # what `ready` read of the host's Docker daemon
    host_key: pulumi.Output[str | None]  # the key Berth's SSH checks here; None: trusted when first seen

    def __init__(self, name: str, args: HostArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:index:Host", name, {}, opts)
        self.spec = args.spec
        self.ssh = args.ssh
        if args.cloud.creates_servers and args.spec.cloud_init is not None:
            key = hostkeys.key_pair(name, self)
            user_data = hostkeys.rendered_user_data(args.spec.cloud_init, key)
            self.machine = args.cloud.machine(args.spec, self, user_data)
            self.host_key = hostkeys.pinned_key(name, args.cloud, self.machine, user_data, key, self)
            hostkeys.warn_unpinned(name, self.machine, self.host_key, self)
        else:
            self.machine = args.cloud.machine(args.spec, self)
            self.host_key = pulumi.Output.from_input(None)
        # The engine starts a provider's plugin as it first meets it, one plugin at a time: declared before the
        # host's commands, with nothing of theirs to wait for, Docker's starts before the plugins a release does not
        # wait on.
        self.docker_provider = docker.Provider(
            f"{name}-docker",
            host=self.machine.public_ipv4.apply(lambda ip: f"ssh://{args.ssh.user}@{ip}:{args.ssh.port}"),
            ssh_opts=self.host_key.apply(host_key_options.provider_options),
            # Every resource on the machine waits for `ready` (`on_machine`), which proves the daemon answers; skipping
            # the check lets a preview run without SSH.
            disable_docker_daemon_check=True,
            registry_auth=[docker.ProviderRegistryAuthArgs(
                address=address, username=args.registry.username, password=args.registry.password,
            ) for address in auth_addresses(args.registry.server)] if args.registry else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        script = pulumi.Output.all(self.machine.volume_device, args.host_firewall).apply(
            lambda v: bootstrap_script(replace(args.bootstrap, volume_device=v[0], host_firewall=v[1])))
        self.connection = args.ssh.connection(self.machine.public_ipv4, self.host_key)
        # The machine behind this host, as far as Berth can tell: a new one (a cloud server replaced, an existing
        # host at another address, or `berth rebuilt`, which replaces this) is set up again from scratch:
        # every command on the host has it in its triggers.
        self.machine_generation = random.RandomId(
            f"{name}-machine", byte_length=4,
            keepers={"machine": self.machine.server_id if self.machine.server_id is not None
                     else self.machine.public_ipv4},
            opts=pulumi.ResourceOptions(parent=self))
        bootstrap = self.run_script(f"{name}-bootstrap", script, parent=self, triggers=[script.apply(script_hash)],
                                    depends_on=self.machine.ready_after, again_when_changed=False)
        info = f"docker info --format {shlex.quote(INFO_FORMAT)}"
        self.ready = self.run(f"{name}-ready", create=info, update=info, parent=self,
                              triggers=[script.apply(script_hash)],
                              depends_on=[bootstrap, *self.resized(name, info, bootstrap)])
        self.daemon = self.ready.stdout.apply(daemon_facts)
        self.register_outputs({"publicIpv4": self.machine.public_ipv4})

    def resized(self, name: str, info: str, bootstrap: remote.Command) -> list[remote.Command]:
        """A cloud applies a new size in place, and Hetzner's provider leaves the server powered off after a type
        change (DigitalOcean's powers the droplet on again): the host proves it answers after each resize, so such
        an `up` fails on this host, named, instead of ending green with the site down."""
        if self.machine.size is None:
            return []
        return [self.run(f"{name}-resized", create=info, parent=self, triggers=[self.machine.size],
                         depends_on=[bootstrap], again_when_changed=False)]

    def on_machine(self, parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
        """Options for what Docker keeps on this machine (images, containers). A new machine behind the host (its
        generation: a replaced server, another address) has none of them, though the state still lists them: the
        generation is their replacement trigger, so they are made again there, as its commands run again. A
        trigger that was null before (a stack from an earlier Berth) replaces nothing (`shouldTriggerReplace`)."""
        depends_on = [self.ready, *(kwargs.pop("depends_on", None) or [])]  # the daemon answers (bootstrap done)
        return pulumi.ResourceOptions(parent=parent, provider=self.docker_provider, depends_on=depends_on,
                                      replacement_trigger=self.machine_generation.hex, **kwargs)

    @property
    def private_address(self) -> pulumi.Output[str]:
        """Where the stack's other hosts reach this one: its private network address (DigitalOcean's VPC), else
        the address Berth reaches it at (a Hetzner server's primary IP, an existing server's address)."""
        return self.machine.private_ipv4 if self.machine.private_ipv4 is not None else self.machine.public_ipv4

    def as_root(self, command_line: pulumi.Input[str]) -> pulumi.Input[str]:
        if isinstance(command_line, str):
            return privileged(command_line, self.ssh.user)
        return pulumi.Output.from_input(command_line).apply(lambda line: privileged(line, self.ssh.user))

    def run(self, name: str, *, create: pulumi.Input[str], parent: pulumi.Resource,
            update: pulumi.Input[str] | None = None, delete: pulumi.Input[str] | None = None,
            stdin: pulumi.Input[str] | None = None, triggers: list | None = None,
            depends_on: list[pulumi.Resource] | None = None, per_machine: bool = True,
            again_when_changed: bool = True) -> remote.Command:
        """A command on this host over SSH, as root (every command Berth runs on a host goes through here).

        When it runs again is said here, never left to a change of how Berth connects: pulumi-command updates a
        command on any change of its inputs, the connection's too (a rotated `ssh.privateKey`, a new dial limit),
        and an update with no `update` command runs `create` again: every bootstrap, grant, release command and
        switch would run again on every host. So a command runs again only:
        - on a new machine behind the host (`per_machine`: its generation is in the triggers), as nothing of what
          it did is there any more;
        - when what it runs changes (`again_when_changed`: its command line and stdin are in the triggers), unless
          its own triggers already say when (the bootstrap: its script; the release command: once per version);
        - through its own `update`, for a command that changes in place (maintenance; `ready`, a read).
        Any other change is an update that runs nothing (`UNCHANGED`).

        `add_previous_output_in_env` is off (pulumi-command's default is on): nothing Berth runs reads the previous
        run's output, and over SSH it would travel as environment requests (PULUMI_COMMAND_STDOUT,
        PULUMI_COMMAND_STDERR) that sshd only accepts when AcceptEnv lists them."""
        triggers = list(triggers or [])
        if update is None:
            update = UNCHANGED
            if again_when_changed:
                triggers.append(pulumi.Output.all(create, stdin).apply(lambda v: command_digest(v[0], v[1])))
        if per_machine:
            triggers.append(self.machine_generation.hex)
        return remote.Command(
            name, connection=self.connection, create=self.as_root(create),
            update=self.as_root(update), delete=self.as_root(delete) if delete is not None else None,
            stdin=stdin, triggers=triggers, add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on or []),
        )

    def run_script(self, name: str, script: pulumi.Input[str], *, parent: pulumi.Resource,
                   triggers: list | None = None, depends_on: list[pulumi.Resource] | None = None,
                   again_when_changed: bool = True) -> remote.Command:
        """A script fed on stdin to `bash -s`: its text (secrets included) never reaches a command line."""
        return self.run(name, create="bash -s", stdin=script, parent=parent, triggers=triggers, depends_on=depends_on,
                        again_when_changed=again_when_changed)

    def summary(self) -> pulumi.Output[dict]:
        m = self.machine
        return pulumi.Output.all(
            name=self.spec.name, ipv4=m.public_ipv4, ipv6=m.public_ipv6, private_ip=m.private_ipv4,
        ).apply(lambda v: {"name": v["name"], "publicIpv4": v["ipv4"], "publicIpv6": v["ipv6"],
                           "privateIp": v["private_ip"]})


@dataclass
class ServersArgs:
    service: str
    stack_name: str
    provider: str
    region: str | None
    specs: list[HostSpec]
    authorized_keys: list[str]
    ssh: SshAccess
    rules: pulumi.Output[RuleSet]
    bootstrap: BootstrapSpec
    memory_mb: dict[str, int | None]  # per host name, for the swap rule
    registry: RegistryAuth | None = None

    @classmethod
    def from_stack(cls, stack: Stack, stack_name: str, ssh: SshAccess, web_from: pulumi.Input[list[str]],
                   secrets: Secrets) -> "ServersArgs":
        custom = None
        if stack.firewall.outbound is not None:
            custom = [(r.protocol, r.ports, list(r.to)) for r in stack.firewall.outbound]
        # Accessories the stack's other hosts reach (`publish: private:PORT`): open to those hosts only, by their
        # addresses for existing hosts (ufw and DOCKER-USER), by the cloud's own means otherwise.
        ports = [a.published_privately for a in stack.accessories.values() if a.published_privately]
        addresses = [m.address for m in stack.machines if m.address] if stack.provider == "existing" else None
        peers = peer_rules(ports, addresses)
        rules = pulumi.Output.from_input(web_from).apply(
            lambda sources: rule_set(stack.ssh.port, list(stack.ssh.allow_from), sources, custom, peers))
        specs = host_specs(stack, stack_name)
        existing = stack.provider == "existing"
        registry = stack.registry
        return cls(
            service=stack.service, stack_name=stack_name, provider=stack.provider, region=stack.cloud.region,
            specs=specs, authorized_keys=list(stack.ssh.authorized_keys), ssh=ssh, rules=rules,
            bootstrap=BootstrapSpec(
                user=stack.ssh.user, docker_source=stack.bootstrap.docker,
                mount_path=stack.volume.mount_path if stack.volume else None,
                authorized_keys=tuple(stack.ssh.authorized_keys) if existing else (),
                storage=tuple(stack.storage_directories), storage_owner=stack.app.user,
            ),
            memory_mb={s.name: catalog.memory_mb(stack.provider, s.size) for s in specs},
            registry=RegistryAuth(registry.server, registry.username or secrets.output(registry.username_secret),
                                  secrets.output(registry.password))
            if registry else None,
        )


class Servers(pulumi.ComponentResource):
    """All hosts of a stack, by role, plus the keys, network and firewall they share."""

    hosts: list[Host]

    def __init__(self, name: str, args: ServersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:index:Servers", name, {}, opts)
        self.cloud = cloud_for(args.provider, args.service, args.stack_name, args.region)
        self.cloud.prepare(args.authorized_keys, self)
        self.hosts = []
        for spec in args.specs:
            memory = args.memory_mb.get(spec.name)
            swap = SWAP_MB if memory is not None and memory < SWAP_BELOW_MB else 0
            self.hosts.append(Host(spec.name, HostArgs(
                spec=spec, cloud=self.cloud, ssh=args.ssh, bootstrap=replace(args.bootstrap, swap_mb=swap),
                host_firewall=None if self.cloud.has_firewall else args.rules, registry=args.registry),
                                   opts=pulumi.ResourceOptions(parent=self)))
        if self.cloud.has_firewall:
            self.cloud.firewall(args.rules, [h.machine for h in self.hosts], self)
        self.ssh = args.ssh
        self.register_outputs({})

    def by_role(self) -> dict[str, list[Host]]:
        """role -> the hosts that run it (a host that runs several roles is under each)."""
        roles: dict[str, list[Host]] = {}
        for host in self.hosts:
            for role in host.spec.roles:
                roles.setdefault(role, []).append(host)
        return roles

    def running(self, roles: list[str]) -> list[Host]:
        """The hosts that run any of `roles`, each once."""
        return [h for h in self.hosts if set(h.spec.roles) & set(roles)]

    def proxied_hosts(self, roles: list[str]) -> list[WebHost]:
        """The hosts behind kamal-proxy, as the edge points records at them."""
        return [WebHost(h.spec.name, h.machine.public_ipv4, h.machine.public_ipv6) for h in self.running(roles)]

    def summary(self) -> pulumi.Output[dict]:
        return pulumi.Output.all(**{role: pulumi.Output.all(*[h.summary() for h in hosts])
                                    for role, hosts in self.by_role().items()})

    def access(self) -> pulumi.Output[dict]:
        """How the ops command reaches each host: role, address, SSH user and port, the host key it checks (None: the
        first one seen is trusted) and, for a server Berth created, its URN (what `pulumi up --replace` takes)."""
        return pulumi.Output.all(**{h.spec.name: pulumi.Output.all(
            h.machine.public_ipv4, h.host_key, h.machine.server_urn).apply(
            lambda v, h=h: {"role": h.spec.role, "roles": list(h.spec.roles), "address": v[0], "user": self.ssh.user,
                            "port": self.ssh.port, "hostKey": v[1], "serverUrn": v[2]})
            for h in self.hosts})

    def ssh_commands(self) -> pulumi.Output[dict]:
        return pulumi.Output.all(**{h.spec.name: h.machine.public_ipv4.apply(self.ssh.command_line)
                                    for h in self.hosts})
