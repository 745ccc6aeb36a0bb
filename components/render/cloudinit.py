"""Cloud-init user data for a new cloud host: only what must exist before Berth's first SSH connection.

Everything else is the bootstrap's job (over SSH, re-run when it changes). But a non-root `ssh.user`
must exist, with the keys and passwordless sudo, and sshd must listen on `ssh.port`, before Berth can
connect at all; cloud images start with root (DigitalOcean, Hetzner) and port 22. Checked by the real
`cloud-init schema` in the tests.
"""

from __future__ import annotations

import yaml

PORT_DROP_IN = "/etc/ssh/sshd_config.d/05-berth-port.conf"


def user_data(user: str, port: int, authorized_keys: list[str]) -> str | None:
    """None when the cloud image's own root on port 22 is what Berth uses."""
    if user == "root" and port == 22:
        return None
    document: dict = {}
    if user != "root":
        document["users"] = ["default", {
            "name": user, "groups": ["sudo"], "shell": "/bin/bash", "lock_passwd": True,
            "sudo": "ALL=(ALL) NOPASSWD:ALL", "ssh_authorized_keys": list(authorized_keys),
        }]
    if port != 22:
        document["write_files"] = [{"path": PORT_DROP_IN, "content": f"Port {port}\n", "permissions": "0644"}]
        # Ubuntu 24.04 starts sshd from ssh.socket, whose port a generator derives from sshd_config.
        document["runcmd"] = [["systemctl", "daemon-reload"],
                              ["sh", "-c", "systemctl restart ssh.socket 2>/dev/null || systemctl restart ssh"]]
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
