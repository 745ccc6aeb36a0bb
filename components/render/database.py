"""PostgreSQL connection strings, the one shape both the managed database and the accessory hand the app."""

from __future__ import annotations

from urllib.parse import quote


def database_url(user: str, password: str, host: str, port: int, database: str, sslmode: str | None = "require") -> str:
    """User and password URL-quoted; `sslmode=require` for anything that crosses a network we do not own."""
    url = f"postgres://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{int(port)}/{database}"
    return f"{url}?sslmode={sslmode}" if sslmode else url
