"""The lab's provider plugins: each serves one Pulumi package under its real name and the version its
Python SDK asks for, and does the work on the lab (tests/e2e/README.md says what each stands in for).

`install(bin_dir)` writes one `pulumi-resource-<package>` launcher per package; with `bin_dir` first on
PATH, the engine loads them as it would load the real providers.
"""

from __future__ import annotations

import importlib
import shlex
import sys
from pathlib import Path

PACKAGES = ("docker", "command", "tls", "random", "cloudflare", "digitalocean", "hcloud")
ROOT = Path(__file__).resolve().parents[3]  # the repository: the plugins import tests.e2e.plugins from it


def package(name: str):
    return importlib.import_module(f"{__name__}.{name}").PACKAGE


def install(bin_dir: Path, python: str = sys.executable) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES:
        launcher = bin_dir / f"pulumi-resource-{name}"
        launcher.write_text("#!/bin/sh\n"
                            f"export PYTHONPATH={shlex.quote(str(ROOT))}${{PYTHONPATH:+:$PYTHONPATH}}\n"
                            f"exec {shlex.quote(python)} -m tests.e2e.plugins {name} \"$@\"\n")
        launcher.chmod(0o755)
    return bin_dir
