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


# --- types: Kamal's validator checks each value against its example's type ----------------------------------

STR = "a string"  # Kamal's `stringish?`: a string, symbol, number or boolean passes where a string is expected
INT = "an integer"
BOOL = "a boolean"
ARRAY = "an array"
HASH = "a hash"
_CHECKS = {
    STR: lambda v: isinstance(v, (str, int, float, bool)),
    INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
    BOOL: lambda v: isinstance(v, bool),
    ARRAY: lambda v: isinstance(v, list),
    HASH: lambda v: isinstance(v, dict),
}
_PROXY_TYPES = {
    (): HASH, ("host",): STR, ("hosts",): ARRAY, ("hosts", "*"): STR, ("app_port",): INT, ("ssl",): (BOOL, HASH),
    ("ssl_redirect",): BOOL, ("forward_headers",): BOOL, ("response_timeout",): INT, ("path_prefix",): STR,
    ("path_prefixes",): ARRAY, ("strip_path_prefix",): BOOL, ("healthcheck",): HASH, ("healthcheck", "path"): STR,
    ("healthcheck", "interval"): INT, ("healthcheck", "timeout"): INT, ("buffering",): HASH,
    ("buffering", "requests"): BOOL, ("buffering", "responses"): BOOL, ("buffering", "memory"): INT,
    ("buffering", "max_request_body"): INT, ("buffering", "max_response_body"): INT, ("logging",): HASH,
    ("logging", "request_headers"): ARRAY, ("logging", "request_headers", "*"): STR,
    ("logging", "response_headers"): ARRAY, ("logging", "response_headers", "*"): STR, ("run",): HASH,
    ("run", "version"): STR,
}
_ENV_TYPES = {(): HASH, ("clear",): HASH, ("clear", "*"): STR, ("secret",): ARRAY, ("secret", "*"): STR,
              ("tags",): HASH, ("tags", "*"): HASH}
TYPES: dict[tuple, Any] = {
    ("service",): STR, ("image",): STR, ("registry",): HASH, ("registry", "server"): STR,
    ("registry", "username"): (STR, ARRAY), ("registry", "password"): (STR, ARRAY),
    ("servers",): (ARRAY, HASH), ("servers", "*"): (ARRAY, HASH), ("servers", "*", "hosts"): ARRAY,
    ("servers", "*", "cmd"): STR, ("servers", "*", "options"): HASH, ("servers", "*", "labels"): HASH,
    ("servers", "*", "logging"): HASH, ("servers", "*", "asset_path"): STR, ("servers", "*", "proxy"): (BOOL, HASH),
    ("primary_role",): STR, ("require_destination",): BOOL, ("allow_empty_roles",): BOOL, ("secrets_path",): STR,
    ("hooks_path",): STR, ("volumes",): ARRAY, ("volumes", "*"): STR, ("asset_path",): STR,
    ("retain_containers",): INT, ("deploy_timeout",): INT, ("drain_timeout",): INT, ("readiness_delay",): INT,
    ("boot",): HASH, ("boot", "limit"): (INT, STR), ("ssh",): HASH, ("ssh", "user"): STR, ("ssh", "port"): STR,
    ("ssh", "keys"): ARRAY, ("ssh", "key_data"): ARRAY, ("aliases",): HASH, ("aliases", "*"): STR,
    ("accessories",): HASH, ("accessories", "*"): HASH, ("accessories", "*", "image"): STR,
    ("accessories", "*", "host"): STR, ("accessories", "*", "hosts"): ARRAY, ("accessories", "*", "hosts", "*"): STR,
    ("accessories", "*", "role"): STR, ("accessories", "*", "roles"): ARRAY, ("accessories", "*", "tag"): STR,
    ("accessories", "*", "tags"): ARRAY, ("accessories", "*", "cmd"): STR, ("accessories", "*", "port"): STR,
    ("accessories", "*", "files"): ARRAY, ("accessories", "*", "files", "*"): (STR, HASH),
    ("accessories", "*", "directories"): ARRAY, ("accessories", "*", "directories", "*"): (STR, HASH),
    ("accessories", "*", "volumes"): ARRAY, ("accessories", "*", "volumes", "*"): STR,
    ("accessories", "*", "options"): HASH, ("accessories", "*", "labels"): HASH,
    ("accessories", "*", "registry"): HASH, ("accessories", "*", "service"): STR,
    **{(*where, *key): kind for where in (("proxy",), ("servers", "*", "proxy"), ("accessories", "*", "proxy"))
       for key, kind in _PROXY_TYPES.items() if where != ("servers", "*", "proxy") or key},
    **{(*where, *key): kind for where in (("env",), ("servers", "*", "env"), ("accessories", "*", "env"))
       for key, kind in _ENV_TYPES.items()},
    ("env", "tags", "*", "clear"): HASH, ("env", "tags", "*", "secret"): ARRAY,
}


def type_problems(config: dict[str, Any]) -> list[tuple[tuple, str]]:
    """(key path, "should be ...") for every value whose type Kamal 2.11's validator refuses; a role's hosts
    are strings or one-host mappings, as `validate_servers!` wants them."""
    found: list[tuple[tuple, str]] = []

    def walk(value: Any, path: tuple) -> None:
        rule = _rule(path)
        if rule is not None:
            kinds = rule if isinstance(rule, tuple) else (rule,)
            if not any(_CHECKS[kind](value) for kind in kinds):
                found.append((path, "should be " + " or ".join(kinds)))
                return
        if _is_hosts(path, value):
            for i, entry in enumerate(value):
                tags = next(iter(entry.values())) if isinstance(entry, dict) and len(entry) == 1 else None
                if not (isinstance(entry, str) or (isinstance(entry, dict) and len(entry) == 1 and (
                        isinstance(tags, str) or isinstance(tags, list) and all(isinstance(t, str) for t in tags)))):
                    found.append(((*path, i), "should be a host, or a hash of one host and its tag or tags"))
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*path, i))

    walk(config, ())
    return found


def _is_hosts(path: tuple, value: Any) -> bool:
    """A role's hosts: servers as a list, servers/<role> as a list, or servers/<role>/hosts."""
    return isinstance(value, list) and path[:1] == ("servers",) and (
        len(path) == 1 or len(path) == 2 or (len(path) == 3 and path[2] == "hosts"))


def _rule(path: tuple) -> Any:
    for pattern, kind in TYPES.items():
        if len(pattern) == len(path) and all(p == "*" or p == q for p, q in zip(pattern, path, strict=True)):
            return kind
    return None
