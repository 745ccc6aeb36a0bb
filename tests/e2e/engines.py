"""The Docker Engine the lab's hosts run: what users get from Docker's repository (29, the default), or
Debian 12's docker.io 20.10 (`E2E_DOCKER=20.10`) for the scenarios where the two differ.

Docker 29 is built from its Go modules by tools/docker-engine.sh (cached; `make e2e` passes its directory
as BERTH_DOCKER_BIN) and linked into each host's private /usr/local/bin, which comes before /usr/bin and
/usr/sbin on every PATH a host has (root's and a user's over SSH, the init's): the host runs it as if
docker-ce were installed, and Debian's docker.io stays on the machine for the 20.10 runs. On a fresh
data-root 29 stores images in containerd, as a new install does for users.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
# What a docker-ce install puts on PATH (and containerd.io's runc), each linked into a host.
BINARIES = ("docker", "dockerd", "docker-proxy", "docker-init", "containerd", "containerd-shim-runc-v2", "ctr", "runc")
DEBIAN_CLI = "/usr/bin/docker"  # docker.io's client; the machine's /usr/local/bin may hold another one


@dataclass(frozen=True)
class DockerEngine:
    name: str  # "29" or "20.10"
    bin_dir: Path | None  # the built binaries; None for Debian's docker.io

    @property
    def cli(self) -> str:
        """The suite's own docker client for this engine (Berth itself uses the host's, over SSH)."""
        return str(self.bin_dir / "docker") if self.bin_dir else DEBIAN_CLI

    @property
    def dockerd(self) -> str:
        return str(self.bin_dir / "dockerd") if self.bin_dir else "/usr/sbin/dockerd"

    def host_links(self) -> dict[str, str]:
        """Name -> target for a host's /usr/local/bin: the engine's binaries, or nothing (Debian's own)."""
        return {name: str(self.bin_dir / name) for name in BINARIES} if self.bin_dir else {}

    @cached_property
    def versions(self) -> dict[str, str]:
        """The daemon's and the client's versions as their binaries print them (`Docker version X, build Y`)."""
        def version(binary: str) -> str:
            text = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
            found = re.search(r"version ([^ ,]+)", text)
            return found.group(1) if found else f"unknown ({binary})"

        return {"daemon": version(self.dockerd), "cli": version(self.cli)}


def selected() -> DockerEngine:
    """The engine E2E_DOCKER names (29 by default)."""
    name = os.environ.get("E2E_DOCKER", "29")
    if name == "20.10":
        return DockerEngine("20.10", None)
    if name != "29":
        raise SystemExit(f"E2E_DOCKER={name}: the lab runs Docker 29 (the default) or Debian's 20.10")
    built = os.environ.get("BERTH_DOCKER_BIN")
    if not built:  # a scenario run without make e2e: the cached build, made if it is missing
        built = subprocess.run([str(PROJECT / "tools" / "docker-engine.sh")], capture_output=True, text=True,
                               check=True).stdout.strip()
    return DockerEngine("29", Path(built))
