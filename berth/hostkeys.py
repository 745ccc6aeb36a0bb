"""Berth's words when a host does not present the key Berth gave it, and how to find that in `pulumi up`'s output.
Pure.

A server Berth created answers with the ED25519 key Berth generated for it (components/hostkeys.py). Any other
key means another machine answers at its address, or the server was reinstalled outside Berth (a rebuild in
the cloud's console); either way Berth must not talk to it, and the operator must learn which, not read a
traceback. pulumi-command says `ssh: handshake failed: ssh: host key mismatch` (golang.org/x/crypto/ssh
FixedHostKey) after its dials; the system ssh (the Docker provider, `berth` verbs) says `Host key verification
failed.`, and exits 255.
"""

from __future__ import annotations

import re

from components.render.hostkeys import KEY_TYPE, fingerprint, public_key

from .outputs import HostAccess

MISMATCH = ("ssh: host key mismatch", "Host key verification failed")
SSH_FAILED = 255  # ssh's own failure (connection, authentication, host key), not the remote command's


def presented(keyscan_stdout: str) -> str | None:
    """The key in `ssh-keyscan -t ed25519` output, None when the host gave none (unreachable, no such key)."""
    for line in keyscan_stdout.splitlines():
        words = line.split()
        if len(words) >= 3 and words[1] == KEY_TYPE and not line.startswith("#"):
            return public_key(" ".join(words[1:3]))
    return None


def mismatch_message(host: HostAccess, stack: str, found: str | None) -> str:
    """Which host, what it presented, the likely causes and what to do."""
    assert host.host_key
    what = (f"presents the host key {fingerprint(found)}" if found else
            f"presents no {KEY_TYPE} host key")
    return (f"{host.name} ({host.address}) {what}, not {fingerprint(host.host_key)}, the key Berth gave this server "
            f"when it created it, so Berth refuses to talk to it. Either the address now reaches another machine "
            f"(a reserved or primary IP moved, DNS or routing changed, someone in between), or the server was "
            f"reinstalled outside Berth (a rebuild in the cloud's console). Find out which before anything else. If "
            f"it is your server, reinstalled: replace it, so that it gets a key Berth gave it again (its volume and "
            f"address are kept): pulumi up --stack {stack} --replace '{host.server_urn or '<its URN>'}', then "
            f"berth rebuilt {host.name} --stack {stack}")


def changed_key_message(host: HostAccess, stack: str) -> str:
    """A host whose key ssh trusted when first seen (no pinned key) and which now presents another."""
    return (f"{host.name} ({host.address}) presents another host key than the one ssh saw there first, so ssh refused "
            f"it. If the machine was reinstalled, or replaced behind its address, `berth rebuilt {host.name} --stack "
            f"{stack}` forgets the old key and sets it up again; otherwise another machine answers at that address: "
            "find out why before anything else")


def unpinned_note(host: HostAccess, stack: str) -> str:
    """A server an earlier Berth created: its key was trusted when first seen, and how to have it pinned."""
    return (f"{host.name}: this server was created before Berth pinned host keys, so ssh trusts the key it first saw "
            f"there. To pin it: pulumi up --stack {stack} --replace '{host.server_urn}', then berth rebuilt {host.name}")


_RESOURCE = re.compile(r"\((?P<name>[^()\s]+)\):\s*$")


def refused_hosts(cli_output: str, hosts: tuple[HostAccess, ...]) -> list[HostAccess]:
    """The hosts whose key check failed in a `pulumi up`'s output: named by the address on the error's line (the
    Docker provider's ssh command line), else by the resource the error is under (`<host>-...`)."""
    lines = cli_output.splitlines()
    found: list[HostAccess] = []
    for i, line in enumerate(lines):
        if not any(marker in line for marker in MISMATCH):
            continue
        match = [h for h in hosts if re.search(rf"(^|[\s@\[]){re.escape(h.address)}([\s\]:]|$)", line)]
        if not match:
            owner = next((m["name"] for m in map(_RESOURCE.search, reversed(lines[:i])) if m), "")
            match = [h for h in hosts if owner == h.name or owner.startswith(f"{h.name}-")]
        found += [h for h in match if h not in found]
    return found
