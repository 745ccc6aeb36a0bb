"""The facts the lab's provider plugins copy from the real providers (tests/e2e/plugins), each pinned here
against the provider's own examples or rules; docs/compatibility.md cites the source of each. The scenarios
in tests/e2e show the behaviour these facts produce on real hosts."""

from __future__ import annotations

import pytest

from tests.e2e.plugins import PACKAGES, package, wire
from tests.e2e.plugins.command import _delays, _go_quote
from tests.e2e.plugins.docker import Container, ports_diff_suppressed, read_back
from tests.e2e.plugins.dockerapi import negotiated
from tests.e2e.plugins.dockerimage import image_registry, registry_auth
from tests.e2e.plugins.gotypes import go_duration, nano_cpus_text, parse_cpus, parse_duration
from tests.e2e.plugins.schema import Attr, Schema
from tests.e2e.plugins.server import Config


@pytest.mark.parametrize(("cpus", "text"), [("1", "1.0"), ("2", "2.0"), ("10", "10."), ("20", "20."), ("0.5", "0.5"),
                                            ("1.5", "1.5"), ("0.05", "0.1"), ("0.25", "0.25")])
def test_cpus_read_back_as_nano_int64_to_decimal_string_writes_them(cpus, text):
    """helpers.go `nanoInt64ToDecimalString` (v4.5.0) after docker/cli `opts.ParseCPUs`."""
    assert nano_cpus_text(parse_cpus(cpus)) == text


@pytest.mark.parametrize(("nanoseconds", "text"), [(0, "0s"), (10**9, "1s"), (90 * 10**9, "1m30s"),
                                                   (500 * 10**6, "500ms"), (3600 * 10**9, "1h0m0s")])
def test_durations_are_gos(nanoseconds, text):
    """A health check reads back through Go's time.Duration.String; declared, through time.ParseDuration."""
    assert go_duration(nanoseconds) == text
    assert parse_duration(text) == nanoseconds


def test_a_pair_of_bindings_of_one_port_never_passes_the_ports_diff_suppression():
    """suppressIfPortsDidNotChangeForMigrationV0ToV1 compares each old binding with the first new binding of
    its port: the same pair in another order is a change (why proxy.py ignores `ports`)."""
    declared = [{"internal": 80, "external": 80, "ip": "0.0.0.0", "protocol": "tcp"},
                {"internal": 80, "external": 80, "ip": "::", "protocol": "tcp"}]
    assert not ports_diff_suppressed(list(reversed(declared)), declared)
    assert not ports_diff_suppressed(declared, declared)  # not even in the same order: the second never agrees
    single = declared[:1]
    assert ports_diff_suppressed(single, single)


@pytest.mark.parametrize(("image", "registry"), [
    ("acme/app:1", "registry-1.docker.io"), ("app:1", "registry-1.docker.io"),
    ("docker.io/acme/app:1", "docker.io"), ("ghcr.io/acme/app:1", "ghcr.io"),
    ("10.231.0.1:5000/berth-e2e/shop:v1", "10.231.0.1:5000"), ("localhost/app:1", "localhost"),
    ("acme/team/app:1", "acme"),
])
def test_pulls_look_credentials_up_by_the_registry_parse_image_options_finds(image, registry):
    """resource_docker_image_funcs.go `parseImageOptions`: a bare name is registry-1.docker.io."""
    assert image_registry(image) == registry


def test_credentials_under_docker_io_do_not_reach_a_bare_docker_hub_image():
    """pulumi/pulumi-docker#356, reproduced: the pull goes out anonymous."""
    import base64
    import json

    config = Config({"registryAuth": [{"address": "docker.io", "username": "acme", "password": "s3cret"}]})
    assert json.loads(base64.urlsafe_b64decode(registry_auth(config, "acme/app:1"))) == {}
    assert json.loads(base64.urlsafe_b64decode(registry_auth(config, "docker.io/acme/app:1")))["username"] == "acme"


def test_the_read_back_keeps_what_the_daemon_set():
    """resourceDockerContainerRead: swap as set, log options merged, cpus as text, the image by id."""
    declared = {"name": "x", "image": "sha256:abc", "memory": 256, "logOpts": {"max-size": "10m"}, "mustRun": True}
    inspected = {"Name": "/x", "Image": "sha256:abc", "State": {"Running": True},
                 "Config": {"Image": "sha256:abc", "User": "1000", "WorkingDir": "/rails"},
                 "HostConfig": {"Memory": 256 * 2**20, "MemorySwap": 512 * 2**20, "NanoCpus": 10**9,
                                "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}},
                                "RestartPolicy": {"Name": "unless-stopped"}, "NetworkMode": "bridge"}}
    state = read_back(declared, inspected)
    assert (state["memorySwap"], state["cpus"], state["logOpts"]) == (512, "1.0", {"max-size": "10m", "max-file": "3"})
    assert (state["user"], state["workingDir"], state["networkMode"]) == ("1000", "/rails", "bridge")


def test_the_terraform_sdks_diff_rules():
    schema = Schema("t", {
        "forced": Attr(replace=True), "updatable": Attr(), "computed": Attr(computed=True),
        "suppressed": Attr(replace=True, same=lambda old, new: not new or old == new), "unordered": Attr(unordered=True),
        "out": Attr(output=True),
    }, "test")
    olds = {"forced": "a", "updatable": 1024, "computed": "read", "suppressed": "1000", "unordered": ["b", "a"],
            "out": "x"}
    same = schema.diff(olds, {"forced": "a", "unordered": ["a", "b"]}, [])
    # left out: Optional-only and read back non-empty is a change to nothing; Computed keeps its value;
    # a DiffSuppressFunc sees the zero value; a set compares without order; outputs never diff.
    assert (same.changed, same.replaces) == (["updatable"], [])
    changed = schema.diff(olds, {"forced": "b", "updatable": 1024, "unordered": ["a"]}, [])
    assert (changed.changed, changed.replaces) == (["forced", "unordered"], ["forced"])
    assert schema.diff(olds, {"forced": "b", "updatable": 1024, "unordered": ["a", "b"]}, ["forced"]).changed == []
    inputs, failures = Schema("t", {"name": Attr(required=True), "mode": Attr(default="bridge")}, "s").check({"x": 1})
    assert inputs == {"mode": "bridge", "x": 1}
    assert [p for p, _ in failures] == ["x", "name"]  # an input the lab does not model, a missing required one


def test_containers_are_replaced_delete_first_as_pulumi_docker_declares():
    assert Container().replaces_delete_first({"name": "x"})


def test_pulumi_commands_dial_waits_grow_to_five_seconds():
    """sdk/go/common/util/retry `Retryer`: 100 ms first, times 1.5, at most 5 s."""
    delays = _delays()
    first = [round(next(delays), 3) for _ in range(12)]
    assert first[:3] == [0.1, 0.15, 0.225] and first[-1] == 5.0
    assert _go_quote('bash -s "x"') == '"bash -s \\"x\\""'


def test_pulumi_command_dials_its_limit_plus_one_times_and_says_the_limit(tmp_path, monkeypatch):
    """connection.go `dialWithRetry` (v1.2.1): attempt `try` fails the dial when `try + 1 > dialErrorLimit`,
    with "after <try> failed attempts: <error>"; perDialTimeout bounds the TCP connect (net.DialTimeout)."""
    import socket

    from tests.e2e.plugins import command

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again: connections are refused
    tried = []
    real = command._tcp_dial
    monkeypatch.setattr(command, "_tcp_dial", lambda *a: tried.append(a) or real(*a))
    session = command._Session({"host": "127.0.0.1", "port": port, "dialErrorLimit": 2, "perDialTimeout": 1},
                               str(tmp_path))
    with pytest.raises(command.Failed) as failed:
        session.dial()
    assert len(tried) == 3 and tried[0] == ("127.0.0.1", port, 1)
    assert str(failed.value) == f"after 2 failed attempts: dial tcp 127.0.0.1:{port}: connect: connection refused"


def test_a_private_key_is_the_only_identity_pulumi_command_offers(tmp_path):
    """ssh.Config's auth methods: with `privateKey`, the agent's keys are never offered (one "publickey"
    method); without it, only the agent's; never ~/.ssh/config or the default key files."""
    from tests.e2e.plugins import command

    with_key = command._Session({"host": "h", "privateKey": "KEY"}, str(tmp_path)).options
    assert {"IdentitiesOnly=yes", "IdentityAgent=none"} <= set(with_key) and "-F" in with_key
    agent_only = command._Session({"host": "h"}, str(tmp_path)).options
    assert "IdentityFile=none" in agent_only and "-i" not in agent_only


def test_unknowns_and_secrets_cross_the_wire_as_the_engine_writes_them():
    encoded = wire.encode({"a": wire.Secret("s"), "b": wire.UNKNOWN, "n": 3, "f": 1.5, "l": [True, None]})
    assert wire.decode(encoded) == {"a": wire.Secret("s"), "b": wire.UNKNOWN, "n": 3, "f": 1.5, "l": [True, None]}


@pytest.mark.parametrize("name", PACKAGES)
def test_each_plugin_answers_with_the_version_its_sdk_asks_for(name):
    import importlib
    import json

    sdk = package(name).sdk
    spec = importlib.util.find_spec(sdk)
    from pathlib import Path

    shipped = json.loads((Path(spec.origin).parent / "pulumi-plugin.json").read_text())
    assert (package(name).name, package(name).version) == (shipped["name"], shipped["version"])


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_a_plugin_exits_at_once_when_the_engine_closes_it(stop):
    """The engine closes a plugin with SIGINT to the plugin's process group and kills it 5 s later
    (sdk/go/common/resource/plugin/plugin.go `kill`, v3.274.1), as a Go provider exits on it at once. A plugin
    that ignored it held every `pulumi up` 5 s after its last step."""
    import signal
    import subprocess
    import sys
    import time

    plugin = subprocess.Popen([sys.executable, "-m", "tests.e2e.plugins", "random"], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)
    try:
        assert plugin.stdout.readline().strip().isdigit()  # the port the engine reads
        started = time.monotonic()
        plugin.send_signal(getattr(signal, stop))
        assert plugin.wait(timeout=4) == 0
        assert time.monotonic() - started < 4
    finally:
        plugin.kill()
        plugin.wait()


@pytest.mark.parametrize(("server", "used"), [("1.56", "1.51"), ("1.51", "1.51"), ("1.41", "1.41"), ("1.9", "1.9"),
                                              ("1.100", "1.51"), (None, "1.24"), ("", "1.24")])
def test_the_api_version_is_the_lower_of_the_daemons_and_the_clients_1_51(server, used):
    """docker/docker v28.5.2 (terraform-provider-docker v4.5.0's client): api.DefaultVersion 1.51, and
    client.go `negotiateAPIVersionPing` downgrades to the daemon's Api-Version header (1.24 without one),
    comparing versions part by part (versions.LessThan), never as text."""
    assert negotiated(server) == used


def test_extra_hosts_and_groups_reach_the_daemon_and_read_back_as_the_provider_reads_them():
    """resource_docker_container_funcs.go (v4.5.0): `host` becomes HostConfig.ExtraHosts as "host:ip"
    (extraHostsSetToContainerExtraHosts) and reads back through flattenExtraHosts, which splits at ':', so an IPv6
    address comes back cut (why fields.py `ExtraHost` refuses one); `group_add` is HostConfig.GroupAdd both ways;
    `user` is Config.User; a declared log driver and options are HostConfig.LogConfig."""
    inputs = {"name": "app", "image": "sha256:1", "user": "1000:1000", "groupAdds": ["60000", "docker"],
              "hosts": [{"host": "host.docker.internal", "ip": "host-gateway"}, {"host": "db", "ip": "10.0.0.5"}],
              "logDriver": "journald", "logOpts": {"tag": "app"}}
    body = Container.body(inputs)
    assert body["User"] == "1000:1000"
    assert body["HostConfig"]["ExtraHosts"] == ["db:10.0.0.5", "host.docker.internal:host-gateway"]
    assert body["HostConfig"]["GroupAdd"] == ["60000", "docker"]
    assert body["HostConfig"]["LogConfig"] == {"Type": "journald", "Config": {"tag": "app"}}
    state = read_back(inputs, {"Config": {"User": "1000:1000"}, "HostConfig": {
        "ExtraHosts": body["HostConfig"]["ExtraHosts"] + ["v6:fd00::1"], "GroupAdd": ["60000", "docker"],
        "LogConfig": {"Type": "journald", "Config": {"tag": "app"}}}, "State": {"Running": True}})
    assert state["hosts"][:2] == [{"host": "db", "ip": "10.0.0.5"}, {"host": "host.docker.internal", "ip": "host-gateway"}]
    assert state["hosts"][2] == {"host": "v6", "ip": "fd00"}
    assert state["groupAdds"] == ["60000", "docker"] and state["user"] == "1000:1000"
    assert state["logDriver"] == "journald"
    schema = Container().schema
    assert schema.attrs["hosts"].replace and schema.attrs["groupAdds"].replace and schema.attrs["logDriver"].replace


def test_the_lab_says_a_refused_host_key_as_pulumi_commands_go_client_does(tmp_path):
    from tests.e2e.plugins import command

    stderr = ("@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
              "Host key for [10.231.0.4]:22 has changed and you have requested strict checking.\n"
              "Host key verification failed.\n")
    assert command.go_dial_error(stderr, 255) == "ssh: handshake failed: ssh: host key mismatch"
    assert command.go_dial_error("ssh: connect to host h port 22: Connection refused\n", 255) == \
        "ssh: connect to host h port 22: Connection refused"
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3qhwBYuWuDS9ihE9QHsvU686oTGZA1JmlkRqv1U8b1"
    options = command._Session({"host": "h", "hostKey": key}, str(tmp_path)).options
    assert "HostKeyAlgorithms=ssh-ed25519" in options and "StrictHostKeyChecking=yes" in options
    assert (tmp_path / "known_hosts").read_text() == f"h {key}\n"
