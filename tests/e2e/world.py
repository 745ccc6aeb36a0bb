"""Everything a scenario stands on: the lab, its services, the images, the applier and the test stack.

`World.start()` is what `make e2e` (through conftest) and `make bench-release` both call.
"""

from __future__ import annotations

import copy
import os
import secrets as pysecrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components import stackfile
from components.config import Proxy

from . import images
from .applier import Applier, SiteMocks, Up
from .kinds import Site
from .testhost import ALLOWED, OPERATOR_IPV4, Lab, TestHost, sh

HERE = Path(__file__).resolve().parent
STACK = HERE / "stacks" / "shop.yaml"
REGISTRY_USER = "berth"
BUCKET = "shop-backups"


def _merged(base: Any, changes: Any) -> Any:
    """Mappings merge key by key; a None in `changes` removes the key; anything else replaces."""
    if isinstance(base, dict) and isinstance(changes, dict):
        merged = {**base, **{k: _merged(base.get(k), v) for k, v in changes.items()}}
        return {k: v for k, v in merged.items() if v is not None}
    return copy.deepcopy(changes)


@dataclass
class World:
    lab: Lab
    site: Site
    secrets: dict[str, str]
    app_repository: str
    litestream_image: str
    proxy_image: str
    origin_ranges: list[str] = field(default_factory=list)
    deployments: dict[str, "Deployment"] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # for make bench-release, never asserted

    # --- setup ---------------------------------------------------------------------------------------

    @classmethod
    def start(cls) -> "World":
        base = yaml.safe_load(STACK.read_text())["config"]
        registry_password = pysecrets.token_urlsafe(18)
        secrets = {"REGISTRY_PASSWORD": registry_password, "SECRET_KEY_BASE": pysecrets.token_hex(32),
                   "S3_ACCESS_KEY_ID": "AKIA" + pysecrets.token_hex(8).upper(),
                   "S3_SECRET_ACCESS_KEY": pysecrets.token_urlsafe(30)}

        def services(lab: Lab) -> dict[str, list[str]]:
            cert, key = lab.certificate("router", lab.registry.split(":")[0])
            (lab.run / "htpasswd").write_text(sh("htpasswd", "-Bbn", REGISTRY_USER, registry_password).stdout)
            (lab.run / "registry").mkdir()
            (lab.run / "registry.yml").write_text(yaml.safe_dump({
                "version": 0.1, "storage": {"filesystem": {"rootdirectory": str(lab.run / "registry")}},
                "http": {"addr": lab.registry, "tls": {"certificate": str(cert), "key": str(key)}},
                "auth": {"htpasswd": {"realm": "berth-e2e", "path": str(lab.run / "htpasswd")}},
            }))
            moto = Path(sys.executable).parent / "moto_server"
            host, port = lab.s3_endpoint.removeprefix("https://").split(":")
            return {"registry": ["docker-registry", "serve", str(lab.run / "registry.yml")],
                    "s3": [str(moto), "-H", host, "-p", port, "-c", str(cert), "-k", str(key)]}

        lab = Lab().up(hosts=2, services=services)
        secrets["E2E_SSH_KEY"] = lab.private_key
        agent = str(lab.run / "agent.sock")
        sh("ssh-agent", "-a", agent)
        sh("ssh-add", "-q", str(lab.key), env={**os.environ, "SSH_AUTH_SOCK": agent})
        site = Site(run=lab.run, ssh_config=lab.run / "ssh_config", agent_socket=agent, ca_cert=lab.ca_cert,
                    ca_key=lab.ca_key, base_env=lab.client_env)
        accessory = base["berth:accessories"]["litestream"]["image"]
        world = cls(lab=lab, site=site, secrets=secrets, app_repository=base["berth:image"],
                    litestream_image=accessory, proxy_image=f"basecamp/kamal-proxy:{Proxy().version}",
                    origin_ranges=[f"{OPERATOR_IPV4}/30", ALLOWED.prefix4, "fd00:be2e:ff::/64", ALLOWED.prefix6])
        world._images()
        world._bucket()
        return world

    def _images(self) -> None:
        for host in self.lab.hosts:
            self._base_images(host)
        builder = self.lab.hosts[0]
        for build in (images.AppBuild("v1"), images.AppBuild("v2"), images.AppBuild("v3", healthy=False)):
            tag = f"{self.app_repository}:{build.version}"
            images.app_image(builder, tag, build)
            images.push(builder, tag, REGISTRY_USER, self.secrets["REGISTRY_PASSWORD"])

    def _base_images(self, host: TestHost) -> None:
        """The images a host would pull from Docker Hub, which the lab cannot reach."""
        images.kamal_proxy_image(host, self.proxy_image, self.proxy_image.rsplit(":", 1)[1])
        images.litestream_image(host, self.litestream_image, self.litestream_image.rsplit(":", 1)[1],
                                self.lab.ca_cert.read_text())

    def add_host(self) -> TestHost:
        """A fresh server, as a rebuilt or new cloud host would be."""
        host = self.lab.add_host()
        self._base_images(host)
        return host

    def _bucket(self) -> None:
        import boto3

        client = boto3.client("s3", endpoint_url=self.lab.s3_endpoint, region_name="us-east-1",
                              aws_access_key_id=self.secrets["S3_ACCESS_KEY_ID"],
                              aws_secret_access_key=self.secrets["S3_SECRET_ACCESS_KEY"],
                              verify=str(self.lab.ca_cert))
        client.create_bucket(Bucket=BUCKET)

    def stop(self) -> None:
        from .testhost import down

        subprocess.run(["pkill", "-f", f"ssh-agent -a {self.lab.run}/agent.sock"], check=False)
        down(self.lab.run)

    # --- deployments: a stack's settings, its state, `pulumi up` -------------------------------------

    def deployment(self, key: str = "e2e", stack_name: str | None = None, stack_file: Path = STACK,
                   **settings: Any) -> "Deployment":
        """A stack (its file, settings and state), made on first use; `key` tells two states of one stack
        apart (a rebuilt host starts from no state)."""
        if key not in self.deployments:
            self.deployments[key] = Deployment(self, stack_name or key, stack_file, dict(settings),
                                               Applier(self.site))
        return self.deployments[key]

    def mocks(self) -> SiteMocks:
        """The provider functions the program calls: Cloudflare's zone and its ranges (the lab's)."""
        v4 = [r for r in self.origin_ranges if ":" not in r]
        v6 = [r for r in self.origin_ranges if ":" in r]
        return SiteMocks({
            "cloudflare:index/getZone:getZone": {"id": "e2e0zone", "name": "e2e.test"},
            "cloudflare:index/getIpRanges:getIpRanges": {"ipv4Cidrs": v4, "ipv6Cidrs": v6, "cidrs": v4 + v6},
        })

    @property
    def web(self) -> TestHost:
        return self.lab.hosts[0]

    @property
    def jobs(self) -> TestHost:
        return self.lab.hosts[1]


@dataclass
class Deployment:
    """One stack as its operator sees it: `pulumi config set` changes settings, `up` applies them."""

    world: World
    stack_name: str
    stack_file: Path
    settings: dict[str, Any]
    applier: Applier
    ups: list[Up] = field(default_factory=list)

    def stack(self, **changes: Any) -> stackfile.StackFile:
        """The stack file with the settings and `changes` merged in (keys without berth:) and the run's secrets."""
        document = yaml.safe_load(self.stack_file.read_text())
        config = document["config"]
        for key, value in {**self.settings, **changes}.items():
            config[f"berth:{key}"] = _merged(config.get(f"berth:{key}"), value)
            if config[f"berth:{key}"] is None:
                del config[f"berth:{key}"]
        parsed = stackfile.parse(self.stack_name, document)
        parsed.berth["secrets"] = dict(self.world.secrets)
        return parsed

    def set(self, **settings: Any) -> "Deployment":
        self.settings.update(settings)
        return self

    def up(self, **changes: Any) -> Up:
        up = self.applier.up(self.stack(**changes), mocks=self.world.mocks())
        self.ups.append(up)
        return up

    @property
    def last_up(self) -> Up:
        return self.ups[-1]

    @property
    def outputs(self) -> dict[str, Any]:
        from tooling.evaluate import unwrap

        return unwrap(self.last_up.evaluation.outputs)
