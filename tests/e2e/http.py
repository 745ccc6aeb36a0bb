"""HTTP(S) clients of the lab: from the machine (the operator, and "Cloudflare"), or from a client
namespace; and a bounded load loop for measuring a switch."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .testhost import Client, in_ns


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""


def get(address: str, hostname: str, path: str = "/", https: bool = True, ca: Path | None = None,
        timeout: float = 5.0) -> Answer:
    """GET from the machine, to `address`, as a browser sent to `hostname` would (Host header and SNI)."""
    try:
        sock = socket.create_connection((address, 443 if https else 80), timeout=timeout)
        if https:
            context = ssl.create_default_context(cafile=str(ca) if ca else None)
            sock = context.wrap_socket(sock, server_hostname=hostname)
        connection = http.client.HTTPConnection(hostname, timeout=timeout)
        connection.sock = sock
        connection.request("GET", path, headers={"Host": hostname, "Connection": "close"})
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
        connection.close()
        return Answer(response.status, body, {k.lower(): v for k, v in response.getheaders()})
    except (OSError, http.client.HTTPException) as error:
        return Answer(0, "", error=f"{type(error).__name__}: {error}")


def get_from(client: Client, address: str, hostname: str, ca: Path, path: str = "/", timeout: int = 3) -> Answer:
    """GET from a client namespace (curl, bounded by --max-time)."""
    target = f"[{address}]" if ":" in address else address
    result = in_ns(client.netns, "curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", str(timeout),
                   "--cacert", str(ca), "--resolve", f"{hostname}:443:{target}", f"https://{hostname}{path}",
                   check=False)
    if result.returncode != 0:
        return Answer(0, "", error=f"curl exit {result.returncode}")
    body, _, status = result.stdout.rpartition("\n")
    return Answer(int(status), body)


@dataclass
class LoadLoop:
    """Requests one after another on a thread until stopped, or until `max_requests` or `max_seconds`."""

    address: str
    hostname: str
    ca: Path
    max_requests: int = 5000
    max_seconds: float = 120.0
    answers: list[tuple[float, Answer]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and len(self.answers) < self.max_requests and time.monotonic() < deadline:
            self.answers.append((time.monotonic(), get(self.address, self.hostname, ca=self.ca, timeout=10)))

    def __enter__(self) -> "LoadLoop":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    @property
    def failures(self) -> list[Answer]:
        return [a for _, a in self.answers if a.status != 200]

    def bodies(self) -> list[str]:
        return [a.body.strip() for _, a in self.answers if a.status == 200]

    def first(self, body: str) -> float | None:
        """When a body was first seen (monotonic seconds)."""
        return next((t for t, a in self.answers if a.status == 200 and a.body.strip() == body), None)
