"""Declarations the Docker provider and pulumi-command read back, proven on real daemons and hosts: a daemon
with its own default log options, a memory limit, a replaced accessory's stop, a changed health check, and
a host whose sshd starts late. Each fails on the lab without its fix (see the closing note of issue 19)."""

from __future__ import annotations

import json
import time

from .http import get
from .test_release import HOSTNAMES
from .world import MINIMAL


def test_a_daemon_with_default_log_options_and_memory_and_cpu_limits_changes_nothing_on_an_unchanged_up(world):
    host = world.add_host(dockerd_flags=("--log-opt", "max-file=3"))
    # cpus: 1 reads back from the provider as "1.0" (nanoInt64ToDecimalString), which Berth declares.
    stack = world.deployment("e2e-defaults", servers={"web": {"hosts": [host.address],
                                                              "options": {"memory": "256m", "cpus": 1}}}, **MINIMAL)
    first = stack.up()
    assert first.ok, first.error
    merged = json.loads(host.docker("inspect", "--format", "{{json .HostConfig.LogConfig.Config}}", "kamal-proxy").stdout)
    assert merged == {"max-file": "3", "max-size": "10m"}  # the daemon's default merged into the declared one
    swap = host.docker("inspect", "--format", "{{.HostConfig.MemorySwap}}", stack.outputs["release"]["containers"]
                       ["shop-web-1"]).stdout.strip()
    assert int(swap) == 2 * 256 * 1024 * 1024  # what the daemon set, and what Berth declared
    for again in (stack.up(), stack.up(refresh=True)):
        assert again.ok, again.error
        assert again.changed == [], [(s.op, s.name) for s in again.changed]
    release = stack.up(version="v2")
    assert release.ok, release.error
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v2"


def test_a_replaced_litestream_gets_sigterm_and_time_to_finish(world):
    shop = world.deployment()
    assert shop.converged()
    since = int(time.time()) - 1
    up = shop.up(accessories={"litestream": {"syncInterval": "2s"}})
    assert up.ok, up.error
    assert ("replace", "shop-web-1-litestream") in [(s.op, s.name) for s in up.changed]
    events = world.web.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1), "--filter",
                              "type=container", "--filter", "container=shop-litestream", "--format",
                              "{{.Action}} {{json .Actor.Attributes}}").stdout.splitlines()
    stopped = [json.loads(line.split(" ", 1)[1]) for line in events if line.startswith(("kill ", "die "))]
    assert stopped, events
    # SIGTERM, and no SIGKILL: without a grace period Docker sends SIGKILL right after it ("kill" 15, "kill" 9)
    assert [e["signal"] for e in stopped if "signal" in e] == ["15"], stopped
    assert next(e for e in stopped if "exitCode" in e)["exitCode"] == "0", stopped  # it exited by itself, in time
    assert shop.up().ok  # back to the stack's own interval


def test_a_changed_health_check_makes_a_new_app_container(world):
    shop = world.deployment()
    assert shop.converged()
    up = shop.up(proxy={"healthcheck": {"timeout": "3s"}})
    assert up.ok, up.error
    assert ("replace", "shop-web-1-app") in [(s.op, s.name) for s in up.changed]  # under a new name
    running = shop.outputs["release"]["containers"]["shop-web-1"]
    timeout = world.web.docker("inspect", "--format", "{{.Config.Healthcheck.Timeout}}", running).stdout.strip()
    assert timeout == "3s"
    assert shop.up().ok


def test_a_host_whose_sshd_starts_late_is_waited_for(world):
    host = world.add_host(sshd_delay=25)  # pulumi-command's default gives up after about 8 s
    stack = world.deployment("e2e-late-sshd", servers={"web": {"hosts": [host.address]}}, **MINIMAL)
    up = stack.up()
    assert up.ok, up.error
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"
