"""Accessory texts: where an accessory's files and directories live on the host, the setup script that
writes them, and the `{{ secrets.NAME }}` references a file may carry."""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass

from .files import File, write_files
from .release import STATE_DIR


@dataclass(frozen=True)
class HostFile:
    """A file the accessory sees at `container_path`, written on the host and mounted read-only."""

    container_path: str
    content: str  # may hold `{{ secrets.NAME }}`
    secrets: list[str]


SECRET_REFERENCE = re.compile(r"\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def container_name(service: str, name: str) -> str:
    """`<service>-<name>`, as Kamal names accessories; the app reaches it by this name on the kamal network."""
    return f"{service}-{name}"


def accessory_dir(service: str, name: str) -> str:
    return f"{STATE_DIR}/{service}/accessories/{name}"


def file_host_path(service: str, name: str, container_path: str) -> str:
    return f"{accessory_dir(service, name)}/files{container_path}"


def directory_host_path(service: str, name: str, source: str) -> str:
    """Kamal's `directories:` entries: a bare name lives in the accessory's own directory on the host."""
    return source if source.startswith("/") else f"{accessory_dir(service, name)}/{source}"


def secret_names(content: str) -> list[str]:
    return SECRET_REFERENCE.findall(content)


def fill_secrets(content: str, secrets: dict[str, str]) -> str:
    return SECRET_REFERENCE.sub(lambda match: secrets[match.group(1)], content)


def setup_script(files: list[File], directories: list[str]) -> str:
    """Write the accessory's files (0600 when they hold a secret) and create its directories."""
    script = write_files(files)
    return script + "".join(f"install -d -m 0755 {shlex.quote(d)}\n" for d in directories)


def content_hash(files: list[File]) -> str:
    """Changes when a file changes, so the container restarts onto the new content."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.path}\0{file.mode}\0{file.content}\0".encode())
    return digest.hexdigest()
