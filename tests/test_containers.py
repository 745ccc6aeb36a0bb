"""What every container Berth declares holds, so that it reads back from the Docker provider as declared
(an unchanged `up` changes nothing) and stops with time to finish. The behaviour on a daemon with its own
defaults is proven on the lab (tests/e2e/test_daemon.py); these pin the declarations on every shipped stack."""

from __future__ import annotations

import conftest
from components.containers import LOG_OPTIONS, STOP_SECONDS
from components.render.daemon import DaemonFacts, daemon_facts, memory_swap_mb
from tooling.evaluate import PROJECT_DIR, evaluate

CONTAINER = "docker:index/container:Container"


def test_docker_info_tells_whether_the_kernel_limits_swap():
    assert daemon_facts("20.10.24+dfsg1 true") == DaemonFacts("20.10.24+dfsg1", True)
    assert daemon_facts("29.0.1 false") == DaemonFacts("29.0.1", False)
    assert daemon_facts("") == DaemonFacts("", True)  # the offline plan: Docker's usual case


def test_the_swap_declared_is_what_the_daemon_would_set():
    """daemon_unix.go: MemorySwap = 2 x Memory when unset, -1 where the kernel cannot limit swap."""
    assert memory_swap_mb(512, DaemonFacts("20.10", True)) == 1024
    assert memory_swap_mb(512, DaemonFacts("20.10", False)) == -1


def test_every_container_ignores_the_daemons_log_options_and_labels_its_own(shipped):
    _, ev = shipped
    for container in ev.of_type(CONTAINER):
        labels = {label["label"]: label["value"] for label in container.plain_inputs["labels"]}
        assert "logOpts" in container.ignore_changes, container.name
        assert labels["berth.log-opts"] == ",".join(f"{k}={v}" for k, v in sorted(LOG_OPTIONS.items()))
        assert container.plain_inputs["logOpts"] == LOG_OPTIONS


def test_every_container_stops_with_time_to_finish(shipped):
    stack, ev = shipped
    for container in ev.of_type(CONTAINER):
        grace = container.plain_inputs.get("destroyGraceSeconds")
        assert grace and grace >= STOP_SECONDS or container.name.endswith("-app"), container.name
    for proxy in [c for c in ev.of_type(CONTAINER) if c.plain_inputs["name"] == "kamal-proxy"]:
        from components.fields import duration_seconds

        assert proxy.plain_inputs["destroyGraceSeconds"] >= duration_seconds(stack.proxy.drain_timeout)


def test_a_memory_limit_is_declared_with_the_swap_the_daemon_gives_it():
    stack_file = conftest.variant(PROJECT_DIR / "examples" / "zen-miner.yaml")
    (app, *_) = [c for c in evaluate(stack_file).of_type(CONTAINER) if c.name.endswith("-app")]
    assert (app.plain_inputs["memory"], app.plain_inputs["memorySwap"]) == (512, 1024)


def test_a_fixed_name_container_is_replaced_on_any_change_and_after_a_failed_start(shipped):
    """The proxy and the accessories: the provider would "update" a health check in state only, could not lift a
    memory limit, and after a create whose start failed would never start the container (containers.py)."""
    _, ev = shipped
    fixed = [c for c in ev.of_type(CONTAINER) if not c.name.endswith("-app")]
    assert fixed
    for container in fixed:
        assert container.replace_on_changes == ["*"], container.name
        assert container.delete_before_replace, container.name


def test_an_app_containers_changed_health_check_makes_a_new_name():
    """The provider would only "update" a health check in its state; the app container must be replaced, and
    a replacement under the same name would meet the running container."""
    path = PROJECT_DIR / "Pulumi.staging.yaml"
    before, after = (evaluate(conftest.variant(path, proxy={"healthcheck": {"timeout": t}})) for t in ("5s", "7s"))

    def keepers(ev):
        return {r.name: r.plain_inputs["keepers"] for r in ev.of_type("random:index/randomId:RandomId")
                if r.name.endswith("-revision")}

    assert keepers(before) != keepers(after)
