"""Processes the lab cloud started and must find again from another process: qemu, slirp4netns, dnsmasq.

A pid alone is not proof (pids are reused), so each check also reads the process's command line for a
marker that only our own process has (its pid file, its machine's directory). Nothing is ever killed by
name; only the pid we recorded, and only when its command line still carries our marker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def sh(*argv: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), text=True, capture_output=True, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"lab cloud: {' '.join(argv)} failed ({result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()}")
    return result


def in_ns(netns: str, *argv: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """A command inside the router's namespace (nsenter keeps /sys, unlike `ip netns exec`)."""
    return sh("nsenter", f"--net=/run/netns/{netns}", *argv, check=check, **kwargs)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int | None, marker: str) -> bool:
    """`pid` runs and its command line contains `marker`."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return marker in cmdline and state != "Z"


def wait_gone(pid: int | None, marker: str, timeout: float, interval: float = 0.2) -> bool:
    """Wait at most `timeout` seconds (`timeout / interval` checks) for the process to end."""
    for _ in range(max(1, int(timeout / interval))):
        if not alive(pid, marker):
            return True
        time.sleep(interval)
    return not alive(pid, marker)


def kill(pid: int | None, marker: str, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds: only our own process (see `alive`)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not alive(pid, marker):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_gone(pid, marker, timeout):
            return
    raise RuntimeError(f"lab cloud: process {pid} ({marker}) survived SIGKILL")
