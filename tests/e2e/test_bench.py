"""make bench-release: the same releases with Berth and with Kamal, each on a fresh lab host, measured.

Timings are printed (and written to the run's log directory), never asserted. Both sides deploy the same
images through the same kamal-proxy with the same proxy settings. Each side's first release includes its
host bootstrap: Berth's (ufw, sshd, unattended upgrades) runs in its first `up`; Kamal's is `kamal setup`, which
bootstraps, then deploys (v2.11.0 cli/main.rb `setup` invokes cli/server.rb `bootstrap`: `docker -v`, and only
when it fails `curl https://get.docker.com | sh`; Docker is on the lab's hosts, so that check is all it does).
"""

from __future__ import annotations

import statistics
import time

import pytest

from components.validation import load

from .engine import phase
from .http import LoadLoop, get
from .kamal import Kamal
from .ops import Ops
from .world import LOGS

pytestmark = pytest.mark.bench
HOSTNAME = "shop.e2e.test"


def _switch(world, host, deploy, serving: str = "app v2") -> dict:
    """Run `deploy()` under a load loop; the switch ends when the version that answers `serving` first does."""
    with LoadLoop(host.address, HOSTNAME, world.lab.ca_cert, max_requests=20000, max_seconds=120) as load:
        for _ in range(50):
            if len(load.answers) >= 5:
                break
            time.sleep(0.1)
        started = time.monotonic()
        ok = deploy()
        ended = time.monotonic()
        time.sleep(1)
    first = load.first(serving)
    during = [a for t, a in load.answers if started <= t <= ended]
    return {"ok": ok, "switch": (first - started) if first else None, "requests": len(during),
            "failed": len([a for a in during if a.status != 200])}


def test_bench_release(world):
    rows: dict[str, dict[str, str]] = {}
    berth_host, kamal_host = world.add_host(), world.add_host()

    bench = world.deployment("bench", servers={"web": {"hosts": [berth_host.address]}, "jobs": None},
                             accessories=None, backups=None, assetPath=None, releaseCommand=None)
    kamal = Kamal.project(world, kamal_host, load(bench.stack_file().program_view()))

    started = time.monotonic()
    assert bench.up().ok
    berth_first = time.monotonic() - started
    result, kamal_first = kamal("setup", "--skip-push", "--version=v1")
    assert result.returncode == 0, result.stdout[-2000:]
    assert get(berth_host.address, HOSTNAME, ca=world.lab.ca_cert).body.strip() == "app v1"
    assert get(kamal_host.address, HOSTNAME, ca=world.lab.ca_cert).body.strip() == "app v1"
    rows["first serving release, with the host's bootstrap (s): `pulumi up` / `kamal setup`"] = {
        "berth": f"{berth_first:.1f}", "kamal": f"{kamal_first:.1f}"}

    bumps: dict[str, float] = {}

    def timed(side: str, deploy) -> bool:
        started = time.monotonic()
        ok = deploy()
        bumps[side] = time.monotonic() - started
        return ok

    berth_switch = _switch(world, berth_host, lambda: timed("berth", lambda: bench.set(version="v2").up().ok))
    kamal_switch = _switch(world, kamal_host, lambda: timed(
        "kamal", lambda: kamal("deploy", "--skip-push", "--version=v2")[0].returncode == 0))
    for side in (berth_switch, kamal_switch):
        assert side["ok"]
    rows["switch time, deploy start to v2 serving (s)"] = {
        "berth": f"{berth_switch['switch']:.1f}", "kamal": f"{kamal_switch['switch']:.1f}"}
    rows["version bump, command start to end (s)"] = {"berth": f"{bumps['berth']:.1f}", "kamal": f"{bumps['kamal']:.1f}"}
    rows["requests during the deploy / failed"] = {
        "berth": f"{berth_switch['requests']} / {berth_switch['failed']}",
        "kamal": f"{kamal_switch['requests']} / {kamal_switch['failed']}"}

    # Three rollbacks each (to v1, to v2, to v1: each version is kept), the median reported: one run varies by
    # about half a second on this machine, on both sides.
    berth_rollbacks, kamal_rollbacks = [], []
    for version in ("v1", "v2", "v1"):
        rolled_back = Ops(bench).timed("rollback", version, "--yes")
        assert rolled_back.exit_code == 0, rolled_back.output
        berth_rollbacks.append(rolled_back)
        result, took = kamal("rollback", version)
        assert result.returncode == 0, result.stdout[-2000:]
        kamal_rollbacks.append(took)
    rolled_back = sorted(berth_rollbacks, key=lambda run: run.lines[-1][0])[1]  # the median run: its phases below
    (LOGS / "bench-rollback.log").write_text("\n".join(f"{at:6.2f} {line}" for at, line in rolled_back.lines))
    rows["rollback, median of three (s)"] = {
        "berth": f"{rolled_back.lines[-1][0]:.1f} ({', '.join(f'{r.lines[-1][0]:.1f}' for r in berth_rollbacks)})",
        "kamal": f"{statistics.median(kamal_rollbacks):.1f} ({', '.join(f'{t:.1f}' for t in kamal_rollbacks)})"}
    # And once more under the load loop, to v2: when the kept version first answers, as an incident counts it.
    berth_back = _switch(world, berth_host, lambda: Ops(bench).timed("rollback", "v2", "--yes").exit_code == 0)
    kamal_back = _switch(world, kamal_host, lambda: kamal("rollback", "v2")[0].returncode == 0)
    for side in (berth_back, kamal_back):
        assert side["ok"]
    rows["rollback under load, command start to v2 serving (s); requests failed"] = {
        side: f"{back['switch']:.1f}; {back['failed']} of {back['requests']}"
        for side, back in (("berth", berth_back), ("kamal", kamal_back))}

    started = time.monotonic()
    failed = bench.set(version="v3").up()
    berth_failure = time.monotonic() - started
    assert not failed.ok and "target failed to become healthy" in failed.error
    result, kamal_failure = kamal("deploy", "--skip-push", "--version=v3")
    assert result.returncode != 0
    rows["failing release (unhealthy v3) to its error (s)"] = {
        "berth": f"{berth_failure:.1f}", "kamal": f"{kamal_failure:.1f}"}

    table = ["| measure | Berth | Kamal 2.11.0 |", "|---|---|---|"]
    table += [f"| {name} | {v['berth']} | {v['kamal']} |" for name, v in rows.items()]
    table += ["", *_rollback_breakdown(rolled_back), "", *_first_release_breakdown(world), "",
              *_hosts_in_parallel(world)]
    report = "\n".join(table)
    (LOGS / "bench-release.md").write_text(report + "\n")
    print("\n" + report)


def _rollback_breakdown(rolled_back) -> list[str]:
    """Where `berth rollback --yes` spends its time, from when its lines (berth's, then the CLI's progress) came."""
    marks = [("berth starts (its checks read the stack's outputs beside the CLI's start)", r"^\$ pulumi up "),
             ("the CLI starts, loads the state, begins the update", r"^Updating \("),
             ("the program runs, the plugins start (to the first step)", r"^ \+\+ "),
             ("image and container (created, started)", r"-app created replacement"),
             ("switch (kamal-proxy deploy, health checks, the old container stopped, the prune)",
              r"-switch created replacement"),
             ("the update ends (state written, plugins closed), berth exits", None)]
    lines = ["| rollback, by phase (from berth's output as it came) | until (s) | took (s) |", "|---|---|---|"]
    previous = 0.0
    for what, pattern in marks:
        at = rolled_back.lines[-1][0] if pattern is None else rolled_back.when(pattern)
        if at is None:
            lines.append(f"| {what} | - | - |")
            continue
        lines.append(f"| {what} | {at:.2f} | {at - previous:.2f} |")
        previous = at
    return lines


def _first_release_breakdown(world) -> list[str]:
    """Where a first release's time goes: the shop stack (accessories, release command) on a fresh host."""
    host = world.add_host()
    shop = world.deployment("bench-shop", servers={"web": {"hosts": [host.address]}, "jobs": None})
    started = time.monotonic()
    up = shop.up()
    total = time.monotonic() - started
    assert up.ok, up.error
    first_event = min(up.steps.started.values())
    rows = [("engine start, program and plugins (up to the first step)", started, first_event)]
    for what, names in (("bootstrap (sshd, users, directories, ufw, unattended upgrades)", ("-bootstrap",)),
                        ("image pulls", ("-image",)), ("accessories (Litestream's restore included)",
                                                       ("-litestream", "-cache", "-before-start", "-setup")),
                        ("release command", ("-release-command",)), ("switch (kamal-proxy deploy)", ("-switch",))):
        span = phase(up.steps, *names)
        if span:
            rows.append((what, *span))
    lines = ["| first release of the shop stack, by phase | from the start (s) | took (s) |", "|---|---|---|"]
    lines += [f"| {what} | {start - started:.1f} | {end - start:.1f} |" for what, start, end in rows]
    lines.append(f"| whole `up` | 0.0 | {total:.1f} |")
    return lines


def _hosts_in_parallel(world) -> list[str]:
    """A version bump on four hosts beside one, broken down by phase from the engine's own events: where the
    engine waits (its start, the program, the plugins' start) and what each step kind takes over all hosts.
    Kamal's own bump on one and on four other lab hosts says what the lab allows: its hosts share this machine's
    cores, which a deploy to four real machines would not."""
    times, runs, starts, kamal_times = {}, {}, {}, {}
    for count in (1, 4):
        hosts = [world.add_host() for _ in range(count)]
        # "jobs": None under servers drops the test stack's jobs role (and its host): one web host, or four
        stack = world.deployment(f"bench-{count}-hosts", servers={"web": {"hosts": [h.address for h in hosts]},
                                                                  "jobs": None},
                                 accessories=None, backups=None, assetPath=None, releaseCommand=None)
        assert stack.up().ok
        started = time.monotonic()
        up = stack.up(version="v2")
        times[count], runs[count], starts[count] = time.monotonic() - started, up, started
        assert up.ok, up.error
    for count in (1, 4):
        first, *others = [world.add_host() for _ in range(count)]
        kamal = Kamal.project(world, first, load(stack.stack_file().program_view()), also=others)
        result, _ = kamal("setup", "--skip-push", "--version=v1")
        assert result.returncode == 0, result.stdout[-2000:]
        result, kamal_times[count] = kamal("deploy", "--skip-push", "--version=v2")
        assert result.returncode == 0, result.stdout[-2000:]
    lines = ["| version bump, by phase (from the engine's events) | one host (s) | four hosts (s) |", "|---|---|---|"]

    def span(count: int, *names: str) -> str:
        found = phase(runs[count].steps, *names)
        return f"{found[0] - starts[count]:.1f} to {found[1] - starts[count]:.1f}" if found else "-"

    first = {c: min(runs[c].steps.started.values()) - starts[c] for c in (1, 4)}
    lines.append(f"| engine start, program and plugins (up to the first step) | {first[1]:.1f} | {first[4]:.1f} |")
    for what, names in (("image pulls", ("-image",)), ("new revisions", ("-revision",)),
                        ("app containers (create, start)", ("-app",)),
                        ("switches (kamal-proxy deploy, the old container stopped, the prune)", ("-switch",))):
        lines.append(f"| {what} | {span(1, *names)} | {span(4, *names)} |")
    lines.append(f"| command start to end | {times[1]:.1f} | {times[4]:.1f} |")
    lines.append(f"| four hosts / one host | | {times[4] / times[1]:.2f} |")
    lines.append(f"| Kamal 2.11.0, the same bump (`kamal deploy`) | {kamal_times[1]:.1f} | {kamal_times[4]:.1f} |")
    lines.append(f"| Kamal's four hosts / one host | | {kamal_times[4] / kamal_times[1]:.2f} |")
    return lines
