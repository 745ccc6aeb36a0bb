"""A minimal QMP client: the control socket of a running machine (hot-plug, reset, power button).

One connection per call keeps it simple and safe across processes: QMP accepts several clients in turn,
and a command's answer is read before the socket closes. Events that arrive meanwhile are collected, so a
caller waiting for DEVICE_DELETED can look for it.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path


class QMPError(RuntimeError):
    """QEMU refused a command; `klass` is QMP's error class (e.g. GenericError, DeviceNotFound)."""

    def __init__(self, command: str, error: dict):
        self.klass = error.get("class", "")
        super().__init__(f"QMP {command}: {error.get('desc', error)}")


def execute(socket_path: Path | str, command: str, arguments: dict | None = None, timeout: float = 30.0):
    """Run one command and return QMP's `return` value."""
    return session(socket_path, [(command, arguments)], timeout=timeout)[0][-1]


def session(socket_path: Path | str, commands: list[tuple[str, dict | None]], timeout: float = 30.0):
    """Run several commands on one connection; returns [(events seen, return value), ...]."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(socket_path))
        stream = sock.makefile("rw", encoding="utf-8")
        json.loads(stream.readline())  # the greeting
        _call(stream, "qmp_capabilities", None)
        return [_call(stream, command, arguments) for command, arguments in commands]


def _call(stream, command: str, arguments: dict | None):
    message = {"execute": command, **({"arguments": arguments} if arguments is not None else {})}
    stream.write(json.dumps(message) + "\n")
    stream.flush()
    events = []
    while True:
        line = stream.readline()
        if not line:
            raise QMPError(command, {"desc": "connection closed"})
        reply = json.loads(line)
        if "event" in reply:
            events.append(reply)
        elif "error" in reply:
            raise QMPError(command, reply["error"])
        elif "return" in reply:
            return events, reply["return"]
