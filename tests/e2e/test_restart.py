"""What happens to a deployment between two `up`s: a host that restarts, and a container removed by hand.
A restart must need no `up` (every container comes back by its restart policy, the proxy with its routes);
drift is found by `pulumi refresh` and put right by the next `up`."""

from __future__ import annotations

import time

from .http import get
from .test_release import HOSTNAMES, containers, serving


def _answer_within(world, seconds: float):
    """The first HTTPS answer within a bounded wait (a restart takes the proxy away for a moment)."""
    deadline = time.monotonic() + seconds
    answer = get(world.web.address, HOSTNAMES[0], ca=world.lab.ca_cert)
    while answer.status != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        answer = get(world.web.address, HOSTNAMES[0], ca=world.lab.ca_cert)
    return answer


def test_after_a_host_restart_everything_serves_again_without_an_up(world):
    shop = world.deployment()
    assert shop.converged()
    version = serving(world)
    before = {host.name: containers(host, service="shop") for host in world.lab.hosts[:2]}
    proxy = world.web.docker("inspect", "--format", "{{.Id}}", "kamal-proxy").stdout
    for host in world.lab.hosts[:2]:
        host.restart_docker()
    answer = _answer_within(world, 60)
    assert (answer.status, answer.body.strip()) == (200, version), answer
    for hostname in HOSTNAMES:  # the proxy kept its routes and its certificate
        assert serving(world, hostname) == version
    assert {host.name: containers(host, service="shop") for host in world.lab.hosts[:2]} == before
    assert world.web.docker("inspect", "--format", "{{.Id}}", "kamal-proxy").stdout == proxy
    heartbeat = world.jobs.path("/mnt/storage/shop/jobs.heartbeat")
    seen = {heartbeat.read_text()}
    for _ in range(20):  # the jobs role runs again: its heartbeat moves
        time.sleep(0.5)
        seen.add(heartbeat.read_text())
        if len(seen) > 1:
            break
    assert len(seen) > 1
    again = shop.up()
    assert again.ok and again.changed == [], [(s.op, s.name) for s in again.changed]


def test_a_container_removed_by_hand_is_found_by_refresh_and_put_back_by_up(world):
    shop = world.deployment()
    (app,) = [name for name, state in containers(world.web, service="shop", role="web").items() if state == "running"]
    version = serving(world)
    world.web.docker("rm", "-f", app)
    refresh = shop.refresh()
    assert refresh.ok, refresh.error
    assert not [r for r in shop.state() if r["urn"].endswith("::shop-web-1-app")], "refresh kept a container that is gone"
    up = shop.up()
    assert up.ok, up.error
    assert ("create", "shop-web-1-app") in [(s.op, s.name) for s in up.changed]
    assert serving(world) == version
    assert containers(world.web, service="shop", role="web")[app] == "running"
