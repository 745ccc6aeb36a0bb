"""HTTPS as download.docker.com: the repository's `linux/` tree, with a certificate for download.docker.com that the
caller's CA signed (the suite's per-run CA: testhost.Lab.certificate("download.docker.com", "download.docker.com")).

In a process of its own, inside the namespace whose address the machines reach (`ip netns exec NS` + argv()):
    python3 -m tests.e2e.dockerrepo serve --root ROOT --cert CERT --key KEY --address 10.250.0.1 [--port 443]
It prints one line, `serving https://download.docker.com/linux on ADDRESS:PORT`, once it accepts connections.
In this process: `with RepositoryServer(root, cert, key, address): ...`.
"""

from __future__ import annotations

import ssl
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import HOST

PROJECT = Path(__file__).resolve().parents[3]


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # apt keeps its connection and pipelines; every answer has a Content-Length
    server_version = "berth-lab-docker-repo"
    sys_version = ""
    log_file = None

    def send_head(self):
        path = self.path.split("?", 1)[0]
        if not (path == "/linux" or path.startswith("/linux/")):  # only what download.docker.com/linux has
            self.send_error(404)
            return None
        return super().send_head()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        line = f"{self.address_string()} - [{self.log_date_time_string()}] {format % args}\n"
        if self.log_file is not None:
            self.log_file.write(line)
            self.log_file.flush()
        else:
            sys.stderr.write(line)


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, context: ssl.SSLContext):
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        # The TLS handshake happens in the request's own thread: a slow client never holds up the others.
        with self.context.wrap_socket(request, server_side=True) as tls:
            super().finish_request(tls, client_address)


class RepositoryServer:
    """The repository over HTTPS on address:port, in a thread of this process until close()."""

    def __init__(self, root: Path, cert: Path, key: Path, address: str, port: int = 443, log_path: Path | None = None):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(cert), str(key))
        handler = type("Handler", (_Handler,), {"log_file": open(log_path, "a") if log_path else None})  # noqa: SIM115
        self._log_file = handler.log_file
        self.httpd = _TLSServer((address, port), partial(handler, directory=str(root)), context)
        self.address, self.port = address, self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="docker-repo", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://{HOST}/linux" if self.port == 443 else f"https://{HOST}:{self.port}/linux"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()
        if self._log_file:
            self._log_file.close()

    def __enter__(self) -> RepositoryServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def argv(root: Path, cert: Path, key: Path, address: str, port: int = 443, log_path: Path | None = None) -> list[str]:
    """The command that serves the repository in a process of its own (run it with cwd=PROJECT)."""
    command = [sys.executable, "-m", "tests.e2e.dockerrepo", "serve", "--root", str(root), "--cert", str(cert),
               "--key", str(key), "--address", address, "--port", str(port)]
    return command + (["--log", str(log_path)] if log_path else [])
