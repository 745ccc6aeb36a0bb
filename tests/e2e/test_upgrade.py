"""Upgrading Berth under a running stack: a stack deployed by the Berth that landed before this one (commit
8d1e191, run from its own tree through the same CLI and engine) is previewed, then `pulumi up`-ed by this one
under load. Nothing is replaced but commands; no container is touched, no request fails, and the next `up`
changes nothing. (tests/test_upgrade.py holds the clouds' infrastructure URNs, which the lab cannot create.)"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from .engine import REPO
from .http import LoadLoop, get
from .test_release import HOSTNAMES

EARLIER = "8d1e191"  # the last Berth that landed before several roles could share a machine


def earlier_berth(tmp_path):
    tree = tmp_path / f"berth-{EARLIER}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", EARLIER], capture_output=True, check=False)
    assert archive.returncode == 0, f"commit {EARLIER} is not in this clone: {archive.stderr.decode()}"
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def up_with(tree, deployment) -> subprocess.CompletedProcess:
    """`pulumi up` of the deployment with the program of another Berth tree, inline as berth/engine.py runs it."""
    name, work, cli = deployment.stack_name, str(deployment.work), str(deployment.world.engine.cli)
    code = textwrap.dedent(f"""
        from pathlib import Path
        from berth import engine
        engine.select({name!r}, Path({work!r}), cli={cli!r}).up(on_output=print, color="never")
    """)
    return subprocess.run([sys.executable, "-c", code], cwd=tree, env=deployment.env(), capture_output=True,
                          text=True, timeout=900, check=False)


def test_a_stack_deployed_by_the_earlier_berth_is_upgraded_without_touching_a_container(world, tmp_path):
    tree = earlier_berth(tmp_path)
    host = world.add_host()
    stack = world.deployment("e2e-upgrade", servers={"web": {"hosts": [host.address]}, "jobs": None})
    stack.write()
    stack.stack  # noqa: B018 - made, with its secrets, before the earlier Berth runs
    earlier = up_with(tree, stack)
    assert earlier.returncode == 0, earlier.stdout[-3000:] + earlier.stderr[-3000:]
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"
    ids = host.docker("ps", "-aq", "--no-trunc").stdout.split()

    preview = stack.preview()
    assert preview.ok, preview.error
    kinds = {(s.op, s.type) for s in preview.changed}
    assert {t for op, t in kinds if op in ("replace", "delete", "create")} <= {"command:remote:Command"}, kinds
    with LoadLoop(host.address, HOSTNAMES[0], world.lab.ca_cert, max_seconds=120) as load:
        for _ in range(50):
            if len(load.answers) >= 5:
                break
            time.sleep(0.1)
        up = stack.up()
    assert up.ok, up.error
    assert load.failures == [] and len(load.answers) >= 5, load.failures[:3]
    assert host.docker("ps", "-aq", "--no-trunc").stdout.split() == ids  # no container replaced
    assert {s.type for s in up.changed} <= {"command:remote:Command"}, [(s.op, s.name) for s in up.changed]
    assert stack.up().changed == []  # the preview's own words are kept in /var/tmp/berth-e2e-logs
