"""The README's shell commands, and how a test runs one as a user types it (tests/test_readme.py runs those
that need no Pulumi CLI; the real-host suite runs `make preview`)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
README = (PROJECT_DIR / "README.md").read_text()


def commands() -> list[str]:
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.DOTALL):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command and not command.startswith("#"):
                found.append(command)
    return found


def run_verbatim(command: str, timeout: float) -> subprocess.CompletedProcess:
    """A README command as a user types it (the venv's commands on PATH), in a session of its own: on timeout
    its whole process group is killed, so nothing it started (a build) goes on after the test."""
    venv_bin = Path(sys.executable).parent  # as after `. .venv/bin/activate`
    env = {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", "COLUMNS": "200"}
    process = subprocess.Popen(["bash", "-c", command], cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(f"{command} took more than {timeout:.0f} s:\n{stdout[-2000:]}\n{stderr[-2000:]}") from None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
