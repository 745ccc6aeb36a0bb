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


# The app containers' spec digests (release.py `_container_spec`) of the shipped stacks, as they were before
# berth:logging, per-role volumes and the user, group and host options existed: a changed digest gives every
# running container a new name, which an upgrade of Berth must never do to a stack that sets none of them.
SPEC_BEFORE_ISSUE_25 = {
    "covertext-web-1-revision": {"206f7ce75d2ad7a1878668c9c018ed72d2a59edfaf78b6354036df1317037916",
                                 "28795a11d9a1ae5ba3553d792880d7fb14c4a6fb475e36dfd5172f933512e32b"},
    "bisan-web-1-revision": {"d90b80fcbe858f628868fce40a301b0743b4875ac023996c2962358ebc68851e"},
    "dbcours-web-1-revision": {"87d0281bca1b72c3e06bfce46536a54c9cc6e7e6e4477557468a81b950092009"},
    "wombatworkouts-web-1-revision": {"89cd84b7b113b27140a9683b0666f501dadcc090624ce2f132826daade7a99ca"},
    **{f"zen-miner-web-{n}-revision": {"8ae191e1ef5ac6ee0149394b987bf991c598bff7e91efa49dbb20f15ea037aaf"}
       for n in (1, 2, 3)},
}


def test_an_upgrade_gives_no_running_container_new_inputs(shipped):
    """A stack that declares no logging and no user, groups, hosts or role volumes keeps exactly its containers'
    inputs: json-file with max-size 10m, the same `berth.log-opts` label, nothing else set, the same name digest."""
    _, ev = shipped
    for revision in [r for r in ev.resources if r.type == "random:index/randomId:RandomId" and r.name.endswith("-revision")]:
        assert revision.plain_inputs["keepers"]["spec"] in SPEC_BEFORE_ISSUE_25[revision.name], revision.name
    for container in ev.of_type(CONTAINER):
        assert (container.plain_inputs["logDriver"], container.plain_inputs["logOpts"]) == ("json-file", LOG_OPTIONS)
        assert not {"user", "groupAdds", "hosts"} & set(container.plain_inputs), container.name


def test_declared_logging_user_groups_and_hosts_reach_each_container():
    """Kamal's logging: the root's for every container but kamal-proxy (Kamal's own `--log-opt max-size=10m`), a
    role's merged over it; the label carries exactly what was declared, so a change replaces the container."""
    stack_file = conftest.variant(
        PROJECT_DIR / "examples" / "bisan.yaml",
        logging={"driver": "json-file", "options": {"max-size": "100m"}},
        servers={"web": {"logging": {"options": {"max-file": 3}},
                         "options": {"user": "1000:1000", "groupAdd": ["60000"],
                                     "addHost": ["host.docker.internal:host-gateway"]},
                         "volumes": ["bisan_uploads:/rails/public/uploads"]}})
    containers = {c.plain_inputs["name"] if isinstance(c.plain_inputs["name"], str) else c.name: c
                  for c in evaluate(stack_file).of_type(CONTAINER)}
    app = next(c for c in containers.values() if c.name.endswith("-app"))
    labels = {label["label"]: label["value"] for label in app.plain_inputs["labels"]}
    assert app.plain_inputs["logDriver"] == "json-file"
    assert app.plain_inputs["logOpts"] == {"max-file": "3", "max-size": "100m"}
    assert labels["berth.log-opts"] == "log-driver=json-file,max-file=3,max-size=100m"
    assert app.plain_inputs["user"] == "1000:1000" and app.plain_inputs["groupAdds"] == ["60000"]
    assert app.plain_inputs["hosts"] == [{"host": "host.docker.internal", "ip": "host-gateway"}]
    assert {"containerPath": "/rails/public/uploads", "volumeName": "bisan_uploads"} in app.plain_inputs["volumes"]
    assert "logOpts" in app.ignore_changes
    proxy = containers["kamal-proxy"]
    assert (proxy.plain_inputs["logDriver"], proxy.plain_inputs["logOpts"]) == ("json-file", LOG_OPTIONS)
    accessories = [c for c in containers.values()
                   if any(label["label"] == "accessory" for label in c.plain_inputs["labels"])]
    assert accessories and all(c.plain_inputs["logOpts"] == {"max-size": "100m"} for c in accessories)
