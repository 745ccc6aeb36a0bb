"""What an interrupted `pulumi up` leaves in a stack's state, and what `berth recover` does about it; what
`berth rebuilt` replaces to set a host up again. Pure.

A `pulumi up` killed mid-step (a second Ctrl-C, a cancelled CI job) leaves the stack locked and its
in-flight creates recorded as pending operations. `pulumi refresh --clear-pending-creates` forgets them,
but a container the provider did create stays on its host under its name, and the next `up` then fails:
"Conflict. The container name … is already in use". Importing it (`--import-pending-creates URN ID`) does
not help: the Docker provider does not read a container's env, labels or volumes back, so the next `up`
replaces what it imported, delete-first, and meets the same name. So such a container is removed: it
serves nothing yet (a release switches traffic only after its container is recorded), and the next `up`
creates it again. Every other pending create is cleared; the next `up` creates it again too (a command
re-runs, an image is found on the host).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from .outputs import HostAccess

CONTAINER = "docker:index/container:Container"


@dataclass(frozen=True)
class PendingCreate:
    urn: str
    type: str
    container: str | None  # the Docker name, for a container
    host: HostAccess | None  # where the container would be

    @property
    def label(self) -> str:
        return f"{self.urn.rsplit('::', 1)[-1]} ({self.type.rsplit(':', 1)[-1]})"


def _host(provider_ref: str, resources: dict[str, dict[str, Any]]) -> HostAccess | None:
    """The host a resource's Docker provider reaches (`ssh://user@address:port`)."""
    provider = resources.get(provider_ref.rsplit("::", 1)[0])
    url = urllib.parse.urlparse(str(((provider or {}).get("inputs") or {}).get("host", "")))
    if url.scheme != "ssh" or not url.hostname:
        return None
    return HostAccess(provider_ref.rsplit("::", 1)[0].rsplit("::", 1)[-1], "", url.hostname, url.username or "root",
                      url.port or 22)


def pending_creates(deployment: dict[str, Any]) -> list[PendingCreate]:
    """The creates an interrupted update left pending, from `pulumi stack export`'s deployment."""
    resources = {r["urn"]: r for r in deployment.get("resources") or []}
    out = []
    for operation in deployment.get("pending_operations") or []:
        resource = operation.get("resource") or {}
        if operation.get("type") != "creating":
            continue
        container = None
        host = None
        if resource.get("type") == CONTAINER:
            name = (resource.get("inputs") or {}).get("name")
            container = name if isinstance(name, str) else None
            host = _host(resource.get("provider", ""), resources)
        out.append(PendingCreate(resource["urn"], resource.get("type", ""), container, host))
    return out


def machine_generation(deployment: dict[str, Any], host: str) -> str | None:
    """The URN of a host's machine generation (components/hosts.py): replacing it sets the host up again."""
    suffix = f"random:index/randomId:RandomId::{host}-machine"
    return next((r["urn"] for r in deployment.get("resources") or [] if r["urn"].endswith(suffix)), None)


def known_hosts_files(ssh_config: str, home: str) -> list[str]:
    """The files `ssh -G` names as UserKnownHostsFile (a space-separated list), `~` as `home`."""
    for line in ssh_config.splitlines():
        key, _, value = line.partition(" ")
        if key.lower() == "userknownhostsfile":
            return [home + path[1:] if path == "~" or path.startswith("~/") else path for path in value.split()]
    return []


@dataclass(frozen=True)
class LockHolder:
    """Who holds a stack's lock, as the DIY backends (`file://`, S3) record it: the operation's CLI process."""

    user: str
    host: str
    pid: int
    since: str  # RFC 3339, as the lock file has it

    def __str__(self) -> str:
        return f"{self.user}@{self.host} (pid {self.pid}, since {self.since})"


# pkg/backend/diy/lock.go `checkForLock` (v3.274.1): the error lists each lock file as
# "\n  <url>: created by <user>@<host> (pid <pid>) at <RFC 3339 time>".
_LOCKED = "the stack is currently locked by"
_HOLDER = re.compile(r": created by (?P<user>[^@\s]+)@(?P<host>\S+) \(pid (?P<pid>\d+)\) at (?P<since>\S+)")


def lock_holders(cli_output: str) -> list[LockHolder] | None:
    """The holders a refused operation names; None when the output says nothing of a lock."""
    if _LOCKED not in cli_output:
        return None
    return [LockHolder(m["user"], m["host"], int(m["pid"]), m["since"]) for m in _HOLDER.finditer(cli_output)]


def unlocked(cli_output: str) -> bool:
    """The lock probe took the lock, so nobody held it: a DIY backend then refuses the stack's own name (`a stack
    named X already exists`, backend.go `renameStack`). Any other answer (another backend) proves nothing."""
    return _LOCKED not in cli_output and "already exists" in cli_output


def locked_message(stack: str, holders: list[LockHolder], doing: str) -> str:
    """Berth's words for an operation the stack's lock refused: whose lock, and what to do."""
    who = ", ".join(map(str, holders)) or "another operation"
    return (f"stack {stack} is locked by {who}: another `pulumi up` (or berth) is changing it, so {doing} did not "
            f"start and nothing changed. Wait for it to end, then run this again; if it died (a killed CI job, a "
            f"closed laptop), `berth recover --stack {stack}` releases its lock and puts its state right")
