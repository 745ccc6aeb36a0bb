"""PostgreSQL connection strings, the one shape both the managed database and the accessory hand the app."""

from __future__ import annotations

import shlex
from urllib.parse import quote


def database_url(user: str, password: str, host: str, port: int, database: str, sslmode: str | None = "require") -> str:
    """User and password URL-quoted; `sslmode=require` for anything that crosses a network we do not own."""
    url = f"postgres://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{int(port)}/{database}"
    return f"{url}?sslmode={sslmode}" if sslmode else url


# The client that runs the grants: the official image of the database's own major version.
CLIENT_IMAGE = "postgres:{version}-alpine"


def grant_statements(database: str, user: str) -> list[str]:
    """What the app's user needs in a database its admin owns. DigitalOcean creates databases owned by
    doadmin and users with no privileges, and since PostgreSQL 15 only a database's owner may create in
    its `public` schema: without these, `bin/rails db:prepare` fails with "permission denied for schema
    public". Names are identifiers config.py checked (lowercase, digits, underscores), quoted anyway."""
    return [f'GRANT CONNECT, CREATE, TEMPORARY ON DATABASE "{database}" TO "{user}"',
            f'GRANT USAGE, CREATE ON SCHEMA public TO "{user}"']


def grant_command(database: str, user: str) -> str:
    """psql in the client image, as the admin, connected to the app's database ($DATABASE_ADMIN_URL, from
    the run's 0600 env file); GRANT is idempotent, so a re-run changes nothing."""
    args = " ".join(f"-c {shlex.quote(statement)}" for statement in grant_statements(database, user))
    return shlex.join(["sh", "-c", f'psql "$DATABASE_ADMIN_URL" -v ON_ERROR_STOP=1 -q {args}'])
