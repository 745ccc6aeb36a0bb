"""The Debian packages the lab cloud runs on this machine, installed by name with apt-get when missing.

The image script installs its own (mmdebstrap, e2fsprogs, qemu-utils, zstd); these are what Cloud.up and
the machines need. A refusal (no network to the mirror, no root, a held package) ends with one clear line
naming what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess

# command -> Debian package
NEEDED = {
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "genisoimage": "genisoimage",
    "slirp4netns": "slirp4netns",
    "nft": "nftables",
    "dnsmasq": "dnsmasq-base",
    "ssh": "openssh-client",
    "bridge": "iproute2",
}


def missing() -> list[str]:
    return sorted({package for command, package in NEEDED.items() if not shutil.which(command)})


def ensure() -> None:
    packages = missing()
    if not packages:
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"lab cloud: needs root, and the packages {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=900", "--no-install-recommends", *packages]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=900"], env=env, capture_output=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"lab cloud: apt-get refused to install {' '.join(packages)}: "
                               f"{result.stderr.strip().splitlines()[-1:]}; install them and run again")
