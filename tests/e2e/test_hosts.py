"""Hosts as users bring them: an existing server reached as a non-root user with passwordless sudo."""

from __future__ import annotations

from .http import get


def test_a_non_root_ssh_user_bootstraps_and_deploys(world):
    host = world.add_host()
    public_key = world.lab.public_key
    # As a provider's image makes it: no password, not locked (the lab's sshd, without PAM, refuses locked ones).
    host.in_host("useradd", "--create-home", "--shell", "/bin/bash", "--password", "*", "deploy")
    host.in_host("sh", "-c", "echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy && "
                             "chmod 0440 /etc/sudoers.d/deploy && install -d -m 0700 -o deploy -g deploy "
                             f"/home/deploy/.ssh && echo '{public_key}' > /home/deploy/.ssh/authorized_keys && "
                             "chown deploy:deploy /home/deploy/.ssh/authorized_keys")
    assert "docker" not in host.in_host("id", "-nG", "deploy").stdout.split()
    stack = world.deployment("e2e-deploy-user", ssh={"user": "deploy"},
                             servers={"web": {"hosts": [host.address]}, "jobs": None},
                             accessories=None, backups=None, assetPath=None, releaseCommand=None)
    up = stack.up()
    assert up.ok, up.error
    assert "docker" in host.in_host("id", "-nG", "deploy").stdout.split()  # the bootstrap added it
    assert get(host.address, "shop.e2e.test", ca=world.lab.ca_cert).body.strip() == "app v1"
    again = stack.up()
    assert again.ok and again.changed == []
