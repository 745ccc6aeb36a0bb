"""Berth on providers that fail as the real ones fail (the lab plugins copy it: tests/e2e/plugins/server.py
`Failed`): a container whose start failed stays in state as planned and is never started by an empty update;
an ignored input goes back to its old value, except in a replacement; a changed connection is an update of
every remote command; a memory limit cannot be lifted in place. Each scenario fails without its fix (the
closing note of issue 29 has the lines)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pulumi_docker as docker_sdk

from components import containers

from .http import LoadLoop, get
from .test_release import HOSTNAMES, release_runs
from .testhost import sh
from .world import MINIMAL

# One host of their own, the web role and the loopback-only `cache` accessory of the shop stack.
FAILURES = {**MINIMAL, "accessories": {"litestream": None}}


def occupied(host, address: str, port: int) -> subprocess.Popen:
    """Something else listening on the host (an nginx left running, another service's port)."""
    listener = subprocess.Popen(["nsenter", f"--target={host.init_pid}", "--net", "--mount", "--uts",
                                 "busybox", "httpd", "-f", "-p", f"{address}:{port}", "-h", "/tmp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(50):
        if host.in_host("sh", "-c", f"busybox netstat -ltn | grep -q ' {address}:{port} '", check=False).returncode == 0:
            return listener
        time.sleep(0.1)
    raise AssertionError(f"the listener on {address}:{port} did not start")


def state_of(host, container: str) -> str:
    return host.docker("inspect", "--format", "{{.State.Status}}", container, check=False).stdout.strip()


def test_containers_whose_ports_were_taken_start_on_the_next_up_once_the_ports_are_free(world):
    """The proxy and an accessory on a host where ports 80 and 127.0.0.1:8080 are taken: the first `up` ends in
    Docker's own words; once the ports are free, the next `up` serves. Without containers.REPLACE_ON_ANY_CHANGE
    that `up` succeeds with both containers never started (the provider's empty update starts nothing)."""
    host = world.add_host()
    stack = world.deployment("e2e-failures", servers={"web": {"hosts": [host.address]}, "jobs": None}, **FAILURES)
    listeners = [occupied(host, "0.0.0.0", 80), occupied(host, "127.0.0.1", 8080)]
    try:
        failed = stack.up()
    finally:
        for listener in listeners:
            listener.send_signal(signal.SIGTERM)
            listener.wait(10)
    assert not failed.ok
    assert "address already in use" in failed.error, failed.error
    assert "created" in {state_of(host, "kamal-proxy"), state_of(host, "shop-cache")}  # kept, never started

    up = stack.up()
    assert up.ok, up.error
    assert (state_of(host, "kamal-proxy"), state_of(host, "shop-cache")) == ("running", "running")
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"
    again = stack.up()
    assert again.ok and again.changed == [], [(s.op, s.name) for s in again.changed]


def test_removing_a_memory_limit_lifts_it(world):
    """The provider's update sends Memory 0 for a removed limit, which Docker reads as "unchanged"."""
    stack = world.deployment("e2e-failures")
    limited = stack.up(accessories={**FAILURES["accessories"], "cache": {"options": {"memory": "64m"}}})
    assert limited.ok, limited.error
    assert world.lab.hosts[-1].docker("inspect", "--format", "{{.HostConfig.Memory}}", "shop-cache").stdout.strip() \
        == str(64 * 1024 * 1024)
    lifted = stack.up()
    assert lifted.ok, lifted.error
    assert ("replace", "shop-web-1-cache") in [(s.op, s.name) for s in lifted.changed]
    assert world.lab.hosts[-1].docker("inspect", "--format", "{{.HostConfig.Memory}}", "shop-cache").stdout.strip() == "0"


def test_changed_log_options_reach_every_container(world, monkeypatch):
    """Berth's own log options changed, as an upgrade of Berth would change them: `logOpts` is in
    `ignore_changes` (the daemon merges its defaults into what the provider reads back), and the engine puts an
    ignored input back to its old value before the diff, but a replacement (the `berth.log-opts` label forces
    one) is created from the program's own inputs (pulumi v3.274.1 step_generator.go: Check runs again on the
    goal's properties), so every new container has the new options, and the next `up` changes nothing."""
    host = world.lab.hosts[-1]
    stack = world.deployment("e2e-failures")
    assert stack.converged()
    options = {"max-size": "20m", "max-file": "2"}
    monkeypatch.setattr(containers, "LOGGING", {"log_driver": containers.LOG_DRIVER, "log_opts": options})
    monkeypatch.setattr(containers, "LOGGING_LABEL", docker_sdk.ContainerLabelArgs(
        label="berth.log-opts", value=",".join(f"{k}={v}" for k, v in sorted(options.items()))))
    up = stack.up()
    assert up.ok, up.error
    replaced = {s.name for s in up.changed if s.op == "replace" and s.type == "docker:index/container:Container"}
    assert replaced == {"shop-web-1-proxy", "shop-web-1-cache", "shop-web-1-app"}, replaced
    names = ["kamal-proxy", "shop-cache", stack.outputs["release"]["containers"]["shop-web-1"]]
    for name in names:
        config = json.loads(host.docker("inspect", "--format", "{{json .HostConfig.LogConfig.Config}}", name).stdout)
        assert config == options, (name, config)
    again = stack.up()
    assert again.ok and again.changed == [], [(s.op, s.name) for s in again.changed]


def test_a_rotated_ssh_key_runs_nothing_again(world):
    """`berth:ssh.privateKey` rotated under load: pulumi-command updates every remote command whose connection
    changed, and without an `update` runs its `create` again (bootstrap, release command, switch, prune, grants
    on every host). Berth's commands update to nothing: no request fails, the release command does not run
    again, no container is touched, and the commands use the new key from then on."""
    shop = world.deployment()
    assert shop.converged()
    key = world.lab.run / "rotated_ed25519"
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "berth-e2e-rotated", "-f", str(key))
    for host in world.lab.hosts[:2]:
        with host.path("/root/.ssh/authorized_keys").open("a") as keys:
            keys.write(key.with_suffix(".pub").read_text())
    releases = release_runs(world)
    before = {h.name: h.docker("ps", "-aq", "--no-trunc").stdout.split() for h in world.lab.hosts[:2]}
    shop.set_secret("E2E_SSH_KEY", key.read_text())
    preview = shop.preview()
    assert preview.ok, preview.error
    with LoadLoop(world.web.address, HOSTNAMES[0], world.lab.ca_cert, max_seconds=120) as load:
        for _ in range(50):
            if len(load.answers) >= 5:
                break
            time.sleep(0.1)
        up = shop.up()
    assert up.ok, up.error
    assert {(s.op, s.type) for s in up.changed} == {("update", "command:remote:Command")}, \
        [(s.op, s.name) for s in up.changed]
    assert load.failures == [] and len(load.answers) >= 5, load.failures[:3]
    assert release_runs(world) == releases
    assert {h.name: h.docker("ps", "-aq", "--no-trunc").stdout.split() for h in world.lab.hosts[:2]} == before
    fingerprint = sh("ssh-keygen", "-lf", str(key.with_suffix(".pub"))).stdout.split()[1]
    assert fingerprint in (world.lab.log / world.web.name / "sshd.log").read_text()  # the new key was used
    assert shop.up().changed == []
    back = shop.set_secret("E2E_SSH_KEY", world.lab.private_key).up()  # and back, as the next scenarios expect
    assert back.ok and {s.op for s in back.changed} == {"update"}, back.error


def test_a_step_that_fails_in_the_bootstrap_stops_it_there(world):
    """An sshd drop-in the host already had that sshd refuses: the bootstrap's `sshd -t` fails, the `up` ends
    with sshd's own words, and nothing after that step ran on the host (no `kamal` network, no firewall rules);
    once the file is mended, the next `up` sets the host up."""
    host = world.add_host()
    broken = host.path("/etc/ssh/sshd_config.d/00-operator.conf")
    broken.write_text("PasswordAuthenticaton no\n")  # a typo an operator made
    stack = world.deployment("e2e-broken-bootstrap", servers={"web": {"hosts": [host.address]}, "jobs": None},
                             **MINIMAL)
    failed = stack.up()
    assert not failed.ok
    assert "Bad configuration option: PasswordAuthenticaton" in failed.error, failed.error
    assert [s.name for s in failed.steps.taken if s.failed] == ["shop-web-1-bootstrap"]
    assert host.docker("network", "inspect", "kamal", check=False).returncode != 0
    assert "DOCKER-USER" not in host.path("/etc/ufw/after.rules").read_text()
    broken.write_text("PasswordAuthentication no\n")
    up = stack.up()
    assert up.ok, up.error
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"
