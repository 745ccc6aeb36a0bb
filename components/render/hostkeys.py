"""How Berth's SSH clients check a server's host key. Pure.

A server Berth creates gets an ED25519 host key Berth generated (cloud-init's `ssh_keys`, render/cloudinit.py), so
every client can check that key instead of trusting whatever answers first. Two clients connect:
- pulumi-command's Go client takes the key itself (`connection.hostKey`, authorized_keys format);
- the system `ssh` (the Docker provider's `ssh_opts`, the `berth` verbs) gets `pinned_options`: no known_hosts
  file is read or written, and the only key ssh knows for the host is the pinned one, which a one-line
  `KnownHostsCommand` prints (OpenSSH 8.5 or later; ssh runs it without a shell and wants an absolute path).
  `ControlPath=none` keeps a connection multiplexed by another ssh (a ControlMaster in ~/.ssh/config) from
  skipping the check.
A host without a pinned key (an existing host; a server an earlier Berth created) keeps `TRUST_FIRST`.
"""

from __future__ import annotations

import base64
import hashlib
import re

KEY_TYPE = "ssh-ed25519"
ECHO = "/bin/echo"  # absolute: ssh refuses a KnownHostsCommand that is not ("path is not absolute")
MIN_OPENSSH = (8, 5)  # KnownHostsCommand appeared in OpenSSH 8.5
TRUST_FIRST = ("-o", "StrictHostKeyChecking=accept-new")  # what Berth did before it pinned keys


def public_key(openssh: str) -> str:
    """`type base64` of an authorized_keys line, without its comment or newline."""
    words = openssh.split()
    if len(words) < 2 or words[0] != KEY_TYPE:
        raise ValueError(f"not an {KEY_TYPE} public key: {openssh[:40]!r}")
    return f"{words[0]} {words[1]}"


def pinned_options(host_key: str) -> list[str]:
    """ssh options that accept exactly `host_key` and refuse anything else ("Host key verification failed")."""
    key = public_key(host_key)
    return ["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", f"HostKeyAlgorithms={KEY_TYPE}",
            "-o", f"KnownHostsCommand={ECHO} * {key}", "-o", "ControlPath=none"]


def ssh_options(host_key: str | None) -> list[str]:
    return pinned_options(host_key) if host_key else list(TRUST_FIRST)


def provider_options(host_key: str | None) -> list[str]:
    """The Docker provider's `ssh_opts`: docker/cli's connhelper puts each one, as one argument, between
    `-l USER -p PORT` and `-T -- HOST docker system dial-stdio`. A host without a pinned key keeps exactly what it
    had, so an upgraded stack's providers see no change."""
    return [*ssh_options(host_key), "-o", "ConnectTimeout=15"]


def fingerprint(host_key: str) -> str:
    """SHA256:... as `ssh-keygen -l` and ssh's own messages print it."""
    blob = base64.b64decode(public_key(host_key).split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


_OPENSSH = re.compile(r"OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)")


def openssh_version(ssh_v: str) -> tuple[int, int] | None:
    """The version `ssh -V` reports (`OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.22`), None for another ssh."""
    match = _OPENSSH.search(ssh_v)
    return (int(match[1]), int(match[2])) if match else None


def too_old(ssh_v: str) -> str | None:
    """Why this ssh cannot check a pinned key, or None when it can (or is not OpenSSH, which Berth cannot tell)."""
    version = openssh_version(ssh_v)
    if version is None or version >= MIN_OPENSSH:
        return None
    first_line = ssh_v.strip().splitlines()[0] if ssh_v.strip() else "ssh"
    return (f"this machine's ssh is {first_line}, and checking the host keys Berth pinned needs OpenSSH "
            f"{MIN_OPENSSH[0]}.{MIN_OPENSSH[1]} or later (KnownHostsCommand): upgrade the ssh client (Debian 12, "
            "Ubuntu 22.04 and macOS 12 ship one)")
