"""Several roles on one machine, as Kamal runs them: web and jobs on one host (one proxy, a container per role,
Litestream restoring before both, the assets bridge), through a release under load, a rollback and a restart;
and an accessory on one host that the app containers of two others use, refused to everyone else."""

from __future__ import annotations

import time

from .http import LoadLoop, get
from .ops import Ops
from .test_release import HOSTNAMES, STORAGE, containers
from .testhost import DENIED, OPERATOR_IPV4, in_ns, sh


def shared(world):
    """web and jobs on one fresh host, as Kamal writes it: the same address under both roles."""
    if "e2e-shared" not in world.deployments:
        host = world.add_host()
        world.deployment("e2e-shared", servers={"web": {"hosts": [host.address]},
                                                "jobs": {"hosts": [host.address], "cmd": "jobs"}})
    deployment = world.deployments["e2e-shared"]
    return deployment, next(h for h in world.lab.hosts if h.address == deployment.settings["servers"]["web"]["hosts"][0])


def running(host, role: str) -> list[str]:
    return [name for name, state in containers(host, service="shop", role=role).items() if state == "running"]


def test_web_and_jobs_on_one_host_release_and_serve(world):
    stack, host = shared(world)
    up = stack.up()
    assert up.ok, up.error
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"
    (web,), (jobs,) = running(host, "web"), running(host, "jobs")
    assert web.startswith("shop-web-v1-") and jobs.startswith("shop-jobs-v1-")
    assert host.docker("ps", "-q", "--filter", "name=^kamal-proxy$").stdout.strip()  # one proxy
    heartbeat = host.path(f"{STORAGE}/jobs.heartbeat")
    assert heartbeat.exists()
    restored = [s.name for s in up.steps.taken if s.name.endswith("-litestream-before-start")]
    assert restored == ["shop-web-1-litestream-before-start"]  # once per machine, before both containers
    assert {s.name for s in up.changed} >= {"shop-web-1-app", "shop-web-1-jobs-app", "shop-web-1-jobs-prune"}


def test_a_version_bump_under_load_replaces_both_and_drops_no_request(world):
    stack, host = shared(world)
    assert stack.converged()
    jobs_before = running(host, "jobs")
    with LoadLoop(host.address, HOSTNAMES[0], world.lab.ca_cert, max_seconds=120) as load:
        for _ in range(50):
            if len(load.answers) >= 5:
                break
            time.sleep(0.1)
        up = stack.up(version="v2")
    assert up.ok, up.error
    assert load.failures == [], (len(load.failures), load.failures[:3])
    assert load.bodies()[-1] == "app v2"
    (jobs,) = running(host, "jobs")
    assert jobs.startswith("shop-jobs-v2-") and jobs not in jobs_before  # the worker replaced, the old one stopped
    assert containers(host, service="shop", role="jobs")[jobs_before[0]] == "exited"
    for asset in ("/assets/app-v1.css", "/assets/app-v2.css"):  # the assets bridge, with jobs beside web
        assert get(host.address, HOSTNAMES[0], asset, ca=world.lab.ca_cert).status == 200, asset


def test_rollback_and_a_restart(world):
    stack, host = shared(world)
    bumped = stack.up(version="v2")  # unchanged after the bump above; run on its own, the bump itself
    assert bumped.ok, bumped.error
    result = Ops(stack)("rollback", "v1", "--yes")
    assert result.exit_code == 0, result.output
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"
    assert running(host, "jobs")[0].startswith("shop-jobs-v1-")
    host.restart_docker()
    for _ in range(60):
        if get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).status == 200 and running(host, "jobs"):
            break
        time.sleep(0.5)
    assert get(host.address, HOSTNAMES[0], ca=world.lab.ca_cert).body.strip() == "app v1"
    assert running(host, "web") and running(host, "jobs")
    assert stack.up().changed == []


def test_an_accessory_on_one_host_serves_the_app_on_two_others_and_no_one_else(world):
    """`publish: private:8080` on the jobs host: the web hosts' app containers reach it at that host's address;
    the internet's client and the operator are refused (ufw and DOCKER-USER open it to the stack's hosts only)."""
    web = [world.add_host(), world.add_host()]
    data = world.add_host()
    stack = world.deployment("e2e-reach", servers={"web": {"hosts": [h.address for h in web]},
                                                   "jobs": {"hosts": [data.address], "cmd": "jobs"}},
                             accessories={"litestream": None, "cache": {"roles": ["jobs"], "publish": "private:8080"}},
                             backups=None)
    up = stack.up()
    assert up.ok, up.error
    url = f"http://{data.address}:8080/"
    for host in web:
        (app,) = running(host, "web")
        # busybox's wget (Debian 12's 1.35) crashes with -T: the exec's own timeout bounds it
        answer = host.docker("exec", app, "wget", "-q", "-O", "-", url, check=False, timeout=60)
        assert answer.returncode == 0 and answer.stdout.strip() == "app v1", (host.name, answer.stderr)
    refused = in_ns(DENIED.netns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3", url,
                    check=False).stdout.strip()
    assert refused == "000"
    operator = sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3", url, check=False)
    assert operator.stdout.strip() == "000", f"the operator ({OPERATOR_IPV4}) may reach SSH only"
