"""Releases on the lab's hosts: the first one, a version bump under load, a release that fails its
health check, a release command that fails, and an `up` with nothing changed. The tests run in order,
each starting from the deployment the previous one left."""

from __future__ import annotations

import time

from .engine import Steps
from .http import LoadLoop, get
from .plugins.docker import PORT_DEFAULTS, ports_diff_suppressed

HOSTNAMES = ("shop.e2e.test", "www.shop.e2e.test")
STORAGE = "/mnt/storage/shop"


def serving(world, hostname: str = HOSTNAMES[0]) -> str:
    answer = get(world.web.address, hostname, ca=world.lab.ca_cert)
    assert answer.status == 200, answer
    return answer.body.strip()


def release_runs(world) -> list[str]:
    log = world.web.path(f"{STORAGE}/releases.log")
    return [line.split()[1] for line in log.read_text().splitlines()] if log.exists() else []


def containers(host, **labels: str) -> dict[str, str]:
    """name -> state, of containers with these labels."""
    filters = [f"--filter=label={k}={v}" for k, v in labels.items()]
    listing = host.docker("ps", "--all", *filters, "--format", "{{.Names}} {{.State}}").stdout
    return dict(line.split() for line in listing.splitlines())


def outside_release(up) -> list:
    """Steps that changed something the release does not own."""
    return [s for s in up.changed if "berth:index:Release$" not in s.urn]


def announced_as_taken(preview, up) -> None:
    """`pulumi preview` announced exactly the steps `up` then took, resource by resource."""
    assert preview.ok, preview.error
    assert Steps.per_resource(preview.steps.planned) == Steps.per_resource(up.steps.taken)


def test_first_release_serves_both_hostnames_over_the_custom_certificate(world):
    shop = world.deployment()
    preview = shop.preview()
    assert {s.op for s in preview.resources} == {"create"}
    up = shop.up()
    assert up.ok, up.error
    announced_as_taken(preview, up)
    for hostname in HOSTNAMES:
        assert serving(world, hostname) == "app v1"
    plain = get(world.web.address, HOSTNAMES[0], https=False)
    assert (plain.status, plain.headers.get("location")) == (301, "https://shop.e2e.test/")
    assert release_runs(world) == ["v1"]  # once, on the primary host only
    assert not world.jobs.path(f"{STORAGE}/releases.log").exists()


def test_first_release_runs_the_jobs_role(world):
    heartbeat = world.jobs.path(f"{STORAGE}/jobs.heartbeat")
    seen = set()
    for _ in range(20):  # the jobs loop writes a new second every second
        if heartbeat.exists():
            seen.add(heartbeat.read_text().strip())
        if len(seen) >= 2:
            break
        time.sleep(0.5)
    assert len(seen) >= 2, "the jobs role's heartbeat did not move"
    assert list(containers(world.jobs, service="shop", role="jobs").values()) == ["running"]


def test_accessories_run_and_publish_nothing_beyond_the_host(world):
    for name in ("shop-litestream", "shop-cache"):
        state = world.web.docker("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        assert state == "running", name
    assert world.web.docker("port", "shop-litestream").stdout.strip() == ""
    assert world.web.ssh("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/").stdout == "200"
    outside = get(world.web.address, "shop.e2e.test", https=False, timeout=3)
    assert outside.status == 301  # port 80 is the proxy's; 8080 is not reachable from outside:
    from .testhost import sh

    refused = sh("curl", "-s", "--max-time", "3", f"http://{world.web.address}:8080/", check=False)
    assert refused.returncode != 0


def test_version_bump_under_load_drops_no_request(world):
    shop = world.deployment().set(version="v2")
    preview = shop.preview()
    with LoadLoop(world.web.address, HOSTNAMES[0], world.lab.ca_cert, max_seconds=120) as load:
        for _ in range(50):  # let the loop get going before the release starts
            if len(load.answers) >= 5:
                break
            time.sleep(0.1)
        up = shop.up()
        settle = time.monotonic() + 1
        while time.monotonic() < settle:
            time.sleep(0.1)
    assert up.ok, up.error
    announced_as_taken(preview, up)
    assert load.failures == [], (len(load.failures), load.failures[:3], [(s.op, s.name) for s in up.changed])
    assert load.bodies()[0] == "app v1" and load.bodies()[-1] == "app v2"
    assert serving(world) == "app v2"
    # Asset bridging: pages rendered by v1 still find their fingerprinted files under v2.
    for asset in ("/assets/app-v1.css", "/assets/app-v2.css"):
        assert get(world.web.address, HOSTNAMES[0], asset, ca=world.lab.ca_cert).status == 200, asset
    assert outside_release(up) == []
    web = containers(world.web, service="shop", role="web")
    assert sorted(web.values()) == ["exited", "running"]  # v1 kept, stopped, for a rollback
    assert release_runs(world) == ["v1", "v2"]


def test_a_release_that_fails_its_health_check_keeps_the_old_version(world):
    shop = world.deployment()
    up = shop.up(version="v3")
    assert not up.ok
    assert "target failed to become healthy" in up.error
    assert serving(world) == "app v2"
    assert outside_release(up) == []
    recovered = shop.up()  # back to the version in the settings
    assert recovered.ok, recovered.error
    assert serving(world) == "app v2"


def test_a_failing_release_command_switches_nothing(world):
    shop = world.deployment()
    up = shop.up(version="v1", env={"clear": {"RAILS_ENV": "production", "FAIL_RELEASE": "1"}})
    assert not up.ok
    assert "release command failed on purpose" in up.error
    assert [s for s in up.resources if s.type.endswith("Container") and s.op in ("create", "replace")] == []
    assert serving(world) == "app v2"


def test_an_unchanged_up_changes_nothing(world):
    shop = world.deployment()
    settled = shop.up()  # the failed release above left its command to re-run
    assert settled.ok, settled.error
    before = {h.name: containers(h, service="shop") for h in world.lab.hosts}
    proxy = world.web.docker("inspect", "--format", "{{.Id}}", "kamal-proxy").stdout
    up = shop.up()
    assert up.ok, up.error
    assert up.changed == []
    assert {h.name: containers(h, service="shop") for h in world.lab.hosts} == before
    assert world.web.docker("inspect", "--format", "{{.Id}}", "kamal-proxy").stdout == proxy


def test_the_proxys_ports_never_pass_the_providers_diff_suppression(world):
    """Why proxy.py ignores its ports in the diff: the provider's suppression compares each read-back binding with
    the first declared binding of its port, so a pair of one port (IPv4 and IPv6) never passes, in whatever order
    the daemon lists it (Debian's 20.10 reverses the declared order, Docker 29 keeps it), and the engine would
    replace the proxy on every `up`."""
    proxy = world.deployment().resource("shop-web-1-proxy")
    declared = [{**PORT_DEFAULTS, **port} for port in proxy["inputs"]["ports"]]
    read_back = proxy["outputs"]["ports"]

    def bindings(ports):
        return sorted((p["internal"], p["external"], p["ip"], p["protocol"]) for p in ports)

    assert bindings(read_back) == bindings(declared)  # the same bindings
    order = [(p["internal"], p["ip"]) for p in read_back]
    assert order == {"20.10": [(80, "::"), (80, "0.0.0.0"), (443, "::"), (443, "0.0.0.0")],
                     "29": [(80, "0.0.0.0"), (80, "::"), (443, "0.0.0.0"), (443, "::")]}[world.lab.engine.name]
    assert not ports_diff_suppressed(read_back, declared)
