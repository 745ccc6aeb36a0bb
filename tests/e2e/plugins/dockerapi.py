"""The Docker Engine API of a host, reached the way the Docker provider reaches it over `ssh://`.

The provider (docker/cli `connhelper.GetConnectionHelperWithSSHOpts`, used by the provider's
`ProviderConfig.MakeClient`) runs the system `ssh` with the provider's `ssh_opts`, `-o ConnectTimeout=30`
and `-T` added unless given, and `-l USER -p PORT -- HOST docker system dial-stdio`, then speaks HTTP over
that pipe, keeping connections alive between calls. So does this client: the same ssh command line, the
same HTTP requests and bodies the provider's Go client sends, connections reused while they last.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from .server import Config, Failed

# The provider's client is github.com/docker/docker v28.5.2 (terraform-provider-docker v4.5.0's go.mod), whose
# api.DefaultVersion is 1.51; `MakeClient` always sets WithAPIVersionNegotiation and never reads
# DOCKER_API_VERSION. Negotiation (client/client.go `checkVersion`, `negotiateAPIVersionPing`) pings the
# unversioned /_ping once, before the first versioned request, and takes the lower of its Api-Version header and
# 1.51: 1.51 against Docker 29 (API 1.56), 1.41 against Debian's 20.10; 1.24 when the header is missing. A failed
# ping is ignored (the request goes out at 1.51) and negotiation is tried again on the next request.
CLIENT_API_VERSION = "1.51"
FALLBACK_API_VERSION = "1.24"


def _api_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def negotiated(server: str | None) -> str:
    """`negotiateAPIVersionPing`: the server's version when lower than the client's, else the client's."""
    server = server or FALLBACK_API_VERSION
    return server if _api_tuple(server) < _api_tuple(CLIENT_API_VERSION) else CLIENT_API_VERSION


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def ssh_argv(host: str, ssh_opts: list[str]) -> list[str]:
    """docker/cli's ssh command line for `ssh://user@host:port` (cli/connhelper/connhelper.go)."""
    url = urllib.parse.urlparse(host)
    if url.scheme != "ssh":
        raise ValueError(f"the lab reaches hosts over ssh:// only, not {host}")
    flags = list(ssh_opts)
    if not any("ConnectTimeout" in flag for flag in flags):
        flags = ["-o", "ConnectTimeout=30", *flags]
    if "-T" not in flags:
        flags.append("-T")
    args = [*flags]
    if url.username:
        args += ["-l", url.username]
    if url.port:
        args += ["-p", str(url.port)]
    return ["ssh", *args, "--", url.hostname or "", "docker", "system", "dial-stdio"]


class _Connection(http.client.HTTPConnection):
    """HTTP over the stdin and stdout of one `ssh … docker system dial-stdio`."""

    def __init__(self, argv: list[str], timeout: float):
        super().__init__("docker", timeout=timeout)
        self.argv = argv
        self.process: subprocess.Popen | None = None
        self.ended: tuple[int, str] | None = None  # what its ssh exited with, and said, when it ended on its own

    def connect(self) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(self.argv, stdin=theirs, stdout=theirs, stderr=subprocess.PIPE)
        theirs.close()
        ours.settimeout(self.timeout)
        self.sock = ours

    def close(self) -> None:
        """http.client closes the connection itself on a reset (`getresponse`), before the caller can ask why: what
        ssh exited with is kept. An ssh whose stdout just ended is exiting: it is given a moment to."""
        super().close()
        if self.process is not None:
            try:
                code = self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            else:
                stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                self.ended = (code, stderr)
            self.process = None

    def failure(self, error: BaseException | None = None) -> str:
        """docker/cli's commandconn `handleEOF`: a connection ended by its command says what the command exited with
        and its stderr (ssh's "Host key verification failed."); a timeout is said as it is."""
        if isinstance(error, TimeoutError):
            return ""
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                return f"command [{' '.join(self.argv)}] did not exit after EOF"
            self.close()
        if self.ended is None or self.ended[0] == 0:
            return ""
        code, stderr = self.ended
        return (f"command [{' '.join(self.argv)}] has exited with exit status {code}, make sure the URL is valid, "
                f"and Docker 18.09 or later is installed on the remote host: stderr={stderr}")


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class DockerApi:
    def __init__(self, host: str, ssh_opts: list[str], timeout: float = 300):
        self.argv = ssh_argv(host, ssh_opts)
        self.host = host
        self.timeout = timeout
        self.version: str | None = None  # negotiated on the first versioned request
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def _negotiate(self) -> str:
        if self.version is None:
            try:
                pinged = self._exchange("HEAD", "/_ping", None, {})
                self.version = negotiated(pinged.headers.get("Api-Version"))
            except ApiError:
                return CLIENT_API_VERSION  # not negotiated: tried again next time
        return self.version

    def _take(self) -> tuple[_Connection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return _Connection(self.argv, self.timeout), False

    def _give_back(self, connection: _Connection) -> None:
        with self._lock:
            self._idle.append(connection)

    def request(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Response:
        url = f"/v{self._negotiate()}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json", **(headers or {})} if payload is not None else dict(headers or {})
        response = self._exchange(method, url, payload, all_headers)
        if response.status >= 400:
            message = response.body.decode(errors="replace")
            try:
                message = json.loads(response.body).get("message", message)
            except (ValueError, AttributeError):
                pass
            raise ApiError(response.status, message)
        return response

    def _exchange(self, method: str, url: str, payload: bytes | None, all_headers: dict[str, str]) -> Response:
        """One HTTP exchange over a kept connection (or a new one), whatever its status."""
        for attempt in (1, 2):
            connection, reused = self._take()
            try:
                connection.request(method, url, body=payload, headers=all_headers)
                answer = connection.getresponse()
                data = answer.read()
            except (OSError, http.client.HTTPException) as error:
                reason = connection.failure(error) or str(error)
                connection.close()
                if reused and attempt == 1:  # a kept connection the daemon or ssh has closed: dial again
                    continue
                raise ApiError(0, f"error during connect: {reason}") from None
            if answer.will_close:
                connection.close()
            else:
                self._give_back(connection)
            return Response(answer.status, data, dict(answer.getheaders()))
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            for connection in self._idle:
                connection.close()
            self._idle.clear()

    # --- the calls the provider makes ------------------------------------------------------------------

    def _inspect(self, kind: str, ref: str) -> dict | None:
        """None when the daemon does not know it (404); any other failure is the step's."""
        try:
            return self.request("GET", f"/{kind}/{urllib.parse.quote(ref, safe='')}/json").json()
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def inspect_container(self, ref: str) -> dict | None:
        return self._inspect("containers", ref)

    def inspect_image(self, ref: str) -> dict | None:
        return self._inspect("images", ref)

    def list_images(self) -> list[dict]:
        return self.request("GET", "/images/json", params={"all": "0"}).json() or []

    def list_containers(self) -> list[dict]:
        return self.request("GET", "/containers/json", params={"all": "1"}).json() or []

    def pull(self, image: str, registry_auth: str) -> None:
        """POST /images/create; the daemon streams progress, and an error arrives as a line of it."""
        repository, tag = _split_tag(image)
        params = {"fromImage": repository, **({"tag": tag} if tag else {})}
        body = self.request("POST", "/images/create", params=params,
                            headers={"X-Registry-Auth": registry_auth}).body
        for line in body.decode(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("error"):
                raise ApiError(500, event["error"])


def _split_tag(image: str) -> tuple[str, str]:
    """The Go client's ImagePull query: the reference's name, and its digest, tag or `latest`."""
    name, at, digest = image.partition("@")
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    else:
        tag = "latest"
    return name, digest if at else tag


# --- one client per provider configuration ---------------------------------------------------------------

_apis: dict[str, DockerApi] = {}
_apis_lock = threading.Lock()


def api(config: Config) -> DockerApi:
    """One client per provider configuration, its connections kept alive (the provider's clientCache)."""
    host, opts = config.get("host"), list(config.get("sshOpts") or [])
    if not host:
        raise Failed("Error initializing Docker client: the provider has no host")
    key = json.dumps([host, opts])
    with _apis_lock:
        if key not in _apis:
            _apis[key] = DockerApi(host, opts)
        return _apis[key]


def daemon_error(error: ApiError) -> str:
    """An API error worded as the provider words it (the daemon's message, when the daemon answered)."""
    return f"Error response from daemon: {error}" if error.status else str(error)
