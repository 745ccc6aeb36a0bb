"""An accessory's own kamal-proxy route (Kamal's accessory `proxy`): `kamal-proxy deploy <service>-<name>
--target=<service>-<name>:<port>` on each host the accessory runs on, with its host names, its health check and
the stack's TLS mode, once the accessory's container and the host's proxy are up.

The target is the container's fixed name, which the kamal network resolves, so a replaced accessory (same name)
is served again without a new deploy; a changed route (hosts, port, check) deploys again. Like the app's switch
it has no delete step: removing the section leaves the route until `kamal-proxy remove <service>-<name>`.
"""

from __future__ import annotations

from .accessories import Accessories
from .config import Stack
from .hosts import Servers, WebHost
from .proxy import KamalProxy
from .render import proxy as text


def deploy_options(stack: Stack, name: str) -> text.DeployOptions:
    route = stack.accessories[name].proxy
    assert route is not None
    p = stack.proxy
    return text.DeployOptions(
        hosts=tuple(route.hosts), tls=stack.tls_mode,
        tls_files=text.tls_files(stack.service) if stack.tls_mode == "cloudflare-origin" else None,
        health_check_path=route.healthcheck.path, health_check_interval=route.healthcheck.interval,
        health_check_timeout=route.healthcheck.timeout, deploy_timeout=p.deploy_timeout,
        drain_timeout=p.drain_timeout, target_timeout=p.response_timeout, buffer_requests=True,
        buffer_responses=True, buffer_memory=p.buffering.memory, max_request_body=0, max_response_body=0,
        forward_headers=stack.forward_headers, log_request_headers=tuple(p.logging.request_headers),
    )


def declare(stack: Stack, accessories: Accessories, proxies: dict[str, KamalProxy]) -> None:
    for host_name, declared in accessories.by_host.items():
        for accessory in declared:
            if stack.accessories[accessory.accessory].proxy is None:
                continue
            name = accessory.accessory
            route = text.route_name(stack.service, name)
            options, target_port = deploy_options(stack, name), stack.accessories[name].proxy.app_port
            create = accessory.container.name.apply(lambda target, options=options, target_port=target_port, route=route:
                                                    text.proxy_exec(text.deploy_args(route, f"{target}:{target_port}",
                                                                                     options)))
            accessory.host.run(f"{host_name}-{name}-route", create=create, parent=accessory,
                               triggers=[accessory.container.id, create],
                               depends_on=[accessory.container, *proxies[host_name].ready])


def route_hosts(stack: Stack, servers: Servers) -> list[tuple[str, list[WebHost]]]:
    """(host name, the web hosts it points at) for every accessory route: DNS records and the origin certificate."""
    out = []
    for accessory in stack.accessories.values():
        if accessory.proxy is None:
            continue
        hosts = (servers.proxied_hosts(accessory.roles) if accessory.roles
                 else servers.proxied_hosts([stack.primary_role])[:1])
        out += [(hostname, hosts) for hostname in accessory.proxy.hosts]
    return out

