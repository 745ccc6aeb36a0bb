"""Cloud-init user data for a new cloud host: only what must exist before Berth's first SSH connection.

Everything else is the bootstrap's job (over SSH, re-run when it changes). But a non-root `ssh.user`
must exist, with the keys and passwordless sudo, and sshd must listen on `ssh.port`, before Berth can
connect at all; cloud images start with root (DigitalOcean, Hetzner) and port 22. And the server's host key is
the one Berth generated (`ssh_keys`), so that Berth's first connection already checks it (render/hostkeys.py):
with `ssh_keys` given, cloud-init deletes the image's keys and generates none (cc_ssh), so the server's only
host key is the pinned one. Checked by the real `cloud-init schema` in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

PORT_DROP_IN = "/etc/ssh/sshd_config.d/05-berth-port.conf"


class _Dumper(yaml.SafeDumper):
    """Text of several lines (the private key) as a literal block, line for line as it is."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text.rstrip("\n") else None))


@dataclass(frozen=True)
class CloudInit:
    """What a new server's user data sets up, from the stack file."""

    user: str
    port: int
    authorized_keys: tuple[str, ...]


@dataclass(frozen=True)
class HostKey:
    private_openssh: str  # "-----BEGIN OPENSSH PRIVATE KEY-----..." (secret)
    public_openssh: str  # "ssh-ed25519 AAAA..."


def user_data(spec: CloudInit, host_key: HostKey | None = None) -> str | None:
    """None when there is nothing to say: no host key, and the cloud image's own root on port 22."""
    user, port = spec.user, spec.port
    if host_key is None and user == "root" and port == 22:
        return None
    document: dict = {}
    if user != "root":
        document["users"] = ["default", {
            "name": user, "groups": ["sudo"], "shell": "/bin/bash", "lock_passwd": True,
            "sudo": "ALL=(ALL) NOPASSWD:ALL", "ssh_authorized_keys": list(spec.authorized_keys),
        }]
    if host_key is not None:
        document["ssh_keys"] = {"ed25519_private": host_key.private_openssh.rstrip("\n") + "\n",
                                "ed25519_public": host_key.public_openssh.strip()}
    if port != 22:
        document["write_files"] = [{"path": PORT_DROP_IN, "content": f"Port {port}\n", "permissions": "0644"}]
        # Ubuntu 24.04 starts sshd from ssh.socket, whose port a generator derives from sshd_config.
        document["runcmd"] = [["systemctl", "daemon-reload"],
                              ["sh", "-c", "systemctl restart ssh.socket 2>/dev/null || systemctl restart ssh"]]
    return "#cloud-config\n" + yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
