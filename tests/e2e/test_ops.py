"""The ops CLI on the lab: maintenance on and off, and a rollback that needs no registry."""

from __future__ import annotations

import time

from .http import get
from .ops import Ops
from .test_release import HOSTNAMES, serving


def answer(world):
    return get(world.web.address, HOSTNAMES[0], ca=world.lab.ca_cert)


def test_maintenance_on_survives_a_deploy_and_off_serves_again(world):
    shop = world.deployment()
    assert shop.converged()
    ops = Ops(shop)
    result = ops("maintenance", "on", "--message", "Back at 10:00", "--yes")
    assert result.exit_code == 0, result.output
    during = answer(world)
    assert during.status == 503 and "Back at 10:00" in during.body
    redeploy = shop.set(env={"clear": {"RAILS_ENV": "production", "DEPLOY": "2"}}).up()  # a new container
    assert redeploy.ok, redeploy.error
    assert [s for s in redeploy.changed if s.name.endswith("-switch")], "the deploy switched"
    assert answer(world).status == 503
    result = ops("maintenance", "off", "--yes")
    assert result.exit_code == 0, result.output
    assert serving(world) == "app v2"


def test_rollback_lists_kept_versions_and_needs_no_pull(world):
    ops = Ops(world.deployment())
    listing = ops("rollback")
    assert listing.exit_code == 0, listing.output
    world.lab.stop_service("registry")  # a rollback must not need the registry: the image is on the host
    try:
        started = time.monotonic()
        result = ops("rollback", "v1", "--yes")
        elapsed = time.monotonic() - started
    finally:
        world.lab.start_service("registry")
    assert result.exit_code == 0, result.output + (world.deployment().last_up.error or "")
    assert serving(world) == "app v1"
    world.timings["rollback"] = elapsed
    # Again: berth's checks, which read the outputs while `pulumi up` starts, refuse it before the program declares
    # anything; only their words show, and the stack file is as it was.
    stack_file = world.deployment().write()
    before = stack_file.read_bytes()
    again = ops("rollback", "v1", "--yes")
    assert again.exit_code == 1 and "runs v1 already" in again.output, again.output
    assert "Updating (" not in again.output and "error:" not in again.output, again.output
    assert stack_file.read_bytes() == before
    assert serving(world) == "app v1"


def test_lowering_retention_prunes_stopped_containers_and_their_images(world):
    shop = world.deployment()
    kept_before = [n for n, s in _containers(world.web).items() if s == "exited"]
    assert len(kept_before) >= 2
    up = shop.set(retainContainers=1).up()
    assert up.ok, up.error
    states = _containers(world.web)
    assert sorted(states.values()) == ["exited", "running"]
    images = world.web.docker("images", "--format", "{{.Tag}}", world.app_repository).stdout.split()
    versions = {world.web.docker("inspect", "--format", '{{index .Config.Labels "version"}}', name).stdout.strip()
                for name in states}
    assert sorted(images) == sorted(versions)


def _containers(host) -> dict[str, str]:
    listing = host.docker("ps", "--all", "--filter", "label=service=shop", "--filter", "label=role=web",
                          "--format", "{{.Names}} {{.State}}").stdout
    return dict(line.split() for line in listing.splitlines())
