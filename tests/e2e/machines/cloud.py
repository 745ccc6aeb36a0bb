"""The lab cloud: the API the DigitalOcean and Hetzner lab plugins call.

    cloud = Cloud.up(state_dir, NetworkSettings(netns="be2e-net", operator="op", ...), ca_certificate=pem)
    cloud = Cloud(state_dir)                     # any later process: everything is in state_dir
    m = cloud.create_machine("web-1", "digitalocean", ssh_keys=[key], user_data=text, memory_mib=2048)
    cloud.wait_ssh(m.id, key_path)               # qemu is started; the guest takes a minute or two (TCG)
    v = cloud.create_volume(10, "DO", "web-1-data"); cloud.attach_volume(v.id, m.id)
    ...
    down(state_dir)                              # every machine, disk, tap, rule and process, gone

Every method takes the state lock for its reads and writes and lets it go before long waits (a machine's
ACPI shutdown, SSH), so several plugin processes can work on the same cloud at once. Machines are
daemonized qemu processes and survive the process that created them. Every wait has a count and a time
limit; nothing asserts a duration.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import network, nft, packages, seed, vm, volumes
from .addresses import first_free, mac_for, plan
from .firewall import Firewall, Rule
from .network import NetworkSettings
from .procs import read_pid
from .qmp import execute
from .state import Store

DEFAULT_MEMORY_CAP_MIB = 1024
PROJECT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Machine:
    """What a provider reads back. `status` is "active" while qemu runs, else "off" (also after the guest
    powered itself off). `memory_mib` is what the machine has; `requested_memory_mib` what was asked."""

    id: str
    name: str
    provider: str
    address: str
    status: str
    memory_mib: int
    requested_memory_mib: int
    disk_gib: int
    volumes: tuple[str, ...]
    console_log: Path


@dataclass(frozen=True)
class Volume:
    id: str
    size_gib: int
    vendor: str
    serial: str
    machine: str | None

    @property
    def by_id(self) -> str:
        """The path the guest's udev gives it."""
        return f"/dev/disk/by-id/scsi-0{self.vendor}_Volume_{self.serial}"


@dataclass(frozen=True)
class Address:
    """kind: "machine" (a machine's own, from the pool, gone with it), "primary" (allocated on its own,
    a machine's own address while assigned, kept after: Hetzner's primary IP), "reserved" (an extra
    address mapped 1:1 to the machine it is assigned to: DigitalOcean's reserved IP)."""

    address: str
    kind: str
    machine: str | None


def build_image() -> Path:
    """tools/machine-image.sh: the cached image, built on first use (about 3 minutes)."""
    out = subprocess.run([str(PROJECT / "tools" / "machine-image.sh")], text=True, stdout=subprocess.PIPE, check=True)
    return Path(out.stdout.strip().splitlines()[-1])


class Cloud:
    def __init__(self, state_dir: Path | str):
        self.store = Store(state_dir)
        settings = self.store.settings()
        if settings is None:
            raise RuntimeError(f"lab cloud: nothing is up in {state_dir} (Cloud.up first)")
        self.network = NetworkSettings.from_dict(settings["network"])
        self.image = Path(settings["image"])
        self.ca_certificate: str | None = settings["ca_certificate"]
        self.memory_cap_mib: int = settings["memory_cap_mib"]
        self.blocked: tuple[str, ...] = tuple(settings["blocked"])
        self.plan = plan(self.network.subnet)

    @classmethod
    def up(cls, state_dir: Path | str, settings: NetworkSettings, image: Path | None = None,
           ca_certificate: str | None = None, memory_cap_mib: int = DEFAULT_MEMORY_CAP_MIB) -> Cloud:
        """Bring up the cloud network in `settings.netns` and record everything in `state_dir`.
        `image`: a directory from tools/machine-image.sh (built when None). `ca_certificate`: PEM the
        machines trust (a vendor data boothook, seed.trusted_ca). `memory_cap_mib`: machines get at most this much memory
        whatever their size asks (TCG and the lab machine's RAM), which Machine.memory_mib shows."""
        store = Store(state_dir)
        if store.settings() is not None:
            raise RuntimeError(f"lab cloud: {state_dir} is already up (down() first)")
        packages.ensure()
        image = image or build_image()
        if not (image / "done").exists():
            raise RuntimeError(f"lab cloud: {image} is not a finished image (no done stamp)")
        with store.locked():
            # The settings first, so that down() can clean up a network that failed half-way.
            record = {"network": settings.to_dict(), "image": str(image), "ca_certificate": ca_certificate,
                      "memory_cap_mib": memory_cap_mib, "blocked": []}
            store.put_settings(record)
            try:
                blocked = network.up(settings, store.root / "network")
            except BaseException:
                down(state_dir)
                raise
            store.put_settings({**record, "blocked": list(blocked)})
        return cls(state_dir)

    # --- machines ------------------------------------------------------------------------------

    def _paths(self, machine_id: str) -> vm.Paths:
        return vm.Paths(self.store.root / "machines" / machine_id)

    def machine(self, machine_id: str) -> Machine:
        record = self.store.require("machine", machine_id)
        attached = tuple(v["id"] for v in self.store.all("volume") if v["machine"] == machine_id)
        paths = self._paths(machine_id)
        return Machine(record["id"], record["name"], record["provider"], record["address"],
                       "active" if vm.running(paths) else "off", record["memory_mib"],
                       record["requested_memory_mib"], record["disk_gib"], attached, paths.console)

    def machines(self) -> list[Machine]:
        return [self.machine(r["id"]) for r in self.store.all("machine")]

    def create_machine(self, name: str, provider: str, ssh_keys: list[str], user_data: str | bytes | None = None,
                       memory_mib: int = 1024, disk_gib: int = 10, address: str | None = None) -> Machine:
        """A new machine, started: returns once qemu runs (the guest then boots; see wait_ssh).
        provider: "digitalocean" or "hetzner" (vendor data, SMBIOS). ssh_keys: public keys, injected for
        root as the clouds do (meta-data public-keys). user_data: given to cloud-init byte for byte.
        address: a "primary" address (allocate_address) to be the machine's own; else one from the pool."""
        if provider not in vm.MANUFACTURER:
            raise ValueError(f"provider must be one of {sorted(vm.MANUFACTURER)}")
        with self.store.locked():
            machine_id = self.store.next_id("machine", start=101)
            if address is None:
                used = {a["address"] for a in self.store.all("address")}
                address = first_free(self.plan.machines, used)
                self.store.put("address", address, {"address": address, "kind": "machine", "machine": machine_id})
            else:
                record = self.store.require("address", address)
                if record["kind"] != "primary" or record["machine"]:
                    raise RuntimeError(f"lab cloud: address {address} is not a free primary address")
                self.store.put("address", address, {**record, "machine": machine_id})
            memory = min(memory_mib, self.memory_cap_mib)
            record = {"id": machine_id, "name": name, "provider": provider, "address": address,
                      "mac": mac_for(address), "tap": f"vm{machine_id}", "memory_mib": memory,
                      "requested_memory_mib": memory_mib, "disk_gib": disk_gib, "created_at": time.time(),
                      "started_at": None}
            paths = self._paths(machine_id)
            try:
                vm.create_disk(paths, self.image, disk_gib)
                seed.write_iso(paths.seed_dir, paths.seed, {
                    "meta-data": seed.meta_data(machine_id, name, ssh_keys),
                    "user-data": user_data or b"",
                    "vendor-data": seed.vendor_data(provider, self.ca_certificate),
                    "network-config": seed.network_config(record["mac"], address, self.plan.prefixlen,
                                                          self.plan.gateway, self.plan.gateway),
                })
                self.store.put("machine", machine_id, record)
                self._start(record)
            except BaseException:
                self._forget_machine(machine_id)
                raise
            self._sync_rules()
        return self.machine(machine_id)

    def _start(self, record: dict) -> None:
        """qemu for `record`, with the volumes attached to it (lock held)."""
        paths = self._paths(record["id"])
        attached = [v for v in self.store.all("volume") if v["machine"] == record["id"]]
        devices = [(volumes.blockdev(v["id"], Path(v["path"])),
                    volumes.device(v["id"], v["vendor"], v["serial"], v["scsi_id"])) for v in attached]
        network.add_tap(self.network, record["tap"])
        vm.start(self.network.netns, vm.qemu_argv(
            machine_id=record["id"], provider=record["provider"], paths=paths, image=self.image,
            memory_mib=record["memory_mib"], mac=record["mac"], tap=record["tap"], volumes=devices), paths)
        self.store.put("machine", record["id"], {**record, "started_at": time.time()})

    def power_off(self, machine_id: str, graceful: bool = True, timeout: float = 180.0) -> bool:
        """Power off: graceful = the ACPI power button, then a hard stop after `timeout` seconds (DigitalOcean's
        `shutdown`, Hetzner's `shutdown`); graceful=False = a hard stop at once (both clouds' `power_off`).
        Disk, address and volume attachments stay. Returns True if the guest shut down by itself."""
        self.store.require("machine", machine_id)
        return vm.stop(self._paths(machine_id), graceful, timeout)

    def power_on(self, machine_id: str) -> Machine:
        """Start a powered-off machine again: the same disk, address and volumes (re-added from the first
        instruction, as a cloud's hypervisor gives them). Nothing happens if it runs."""
        with self.store.locked():
            record = self.store.require("machine", machine_id)
            if not vm.running(self._paths(machine_id)):
                self._start(record)
        return self.machine(machine_id)

    def reboot(self, machine_id: str, timeout: float = 600.0) -> float:
        """A guest reboot, as the clouds' graceful reboot asks it: ctrl-alt-del on the machine's keyboard
        (systemd reboots); qemu keeps running, so hot-plugged volumes stay. Returns once the guest's kernel
        has started again (seconds waited); SSH comes some time after (wait_ssh)."""
        paths = self._paths(machine_id)
        before = vm.kernel_boots(paths)
        execute(paths.qmp, "send-key", {"keys": [{"type": "qcode", "data": k} for k in ("ctrl", "alt", "delete")]})
        return vm.wait_until(f"machine {machine_id}'s reboot", lambda: vm.kernel_boots(paths) > before, timeout)

    def reset(self, machine_id: str) -> None:
        """A hard reset (the reset button): no shutdown, the guest's unsynced writes are lost."""
        execute(self._paths(machine_id).qmp, "system_reset")

    def resize(self, machine_id: str, memory_mib: int, disk_gib: int | None = None, power_on: bool = True,
               graceful: bool = False, timeout: float = 180.0) -> Machine:
        """DigitalOcean's resize and Hetzner's type change: power off (hard, as both providers' code does,
        unless graceful), new memory (capped), a bigger disk if asked (never smaller), then power on
        (DigitalOcean does; Hetzner's provider leaves the server off: power_on=False)."""
        self.power_off(machine_id, graceful=graceful, timeout=timeout)
        with self.store.locked():
            record = self.store.require("machine", machine_id)
            if disk_gib is not None and disk_gib != record["disk_gib"]:
                if disk_gib < record["disk_gib"]:
                    raise ValueError(f"lab cloud: a disk cannot shrink ({record['disk_gib']} -> {disk_gib} GiB)")
                vm.grow_disk(self._paths(machine_id), disk_gib)
                record["disk_gib"] = disk_gib
            record.update(memory_mib=min(memory_mib, self.memory_cap_mib), requested_memory_mib=memory_mib)
            self.store.put("machine", machine_id, record)
        return self.power_on(machine_id) if power_on else self.machine(machine_id)

    def delete_machine(self, machine_id: str) -> None:
        """Destroy: qemu stopped hard, disk and tap removed; its volumes stay (detached), a reserved address
        is unassigned, a primary address is kept unassigned, its own pool address is freed, and it leaves
        every firewall. Quiet if it is already gone."""
        if self.store.get("machine", machine_id) is None:
            return
        vm.stop(self._paths(machine_id), graceful=False, timeout=0)
        with self.store.locked():
            self._forget_machine(machine_id)
            self._sync_rules()

    def _forget_machine(self, machine_id: str) -> None:
        record = self.store.get("machine", machine_id)
        paths = self._paths(machine_id)
        vm.stop(paths, graceful=False, timeout=0)
        network.remove_tap(self.network, f"vm{machine_id}")
        for v in self.store.all("volume"):
            if v["machine"] == machine_id:
                self.store.put("volume", v["id"], {**v, "machine": None, "scsi_id": None})
        for a in self.store.all("address"):
            if a["machine"] == machine_id:
                if a["kind"] == "machine":
                    self.store.delete("address", a["address"])
                else:
                    self.store.put("address", a["address"], {**a, "machine": None})
        for f in self.store.all("firewall"):
            if machine_id in f["machines"]:
                self.store.put("firewall", f["id"], {**f, "machines": [m for m in f["machines"] if m != machine_id]})
        shutil.rmtree(paths.root, ignore_errors=True)
        if record is not None:
            self.store.delete("machine", machine_id)

    def wait_ssh(self, machine_id: str, key_path: Path | str | None = None, timeout: float = 900.0,
                 user: str = "root") -> float:
        """Wait until SSH answers: with `key_path`, until `ssh user@address true` succeeds (the key is
        installed); without, until sshd sends its banner. Checks every 3 s, at most `timeout` seconds; fails
        at once (with the console's tail) if qemu has stopped. Returns seconds since qemu started."""
        record = self.store.require("machine", machine_id)
        paths = self._paths(machine_id)
        probe = (lambda: _ssh_ok(record["address"], key_path, user)) if key_path else \
            (lambda: _ssh_banner(record["address"]))

        def ready() -> bool:
            if not vm.running(paths):
                raise RuntimeError(f"lab cloud: machine {machine_id} is not running; console:\n{vm.console_tail(paths)}")
            return probe()

        try:
            vm.wait_until(f"SSH on machine {machine_id} ({record['address']})", ready, timeout, interval=3.0)
        except TimeoutError as error:
            raise TimeoutError(f"{error}; console:\n{vm.console_tail(paths)}") from None
        started = self.store.require("machine", machine_id)["started_at"]
        return time.time() - started

    # --- volumes -------------------------------------------------------------------------------

    def volume(self, volume_id: str) -> Volume:
        r = self.store.require("volume", volume_id)
        return Volume(r["id"], r["size_gib"], r["vendor"], r["serial"], r["machine"])

    def volumes(self) -> list[Volume]:
        return [self.volume(r["id"]) for r in self.store.all("volume")]

    def create_volume(self, size_gib: int, vendor: str, serial: str) -> Volume:
        """A blank volume (a sparse file). vendor "DO" with the volume's name as serial, or "HC" with its
        id: see volumes.py for the by-id path each gives."""
        volumes.check(vendor, serial)
        with self.store.locked():
            if any(v["vendor"] == vendor and v["serial"] == serial for v in self.store.all("volume")):
                raise RuntimeError(f"lab cloud: a {vendor} volume {serial!r} exists already")
            volume_id = self.store.next_id("volume", start=1001)
            path = self.store.root / "volumes" / f"{volume_id}.raw"
            volumes.create_file(path, size_gib)
            self.store.put("volume", volume_id, {"id": volume_id, "size_gib": size_gib, "vendor": vendor,
                                                 "serial": serial, "path": str(path), "machine": None, "scsi_id": None})
        return self.volume(volume_id)

    def attach_volume(self, volume_id: str, machine_id: str) -> Volume:
        """Hot-plug into a running machine (or recorded, and present from the next power on)."""
        with self.store.locked():
            v = self.store.require("volume", volume_id)
            self.store.require("machine", machine_id)
            if v["machine"] == machine_id:
                return self.volume(volume_id)
            if v["machine"]:
                raise RuntimeError(f"lab cloud: volume {volume_id} is attached to machine {v['machine']}")
            taken = {o["scsi_id"] for o in self.store.all("volume") if o["machine"] == machine_id}
            scsi_id = volumes.free_scsi_id(taken)
            paths = self._paths(machine_id)
            if vm.running(paths):
                volumes.hotplug(paths.qmp, volume_id, Path(v["path"]), v["vendor"], v["serial"], scsi_id)
            self.store.put("volume", volume_id, {**v, "machine": machine_id, "scsi_id": scsi_id})
        return self.volume(volume_id)

    def detach_volume(self, volume_id: str) -> Volume:
        """Unplug (the guest loses the disk at once: unmount first, as on the clouds). Quiet if detached."""
        with self.store.locked():
            v = self.store.require("volume", volume_id)
            if v["machine"]:
                paths = self._paths(v["machine"])
                if vm.running(paths):
                    volumes.unplug(paths.qmp, volume_id)
                self.store.put("volume", volume_id, {**v, "machine": None, "scsi_id": None})
        return self.volume(volume_id)

    def resize_volume(self, volume_id: str, size_gib: int) -> Volume:
        """Grow (never shrink, as on both clouds); an attached volume's new size reaches the guest at once."""
        with self.store.locked():
            v = self.store.require("volume", volume_id)
            if size_gib < v["size_gib"]:
                raise ValueError(f"lab cloud: a volume cannot shrink ({v['size_gib']} -> {size_gib} GiB)")
            volumes.grow_file(Path(v["path"]), size_gib)
            if v["machine"] and vm.running(self._paths(v["machine"])):
                volumes.resize_attached(self._paths(v["machine"]).qmp, volume_id, size_gib)
            self.store.put("volume", volume_id, {**v, "size_gib": size_gib})
        return self.volume(volume_id)

    def delete_volume(self, volume_id: str) -> None:
        """Remove a detached volume and its data; refused while attached. Quiet if gone."""
        with self.store.locked():
            v = self.store.get("volume", volume_id)
            if v is None:
                return
            if v["machine"]:
                raise RuntimeError(f"lab cloud: volume {volume_id} is attached to machine {v['machine']}; detach first")
            Path(v["path"]).unlink(missing_ok=True)
            self.store.delete("volume", volume_id)

    # --- addresses -----------------------------------------------------------------------------

    def addresses(self) -> list[Address]:
        return [Address(a["address"], a["kind"], a["machine"]) for a in self.store.all("address")]

    def allocate_address(self, kind: str) -> Address:
        """A standalone address: "reserved" (assign_address maps it to a machine) or "primary" (give it to
        create_machine). It lives until release_address."""
        if kind not in ("reserved", "primary"):
            raise ValueError("kind must be reserved or primary")
        with self.store.locked():
            address = first_free(self.plan.standalone, {a["address"] for a in self.store.all("address")})
            self.store.put("address", address, {"address": address, "kind": kind, "machine": None})
        return Address(address, kind, None)

    def assign_address(self, address: str, machine_id: str) -> None:
        """Map a reserved address to a machine (moving it from any other): new connections to it reach the
        machine from then on."""
        with self.store.locked():
            a = self.store.require("address", address)
            if a["kind"] != "reserved":
                raise RuntimeError(f"lab cloud: {address} is not a reserved address")
            self.store.require("machine", machine_id)
            self.store.put("address", address, {**a, "machine": machine_id})
            self._sync_rules()

    def unassign_address(self, address: str) -> None:
        with self.store.locked():
            a = self.store.require("address", address)
            if a["kind"] != "reserved":
                raise RuntimeError(f"lab cloud: {address} is not a reserved address")
            self.store.put("address", address, {**a, "machine": None})
            self._sync_rules()

    def release_address(self, address: str) -> None:
        """Give a standalone address back (a reserved one is unassigned first); refused for a primary
        address while it is a machine's own. Quiet if gone."""
        with self.store.locked():
            a = self.store.get("address", address)
            if a is None:
                return
            if a["kind"] == "machine" or (a["kind"] == "primary" and a["machine"]):
                raise RuntimeError(f"lab cloud: {address} is machine {a['machine']}'s own address")
            self.store.delete("address", address)
            self._sync_rules()

    # --- firewalls -----------------------------------------------------------------------------

    def firewall(self, firewall_id: str) -> Firewall:
        return Firewall.from_dict(self.store.require("firewall", firewall_id))

    def create_firewall(self, provider: str, inbound: list[Rule], outbound: list[Rule],
                        machines: list[str] = ()) -> Firewall:
        """A cloud firewall with `provider`'s semantics (firewall.py), applied at once to `machines`
        (the caller resolves DigitalOcean tags and Hetzner apply-to into machine ids)."""
        with self.store.locked():
            firewall_id = self.store.next_id("firewall", start=501)
            rule = Firewall(firewall_id, provider, tuple(inbound), tuple(outbound), tuple(machines))
            self.store.put("firewall", firewall_id, rule.to_dict())
            self._sync_rules()
        return self.firewall(firewall_id)

    def update_firewall(self, firewall_id: str, inbound: list[Rule] | None = None,
                        outbound: list[Rule] | None = None, machines: list[str] | None = None) -> Firewall:
        """Replace the rules and/or the set of machines, in place (one atomic ruleset swap)."""
        with self.store.locked():
            current = Firewall.from_dict(self.store.require("firewall", firewall_id))
            updated = Firewall(firewall_id, current.provider,
                               current.inbound if inbound is None else tuple(inbound),
                               current.outbound if outbound is None else tuple(outbound),
                               current.machines if machines is None else tuple(machines))
            self.store.put("firewall", firewall_id, updated.to_dict())
            self._sync_rules()
        return self.firewall(firewall_id)

    def delete_firewall(self, firewall_id: str) -> None:
        with self.store.locked():
            self.store.delete("firewall", firewall_id)
            self._sync_rules()

    def _sync_rules(self) -> None:
        """Render the router's table from the records and swap it in (lock held)."""
        machines = {m["id"]: m["address"] for m in self.store.all("machine")}
        reserved = {a["address"]: machines[a["machine"]] for a in self.store.all("address")
                    if a["kind"] == "reserved" and a["machine"] in machines}
        firewalls = [Firewall.from_dict(f) for f in self.store.all("firewall")]
        nft.apply(self.network.netns, nft.render(network.links(self.network, self.blocked), machines, reserved,
                                                 firewalls))


def down(state_dir: Path | str) -> None:
    """Remove everything the cloud in `state_dir` made: machines (qemu stopped), disks, volumes, taps, the
    nft table, dnsmasq, slirp4netns, the bridge, the host route, and state_dir itself. Safe to call when
    nothing (or only part of it) is there; the router namespace stays (it is the caller's)."""
    store = Store(state_dir)
    if not store.root.exists():
        return
    for pid_file in store.root.glob("machines/*/qemu.pid"):
        paths = vm.Paths(pid_file.parent)
        if read_pid(paths.pid):
            vm.stop(paths, graceful=False, timeout=0)
    settings = store.settings()
    if settings is not None:
        network.down(NetworkSettings.from_dict(settings["network"]), store.root / "network")
    shutil.rmtree(store.root, ignore_errors=True)


def _ssh_ok(address: str, key_path, user: str) -> bool:
    argv = ["ssh", "-q", "-i", str(key_path), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
            f"{user}@{address}", "true"]
    try:
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _ssh_banner(address: str) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=5) as sock:
            return sock.recv(8).startswith(b"SSH-")
    except OSError:
        return False


