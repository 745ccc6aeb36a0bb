"""Block volumes: a sparse raw file each, hot-plugged into a machine as a SCSI disk named as the clouds
name theirs.

udev builds /dev/disk/by-id/scsi-<ID_SERIAL> from the disk's SCSI inquiry data, and qemu's scsi-hd takes
vendor, product and serial as properties, so a volume attached with vendor DO, product Volume and the
volume's name as serial appears as /dev/disk/by-id/scsi-0DO_Volume_<name> (DigitalOcean's documented
path), and with vendor HC and the volume's id as /dev/disk/by-id/scsi-0HC_Volume_<id> (Hetzner's
`linux_device`). The same two dicts serve QMP's blockdev-add/device_add (hot-plug into a running machine)
and qemu's command line (a machine started again gets the volumes it had).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from .qmp import QMPError, execute, session

VENDORS = ("DO", "HC")


def check(vendor: str, serial: str) -> None:
    if vendor not in VENDORS:
        raise ValueError(f"volume vendor must be one of {VENDORS}, not {vendor!r}")
    # DigitalOcean volume names are at most 64 characters; udev keeps [A-Za-z0-9._-] of the identifier.
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", serial):
        raise ValueError(f"volume serial {serial!r}: 1-64 of A-Z a-z 0-9 . _ - (what the by-id name can carry)")


def node_name(volume_id: str) -> str:
    return f"volume-{volume_id}"


def blockdev(volume_id: str, path: Path) -> dict:
    return {"driver": "raw", "node-name": node_name(volume_id), "discard": "unmap",
            "file": {"driver": "file", "filename": str(path)}}


def device(volume_id: str, vendor: str, serial: str, scsi_id: int) -> dict:
    """udev's by-id name is "0" + vendor + "_" + product + "_" + the device identification VPD page's
    vendor-specific designator, which is `device_id`. qemu defaults device_id to the serial cut to 20
    characters (hw/scsi/scsi-disk.c, qemu 7.2; qemu 9.1 refuses a longer serial instead) and cuts the
    serial itself to 36 (page 0x80), so device_id is always given in full."""
    return {"driver": "scsi-hd", "id": node_name(volume_id), "drive": node_name(volume_id), "bus": "scsi0.0",
            "channel": 0, "scsi-id": scsi_id, "lun": 0, "vendor": vendor, "product": "Volume",
            "serial": serial[:36], "device_id": serial}


def free_scsi_id(taken: set[int]) -> int:
    """The lowest free target on the controller; 0 is the seed CD."""
    for scsi_id in range(1, 256):
        if scsi_id not in taken:
            return scsi_id
    raise RuntimeError("lab cloud: no free SCSI target on the machine (255 volumes)")


def create_file(path: Path, size_gib: int) -> None:
    """Sparse: a 100 GiB volume costs nothing until written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as handle:
        handle.truncate(size_gib * 1024**3)


def grow_file(path: Path, size_gib: int) -> None:
    with path.open("r+b") as handle:
        handle.truncate(size_gib * 1024**3)


def hotplug(qmp: Path, volume_id: str, path: Path, vendor: str, serial: str, scsi_id: int) -> None:
    execute(qmp, "blockdev-add", blockdev(volume_id, path))
    try:
        execute(qmp, "device_add", device(volume_id, vendor, serial, scsi_id))
    except QMPError:
        execute(qmp, "blockdev-del", {"node-name": node_name(volume_id)})
        raise


def unplug(qmp: Path, volume_id: str, timeout: float = 30.0) -> None:
    """device_del (a SCSI disk leaves at once, with no guest cooperation), wait until qemu has removed it
    (at most `timeout` seconds), then drop the block node so the file is closed."""
    name = node_name(volume_id)
    try:
        execute(qmp, "device_del", {"id": name})
    except QMPError as error:
        if error.klass != "DeviceNotFound":
            raise
    for _ in range(max(1, int(timeout / 0.2))):
        peripherals = session(qmp, [("qom-list", {"path": "/machine/peripheral"})])[0][1]
        if name not in {p["name"] for p in peripherals}:
            break
        time.sleep(0.2)
    else:
        raise TimeoutError(f"lab cloud: volume {volume_id} still attached {timeout:.0f}s after device_del")
    # The device leaves /machine/peripheral before qemu lets go of its block node (the unrealize finishes
    # a moment later, seen with disks that were on the command line): retry while the node is "in use".
    for attempt in range(max(1, int(timeout / 0.2))):
        try:
            execute(qmp, "blockdev-del", {"node-name": name})
            return
        except QMPError as error:
            text = str(error).lower()
            if "not found" in text or error.klass == "DeviceNotFound":
                return
            if "in use" not in text or attempt == int(timeout / 0.2) - 1:
                raise
            time.sleep(0.2)


def resize_attached(qmp: Path, volume_id: str, size_gib: int) -> None:
    """Tell a running machine the disk grew (the guest sees the new capacity, as after a cloud resize)."""
    execute(qmp, "block_resize", {"node-name": node_name(volume_id), "size": size_gib * 1024**3})
