"""The lab's cloud, for the machine tier (`make e2e-machines`): booted machines (tests/e2e/machines) on a bridge
of the router's namespace, and the two services of the internet a fresh machine meets in Berth's first `up`,
played on the router with the run's CA:

    be2e-net (router) ── cloud0 10.233.0.0/24: the machines, their reserved and primary addresses
                      ├── 10.231.0.250:443  download.docker.com   Docker's apt repository (tests/e2e/dockerrepo)
                      └── 10.231.0.251:443  registry-1.docker.io  Docker Hub: the images a host pulls from it

The machines resolve both names to those addresses (the cloud's resolver answers the lab's names) and trust the
run's CA (vendor data); Debian's mirror is the real one, reached through the cloud's narrow way out.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from . import dockerrepo, engines
from .dockerrepo import server as repo_server
from .machines import Cloud, NetworkSettings
from .testhost import CLOUD_DIR, NET_NS, Lab, TestHost, in_ns, sh

DOCKER_REPO_ADDRESS = "10.231.0.250"
HUB_ADDRESS = "10.231.0.251"
# What the docker daemon asks for a docker.io image: moby registry/config.go `DefaultRegistryHost`.
HUB_HOST = "registry-1.docker.io"
LAB_NAMES = {"download.docker.com": DOCKER_REPO_ADDRESS, HUB_HOST: HUB_ADDRESS}


def state_dir(lab: Lab) -> Path:
    return lab.run / CLOUD_DIR


def services(lab: Lab) -> dict[str, list[str]]:
    """The router's stand-ins for download.docker.com and Docker Hub, each on an address of its own (both are
    HTTPS on 443). The repository is built once per Docker build and cached (dockerrepo.build_repository)."""
    for address in (DOCKER_REPO_ADDRESS, HUB_ADDRESS):
        in_ns(NET_NS, "ip", "address", "add", f"{address}/24", "dev", "br0")
    root = dockerrepo.build_repository(engines.selected().bin_dir, distros=(dockerrepo.BOOKWORM,))
    repo_cert, repo_key = lab.certificate("download.docker.com", "download.docker.com")
    hub_cert, hub_key = lab.certificate("docker-hub", HUB_HOST, HUB_ADDRESS)
    (lab.run / "hub").mkdir()
    (lab.run / "hub.yml").write_text(yaml.safe_dump({
        "version": 0.1, "storage": {"filesystem": {"rootdirectory": str(lab.run / "hub")}},
        "http": {"addr": f"{HUB_ADDRESS}:443", "tls": {"certificate": str(hub_cert), "key": str(hub_key)}},
    }))
    # The lab runs services from its run directory; the server is a module of this project.
    return {"docker-repo": ["env", f"PYTHONPATH={repo_server.PROJECT}",
                            *repo_server.argv(root, repo_cert, repo_key, DOCKER_REPO_ADDRESS,
                                              log_path=lab.log / "docker-repo-access.log")],
            "docker-hub": ["docker-registry", "serve", str(lab.run / "hub.yml")]}


def up(lab: Lab) -> Cloud:
    """The machines' network on the router, reachable from the lab machine (the operator) through one route."""
    settings = NetworkSettings(netns=NET_NS, operator="op", host_route_via="10.230.0.2", lab_names=LAB_NAMES)
    return Cloud.up(state_dir(lab), settings, ca_certificate=lab.ca_cert.read_text())


def publish_to_hub(builder: TestHost, image: str) -> None:
    """An image the lab built under its Docker Hub name (`basecamp/kamal-proxy:v0.9.2`), pushed to the Hub
    stand-in by its address, which stores it under the same repository path a machine's daemon asks for."""
    trust = builder.rootfs / "etc" / "docker" / "certs.d" / HUB_ADDRESS
    if not trust.exists():
        trust.mkdir(parents=True)
        sh("cp", str(builder.lab.ca_cert), str(trust / "ca.crt"))
    name = image.removeprefix("docker.io/")
    pushed = f"{HUB_ADDRESS}/{name if '/' in name.split(':')[0] else 'library/' + name}"
    builder.docker("tag", image, pushed)
    builder.docker("push", "-q", pushed)
    builder.docker("rmi", pushed)

