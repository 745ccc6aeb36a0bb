"""The backend's memory: JSON records on disk under one file lock.

Several lab plugin processes (one per provider package, each started and stopped by the engine) act on the
same machines at once, and a machine outlives the process that created it. So nothing is kept in memory
between calls: every operation takes the lock, reads the records it needs, acts, writes them back, and lets
go. A record is written to a temporary file and renamed, so a killed process never leaves half a record.

Layout under the state directory:

    lock                      the flock every operation takes
    cloud.json                the network's settings (written by `Cloud.up`)
    counter.json              the next id per kind
    records/<kind>/<id>.json  one record per machine, volume, address, firewall
    providers/<name>/<kind>/  the lab plugins' own records (plugins/labcloud.py)
    machines/<id>/            a machine's files: disk.qcow2, seed.iso, console.log, qmp.sock, qemu.pid
    volumes/<id>.raw          a volume's disk
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

KINDS = ("machine", "volume", "address", "firewall")


class Store:
    """Records of one lab cloud. Use `with store.locked():` around every read-modify-write."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._depth = 0
        self._lock_file = None
        self.records = Shelf(self, self.root / "records", kinds=KINDS)  # the Cloud's own records

    @contextlib.contextmanager
    def locked(self, timeout: float = 300.0) -> Iterator[Store]:
        """The state directory's lock, re-entrant within this process; waits at most `timeout` seconds."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.root.mkdir(parents=True, exist_ok=True)
        handle = (self.root / "lock").open("a")
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    handle.close()
                    raise TimeoutError(f"lab cloud: {self.root}/lock still held after {timeout:.0f}s") from None
                time.sleep(0.05)
        self._depth, self._lock_file = 1, handle
        try:
            yield self
        finally:
            self._depth, self._lock_file = 0, None
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    # --- records -------------------------------------------------------------------------------

    def get(self, kind: str, key: str) -> dict | None:
        return self.records.get(kind, key)

    def require(self, kind: str, key: str) -> dict:
        record = self.get(kind, key)
        if record is None:
            raise LookupError(f"lab cloud: no {kind} {key!r}")
        return record

    def put(self, kind: str, key: str, record: dict) -> None:
        self.records.put(kind, key, record)

    def delete(self, kind: str, key: str) -> None:
        self.records.delete(kind, key)

    def all(self, kind: str) -> list[dict]:
        return self.records.all(kind)

    def next_id(self, kind: str, start: int = 1) -> str:
        """A fresh numeric id (as text, as both providers' ids reach Pulumi), never reused in this state."""
        self._assert_locked()
        path = self.root / "counter.json"
        counters = json.loads(path.read_text()) if path.exists() else {}
        value = max(int(counters.get(kind, start)), start)
        counters[kind] = value + 1
        write_json(path, counters)
        return str(value)

    # --- settings ------------------------------------------------------------------------------

    def settings(self) -> dict | None:
        try:
            return json.loads((self.root / "cloud.json").read_text())
        except FileNotFoundError:
            return None

    def put_settings(self, settings: dict) -> None:
        self._assert_locked()
        write_json(self.root / "cloud.json", settings)

    def _assert_locked(self) -> None:
        if not self._depth:
            raise RuntimeError("lab cloud: a record was written without the state lock")


class Shelf:
    """JSON records in a directory, one file per `<kind>/<key>.json`, changed only under the store's lock: the
    Cloud's records, and each lab plugin's own (plugins/labcloud.py `Records`)."""

    def __init__(self, store: Store, root: Path, kinds: tuple[str, ...] | None = None):
        self.store, self.root, self.kinds = store, root, kinds

    def _path(self, kind: str, key: str) -> Path:
        if self.kinds is not None and kind not in self.kinds:
            raise ValueError(f"unknown record kind {kind!r}")
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"bad {kind} id {key!r}")
        return self.root / kind / f"{key}.json"

    def get(self, kind: str, key: str) -> dict | None:
        try:
            return json.loads(self._path(kind, key).read_text())
        except FileNotFoundError:
            return None

    def put(self, kind: str, key: str, record: dict) -> None:
        self.store._assert_locked()  # noqa: SLF001 - the store's lock guards its shelves
        write_json(self._path(kind, key), record)

    def delete(self, kind: str, key: str) -> None:
        self.store._assert_locked()  # noqa: SLF001
        with contextlib.suppress(FileNotFoundError):
            self._path(kind, key).unlink()

    def all(self, kind: str) -> list[dict]:
        directory = self.root / kind
        if not directory.is_dir():
            return []
        records = []
        for path in sorted(directory.glob("*.json")):
            with contextlib.suppress(FileNotFoundError):
                records.append(json.loads(path.read_text()))
        return records


def write_json(path: Path, value) -> None:
    """Atomically: a reader sees the old record or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
    os.replace(temporary, path)
