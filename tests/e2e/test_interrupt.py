"""A release interrupted halfway (the CLI sent SIGINT, then killed while the new containers were being
created): the old version keeps serving, and the recovery the README documents (`berth recover`, then
`pulumi up`) converges with no request failed and no row lost."""

from __future__ import annotations

import json
import time

from .http import LoadLoop, get
from .ops import Ops
from .test_release import HOSTNAMES, serving


def rows(world) -> int:
    answer = get(world.web.address, HOSTNAMES[0], "/cgi-bin/rows", ca=world.lab.ca_cert)
    assert answer.status == 200, answer
    return int(answer.body)


def test_an_interrupted_release_keeps_the_old_version_serving_and_recovers(world):
    shop = world.deployment()
    assert shop.converged()
    old = serving(world)
    target = "v2" if old == "app v1" else "v1"
    for i in range(3):
        answer = get(world.web.address, HOSTNAMES[0], f"/cgi-bin/write?before-interrupt-{i}", ca=world.lab.ca_cert)
        assert answer.status == 200, answer
    written = rows(world)
    with LoadLoop(world.web.address, HOSTNAMES[0], world.lab.ca_cert, max_seconds=300) as load:
        for _ in range(50):
            if len(load.answers) >= 5:
                break
            time.sleep(0.1)
        interrupted = shop.up_interrupted(
            lambda step: step.name == "shop-web-1-app" and step.op in ("create", "create-replacement", "replace"),
            grace=0.2, version=target)
        assert not interrupted.ok
        assert serving(world) == old
        pending = json.loads(shop.cli("stack", "export").stdout)["deployment"].get("pending_operations") or []
        recovered = Ops(shop)("recover", "--yes")  # the README's recovery: berth recover, then pulumi up
        assert recovered.exit_code == 0, recovered.output
        up = shop.up(version=target)
        settle = time.monotonic() + 1
        while time.monotonic() < settle:
            time.sleep(0.1)
    assert up.ok, up.error
    assert pending, "the CLI was killed after the engine had finished: nothing to recover from"
    assert serving(world) == f"app {target}"
    assert load.failures == [], (len(load.failures), load.failures[:3])
    assert rows(world) >= written
