"""One machine's qemu: its command line (pure), starting it inside the router namespace, and stopping it.

A machine is qemu under TCG (this machine's /dev/kvm is PVM and cannot run a stock kernel; see
../shared/spikes/real-machine/README.md), one vCPU, the image's kernel booted directly, the root disk a
qcow2 overlay on the image's base, the NoCloud seed a CD on the virtio-scsi controller that also takes the
volumes (so the first volume is /dev/sda, as on DigitalOcean). qemu runs inside the router namespace, so
it opens its tap there, under `nice`, daemonized (it outlives the process that started it), with a QMP
socket and the serial console appended to console.log.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from .procs import alive, in_ns, kill, read_pid, sh, wait_gone
from .qmp import QMPError, execute

KERNEL_ARGS = "root=/dev/vda rw console=ttyS0,115200 net.ifnames=0 panic=10"
# What the clouds' hypervisors say in SMBIOS (cloud-init's DataSourceDigitalOcean and DataSourceHetzner
# read system-manufacturer; Hetzner's also compares the serial with the instance id).
MANUFACTURER = {"digitalocean": "DigitalOcean", "hetzner": "Hetzner"}


@dataclass(frozen=True)
class Paths:
    """A machine's files under <state>/machines/<id>/."""

    root: Path

    disk = property(lambda self: self.root / "disk.qcow2")
    seed = property(lambda self: self.root / "seed.iso")
    seed_dir = property(lambda self: self.root / "seed")
    console = property(lambda self: self.root / "console.log")
    qmp = property(lambda self: self.root / "qmp.sock")
    pid = property(lambda self: self.root / "qemu.pid")


def qemu_argv(*, machine_id: str, provider: str, paths: Paths, image: Path, memory_mib: int, mac: str, tap: str,
              volumes: list[tuple[dict, dict]] = ()) -> list[str]:
    """The qemu command line; `volumes` are (blockdev, device) pairs as volumes.py renders them, so a
    machine started again has the volumes it had, from its first instruction on."""
    argv = [
        "qemu-system-x86_64", "-name", f"berth-machine-{machine_id}",
        "-accel", "tcg,tb-size=256", "-cpu", "qemu64", "-machine", "q35", "-smp", "1", "-m", str(memory_mib),
        "-nodefaults", "-display", "none", "-vga", "none",
        "-smbios", f"type=1,manufacturer={MANUFACTURER[provider]},serial={machine_id}",
        "-chardev", f"file,id=console,path={paths.console},append=on", "-serial", "chardev:console",
        "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img"), "-append", KERNEL_ARGS,
        "-drive", f"file={paths.disk},if=none,id=root,format=qcow2,discard=unmap",
        "-device", "virtio-blk-pci,drive=root",
        "-device", "virtio-scsi-pci,id=scsi0",
        "-drive", f"file={paths.seed},if=none,id=seed,format=raw,readonly=on,media=cdrom",
        "-device", "scsi-cd,drive=seed,bus=scsi0.0,channel=0,scsi-id=0,lun=0",
        "-netdev", f"tap,id=net0,ifname={tap},script=no,downscript=no",
        "-device", f"virtio-net-pci,netdev=net0,mac={mac}",
        "-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-pci,rng=rng0",
        "-qmp", f"unix:{paths.qmp},server=on,wait=off",
        "-pidfile", str(paths.pid), "-daemonize",
    ]
    for blockdev, device in volumes:
        argv += ["-blockdev", json.dumps(blockdev, sort_keys=True), "-device", json.dumps(device, sort_keys=True)]
    return argv


def create_disk(paths: Paths, image: Path, disk_gib: int) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    sh("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(image / "base.qcow2"), str(paths.disk),
       f"{disk_gib}G")


def grow_disk(paths: Paths, disk_gib: int) -> None:
    """A bigger root disk (never smaller, as on both clouds); cloud-init grows the filesystem at boot."""
    sh("qemu-img", "resize", "-q", str(paths.disk), f"{disk_gib}G")


def marker(paths: Paths) -> str:
    """What only this machine's qemu has on its command line."""
    return str(paths.pid)


def running(paths: Paths) -> bool:
    return alive(read_pid(paths.pid), marker(paths))


def start(netns: str, argv: list[str], paths: Paths) -> None:
    """Start qemu in the router namespace under nice; returns once qemu has daemonized."""
    for stale in (paths.qmp, paths.pid):
        stale.unlink(missing_ok=True)
    in_ns(netns, "nice", "-n", "10", *argv)
    if not running(paths):
        raise RuntimeError(f"lab cloud: qemu did not stay up; see {paths.console}")


def stop(paths: Paths, graceful: bool, timeout: float) -> bool:
    """Power off. graceful: the ACPI power button first, and a hard stop only if the guest is still up
    after `timeout` seconds; otherwise a hard stop at once (QMP quit: qemu closes its disks cleanly, the
    guest gets no warning, as when a cloud cuts the power). Returns True if the guest shut down by itself."""
    pid, mark = read_pid(paths.pid), marker(paths)
    if not alive(pid, mark):
        return True
    if graceful:
        try:
            execute(paths.qmp, "system_powerdown")
        except (OSError, QMPError):
            pass
        if wait_gone(pid, mark, timeout, interval=0.5):
            return True
    try:
        execute(paths.qmp, "quit", timeout=10)
    except (OSError, QMPError):
        pass
    if not wait_gone(pid, mark, 10):
        kill(pid, mark)
    return False


def kernel_boots(paths: Paths) -> int:
    """How many times the guest kernel started since the machine was created (the console log is
    appended across resets and restarts)."""
    try:
        return paths.console.read_bytes().count(b"Linux version ")
    except FileNotFoundError:
        return 0


def console_tail(paths: Paths, lines: int = 20) -> str:
    try:
        return "\n".join(paths.console.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no console log)"


def wait_until(what: str, probe, timeout: float, interval: float = 2.0) -> float:
    """Probe every `interval` seconds, at most `timeout / interval` times; returns the seconds waited."""
    start_time = time.monotonic()
    for _ in range(max(1, int(timeout / interval))):
        if probe():
            return time.monotonic() - start_time
        time.sleep(interval)
    if probe():
        return time.monotonic() - start_time
    raise TimeoutError(f"lab cloud: {what} not within {timeout:.0f}s")


