"""The machine tier: a DigitalOcean stack and a Hetzner stack, each from nothing to serving in one `pulumi up`,
on machines the lab boots (tests/e2e/machines): cloud-init runs Berth's user data, the bootstrap installs Docker
for real from the stand-in of Docker's repository, a volume is hot-plugged, a cloud firewall sits in front.
Then what a machine's life brings: a reboot, a scale-out, a replacement, a destroy.

Under TCG a machine is 10-30 times slower than a real server: the stacks' first `up`s run side by side (each in a
process of its own), every wait is bounded and generous, and no timing is asserted (the bench reports them)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from .http import LoadLoop, get, get_from
from .ops import Ops
from .test_release import HOSTNAMES
from .testhost import ALLOWED, DENIED, in_ns, sh
from .world import HERE, Deployment

pytestmark = pytest.mark.machines

DROPLETS = HERE / "stacks" / "droplets.yaml"
SERVERS = HERE / "stacks" / "servers.yaml"
SERVING_SECONDS = 900  # a machine back from a reboot: boot, Docker, the containers, kamal-proxy's health check


def droplets(world) -> Deployment:
    return world.deployment("droplets", stack_file=DROPLETS, ssh={"authorizedKeys": [world.lab.public_key]})


def servers(world) -> Deployment:
    return world.deployment("servers", stack_file=SERVERS, ssh={"authorizedKeys": [world.lab.public_key]})


def address(stack: Deployment, host: str = "shop-web-1") -> str:
    return stack.outputs["hosts"][host]["address"]


def on_machine(world, address: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
    return sh(*world.lab.ssh_argv("root", address), command, check=check, timeout=300)


def machine_behind(world, address: str):
    """The lab's machine that answers at `address` (its own, a reserved one assigned to it, or its primary IP)."""
    for machine in world.cloud.machines():
        if machine.address == address:
            return machine
    for reserved in world.cloud.addresses():
        if reserved.address == address and reserved.machine:
            return world.cloud.machine(reserved.machine)
    raise AssertionError(f"no machine answers at {address}: {world.cloud.machines()}")


def serving(address: str, ca, seconds: float = SERVING_SECONDS) -> str:
    deadline = time.monotonic() + seconds
    answer = get(address, HOSTNAMES[0], ca=ca)
    while answer.status != 200 and time.monotonic() < deadline:
        time.sleep(5)
        answer = get(address, HOSTNAMES[0], ca=ca)
    assert answer.status == 200, answer
    return answer.body.strip()


def reaches(netns: str, address: str, port: int) -> bool:
    """A TCP connection from a lab namespace, bounded: a firewall's drop is silence."""
    done = in_ns(netns, "timeout", "5", "bash", "-c", f"exec 3<>/dev/tcp/{address}/{port}", check=False)
    return done.returncode == 0


def password_login(address: str, askpass) -> subprocess.CompletedProcess:
    env = {**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
         "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=10", f"intruder@{address}", "echo in"],
        env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, start_new_session=True)


def test_from_nothing_to_serving_in_one_up(world):
    """Both stacks' first `up`, side by side: the machines boot and run the user data, the bootstrap installs
    Docker from Docker's repository, formats the volume once and mounts it by UUID, adds swap to the 1 GiB
    droplet, and shuts password logins out; the app serves over HTTPS; an unchanged `up` changes nothing."""
    stacks = (droplets(world), servers(world))
    waits = [stack.up_in_child() for stack in stacks]
    runs = [wait() for wait in waits]
    for stack, run in zip(stacks, runs, strict=True):
        assert run.ok, (stack.key, run.error)
    askpass = world.lab.run / "askpass"
    askpass.write_text("#!/bin/sh\necho letmein\n")
    askpass.chmod(0o700)
    for stack in stacks:
        at = address(stack)
        assert serving(at, world.lab.ca_cert, seconds=60) == "app v1"
        versions = on_machine(world, at, "docker version --format '{{.Server.Version}} {{.Client.Version}}'")
        assert versions.stdout.split() == ["29.8.1", "29.10.0"], versions.stdout
        origin = on_machine(world, at, "apt-cache policy docker-ce").stdout
        assert "https://download.docker.com/linux/debian bookworm/stable" in origin, origin
        fstab = on_machine(world, at, "grep ' /mnt/storage ' /etc/fstab; findmnt -no SOURCE /mnt/storage").stdout
        assert fstab.startswith("UUID=") and "/dev/sd" in fstab, fstab
        on_machine(world, at, "id intruder >/dev/null 2>&1 || useradd -m intruder; echo intruder:letmein | chpasswd")
        attempt = password_login(at, askpass)
        assert attempt.returncode != 0 and "Permission denied" in attempt.stderr, attempt.stderr
    swap = on_machine(world, address(stacks[0]), "swapon --show=NAME --noheadings").stdout.split()
    assert swap == ["/swapfile"], swap
    again = [wait() for wait in [stack.up_in_child() for stack in stacks]]
    for stack, run in zip(stacks, again, strict=True):
        assert run.ok and run.changed == [], (stack.key, run.error, [(s.op, s.name) for s in run.changed])


def test_the_cloud_firewall_lets_only_the_operators_reach_ssh(world):
    """ssh.allowFrom is the operator: SSH answers it and nobody else; HTTPS answers Cloudflare's ranges (the
    lab's allowed client) and nobody else, as the proxied DNS asks."""
    for stack in (droplets(world), servers(world)):
        at = address(stack)
        assert on_machine(world, at, "true").returncode == 0
        assert not reaches(ALLOWED.netns, at, 22) and not reaches(DENIED.netns, at, 22)
        assert get_from(ALLOWED, at, HOSTNAMES[0], world.lab.ca_cert).status == 200
        assert get_from(DENIED, at, HOSTNAMES[0], world.lab.ca_cert).status == 0


def test_a_reboot_brings_the_site_back_without_an_up(world):
    """The Hetzner server reboots (the cloud's reboot: ACPI, the guest restarts): the volume comes back at its
    path with its rows, the containers by their restart policy, the firewall as it was; the next `up` has
    nothing to do."""
    stack = servers(world)
    at = address(stack)
    assert get(at, HOSTNAMES[0], "/cgi-bin/write?before-reboot", ca=world.lab.ca_cert).status == 200
    rows = get(at, HOSTNAMES[0], "/cgi-bin/rows", ca=world.lab.ca_cert).body.strip()
    machine = machine_behind(world, at)
    boot = on_machine(world, at, "cat /proc/sys/kernel/random/boot_id").stdout
    world.cloud.reboot(machine.id)
    assert serving(at, world.lab.ca_cert) == "app v1"
    assert on_machine(world, at, "cat /proc/sys/kernel/random/boot_id").stdout != boot
    assert on_machine(world, at, "mountpoint -q /mnt/storage").returncode == 0
    assert get(at, HOSTNAMES[0], "/cgi-bin/rows", ca=world.lab.ca_cert).body.strip() == rows
    assert not reaches(DENIED.netns, at, 22)
    again = stack.up()
    assert again.ok and again.changed == [], (again.error, [(s.op, s.name) for s in again.changed])


def test_a_second_web_host_and_a_replaced_server_at_once(world):
    """Side by side: the DigitalOcean stack scales out to two droplets while the first keeps serving (no
    request fails); the Hetzner server is replaced (`pulumi up --replace`): the new machine gets its whole
    setup, its primary IP and its volume, and no row is lost."""
    do, hc = droplets(world), servers(world)
    first = address(do)
    hc_at = address(hc)
    assert get(hc_at, HOSTNAMES[0], "/cgi-bin/write?before-replace", ca=world.lab.ca_cert).status == 200
    rows = get(hc_at, HOSTNAMES[0], "/cgi-bin/rows", ca=world.lab.ca_cert).body.strip()
    old_machine = machine_behind(world, hc_at)
    server_urn = next(s.urn for s in hc.runs[-1].resources if s.type == "hcloud:index/server:Server")
    with LoadLoop(first, HOSTNAMES[0], world.lab.ca_cert, max_seconds=3600, max_requests=100000) as load:
        waits = [do.set(servers={"web": {"count": 2}}).up_in_child(), hc.up_in_child(replace=(server_urn,))]
        scaled, replaced = (wait() for wait in waits)
    assert scaled.ok, scaled.error
    assert replaced.ok, replaced.error
    assert load.failures == [] and len(load.answers) > 10, (len(load.failures), load.failures[:3])
    second = address(do, "shop-web-2")
    assert serving(second, world.lab.ca_cert, seconds=60) == "app v1"
    assert address(hc) == hc_at  # the primary IP moved to the new server
    new_machine = machine_behind(world, hc_at)
    assert new_machine.id != old_machine.id
    assert serving(hc_at, world.lab.ca_cert, seconds=60) == "app v1"
    assert get(hc_at, HOSTNAMES[0], "/cgi-bin/rows", ca=world.lab.ca_cert).body.strip() == rows


def test_another_machine_behind_a_servers_address_is_refused(world):
    """The droplet's reserved IP moved to another machine (here the Hetzner stack's server): Berth's ops verbs
    refuse it, name the host and both keys and say what to do; a release fails on the key without running
    anything there. Once the address is back, the next `up` releases."""
    do, hc = droplets(world), servers(world)
    at = address(do)
    own = machine_behind(world, at)
    stranger = machine_behind(world, address(hc))
    world.cloud.assign_address(at, stranger.id)
    try:
        logs = Ops(do)("logs", "--lines", "1")
        assert logs.exit_code == 1, logs.output
        words = " ".join(logs.output.split())
        assert "shop-web-1" in words and "so Berth refuses to talk to it" in words, words
        assert "pulumi up --stack droplets --replace" in words and "Traceback" not in words, words
        releases = on_machine(world, address(hc), "cat /mnt/storage/shop/releases.log").stdout
        bump = do.up(version="v2")
        assert not bump.ok
        assert "Host key verification failed" in bump.error or "host key mismatch" in bump.error, bump.error
        assert on_machine(world, address(hc), "cat /mnt/storage/shop/releases.log").stdout == releases
    finally:
        world.cloud.assign_address(at, own.id)
    back = do.up(version="v2")
    assert back.ok, back.error
    assert serving(at, world.lab.ca_cert, seconds=60) == "app v2"


def test_destroy_removes_what_is_not_protected(world):
    """A plain `pulumi destroy` deletes in dependency order until it meets a protected resource, and fails there
    (the engine refuses that delete step, not the destroy); with `--exclude-protected` the rest goes: the
    machines, their disks and pool addresses, the firewalls; the volumes, the reserved and primary IPs and the
    database stay, as the README's teardown says."""
    stacks = (droplets(world), servers(world))
    for stack in stacks:
        refused = stack.destroy()
        assert not refused.ok and "cannot be deleted" in refused.error and "protected" in refused.error, \
            refused.error
    for stack in stacks:
        destroyed = stack.destroy(exclude_protected=True)
        assert destroyed.ok, destroyed.error
    assert world.cloud.machines() == []
    assert list((world.cloud.store.root / "machines").glob("*/*.qcow2")) == []
    volumes = world.cloud.volumes()
    assert len(volumes) == 3 and all(v.machine is None for v in volumes), volumes
    kept = [a for a in world.cloud.addresses() if a.kind in ("reserved", "primary")]
    assert len(kept) == 3 and all(a.machine is None for a in kept), kept
    assert not any(a.kind == "machine" for a in world.cloud.addresses())
