"""The keys Kamal 2.11 accepts in deploy.yml, so an import refuses what Kamal refuses, with the line.

Kamal validates each section against the example in its documentation (lib/kamal/configuration/docs/*.yml
at v2.11.0): a key that is not in the example is "unknown" and Kamal stops. The table below is that
key set; `FREE` marks mappings whose keys are the user's (labels, docker options, env values), `Named`
a mapping from the user's names (roles, accessories, tags, aliases) to one kind of section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Free:
    """Any keys: the user's own (labels, docker options, build args)."""


FREE = Free()


@dataclass(frozen=True)
class Named:
    """A mapping from the user's names to sections of one kind."""

    spec: Any


PROXY_RUN = {key: None for key in ("http_port", "https_port", "metrics_port", "debug", "log_max_size", "publish",
                                   "bind_ips", "registry", "repository", "version")} | {"options": FREE}
PROXY = {
    "host": None, "hosts": None, "app_port": None, "ssl": None, "ssl_redirect": None, "forward_headers": None,
    "response_timeout": None, "path_prefix": None, "path_prefixes": None, "strip_path_prefix": None,
    "healthcheck": {"interval": None, "path": None, "timeout": None},
    "buffering": {key: None for key in ("requests", "responses", "max_request_body", "max_response_body", "memory")},
    "logging": {"request_headers": None, "response_headers": None},
    "run": PROXY_RUN,
}
LOGGING = {"driver": None, "options": FREE}
REGISTRY = {"server": None, "username": None, "password": None}
ENV = {"clear": FREE, "secret": None, "tags": Named(FREE)}  # a simple env (no clear/secret/tags) is all clear
ROLE = {"hosts": None, "cmd": None, "options": FREE, "logging": LOGGING, "proxy": PROXY, "labels": FREE,
        "env": ENV, "asset_path": None}
ACCESSORY = {
    "service": None, "image": None, "registry": REGISTRY, "host": None, "hosts": None, "role": None, "roles": None,
    "tag": None, "tags": None, "cmd": None, "port": None, "labels": FREE, "options": FREE, "env": ENV,
    "files": None, "directories": None, "volumes": None, "network": None, "proxy": PROXY,
}
SSH = {key: None for key in ("user", "port", "proxy", "proxy_command", "log_level", "keys_only", "keys", "key_data",
                             "config")}
BUILDER = {"arch": None, "remote": None, "local": None, "pack": {"builder": None, "buildpacks": None},
           "cache": {"type": None, "options": None, "image": None}, "context": None, "dockerfile": None,
           "target": None, "args": FREE, "secrets": None, "ssh": None, "driver": None, "provenance": None,
           "sbom": None}
TOP = {
    "service": None, "image": None, "labels": FREE, "volumes": None, "registry": REGISTRY, "servers": Named(ROLE),
    "env": ENV, "asset_path": None, "hooks_path": None, "hooks_output": FREE, "secrets_path": None,
    "error_pages_path": None, "require_destination": None, "primary_role": None, "allow_empty_roles": None,
    "retain_containers": None, "minimum_version": None, "readiness_delay": None, "deploy_timeout": None,
    "drain_timeout": None, "run_directory": None, "ssh": SSH, "builder": BUILDER, "accessories": Named(ACCESSORY),
    "proxy": PROXY, "sshkit": {"max_concurrent_starts": None, "pool_idle_timeout": None, "dns_retries": None},
    "boot": {"limit": None, "wait": None, "parallel_roles": None}, "logging": LOGGING, "aliases": Named(None),
}

# Keys of Kamal 1, which Kamal 2 refuses: where Kamal 2 (and so the import) wants them instead.
KAMAL_1 = {
    "healthcheck": "Kamal 2 moved the health check under proxy (proxy.healthcheck: path, interval, timeout)",
    "traefik": "Kamal 2 replaced Traefik with kamal-proxy: see proxy",
    "stop_wait_time": "Kamal 2 calls it drain_timeout",
    "primary_web_role": "Kamal 2 calls it primary_role",
    "acme": "kamal-proxy's Let's Encrypt needs no e-mail address or other ACME setting: ssl: true is all",
}


def unknown_keys(config: dict[str, Any]) -> list[tuple[tuple, str]]:
    """(key path, hint) for every key Kamal 2.11 would call unknown; the root's `x-` extension keys are
    allowed, as Kamal allows them there only."""
    found: list[tuple[tuple, str]] = []
    _walk(config, TOP, (), found, root=True)
    return found


def _walk(value: Any, spec: Any, path: tuple, found: list[tuple[tuple, str]], root: bool = False) -> None:
    if spec is None or isinstance(spec, Free) or not isinstance(value, dict):
        return
    if isinstance(spec, Named):
        for name, item in value.items():
            if path == ("servers",) and isinstance(item, list):
                continue  # a role given as a plain list of hosts
            _walk(item, spec.spec, (*path, name), found)
        return
    simple_env = spec is ENV and not set(value) & set(ENV)
    if simple_env:
        return
    for key, item in value.items():
        if root and str(key).startswith("x-"):
            continue
        if key not in spec:
            found.append(((*path, key), KAMAL_1.get(str(key), "")))
            continue
        if key == "proxy" and isinstance(item, bool):
            continue
        _walk(item, spec[key], (*path, key), found)
