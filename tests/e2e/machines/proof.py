"""What the hand-run proofs of the lab cloud share (machines/smoke.py, plugins/cloudproof.py): timed steps, checks
that end the run with the proof's name, and probes into and out of the guests with the run's own key."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .procs import sh


@dataclass
class Proof:
    name: str  # in every failure: "smoke: FAILED: ..."
    work: Path  # holds the run's key pair, id_ed25519
    timings: list[tuple[str, float]] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Print and keep the seconds a step took (a step that raises keeps none)."""
        start = time.monotonic()
        print(f"-- {name}", flush=True)
        yield
        took = time.monotonic() - start
        self.timings.append((name, took))
        print(f"   ok {took:.1f} s", flush=True)

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            raise SystemExit(f"{self.name}: FAILED: {what}")
        print(f"   {what}", flush=True)

    def ssh(self, address: str, command: str, user: str = "root", check_rc: bool = True,
            timeout: float = 600) -> subprocess.CompletedProcess:
        argv = ["ssh", "-q", "-i", str(self.work / "id_ed25519"), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
                f"{user}@{address}", command]
        result = subprocess.run(argv, text=True, capture_output=True, timeout=timeout)
        if check_rc and result.returncode != 0:
            raise SystemExit(f"{self.name}: FAILED: ssh {user}@{address} {command!r}: {result.returncode} "
                             f"{result.stderr.strip()}")
        return result

    def guest_open(self, address: str, target: str, port: int) -> bool:
        """A TCP connect from inside the machine at `address` (8 s at most)."""
        probe = f"timeout 8 bash -c 'echo > /dev/tcp/{target}/{port}' 2>/dev/null && echo open || echo closed"
        return self.ssh(address, probe).stdout.strip() == "open"

    def wait_ssh_all(self, cloud, machine_ids: list[str], timeout: float) -> dict[str, float]:
        """SSH as root with the run's key on machines booting at once: the seconds each took from qemu's start."""
        waited: dict[str, float] = {}

        def wait(machine_id: str) -> None:
            waited[machine_id] = cloud.wait_ssh(machine_id, self.work / "id_ed25519", timeout=timeout)

        threads = [threading.Thread(target=wait, args=(m,)) for m in machine_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.check(set(waited) == set(machine_ids), f"{len(machine_ids)} machines answer SSH")
        return waited

    def report(self, started: float) -> None:
        print("\nstep timings (s):")
        for name, took in self.timings:
            print(f"  {took:7.1f}  {name}")
        print(f"  {time.monotonic() - started:7.1f}  total")


def tcp_open(address: str, port: int, netns: str | None = None, timeout: float = 5) -> bool:
    """A TCP connect from the lab machine, or from inside `netns` (another source address)."""
    if netns:
        probe = f"import socket; socket.create_connection(({address!r}, {port}), timeout={timeout})"
        return sh("nsenter", f"--net=/run/netns/{netns}", sys.executable, "-c", probe, check=False).returncode == 0
    try:
        socket.create_connection((address, port), timeout=timeout).close()
        return True
    except OSError:
        return False
