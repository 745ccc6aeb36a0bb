"""The lab's stand-in for a DigitalOcean managed PostgreSQL cluster: Debian's PostgreSQL server in the
router's namespace, over TLS from the run's CA, with DigitalOcean's ownership model set up by the lab's
digitalocean plugin (databases owned by the admin role `doadmin`, which is no superuser; app users created
with no privileges)."""

from __future__ import annotations

import json
import pwd
import secrets
import shutil
from pathlib import Path

from .testhost import ROUTER_IPV4, Lab, sh

PORT = 5432
SUPERUSER = "berthlab"


def server_bin() -> Path:
    """Debian's PostgreSQL, the newest major version installed."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError("the lab's managed database needs Debian's postgresql package (make e2e installs it)")
    return versions[-1].parent


def prepare(lab: Lab) -> tuple[list[str], dict[str, str]]:
    """A fresh cluster under the run's directory: the argv that serves it, and what the plugin needs to
    reach it as its superuser (BERTH_LAB_POSTGRES)."""
    lab.run.chmod(0o755)  # the server runs as `postgres`, which must reach its files under the run's directory
    data = lab.run / "postgres"
    data.mkdir(mode=0o700)
    postgres = pwd.getpwnam("postgres")
    password = secrets.token_urlsafe(18)
    password_file = lab.run / "postgres.password"
    password_file.write_text(password + "\n")
    for path in (data, password_file):
        shutil.chown(path, postgres.pw_uid, postgres.pw_gid)
    sh("runuser", "-u", "postgres", "--", str(server_bin() / "initdb"), "-D", str(data), "-U", SUPERUSER,
       f"--pwfile={password_file}", "--auth=scram-sha-256")
    cert, key = lab.certificate("postgres", ROUTER_IPV4)
    for name, source in (("server.crt", cert), ("server.key", key)):
        shutil.copy(source, data / name)
        shutil.chown(data / name, postgres.pw_uid, postgres.pw_gid)
        (data / name).chmod(0o600)
    (data / "pg_hba.conf").write_text("hostssl all all 0.0.0.0/0 scram-sha-256\n")
    argv = ["runuser", "-u", "postgres", "--", str(server_bin() / "postgres"), "-D", str(data),
            "-c", f"listen_addresses={ROUTER_IPV4}", "-c", f"port={PORT}", "-c", "ssl=on",
            "-c", f"unix_socket_directories={data}"]
    access = {"host": ROUTER_IPV4, "port": PORT, "user": SUPERUSER, "password": password}
    return argv, {"BERTH_LAB_POSTGRES": json.dumps(access)}
