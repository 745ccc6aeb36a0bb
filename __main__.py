"""Berth: one `pulumi up` provisions the hosts and data an app needs, then releases the app onto them."""

import pulumi

from components.accessories import declare as declare_accessories
from components.accessory_routes import declare as declare_routes
from components.accessory_routes import route_hosts
from components.backups import BackupsArgs, BackupsStorage
from components.checks import warnings
from components.database import ManagedPostgres, ManagedPostgresArgs
from components.errors import ConfigError
from components.fields import duration_seconds
from components.hosts import Servers, ServersArgs, SshAccess
from components.origin import web_sources
from components.proxy import KamalProxy, KamalProxyArgs
from components.release import Release, ReleaseArgs
from components.render.edge import manual_records
from components.secrets import Secrets
from components.settings import read_stack
from components.stack_traces import keep_program_frames

keep_program_frames()  # the state keeps where each resource was declared, not the runner's frames
try:
    stack = read_stack()  # validates everything before a single resource is declared
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None  # the problems, without a Python traceback
for note in warnings(stack):  # the plan's review notes, in `pulumi preview` and `up` too
    pulumi.log.warn(str(note))
stack_name = pulumi.get_stack()
secrets = Secrets(stack.secrets)

ssh = SshAccess(stack.ssh.user, stack.ssh.port, secrets.maybe(stack.ssh.private_key))
servers = Servers("servers", ServersArgs.from_stack(stack, stack_name, ssh, web_sources(stack.restrict_origin), secrets))
web_hosts = servers.proxied_hosts(stack.proxied_roles)
pulumi.export("servers", servers.summary())
pulumi.export("ssh", servers.ssh_commands())
pulumi.export("hosts", servers.access())
pulumi.export("service", stack.service)
pulumi.export("roles", {"primary": stack.primary_role, "proxied": stack.proxied_roles})
pulumi.export("urls", stack.urls)
pulumi.export("healthcheckUrl", stack.healthcheck_url)

origin = None
if stack.dns:
    from components.edge import Edge, EdgeArgs  # the Cloudflare SDK loads only for stacks that use it

    edge = Edge("edge", EdgeArgs.from_stack(stack, stack_name, web_hosts, route_hosts(stack, servers)))
    origin = edge.origin
else:
    groups = [(list(stack.proxy.hosts), web_hosts), *[([name], hosts) for name, hosts in route_hosts(stack, servers)]]
    pulumi.export("dnsRecordsToCreate", pulumi.Output.all(*[pulumi.Output.all(*[
        pulumi.Output.all(h.name, h.ipv4, h.ipv6) for h in hosts
    ]).apply(lambda found, names=names: manual_records(names, {n: (v4, v6) for n, v4, v6 in found}))
        for names, hosts in groups]).apply(lambda lists: [line for lines in lists for line in lines]))

if stack.database:
    database = ManagedPostgres("database", ManagedPostgresArgs.from_stack(stack, stack_name, servers))
    pulumi.export("database", database.summary)
    pulumi.export("databaseUrl", database.url)

backups = None
if stack.backups:
    backups = BackupsStorage("backups", BackupsArgs.from_stack(stack, stack_name, secrets))
    pulumi.export("backups", {"bucket": backups.bucket, "endpoint": backups.endpoint, "region": backups.region})

accessories = declare_accessories(stack, stack_name, servers, secrets, backups)
pulumi.export("accessories", accessories.summary())
pulumi.export("litestream", accessories.litestream)
secret_env = dict(accessories.app_secret_env)
before_app = {name: list(resources) for name, resources in accessories.before_app.items()}
before_release = list(accessories.before_release)
if stack.database:  # the app's user can create its tables before the release command runs, or the app boots
    secret_env[stack.database.env_var] = database.url
    before_release.append(database.grants)
    for host in servers.hosts:
        before_app.setdefault(host.spec.name, []).append(database.grants)

proxies = {
    host.spec.name: KamalProxy(f"{host.spec.name}-proxy", KamalProxyArgs(
        host=host, version=stack.proxy.version, service=stack.service, shared=stack.proxy.shared,
        certificate_pem=origin.certificate_pem if origin else None,
        private_key_pem=origin.private_key_pem if origin else None,
        drain_seconds=int(duration_seconds(stack.proxy.drain_timeout)),
        run=stack.proxy.run,
    ))
    for host in servers.running(stack.proxied_roles)
}
declare_routes(stack, accessories, proxies)  # accessories' own kamal-proxy routes
release = Release("release", ReleaseArgs.from_stack(stack, servers, secrets, proxies, secret_env,
                                                    before_app, before_release))
pulumi.export("release", release.summary)
