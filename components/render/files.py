"""Files written onto a host from a script fed on stdin, so secret contents never reach a command line.

The script is itself a secret whenever a file holds one; the command that runs it is `bash -s`.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class File:
    path: str  # absolute, on the host
    content: str
    mode: str = "0644"
    owner: str | None = None  # `user:group` or a shell expression such as "$uid:$gid"


def _delimiter(content: str) -> str:
    tag = "BERTH_" + hashlib.sha256(content.encode()).hexdigest()[:12].upper()
    while tag in content:
        tag += "_"
    return tag


def write_files(files: list[File], prelude: str = "") -> str:
    """Each file lands atomically (temp file, then rename) with its mode set before it has content."""
    lines = ["#!/usr/bin/env bash", "set -euo pipefail", "umask 077"]
    if prelude:
        lines.append(prelude.rstrip("\n"))
    for file in files:
        path = shlex.quote(file.path)
        tmp = shlex.quote(file.path + ".berth-tmp")
        delimiter = _delimiter(file.content)
        body = file.content if file.content.endswith("\n") else file.content + "\n"
        lines.append(f"install -d -m 0755 \"$(dirname {path})\"")
        lines.append(f"install -m {file.mode} /dev/null {tmp}")
        lines.append(f"cat > {tmp} <<'{delimiter}'\n{body}{delimiter}")
        if file.owner:
            lines.append(f'chown "{file.owner}" {tmp}')
        lines.append(f"mv -f {tmp} {path}")
    return "\n".join(lines) + "\n"
