"""kamal-proxy on one host: the container every release switches traffic through.

Its inputs never depend on the app's version, so a release never restarts it. Changing its own
version replaces it delete-first (it holds ports 80/443 and a fixed name), a brief outage exactly like
`kamal proxy reboot`; its routes live in the `kamal-proxy-config` volume and survive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from . import containers
from .config import ProxyRun
from .hosts import Host
from .render import proxy
from .render.bootstrap import DOCKER_NETWORK
from .render.files import File, write_files
from .sdk import docker


@dataclass
class KamalProxyArgs:
    host: Host
    version: str  # kamal-proxy image tag, e.g. v0.9.2
    service: str
    shared: bool = False  # the proxy belongs to another stack on this host: route into it, never declare it
    certificate_pem: pulumi.Output[str] | None = None  # cloudflare-origin: served for this service
    private_key_pem: pulumi.Output[str] | None = None  # secret
    drain_seconds: int = 30  # proxy.drainTimeout: a replaced proxy is given at least this long to stop
    run: ProxyRun = field(default_factory=ProxyRun)  # the published ports (proxy.run)


def tls_files_script(service: str, certificate: str, private_key: str) -> str:
    """The service's certificate and key, readable by root and the proxy's user only.

    The key belongs to the proxy's uid (1001 in its image), which on the host may be anybody's: a second
    login made on the machine gets 1001 too. So no account on the host may even reach the directory: the
    proxy's part of /var/lib/berth is root's alone (0700), and the container, which mounts the directory
    below it, never sees that mode."""
    files = proxy.tls_files(service)
    owner = "$proxy_uid:$proxy_gid"
    prelude = (f"install -d -m 0700 {proxy.HOST_DIR}\nchmod 0700 {proxy.HOST_DIR}\n"
               f"proxy_uid=$(docker exec {proxy.CONTAINER} id -u)\n"
               f"proxy_gid=$(docker exec {proxy.CONTAINER} id -g)")
    return write_files([
        File(f"{files.host_dir}/cert.pem", certificate, mode="0644", owner=owner),
        File(f"{files.host_dir}/key.pem", private_key, mode="0600", owner=owner),
    ], prelude=prelude)


class KamalProxy(pulumi.ComponentResource):
    ready: list[pulumi.Resource]  # what a switch on this host waits for

    def __init__(self, name: str, args: KamalProxyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:index:KamalProxy", name, {}, opts)
        self.ready = []
        self.container = None if args.shared else self._container(name, args)
        if self.container is not None:
            self.ready.append(self.container)
        if args.certificate_pem is not None and args.private_key_pem is not None:
            script = pulumi.Output.all(args.certificate_pem, args.private_key_pem).apply(
                lambda pems: tls_files_script(args.service, pems[0], pems[1]))
            self.ready.append(args.host.run_script(f"{name}-tls-files", pulumi.Output.secret(script), parent=self,
                                                   depends_on=list(self.ready)))
        self.register_outputs({})

    def _container(self, name: str, args: KamalProxyArgs) -> docker.Container:
        """Ports: both address families, because the edge publishes AAAA records where the host has IPv6.
        Docker lists such a pair in its own order (the reverse of the declaration on Debian's 20.10), and
        the provider's diff suppression compares each old binding with the first new one of the same port,
        so a pair never compares equal and every `up` would replace the proxy: an outage per release
        (terraform-provider-docker #909; the fix #910 is unmerged). No declaration both reads back as
        declared and serves both families: a lone `::` serves IPv6 only, `[::]` binds both but reads back
        as two bindings. So the ports are ignored in the diff and carried in a label instead: labels force
        a new container, so a changed port list still replaces it (a replacement is created from the program's
        own inputs, ignored ones included: the engine checks them again).

        The stop grace is ignored in the diff too: any change replaces the proxy (containers.REPLACE_ON_ANY_CHANGE),
        and a longer drain should not cost an outage; a replacement for another reason takes the new grace."""
        image = docker.RemoteImage(f"{name}-image", name=f"{proxy.IMAGE}:{args.version}", keep_locally=True,
                                   opts=args.host.on_machine(self))
        run = args.run
        bindings = proxy.bindings(run.http_port, run.https_port, tuple(run.bind_ips), run.publish)
        logs = containers.logging()  # Kamal's proxy: `--log-opt max-size=10m` whatever the app's logging
        return docker.Container(
            name, name=proxy.CONTAINER, image=image.image_id, command=["kamal-proxy", "run"],
            restart="unless-stopped", must_run=True,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=DOCKER_NETWORK)],
            ports=[docker.ContainerPortArgs(internal=internal, external=external, ip=ip)
                   for external, internal, ip in bindings] or None,
            volumes=[
                docker.ContainerVolumeArgs(volume_name=proxy.CONFIG_VOLUME, container_path=proxy.CONFIG_DIR),
                docker.ContainerVolumeArgs(host_path=proxy.APPS_HOST_DIR, container_path=proxy.APPS_CONTAINER_DIR,
                                           read_only=True),
            ],
            **logs.args,
            labels=[docker.ContainerLabelArgs(label="berth.role", value="proxy"),
                    docker.ContainerLabelArgs(label="berth.ports", value=proxy.ports_label(bindings)),
                    logs.label],
            # Stopped with time to drain what is in flight, at least as long as this stack's own drain.
            destroy_grace_seconds=max(containers.STOP_SECONDS, args.drain_seconds),
            opts=args.host.on_machine(self, delete_before_replace=True,
                                      ignore_changes=["ports", "destroyGraceSeconds", *containers.IGNORED],
                                      replace_on_changes=containers.REPLACE_ON_ANY_CHANGE),
        )
