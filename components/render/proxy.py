"""kamal-proxy, as argv lists: how it runs, and the `deploy`, `stop` and `resume` calls a release makes.

Flags follow kamal-proxy's own CLI (internal/cmd/deploy.go) and Kamal's `Proxy#deploy_options`:
`--flag` for true, `--flag=false` for false (kamal-proxy's defaults differ with TLS, so booleans are
always explicit), `--flag=value` otherwise.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

CONTAINER = "kamal-proxy"
IMAGE = "basecamp/kamal-proxy"
CONFIG_VOLUME = "kamal-proxy-config"  # holds the proxy's routes, so they survive a proxy restart
CONFIG_DIR = "/home/kamal-proxy/.config/kamal-proxy"
HOST_DIR = "/var/lib/berth/proxy"  # root's alone: a host account with the proxy's uid must not reach its keys
APPS_HOST_DIR = f"{HOST_DIR}/apps-config"  # per-service files the proxy reads (certificates)
APPS_CONTAINER_DIR = "/home/kamal-proxy/.apps-config"


def bindings(http_port: int = 80, https_port: int = 443, bind_ips: tuple[str, ...] = (), publish: bool = True
             ) -> list[tuple[int, int, str]]:
    """(host port, container port, address) for each published port, as Kamal's `proxy.run` publishes them:
    `--publish [IP:]HTTP_PORT:80 --publish [IP:]HTTPS_PORT:443` per bind address; nothing without `publish`.
    Without bind addresses, both families (the edge publishes AAAA records where the host has IPv6)."""
    if not publish:
        return []
    return [(external, internal, ip) for internal, external in ((80, http_port), (443, https_port))
            for ip in (bind_ips or ("0.0.0.0", "::"))]


def ports_label(published: list[tuple[int, int, str]]) -> str:
    """The published ports as one label value (`80@0.0.0.0,80@::,...`, `8080:80@127.0.0.1` when the host port
    differs), so a change forces a new container."""
    return ",".join(f"{external}@{ip}" if external == internal else f"{external}:{internal}@{ip}"
                    for external, internal, ip in published)


@dataclass(frozen=True)
class TlsFiles:
    """Where a service's own certificate lives, on the host and as the proxy container sees it."""

    host_dir: str
    certificate: str  # container path
    private_key: str  # container path


def tls_files(service: str) -> TlsFiles:
    container_dir = f"{APPS_CONTAINER_DIR}/{service}/tls"
    return TlsFiles(f"{APPS_HOST_DIR}/{service}/tls", f"{container_dir}/cert.pem", f"{container_dir}/key.pem")


@dataclass(frozen=True)
class DeployOptions:
    hosts: tuple[str, ...]
    tls: str  # letsencrypt | cloudflare-origin | off | external (the last two: plain HTTP at the proxy)
    tls_files: TlsFiles | None
    health_check_path: str
    health_check_interval: str
    health_check_timeout: str
    deploy_timeout: str
    drain_timeout: str
    target_timeout: str
    buffer_requests: bool
    buffer_responses: bool
    buffer_memory: int
    max_request_body: int
    max_response_body: int
    forward_headers: bool
    log_request_headers: tuple[str, ...] = ()
    log_response_headers: tuple[str, ...] = ()
    path_prefixes: tuple[str, ...] = ()
    strip_path_prefix: bool = True


def _flag(name: str, value: bool | str | int) -> str:
    if value is True:
        return f"--{name}"
    if value is False:
        return f"--{name}=false"
    return f"--{name}={value}"


def deploy_args(route: str, target: str, options: DeployOptions) -> list[str]:
    """`kamal-proxy deploy`: health-checks the target, switches atomically, drains the old one, then returns."""
    args = ["deploy", route, _flag("target", target)]
    args += [_flag("host", host) for host in options.hosts]
    # kamal-proxy refuses TLS settings below the root path: such a route takes them from the route at / (deploy.go
    # preRun, service_map.go syncTLSOptionsFromRootDomain).
    tls = options.tls in ("letsencrypt", "cloudflare-origin") and not options.path_prefixes
    if tls:
        args.append(_flag("tls", True))
    args += [_flag("path-prefix", prefix) for prefix in options.path_prefixes]
    if options.path_prefixes:
        args.append(_flag("strip-path-prefix", options.strip_path_prefix))
    if tls and options.tls == "cloudflare-origin":
        assert options.tls_files is not None
        args += [_flag("tls-certificate-path", options.tls_files.certificate),
                 _flag("tls-private-key-path", options.tls_files.private_key)]
    args += [
        _flag("deploy-timeout", options.deploy_timeout),
        _flag("drain-timeout", options.drain_timeout),
        _flag("health-check-path", options.health_check_path),
        _flag("health-check-interval", options.health_check_interval),
        _flag("health-check-timeout", options.health_check_timeout),
        _flag("target-timeout", options.target_timeout),
        _flag("buffer-requests", options.buffer_requests),
        _flag("buffer-responses", options.buffer_responses),
        _flag("buffer-memory", options.buffer_memory),
    ]
    # kamal-proxy refuses a body limit without its buffering flag; 0 is its default (unlimited).
    if options.buffer_requests and options.max_request_body:
        args.append(_flag("max-request-body", options.max_request_body))
    if options.buffer_responses and options.max_response_body:
        args.append(_flag("max-response-body", options.max_response_body))
    args.append(_flag("forward-headers", options.forward_headers))
    args += [_flag("log-request-header", header) for header in options.log_request_headers]
    args += [_flag("log-response-header", header) for header in options.log_response_headers]
    return args


def stop_args(route: str, message: str | None, drain_timeout: str) -> list[str]:
    """Maintenance: the proxy answers 503 (with the message) until `resume`."""
    args = ["stop", route, _flag("drain-timeout", drain_timeout)]
    if message:
        args.append(_flag("message", message))
    return args


def resume_args(route: str) -> list[str]:
    return ["resume", route]


PROXY_EXEC = ["docker", "exec", CONTAINER, "kamal-proxy"]


def proxy_exec(args: list[str]) -> str:
    """The shell line that runs a kamal-proxy subcommand inside the running proxy container."""
    return shlex.join([*PROXY_EXEC, *args])


def proxy_calls(text: str) -> list[list[str]]:
    """The kamal-proxy subcommands (`["deploy", route, flags...]`) that `proxy_exec` lines of a rendered command
    line or script run, in order: what the plan shows and the tests compare with Kamal's."""
    prefix = proxy_exec([])
    return [shlex.split(line, comments=True)[len(PROXY_EXEC):] for line in text.splitlines()
            if line.startswith(prefix + " ")]


def route_name(service: str, role: str) -> str:
    """A route per service and role, as Kamal names them: two services on one proxy never collide."""
    return f"{service}-{role}"
