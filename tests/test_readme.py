"""Every command in the README's shell blocks that needs no cloud runs, verbatim, and succeeds."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from readme import commands, run_verbatim

from tooling.evaluate import PROJECT_DIR

# The suite itself (make test would run this test again; make e2e needs root and minutes), commands that
# need a Pulumi stack, its outputs or a host, and `make preview`, which needs the Pulumi CLI (a 7-minute build
# on a fresh machine): the real-host suite runs the README's `make preview` lines verbatim
# (tests/e2e/test_preview.py), with the CLI it builds anyway.
NEEDS_MORE = re.compile(r"^(make (test|e2e|e2e-docker20|bench-release|preview)|pulumi |ssh |git )|^(bin/)?berth (?!--help)")


def test_the_readme_has_the_set_up_commands_and_they_are_classified():
    assert {"make plan", "make test", "make e2e"} <= set(commands())
    runnable = [c for c in commands() if not NEEDS_MORE.search(c)]
    assert "make plan" in runnable and "berth --help" in runnable and len(runnable) >= 5


@pytest.mark.parametrize("command", [c for c in commands() if not NEEDS_MORE.search(c)])
def test_a_readme_command_runs_verbatim(command):
    result = run_verbatim(command, timeout=300)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"


def _system_packages(tmp_path: Path, uid: int, present: tuple[str, ...], with_apt: bool) -> subprocess.CompletedProcess:
    """tools/system-packages on a machine that has only `present` of npm and cloud-init."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stubs = {"id": f"echo {uid}", **{name: "exit 0" for name in present}}
    if with_apt:
        stubs["apt-get"] = f'echo "$*" >> {tmp_path / "apt.log"}'
        stubs["env"] = 'shift; "$@"'  # `env VAR=value command...`
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return subprocess.run(["/bin/bash", str(PROJECT_DIR / "tools" / "system-packages")], capture_output=True, text=True,
                          env={"PATH": str(bin_dir)})


# sshd is looked for in /usr/sbin too (a user's PATH may lack it): there, this machine's own answer counts.
SSHD_MISSING = [] if Path("/usr/sbin/sshd").exists() else ["openssh-server"]


def test_make_test_installs_cloud_init_where_it_can(tmp_path):
    """A fresh Debian or Ubuntu machine, as root: what the suite checks rendered texts with gets installed."""
    result = _system_packages(tmp_path, uid=0, present=("npm", "ssh-keyscan", "sshd"), with_apt=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "apt.log").read_text().splitlines() == [
        "update -q", "install -y -q --no-install-recommends cloud-init"]


def test_make_test_installs_the_ssh_client_and_server_where_it_can(tmp_path):
    result = _system_packages(tmp_path, uid=0, present=("npm", "cloud-init"), with_apt=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "apt.log").read_text().splitlines() == [
        "update -q", " ".join(["install -y -q --no-install-recommends openssh-client", *SSHD_MISSING])]


def test_make_test_says_in_one_line_what_to_install_where_it_cannot(tmp_path):
    result = _system_packages(tmp_path, uid=1000, present=(), with_apt=False)
    assert result.returncode == 1 and result.stdout == ""
    packages = " ".join(["nodejs", "npm", "cloud-init", "openssh-client", *SSHD_MISSING])
    assert result.stderr == f"make test needs {packages}: on Debian or Ubuntu, sudo apt-get install {packages}\n"
