"""Kamal 2 beside Berth on the lab: for the same settings, Berth sends kamal-proxy what `kamal deploy`
sends, except where docs/compatibility.md says why not."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from components.validation import load

from .http import get
from .kamal import Kamal, berth_deploy_argv, proxy_deploy_argv

# Every difference between Berth's and Kamal's `kamal-proxy deploy`, with its reason (also in
# docs/compatibility.md). Anything else that differs fails the test.
KNOWN_DIFFERENCES = {
    "--target": "Kamal targets the new container by its id, Berth by its name (known before it exists); "
                "both resolve on the kamal network",
    "--tls-certificate-path": "Kamal keeps a certificate per role (tls/<role>/), Berth one per service "
                              "(tls/): it issues one Origin CA certificate for all proxied roles",
    "--tls-private-key-path": "as --tls-certificate-path",
}


def flags(argv: list[str]) -> dict[str, list[str]]:
    """--name=value / --name value-less flags as name -> sorted values ('' for a bare flag)."""
    out: dict[str, list[str]] = {}
    for arg in argv:
        name, _, value = arg.partition("=")
        out.setdefault(name, []).append(value)
    return {name: sorted(values) for name, values in out.items()}


def test_berth_sends_kamal_proxy_what_kamal_deploy_sends(world):
    shop = world.deployment()
    assert shop.converged()
    switch = shop.resource("shop-web-1-switch")
    berth = berth_deploy_argv(switch)
    host = world.add_host()
    kamal = Kamal.project(world, host, load(shop.stack_file().program_view()))
    result, _ = kamal("deploy", "--skip-push", "--version=v2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    theirs = proxy_deploy_argv(result.stdout)
    assert theirs[0] == berth[0] == "shop-web"  # the route
    ours, kamals = flags(berth[1:]), flags(theirs[1:])
    differing = {name for name in set(ours) | set(kamals) if ours.get(name) != kamals.get(name)}
    assert differing == set(KNOWN_DIFFERENCES), {n: (ours.get(n), kamals.get(n)) for n in differing}
    assert get(host.address, "shop.e2e.test", ca=world.lab.ca_cert).body.strip() == "app v2"


# --- berth import against kamal deploy ---------------------------------------------------------------------

LAB_CORPUS = Path(__file__).resolve().parents[1] / "kamal" / "corpus" / "lab"
# kamal-proxy's own defaults for the flags Kamal leaves out unless configured and Berth always passes
# (internal/cmd/deploy.go at v0.9.2; docs/compatibility.md, kamal-proxy): the same behaviour either way.
KAMAL_PROXY_DEFAULTS = {"--target-timeout": ["30s"], "--deploy-timeout": ["30s"], "--drain-timeout": ["30s"],
                        "--health-check-path": ["/up"], "--health-check-interval": ["1s"],
                        "--health-check-timeout": ["5s"], "--buffer-memory": ["1048576"]}
# Imported with --cloudflare-zone: the oracle's `behind-cloudflare` difference (docs/compatibility.md).
IMPORTED_DIFFERENCES = {**KNOWN_DIFFERENCES,
                        "--forward-headers": "behind Cloudflare's proxy Berth forwards X-Forwarded-* (Cloudflare is "
                                             "the client); Kamal's certificate setup does not"}
PLACEHOLDER_HOST = "192.0.2.10"
# Every difference between the app container `kamal deploy` runs and the one Berth runs from the imported
# stack file, with its reason (also in docs/compatibility.md). Anything else that differs fails the test.
KNOWN_CONTAINER_DIFFERENCES = {
    "env": "Kamal adds KAMAL_CONTAINER_NAME, KAMAL_VERSION and KAMAL_HOST to the app's own variables",
    "labels": "Kamal labels `destination`; Berth labels `version` (rollback lists it) and `berth.log-opts`",
    "healthcheck": "Berth gives proxied roles a Docker health check for `docker ps`; Kamal's image-less one has none",
    "hostname": "Kamal names the container's host after the server; Berth leaves Docker's default",
}


def _project(world, corpus: Path, address: str, into: Path) -> Path:
    """The corpus app with the lab's address for its host, the certificate its secrets file reads."""
    shutil.copytree(corpus, into)
    deploy = into / "config" / "deploy.yml"
    deploy.write_text(deploy.read_text().replace(PLACEHOLDER_HOST, address))
    cert, key = world.lab.certificate(f"import-{into.name}", "shop.e2e.test")
    shutil.copy(cert, into / "certificate.pem")
    shutil.copy(key, into / "private_key.pem")
    subprocess.run(["git", "init", "-q"], cwd=into, check=True)
    return into


def _kamal_container(output: str, host) -> dict:
    """The app container of a `kamal deploy -v` log, as the comparison sees it."""
    runs = re.findall(r"Running (docker run --detach .*?) on \S+$", output, re.MULTILINE)
    argv = shlex.split(runs[-1])
    name = argv[argv.index("--name") + 1]
    return _container(host, name) | {"hostname": "--hostname" in argv}


def _container(host, name: str) -> dict:
    inspected = json.loads(host.docker("inspect", name).stdout)[0]
    config, hostconfig = inspected["Config"], inspected["HostConfig"]
    return {"image": inspected["Image"], "restart": hostconfig["RestartPolicy"]["Name"],
            "networks": sorted(inspected["NetworkSettings"]["Networks"]), "log": hostconfig["LogConfig"],
            # the provider writes each bind's mode (`:rw` is Docker's default)
            "volumes": sorted(bind.removesuffix(":rw") for bind in hostconfig.get("Binds") or []),
            "env": sorted(e.split("=", 1)[0] for e in config.get("Env") or [] if not e.startswith("PATH=")),
            "labels": {k: v for k, v in (config.get("Labels") or {}).items()},
            "healthcheck": bool(config.get("Healthcheck")), "user": config.get("User"), "cmd": config.get("Cmd")}


def test_an_imported_kamal_configuration_runs_as_kamal_runs_it(world):
    kamal_host, berth_host = world.add_host(), world.add_host()
    work = world.lab.run / "kamal-import"
    theirs_dir = _project(world, LAB_CORPUS, kamal_host.address, work / "kamal")
    secrets = {"KAMAL_REGISTRY_PASSWORD": world.secrets["REGISTRY_PASSWORD"],
               "SECRET_KEY_BASE": world.secrets["SECRET_KEY_BASE"]}
    home = work / "home"
    (home / ".ssh").mkdir(parents=True)
    kamal = Kamal(theirs_dir, home, {**world.engine.env(), **secrets, "HOME": str(home)})
    result, _ = kamal("deploy", "--skip-push", "--version=v2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

    ours_dir = _project(world, LAB_CORPUS, berth_host.address, work / "berth")
    imported = subprocess.run([str(Path(sys.executable).parent / "berth"), "import", "config/deploy.yml", "--stack",
                               "imported", "--allow-from", "10.230.0.1/32", "--cloudflare-zone", "e2e.test",
                               "--version", "v2", "--dir", str(work / "stack")], cwd=ours_dir, capture_output=True,
                              text=True, timeout=300)
    assert imported.returncode == 0, imported.stdout[-3000:] + imported.stderr[-2000:]
    stack = world.deployment("e2e-imported", stack_name="imported", stack_file=work / "stack" / "Pulumi.imported.yaml",
                             secrets=secrets, bootstrap={"docker": "preinstalled"})
    up = stack.up()
    assert up.ok, up.error
    assert get(berth_host.address, "shop.e2e.test", ca=world.lab.ca_cert).body.strip() == "app v2"
    assert get(kamal_host.address, "shop.e2e.test", ca=world.lab.ca_cert).body.strip() == "app v2"

    berth = berth_deploy_argv(stack.resource("shop-web-1-switch"))
    theirs = proxy_deploy_argv(result.stdout)
    ours, kamals = ({**KAMAL_PROXY_DEFAULTS, **flags(argv[1:])} for argv in (berth, theirs))
    differing = {name for name in set(ours) | set(kamals) if ours.get(name) != kamals.get(name)}
    assert differing == set(IMPORTED_DIFFERENCES), {n: (ours.get(n), kamals.get(n)) for n in differing}

    ours_container = _container(berth_host, stack.outputs["release"]["containers"]["shop-web-1"]) | {"hostname": False}
    theirs_container = _kamal_container(result.stdout, kamal_host)
    differing = {key for key in ours_container if ours_container[key] != theirs_container.get(key)}
    assert differing <= set(KNOWN_CONTAINER_DIFFERENCES), {k: (ours_container[k], theirs_container.get(k))
                                                            for k in differing}
    assert set(theirs_container["env"]) - set(ours_container["env"]) <= {"KAMAL_CONTAINER_NAME", "KAMAL_VERSION",
                                                                         "KAMAL_HOST"}
    assert set(ours_container["env"]) <= set(theirs_container["env"])
