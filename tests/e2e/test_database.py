"""A managed PostgreSQL with DigitalOcean's ownership model (tests/e2e/postgres.py and the lab's digitalocean
plugin): the database belongs to the admin, the app's user is created with no privileges, and PostgreSQL 15+
lets only the owner create in `public`. Berth's grants, run from the primary host as the admin before the
release command, let the release command create the app's table and the app use it."""

from __future__ import annotations

import json
import os
import subprocess

from . import images
from .http import get
from .postgres import server_bin
from .test_release import HOSTNAMES


def as_superuser(statement: str, database: str = "postgres") -> str:
    server = json.loads(os.environ.get("BERTH_LAB_POSTGRES_FOR_TESTS", "{}"))
    conninfo = f"host={server['host']} port={server['port']} user={server['user']} dbname={database} sslmode=require"
    return subprocess.run([str(server_bin() / "psql"), conninfo, "-tAc", statement], check=True, capture_output=True,
                          text=True, env={**os.environ, "PGPASSWORD": server["password"]}).stdout.strip()


def test_the_release_command_creates_a_table_in_a_database_its_admin_owns(world):
    host = world.add_host()
    images.postgres_client_image(host, "postgres:18-alpine")
    os.environ["BERTH_LAB_POSTGRES_FOR_TESTS"] = world.engine.extra_env["BERTH_LAB_POSTGRES"]
    stack = world.deployment("e2e-ledger", servers={"web": {"hosts": [host.address]}, "jobs": None}, accessories=None,
                             backups=None, assetPath=None,
                             database={"name": "ledger", "user": "ledger", "region": "nyc3"})
    up = stack.up()
    assert up.ok, up.error
    # DigitalOcean's model held: the database is the admin's, the app's user has no other power.
    assert as_superuser("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'ledger'") == "doadmin"
    assert as_superuser("SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = 'ledger'") == "f"
    # The release command (as the app's user) created the table; the app writes and reads it.
    assert as_superuser("SELECT tableowner FROM pg_tables WHERE tablename = 'ledger'", "ledger") == "ledger"
    for expected in ("1", "2"):
        answer = get(host.address, HOSTNAMES[0], f"/cgi-bin/pg?row-{expected}", ca=world.lab.ca_cert)
        assert (answer.status, answer.body.strip()) == (200, expected), answer
    again = stack.up()
    assert again.ok and again.changed == [], [(s.op, s.name) for s in again.changed]
