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
