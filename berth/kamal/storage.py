"""Kamal's volumes and asset_path: mounts as `source:target[:ro]`, and on new servers host paths moved
onto a block volume that outlives the server."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from .notes import Note

if TYPE_CHECKING:
    from .translate import Translation

STORAGE = "/mnt/storage"  # where host paths move on new servers: a block volume that outlives the server
STORAGE_GB = 10  # the smallest volume both clouds sell (Hetzner's minimum)


def translate(t: Translation) -> None:
    volumes = t.k.get("volumes") or []
    out = []
    moved: list[str] = []
    for i, volume in enumerate(volumes):
        text = mount(t, str(volume), ("volumes", i))
        if text is not None:
            out.append(_placed(t, text, moved))
            if t.s.provider != "existing" and not text.startswith("/"):
                named_volume_note(t, ("volumes", i), text.split(":")[0], "the Kamal hosts")
    if out:
        t.put(("volumes",), out, ("volumes",))
    for role in (t.d.config.get("servers") or {}).values():  # a role's own mounts (its docker options)
        if role.get("volumes"):
            role["volumes"] = [_placed(t, text, moved) for text in role["volumes"]]
    if moved:
        t.d.to_copy += [f"the host path {m.split(' -> ')[0]}" for m in moved]
        t.put(("volume",), {"sizeGb": STORAGE_GB, "mountPath": STORAGE},
                 comment="host paths live on a block volume that outlives the server; size it for your data")
        t.d.notes.append(Note("changed", "volumes", f"host paths move onto a {STORAGE_GB} GB block volume at "
                                 f"{STORAGE} on the new servers ({'; '.join(moved)}); copy the data across "
                                 "before the switch", t.k.at("volumes")))
    t.take("volumes")
    asset_path = t.k.get("asset_path")
    if asset_path:
        path, _, options = str(asset_path).partition(":")
        t.put(("assetPath",), path.rstrip("/") or "/", ("asset_path",))  # /app/dist/_astro/ is the same directory
        t.take("asset_path")
        if options:
            t.note("changed", ("asset_path",), f"mount options {options} dropped: Berth mounts the merged assets "
                                                  "as they are")
    servers = t.k.get("servers")
    for role, spec in (servers.items() if isinstance(servers, dict) else []):
        if isinstance(spec, dict) and spec.get("asset_path") not in (None, asset_path):
            t.note("not-taken", ("servers", role, "asset_path"), "Berth bridges one asset path for the app "
                                                                     "(berth:assetPath)")
        elif isinstance(spec, dict) and "asset_path" in spec:
            t.take("servers", role, "asset_path")


def _placed(t: Translation, text: str, moved: list[str]) -> str:
    """On new servers a host path moves onto the block volume, which outlives the server."""
    source, _, rest = text.partition(":")
    if not source.startswith("/") or t.s.provider == "existing":
        return text
    new = f"{STORAGE}/{source.strip('/').replace('/', '-')}"
    moved.append(f"{source} -> {new}")
    return f"{new}:{rest}"


def ssh_user(t: Translation) -> str:
    return str(t.k.get("ssh", "user") or "root")


def ssh_home(t: Translation) -> str:
    """Where Kamal's commands start on a host: the SSH user's login directory (`$PWD` in the paths it mounts), which
    is /root for root and /home/<user> on the hosts Kamal is run against (Debian's and Ubuntu's useradd -m)."""
    user = ssh_user(t)
    return "/root" if user == "root" else f"/home/{user}"


def named_volume_note(t: Translation, path: tuple, volume: str, hosts: str) -> None:
    """With --provider a Docker volume stays in the old hosts' Docker: the new servers start with empty ones."""
    t.d.to_copy.append(f"the Docker volume {volume}")
    t.d.notes.append(Note("check", "/".join(map(str, path)), f"the Docker volume {volume} stays on {hosts}: the new "
                          f"{t.s.provider} servers start with an empty one. Copy it before you move traffic, with "
                          f"what writes to it stopped, from {hosts}: docker run --rm -v {volume}:/from alpine "
                          f"tar -C /from -cf - . | ssh <new server> docker run --rm -i -v {volume}:/to alpine "
                          "tar -C /to -xf - ; or mount a host path under berth:volume.mountPath instead, on a "
                          "block volume that outlives the server", t.k.at(*path)))


def mount(t: Translation, text: str, path: tuple) -> str | None:
    """Kamal passes volumes to `docker run --volume` as written; Berth takes `source:target[:ro]`."""
    parts = text.split(":")
    if len(parts) < 2:
        t.problem(path, f"{text!r} is not source:target; Berth mounts only named volumes and host paths")
        return None
    if parts[0].startswith((".", "~")):
        home = ssh_home(t)
        where = "/".join(map(str, path))
        t.problem(path, f"{where}: {parts[0]} is a host path relative to where `docker run` starts, the SSH "
                        "user's home when Kamal runs it; Berth mounts absolute paths: write it as one (likely "
                        f"{posixpath.normpath(posixpath.join(home, parts[0].removeprefix('~').lstrip('/')))})")
        return None
    options = parts[2].split(",") if len(parts) > 2 else []
    kept = ":ro" if "ro" in options else ""
    dropped = [o for o in options if o not in ("ro", "rw")]
    if dropped:
        t.note("changed", path, f"mount option {','.join(dropped)} dropped (Berth mounts read-write, or :ro)")
    t.take(*path)
    return f"{parts[0]}:{parts[1]}{kept}"

