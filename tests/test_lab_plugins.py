"""The facts the lab's provider plugins copy from the real providers (tests/e2e/plugins), each pinned here
against the provider's own examples or rules; docs/compatibility.md cites the source of each. The scenarios
in tests/e2e show the behaviour these facts produce on real hosts."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_lab_offers_the_go_clients_algorithms_in_its_order():
    """pulumi-command sets no ssh.Config: Go's defaults, not OpenSSH's (whose first key exchange,
    sntrup761x25519-sha512, Go does not implement); what the local client lacks is left out, never reordered."""
    from tests.e2e.plugins import command

    openssh_9_2 = frozenset({"sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org",
                             "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
                             "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1"})
    ciphers = frozenset(command.GO_CIPHERS) | {"aes128-cbc"}
    assert command.go_algorithms(openssh_9_2, ciphers) == [
        "-o", "KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
              "ecdh-sha2-nistp521,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1",
        "-o", "Ciphers=aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,"
              "aes192-ctr,aes256-ctr"]
    openssh_10 = openssh_9_2 | {"mlkem768x25519-sha256"}
    assert command.go_algorithms(openssh_10, ciphers)[1].startswith("KexAlgorithms=mlkem768x25519-sha256,curve25519")
    session = command._Session({"host": "h"}, "/nonexistent")
    assert any(option.startswith("KexAlgorithms=") and "sntrup" not in option for option in session.options)


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


# --- the cloud plugins (digitalocean, hcloud) ---------------------------------------------------------------

import hashlib  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

from tests.e2e.plugins import labcloud  # noqa: E402
from tests.e2e.plugins.server import Failed  # noqa: E402

SITE = Path(__import__("pulumi_digitalocean").__file__).parents[1]
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGj5LzK8bC5hUQm5X0H0m2d1yPjR8oM8r4y6kQvJp0Xx laptop")
OTHER = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBv2hN7h3c9mUuV4Q1m5h8V3c2M6r7e0Y2vQ8w1z4k9a ci")


def _sdk_fields(module: str) -> tuple[set[str], set[str], set[str]]:
    """(inputs, outputs, required) of a resource in the installed Python SDK, in Pulumi's camelCase: what
    `_internal_init` sets from an argument, what it sets to None (computed), what it refuses without."""
    text = (SITE / module).read_text()
    body = text[text.index("def _internal_init("):]
    body = body[:body.index("super(")]

    def camel(name: str) -> str:
        return re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), name)

    pairs = re.findall(r'__props__\.__dict__\["(\w+)"\] = (\w+)', body)
    return ({camel(a) for a, b in pairs if b != "None"}, {camel(a) for a, b in pairs if b == "None"},
            {camel(a) for a in re.findall(r"if (\w+) is None and not opts.urn:", body)})


CLOUD_KINDS = [
    ("digitalocean", "digitalocean:index/sshKey:SshKey", "pulumi_digitalocean/ssh_key.py"),
    ("digitalocean", "digitalocean:index/tag:Tag", "pulumi_digitalocean/tag.py"),
    ("digitalocean", "digitalocean:index/vpc:Vpc", "pulumi_digitalocean/vpc.py"),
    ("digitalocean", "digitalocean:index/droplet:Droplet", "pulumi_digitalocean/droplet.py"),
    ("digitalocean", "digitalocean:index/volume:Volume", "pulumi_digitalocean/volume.py"),
    ("digitalocean", "digitalocean:index/volumeAttachment:VolumeAttachment", "pulumi_digitalocean/volume_attachment.py"),
    ("digitalocean", "digitalocean:index/reservedIp:ReservedIp", "pulumi_digitalocean/reserved_ip.py"),
    ("digitalocean", "digitalocean:index/reservedIpAssignment:ReservedIpAssignment",
     "pulumi_digitalocean/reserved_ip_assignment.py"),
    ("digitalocean", "digitalocean:index/firewall:Firewall", "pulumi_digitalocean/firewall.py"),
    ("digitalocean", "digitalocean:index/databaseCluster:DatabaseCluster", "pulumi_digitalocean/database_cluster.py"),
    ("digitalocean", "digitalocean:index/spacesBucket:SpacesBucket", "pulumi_digitalocean/spaces_bucket.py"),
    ("hcloud", "hcloud:index/sshKey:SshKey", "pulumi_hcloud/ssh_key.py"),
    ("hcloud", "hcloud:index/primaryIp:PrimaryIp", "pulumi_hcloud/primary_ip.py"),
    ("hcloud", "hcloud:index/server:Server", "pulumi_hcloud/server.py"),
    ("hcloud", "hcloud:index/volume:Volume", "pulumi_hcloud/volume.py"),
    ("hcloud", "hcloud:index/volumeAttachment:VolumeAttachment", "pulumi_hcloud/volume_attachment.py"),
    ("hcloud", "hcloud:index/firewall:Firewall", "pulumi_hcloud/firewall.py"),
    ("hcloud", "hcloud:index/firewallAttachment:FirewallAttachment", "pulumi_hcloud/firewall_attachment.py"),
]


def _kind(name: str, token: str):
    return {k.token: k for k in package(name).kinds}[token]


@pytest.mark.parametrize(("name", "token", "module"), CLOUD_KINDS, ids=[t.split(":")[-1] + "-" + n
                                                                         for n, t, _ in CLOUD_KINDS])
def test_the_cloud_schemas_are_the_installed_sdks(name, token, module):
    """Every input and output the lab declares exists under that name in pulumi-digitalocean 4.84.1 /
    pulumi-hcloud 1.43.3, an output the SDK computes is never an input here, and what the SDK requires the lab
    requires (the lab also requires `name`, which Pulumi autonames and Berth always sets)."""
    inputs, outputs, required = _sdk_fields(module)
    attrs = _kind(name, token).schema.attrs
    declared_inputs = {k for k, a in attrs.items() if not a.output}
    declared_outputs = {k for k, a in attrs.items() if a.output}
    assert declared_inputs <= inputs, declared_inputs - inputs
    assert declared_outputs <= outputs | inputs, declared_outputs - outputs - inputs
    assert not (declared_inputs & outputs)
    assert required <= {k for k, a in attrs.items() if a.required}
    assert {k for k, a in attrs.items() if a.required} <= required | {"name"}


def test_pulumi_renames_the_digitalocean_urns_and_the_tag_has_none():
    """pulumi-digitalocean provider/resources.go (`"urn": {Name: "dropletUrn"}` ...); tag.py has no urn."""
    renamed = {"droplet:Droplet": "dropletUrn", "volume:Volume": "volumeUrn", "vpc:Vpc": "vpcUrn",
               "reservedIp:ReservedIp": "reservedIpUrn", "databaseCluster:DatabaseCluster": "clusterUrn",
               "spacesBucket:SpacesBucket": "bucketUrn"}
    for tail, output in renamed.items():
        attrs = _kind("digitalocean", f"digitalocean:index/{tail.split(':')[0]}:{tail.split(':')[1]}").schema.attrs
        assert attrs[output].output and "urn" not in attrs
    assert not [k for k in _kind("digitalocean", "digitalocean:index/tag:Tag").schema.attrs if "rn" in k.lower()[-3:]]


def test_what_replaces_and_what_updates_as_the_providers_declare():
    """research-27 section E: Vpc region required and ForceNew; hcloud Server image ForceNew; VolumeAttachment
    automount Optional+Computed without ForceNew; PrimaryIp assignee_type/auto_delete optional; DatabaseCluster
    region migrates (no ForceNew); a droplet's ipv6 true -> false replaces (CustomizeDiff)."""
    vpc = _kind("digitalocean", "digitalocean:index/vpc:Vpc").schema.attrs
    assert vpc["region"].required and vpc["region"].replace
    server = _kind("hcloud", "hcloud:index/server:Server").schema
    assert server.diff({"image": "debian-12", "name": "a", "serverType": "cx23"},
                       {"image": "ubuntu-24.04", "name": "a", "serverType": "cx23"}, []).replaces == ["image"]
    attachment = _kind("hcloud", "hcloud:index/volumeAttachment:VolumeAttachment").schema
    change = attachment.diff({"serverId": 1, "volumeId": 2, "automount": False},
                             {"serverId": 1, "volumeId": 2, "automount": True}, [])
    assert (change.changed, change.replaces) == (["automount"], [])
    primary = _kind("hcloud", "hcloud:index/primaryIp:PrimaryIp").schema.attrs
    assert not primary["assigneeType"].required and not primary["autoDelete"].required and primary["type"].required
    cluster = _kind("digitalocean", "digitalocean:index/databaseCluster:DatabaseCluster").schema
    olds = {"name": "c", "engine": "pg", "size": "db-s-1vcpu-1gb", "region": "nyc3", "nodeCount": 1}
    assert cluster.diff(olds, {**olds, "region": "ams3"}, []).replaces == []
    droplet = _kind("digitalocean", "digitalocean:index/droplet:Droplet").schema
    base = {"image": "debian-12-x64", "name": "web-1", "size": "s-1vcpu-2gb"}
    assert droplet.diff({**base, "ipv6": True}, {**base, "ipv6": False}, []).replaces == ["ipv6"]
    assert droplet.diff({**base, "ipv6": False}, {**base, "ipv6": True}, []).replaces == []
    assert droplet.diff(base, {**base, "size": "s-2vcpu-4gb", "name": "web-9"}, []).replaces == []


def test_user_data_is_kept_as_each_providers_state_func_makes_it():
    """DigitalOcean util/hash.go `HashStringStateFunc`: sha1 hex; Hetzner internal/server/resource.go
    `userDataHashSum`: base64 of the sha1. The state holds that, and the text it came from is no change."""
    text = "#cloud-config\n"
    assert labcloud.do_user_data_state(text) == "c0af657a8122db11fb8541f90feab7871c2c3d71"
    assert labcloud.hcloud_user_data_state(text) == "wK9leoEi2xH7hUH5D+q3hxwsPXE="
    droplet = _kind("digitalocean", "digitalocean:index/droplet:Droplet").schema
    base = {"image": "debian-12-x64", "name": "web-1", "size": "s-1vcpu-2gb"}
    assert droplet.diff({**base, "userData": "c0af657a8122db11fb8541f90feab7871c2c3d71"},
                        {**base, "userData": text}, []).changed == []
    assert droplet.diff({**base, "userData": "c0af657a8122db11fb8541f90feab7871c2c3d71"},
                        {**base, "userData": text + "#x\n"}, []).replaces == ["userData"]
    from components.clouds.digitalocean import DigitalOcean
    from components.clouds.hetzner import Hetzner

    assert DigitalOcean.user_data_state(text) == labcloud.do_user_data_state(text)  # what Berth pins against
    assert Hetzner.user_data_state(text) == labcloud.hcloud_user_data_state(text)
    server = _kind("hcloud", "hcloud:index/server:Server").schema
    sbase = {"name": "web-1", "serverType": "cx23"}
    assert server.diff({**sbase, "userData": "wK9leoEi2xH7hUH5D+q3hxwsPXE="}, {**sbase, "userData": text},
                       []).changed == []


def test_fingerprints_are_the_md5_form_both_providers_show():
    """golang.org/x/crypto/ssh `FingerprintLegacyMD5` (hcloud-go sshutil; DigitalOcean's API example
    "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"): MD5 of the key blob, hex pairs joined by ':'."""
    fingerprint = labcloud.md5_fingerprint(KEY)
    assert re.fullmatch(r"([0-9a-f]{2}:){15}[0-9a-f]{2}", fingerprint)
    blob = __import__("base64").b64decode(KEY.split()[1])
    assert fingerprint.replace(":", "") == hashlib.md5(blob).hexdigest()  # noqa: S324
    if shutil.which("ssh-keygen"):
        out = subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f", "-"], input=KEY, text=True,
                             capture_output=True, check=True).stdout
        assert f"MD5:{fingerprint}" in out
    with pytest.raises(ValueError):
        labcloud.md5_fingerprint("ssh-ed25519 not-base64 x")


def test_error_texts_are_the_clients():
    """godo `ErrorResponse.Error`: `"%v %v: %d (request %q) %v"`; hcloud-go `Error.Error`: `"%s (%s)"`;
    hcloudutil `APIErrorDiagnostics` for the plugin-framework resources; terraform-plugin-sdk
    `PrefixedUniqueId`: the prefix and 26 characters (UniqueIDSuffixLength)."""
    text = labcloud.godo_error("POST", "/v2/droplets", 422, "x are invalid key identifiers for Droplet creation.")
    assert re.fullmatch(r'POST https://api\.digitalocean\.com/v2/droplets: 422 \(request "[0-9a-f-]{36}"\) '
                        r"x are invalid key identifiers for Droplet creation\.", text)
    assert labcloud.hcloud_error("gone", "not_found") == "gone (not_found)"
    assert labcloud.hcloud_framework_error("m", "protected", 423) == (
        "API request failed: An unexpected error was encountered during an API request.\n\nm (protected)\n\n"
        "Error code: protected\nStatus code: 423\n")
    unique = labcloud.prefixed_unique_id("101-abc-")
    assert unique.startswith("101-abc-") and re.fullmatch(r"\d{18}[0-9a-f]{8}", unique[len("101-abc-"):])


def test_the_sizes_the_lab_reports_agree_with_the_catalog():
    """Every size Berth's catalog sells is known with its memory (the catalog's own hint where it has one);
    Hetzner's memory is the catalog's."""
    from components import catalog
    from tests.e2e.plugins import digitalocean, hcloud

    assert set(catalog.DIGITALOCEAN_SIZES) <= set(digitalocean.SIZES)
    for slug, spec in digitalocean.SIZES.items():
        hint = catalog.memory_mb("digitalocean", slug)
        assert hint in (None, spec.memory), slug
        vcpus = re.match(r"[sgm]-(\d+)vcpu|c-(\d+)", slug)
        assert spec.vcpus == int(vcpus[1] or vcpus[2]), slug
    assert digitalocean.SIZES["s-1vcpu-1gb"] == digitalocean.Size(1024, 1, 25)  # godo sizes_test.go
    assert set(catalog.HETZNER_SERVER_TYPES) - set(hcloud.DISKS) == {"cpx52", "cpx62"}
    assert hcloud.server_type("cx23") == (catalog.HETZNER_SERVER_TYPES["cx23"].memory_mb, 40)
    with pytest.raises(Failed, match="^server type cx99 not found$"):
        hcloud.server_type("cx99")


# A Cloud with everything but qemu, taps and nft: the real records, addresses, volumes and firewalls
# (tests/e2e/machines/cloud.py), with the machines' seeds and the router's rulesets kept for the asserts.


@pytest.fixture
def lab(tmp_path, monkeypatch):
    from tests.e2e.machines import cloud as cloud_module
    from tests.e2e.machines import network, nft, seed, vm, volumes
    from tests.e2e.machines.network import NetworkSettings
    from tests.e2e.machines.state import Store

    store = Store(tmp_path)
    with store.locked():
        store.put_settings({"network": NetworkSettings(netns="t").to_dict(), "image": str(tmp_path),
                            "ca_certificate": None, "memory_cap_mib": 1024, "blocked": []})
    running: set[str] = set()
    seen = {"seeds": {}, "rules": [], "hotplugged": []}
    monkeypatch.setattr(vm, "create_disk", lambda paths, image, disk: paths.root.mkdir(parents=True, exist_ok=True))
    monkeypatch.setattr(vm, "grow_disk", lambda paths, disk: None)
    monkeypatch.setattr(vm, "start", lambda netns, argv, paths: running.add(paths.root.name))
    monkeypatch.setattr(vm, "running", lambda paths: paths.root.name in running)
    monkeypatch.setattr(vm, "stop", lambda paths, graceful, timeout: running.discard(paths.root.name) or False)
    monkeypatch.setattr(seed, "write_iso", lambda directory, iso, files: seen["seeds"].__setitem__(
        directory.parent.name, files))
    monkeypatch.setattr(network, "add_tap", lambda settings, tap: None)
    monkeypatch.setattr(network, "remove_tap", lambda settings, tap: None)
    monkeypatch.setattr(nft, "apply", lambda netns, ruleset: seen["rules"].append(ruleset))
    monkeypatch.setattr(volumes, "hotplug", lambda *args: seen["hotplugged"].append(args[1]))
    monkeypatch.setattr(volumes, "unplug", lambda qmp, volume_id, timeout=30.0: None)
    monkeypatch.setenv(labcloud.ENV, str(tmp_path))
    monkeypatch.setenv(labcloud.ACCOUNT_KEYS_ENV, json.dumps([{"id": 77, "name": "laptop", "publicKey": OTHER,
                                                               "fingerprint": labcloud.md5_fingerprint(OTHER)}]))
    seen["cloud"] = cloud_module.Cloud(tmp_path)
    seen["running"] = running
    return seen


import json  # noqa: E402


def test_without_a_lab_cloud_the_cloud_plugins_only_preview(monkeypatch):
    monkeypatch.delenv(labcloud.ENV, raising=False)
    droplet = _kind("digitalocean", "digitalocean:index/droplet:Droplet")
    with pytest.raises(Failed, match="the lab has no cloud account"):
        droplet.create(Config(), "web-1", {"name": "web-1", "image": "x", "size": "s-1vcpu-2gb"})
    assert droplet.read(Config(), "1", {"a": 1}, {}) == {"a": 1}


def test_a_droplet_boots_with_the_user_data_and_the_accounts_keys_and_reads_back_as_the_provider_does(lab):
    do = {k.token.split(":")[-1]: k for k in package("digitalocean").kinds}
    key_id, key = do["SshKey"].create(Config(), "k", {"name": "berth-key", "publicKey": KEY})
    assert key_id.isdigit() and key["fingerprint"] == labcloud.md5_fingerprint(KEY)
    with pytest.raises(Failed, match=r'^Error creating SSH Key: POST https://api\.digitalocean\.com/v2/account/keys: '
                                     r'422 \(request ".+"\) SSH Key is already in use on your account$'):
        do["SshKey"].create(Config(), "k2", {"name": "again", "publicKey": KEY + " other-comment"})
    listed = package("digitalocean").invokes["digitalocean:index/getSshKeys:getSshKeys"](Config(), {}, False)
    assert [k["id"] for k in listed["sshKeys"]] == [77, int(key_id)]
    # Read back: the key's own record, or a key the account already had (refresh keeps both).
    assert do["SshKey"].read(Config(), key_id, key, {})["fingerprint"] == key["fingerprint"]
    assert do["SshKey"].read(Config(), "77", {}, {})["fingerprint"] == listed["sshKeys"][0]["fingerprint"]
    user_data = "#cloud-config\nusers: [default]\n"
    inputs = {"name": "web-1", "image": "debian-12-x64", "size": "s-1vcpu-2gb", "region": "NYC3",
              "sshKeys": [key["fingerprint"], "77"], "userData": user_data, "tags": ["shop-prod"], "ipv6": True}
    droplet_id, state = do["Droplet"].create(Config(), "web-1", inputs)
    machine = lab["cloud"].machine(droplet_id)
    assert droplet_id == machine.id and droplet_id.isdigit()
    seed = lab["seeds"][droplet_id]
    assert seed["user-data"] == user_data  # byte for byte
    assert json.loads(seed["meta-data"])["public-keys"] == [KEY, OTHER]
    assert (machine.requested_memory_mib, machine.memory_mib) == (2048, 1024)
    assert state["memory"] == 2048 and state["vcpus"] == 1 and state["disk"] == 50
    assert state["userData"] == labcloud.do_user_data_state(user_data)
    assert state["ipv4Address"] == state["ipv4AddressPrivate"] == machine.address and state["ipv6Address"] == ""
    assert (state["status"], state["dropletUrn"], state["region"]) == ("active", f"do:droplet:{droplet_id}", "nyc3")
    assert do["Droplet"].read(Config(), droplet_id, state, inputs)["userData"] == state["userData"]
    with pytest.raises(Failed, match=r"422 \(request .+\) aa:bb are invalid key identifiers for Droplet creation\.$"):
        do["Droplet"].create(Config(), "web-2", {**inputs, "name": "web-2", "sshKeys": ["aa:bb"]})
    resized = do["Droplet"].update(Config(), droplet_id, state, {**inputs, "size": "s-2vcpu-4gb", "name": "web-one"})
    assert (resized["memory"], resized["status"], resized["name"]) == (4096, "active", "web-one")
    assert lab["cloud"].machine(droplet_id).requested_memory_mib == 4096
    do["Droplet"].delete(Config(), droplet_id, resized)
    assert do["Droplet"].read(Config(), droplet_id, resized, inputs) is None  # refresh drops it


def test_a_digitalocean_firewall_follows_its_tags_and_its_tag_sources(lab):
    """Applied to the droplets its tags select; `sourceTags` are the tagged droplets' addresses; re-synced when
    a droplet is created, retagged or deleted; DigitalOcean: no outbound rule is no outbound traffic."""
    do = {k.token.split(":")[-1]: k for k in package("digitalocean").kinds}
    with pytest.raises(Failed, match="tag names must exist"):
        do["Firewall"].create(Config(), "fw", {"name": "fw", "tags": ["shop"], "inboundRules": [
            {"protocol": "tcp", "portRange": "22", "sourceAddresses": ["0.0.0.0/0"]}]})
    assert [p for p, _ in do["Firewall"].problems({"inboundRules": [{"protocol": "tcp", "portRange": "80",
                                                                    "sourceLoadBalancerUids": ["x"]}]})] == [
        "inboundRules"]
    do["Tag"].create(Config(), "tag", {"name": "shop"})
    with pytest.raises(Failed, match="^At least one rule must be specified$"):
        do["Firewall"].create(Config(), "fw", {"name": "fw", "tags": ["shop"]})
    with pytest.raises(Failed, match="port_range` of inbound rules is required"):
        do["Firewall"].create(Config(), "fw", {"name": "fw", "tags": ["shop"], "inboundRules": [{"protocol": "tcp"}]})
    base = {"image": "debian-12-x64", "size": "s-1vcpu-1gb", "region": "nyc3"}
    web, _ = do["Droplet"].create(Config(), "web-1", {**base, "name": "web-1", "tags": ["shop"]})
    firewall_id, _ = do["Firewall"].create(Config(), "fw", {"name": "fw", "tags": ["shop"], "inboundRules": [
        {"protocol": "tcp", "portRange": "22", "sourceAddresses": ["0.0.0.0/0", "::/0"]},
        {"protocol": "tcp", "portRange": "6379", "sourceTags": ["shop"]}]})
    assert re.fullmatch(r"[0-9a-f-]{36}", firewall_id)
    cloud = lab["cloud"]
    record = labcloud.Records(cloud, "digitalocean").get("firewall", firewall_id)
    web_address = cloud.machine(web).address
    assert cloud.firewall(record["cloud"]).machines == (web,)
    assert cloud.firewall(record["cloud"]).inbound[1].addresses == (web_address,)
    assert cloud.firewall(record["cloud"]).outbound == ()  # DigitalOcean: nothing out
    db, db_state = do["Droplet"].create(Config(), "db-1", {**base, "name": "db-1", "tags": []})
    assert cloud.firewall(record["cloud"]).machines == (web,)
    do["Droplet"].update(Config(), db, db_state, {**base, "name": "db-1", "tags": ["shop"]})
    db_address = cloud.machine(db).address
    assert cloud.firewall(record["cloud"]).machines == (web, db)
    assert cloud.firewall(record["cloud"]).inbound[1].addresses == (web_address, db_address)
    ruleset = lab["rules"][-1]  # the router's table: both droplets' inbound chains, nothing out (DigitalOcean)
    sources = ", ".join(str(n) for n in __import__("ipaddress").collapse_addresses(
        [__import__("ipaddress").ip_network(a) for a in (web_address, db_address)]))
    assert f"chain machine_{db}_in {{" in ruleset and f"ip saddr {{ {sources} }} tcp dport 6379 return" in ruleset
    assert f"chain machine_{db}_out {{\n    drop\n  }}" in ruleset
    do["Droplet"].delete(Config(), web, {})
    assert cloud.firewall(record["cloud"]).machines == (db,)
    assert cloud.firewall(record["cloud"]).inbound[1].addresses == (db_address,)


def test_a_digitalocean_volume_and_reserved_ip_move_as_the_provider_moves_them(lab):
    do = {k.token.split(":")[-1]: k for k in package("digitalocean").kinds}
    droplet, _ = do["Droplet"].create(Config(), "web-1", {"name": "web-1", "image": "x", "size": "s-1vcpu-1gb"})
    volume_id, volume = do["Volume"].create(Config(), "data", {"name": "shop-prod-web-1-data-ab12", "region": "nyc3",
                                                                 "size": 10})
    assert re.fullmatch(r"[0-9a-f-]{36}", volume_id) and volume["volumeUrn"] == f"do:volume:{volume_id}"
    attachment, _ = do["VolumeAttachment"].create(Config(), "a", {"dropletId": int(droplet), "volumeId": volume_id})
    assert attachment.startswith(f"{droplet}-{volume_id}-")
    disk = lab["cloud"].volume(lab["cloud"].machine(droplet).volumes[0])
    assert disk.by_id == "/dev/disk/by-id/scsi-0DO_Volume_shop-prod-web-1-data-ab12" and lab["hotplugged"]
    assert do["Volume"].read(Config(), volume_id, volume, {})["dropletIds"] == [int(droplet)]
    with pytest.raises(Failed, match="Error deleting volume: .*attached to droplet"):
        do["Volume"].delete(Config(), volume_id, volume)
    with pytest.raises(Failed, match="^volumes `size` can only be expanded and not shrunk$"):
        do["Volume"].update(Config(), volume_id, volume, {**volume, "size": 5})
    ip, reserved = do["ReservedIp"].create(Config(), "ip", {"region": "nyc3"})
    assert reserved == {"region": "nyc3", "ipAddress": ip, "reservedIpUrn": f"do:reservedip:{ip}"}
    assignment, _ = do["ReservedIpAssignment"].create(Config(), "ipa", {"ipAddress": ip, "dropletId": int(droplet)})
    assert assignment.startswith(f"{droplet}-{ip}-")
    # Read sets droplet_id only when the state has one: an address the assignment assigned reads back without
    # it, so a refreshed state is no change against Berth's inputs (no dropletId).
    refreshed = do["ReservedIp"].read(Config(), ip, reserved, {"region": "nyc3"})
    assert "dropletId" not in refreshed
    assert do["ReservedIp"].schema.diff(refreshed, {"region": "nyc3"}, []).changed == []
    assert do["ReservedIp"].read(Config(), ip, {**reserved, "dropletId": 1}, {})["dropletId"] == int(droplet)
    do["Droplet"].delete(Config(), droplet, {})
    assert do["ReservedIpAssignment"].read(Config(), assignment, {"ipAddress": ip, "dropletId": int(droplet)},
                                           {}) is None
    assert do["VolumeAttachment"].read(Config(), attachment, {"dropletId": int(droplet), "volumeId": volume_id},
                                       {}) is None
    assert do["Volume"].read(Config(), volume_id, volume, {})["dropletIds"] == []  # it outlives the droplet


def test_a_hetzner_server_takes_its_primary_ip_and_a_type_change_leaves_it_off(lab):
    hc = {k.token.split(":")[-1]: k for k in package("hcloud").kinds}
    primary = hc["PrimaryIp"]
    berth_ip = {"name": "shop-ipv4", "type": "ipv4", "location": "fsn1", "assigneeType": "server",
                "autoDelete": False, "deleteProtection": True}
    assert primary.warnings(berth_ip) == ["Unused Attribute: This attribute is now optional and is only required "
                                          "together with the assignee_id attribute. Please remove it from your "
                                          "configuration."]
    assert primary.problems(berth_ip) == []
    assert [p for p, _ in primary.problems({"type": "ipv4"})] == ["location"]
    ip_id, ip = primary.create(Config(), "ip", berth_ip)
    assert ip_id.isdigit() and ip["assigneeId"] == 0
    key_id, created = hc["SshKey"].create(Config(), "k", {"name": "berth-key", "publicKey": KEY})
    assert hc["SshKey"].read(Config(), key_id, created, {})["fingerprint"] == created["fingerprint"]
    with pytest.raises(Failed, match=r"SSH key with the same fingerprint already exists \(uniqueness_error\)"):
        hc["SshKey"].create(Config(), "k", {"name": "again", "publicKey": KEY})
    user_data = "#cloud-config\n"
    inputs = {"name": "shop-web-1", "serverType": "cx23", "image": "ubuntu-24.04", "location": "fsn1",
              "sshKeys": [key_id, "laptop"], "userData": user_data, "deleteProtection": False,
              "rebuildProtection": False, "publicNets": [{"ipv4Enabled": True, "ipv4": int(ip_id),
                                                          "ipv6Enabled": True}]}
    with pytest.raises(Failed, match="^SSH key not found: nobody$"):
        hc["Server"].create(Config(), "s", {**inputs, "sshKeys": ["nobody"]})
    server_id, state = hc["Server"].create(Config(), "s", inputs)
    machine = lab["cloud"].machine(server_id)
    assert machine.address == ip["ipAddress"] == state["ipv4Address"]
    assert json.loads(lab["seeds"][server_id]["meta-data"])["public-keys"] == [KEY, OTHER]
    assert lab["seeds"][server_id]["user-data"] == user_data
    assert (state["status"], state["userData"], state["primaryDiskSize"]) == ("running", "wK9leoEi2xH7hUH5D+q3hxwsPXE=",
                                                                             40)
    assert primary.read(Config(), ip_id, ip, {})["assigneeId"] == int(server_id)
    changed = hc["Server"].update(Config(), server_id, state, {**inputs, "serverType": "cx33"})
    assert (changed["status"], changed["serverType"], changed["primaryDiskSize"]) == ("off", "cx33", 80)
    assert lab["cloud"].machine(server_id).requested_memory_mib == 8192
    kept = hc["Server"].update(Config(), server_id, changed, {**inputs, "serverType": "cx43", "keepDisk": True})
    assert kept["primaryDiskSize"] == 80
    protected = hc["Server"].update(Config(), server_id, kept, {**inputs, "serverType": "cx43", "keepDisk": True,
                                                                 "deleteProtection": True, "rebuildProtection": True})
    with pytest.raises(Failed, match=r"^The action you are trying to start is protected for this resource "
                                     r"\(protected\)$"):
        hc["Server"].delete(Config(), server_id, protected)
    hc["Server"].update(Config(), server_id, protected, {**inputs, "serverType": "cx43", "keepDisk": True})
    hc["Server"].delete(Config(), server_id, protected)
    assert hc["Server"].read(Config(), server_id, protected, inputs) is None
    assert primary.read(Config(), ip_id, ip, {})["assigneeId"] == 0  # the primary IP stays
    with pytest.raises(Failed, match=r"(?s)^API request failed: .*\(protected\)\n\nError code: protected\n"):
        primary.delete(Config(), ip_id, ip)
    again, _ = hc["Server"].create(Config(), "s", inputs)  # a replacement takes the same address
    assert lab["cloud"].machine(again).address == ip["ipAddress"]


def test_a_hetzner_volume_firewall_and_their_attachments(lab):
    hc = {k.token.split(":")[-1]: k for k in package("hcloud").kinds}
    server_id, _ = hc["Server"].create(Config(), "s", {"name": "web-1", "serverType": "cx23", "image": "x"})
    volume_id, volume = hc["Volume"].create(Config(), "v", {"name": "data", "size": 10, "location": "fsn1",
                                                            "automount": False, "deleteProtection": True})
    assert volume["linuxDevice"] == f"/dev/disk/by-id/scsi-0HC_Volume_{volume_id}"
    attachment, _ = hc["VolumeAttachment"].create(Config(), "a", {"serverId": int(server_id),
                                                                   "volumeId": int(volume_id), "automount": False})
    assert attachment == volume_id
    disk = lab["cloud"].volume(lab["cloud"].machine(server_id).volumes[0])
    assert disk.by_id == volume["linuxDevice"]
    with pytest.raises(Failed, match=r"\(protected\)$"):
        hc["Volume"].delete(Config(), volume_id, volume)
    firewall_id, firewall = hc["Firewall"].create(Config(), "fw", {"name": "fw", "rules": [
        {"direction": "in", "protocol": "tcp", "port": "22", "sourceIps": ["0.0.0.0/0", "::/0"]},
        {"direction": "in", "protocol": "tcp", "port": "80", "sourceIps": ["203.0.113.7"]}]})
    assert firewall["rules"][1]["sourceIps"] == ["203.0.113.7/32"]  # normalizeIP
    assert "destinationIps" not in firewall["rules"][0]  # what the program wrote, so an unchanged up is no diff
    assert hc["Firewall"].schema.diff(firewall, {"name": "fw", "rules": [
        {"direction": "in", "protocol": "tcp", "port": "80", "sourceIps": ["203.0.113.7/32"]},
        {"direction": "in", "protocol": "tcp", "port": "22", "sourceIps": ["0.0.0.0/0", "::/0"]}]}, []).changed == []
    with pytest.raises(Failed, match=r"^203\.0\.113\.7/24 is not the start of the cidr block 203\.0\.113\.0/24$"):
        hc["Firewall"].create(Config(), "fw2", {"name": "fw2", "rules": [
            {"direction": "in", "protocol": "tcp", "port": "22", "sourceIps": ["203.0.113.7/24"]}]})
    assert hc["FirewallAttachment"].create(Config(), "fa", {"firewallId": int(firewall_id),
                                                            "serverIds": [int(server_id)]})[0] == firewall_id
    cloud = lab["cloud"]
    record = labcloud.Records(cloud, "hetzner").get("firewall", firewall_id)
    applied = cloud.firewall(record["cloud"])
    assert (applied.machines, applied.outbound, applied.provider) == ((server_id,), (), "hetzner")  # all out
    assert hc["Server"].read(Config(), server_id, {}, {})["firewallIds"] == [int(firewall_id)]
    hc["Server"].delete(Config(), server_id, {})
    assert cloud.firewall(record["cloud"]).machines == ()
    assert hc["FirewallAttachment"].read(Config(), firewall_id, {"firewallId": int(firewall_id)}, {})["serverIds"] == []
    # readAttachment: the state's server_ids plus what the firewall is applied to
    assert hc["FirewallAttachment"].read(Config(), firewall_id, {"serverIds": [int(server_id)]},
                                         {})["serverIds"] == [int(server_id)]
    assert hc["VolumeAttachment"].read(Config(), attachment, {}, {}) is None
    assert hc["Volume"].read(Config(), volume_id, volume, {}).get("serverId") is None  # it outlives the server


def test_the_cloud_plugins_answer_the_engines_protocol_with_state_a_later_diff_agrees_with(lab):
    """Check, Create, Read and Diff through the ResourceProvider servicer with the engine's wire values: the user
    data hash in state is no change against the program's text, nor a refreshed DigitalOcean reserved IP that a
    ReservedIpAssignment assigned (Read leaves droplet_id out when the state had none)."""
    from pulumi.runtime.proto import provider_pb2

    from tests.e2e.plugins.server import LabProvider

    def step(provider, type_, name, inputs):
        urn = f"urn:pulumi:s::p::{type_}::{name}"
        checked = provider.Check(provider_pb2.CheckRequest(urn=urn, type=type_, news=wire.encode(inputs)), None)
        assert not checked.failures, checked.failures
        created = provider.Create(provider_pb2.CreateRequest(urn=urn, type=type_, properties=checked.inputs), None)
        read = provider.Read(provider_pb2.ReadRequest(id=created.id, urn=urn, type=type_,
                                                      properties=created.properties, inputs=checked.inputs), None)
        diff = provider.Diff(provider_pb2.DiffRequest(id=created.id, urn=urn, type=type_, olds=read.properties,
                                                      news=checked.inputs), None)
        return created.id, wire.decode(read.properties), diff

    hcloud_provider = LabProvider(package("hcloud"))
    ip_id, ip, diff = step(hcloud_provider, "hcloud:index/primaryIp:PrimaryIp", "ip", {
        "name": "ip", "type": "ipv4", "location": "fsn1", "assigneeType": "server", "autoDelete": False})
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    server_id, server, diff = step(hcloud_provider, "hcloud:index/server:Server", "web", {
        "name": "web-1", "serverType": "cx23", "image": "ubuntu-24.04", "userData": "#cloud-config\n",
        "publicNets": [{"ipv4Enabled": True, "ipv4": int(ip_id), "ipv6Enabled": True}]})
    assert (server["userData"], server["ipv4Address"]) == ("wK9leoEi2xH7hUH5D+q3hxwsPXE=", ip["ipAddress"])
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    do_provider = LabProvider(package("digitalocean"))
    droplet_id, droplet, diff = step(do_provider, "digitalocean:index/droplet:Droplet", "web", {
        "name": "web-1", "image": "ubuntu-24-04-x64", "size": "s-1vcpu-2gb", "region": "nyc3", "ipv6": True,
        "monitoring": True, "userData": "#cloud-config\n", "tags": ["a", "b"]})
    assert droplet["userData"] == "c0af657a8122db11fb8541f90feab7871c2c3d71"
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    ip_address, reserved, diff = step(do_provider, "digitalocean:index/reservedIp:ReservedIp", "ip",
                                      {"region": "nyc3"})
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    step(do_provider, "digitalocean:index/reservedIpAssignment:ReservedIpAssignment", "ipa",
         {"ipAddress": ip_address, "dropletId": int(droplet_id)})
    urn = "urn:pulumi:s::p::digitalocean:index/reservedIp:ReservedIp::ip"
    refreshed = do_provider.Read(provider_pb2.ReadRequest(
        id=ip_address, urn=urn, type="digitalocean:index/reservedIp:ReservedIp", properties=wire.encode(reserved),
        inputs=wire.encode({"region": "nyc3"})), None)
    diff = do_provider.Diff(provider_pb2.DiffRequest(id=ip_address, urn=urn, type="digitalocean:index/reservedIp:ReservedIp",
                                                     olds=refreshed.properties,
                                                     news=wire.encode({"region": "nyc3"})), None)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE


def test_an_unchanged_up_after_berths_first_up_is_no_diff_for_any_cloud_resource(lab):
    """What each resource reads back, diffed against the inputs Berth declared (components/clouds/*.py, with
    the ignore_changes Berth sets), changes nothing: the machine tier's second `up` must be empty."""
    do = {k.token.split(":")[-1]: k for k in package("digitalocean").kinds}
    hc = {k.token.split(":")[-1]: k for k in package("hcloud").kinds}

    def same(kind, inputs, ignore=()):
        id_, state = kind.create(Config(), "x", inputs)
        read = kind.read(Config(), id_, state, inputs)
        assert kind.schema.diff(read, inputs, list(ignore)).changed == [], (kind.token, read)
        return id_, read

    server_ignore = ("image", "sshKeys", "userData")
    same(do["Tag"], {"name": "shop-production"})
    vpc, _ = same(do["Vpc"], {"name": "shop-production", "region": "nyc3"})
    _, key = same(do["SshKey"], {"name": "shop-production-key-1", "publicKey": KEY + "\n"}, ("publicKey",))
    droplet, _ = same(do["Droplet"], {
        "name": "shop-web-1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "vpcUuid": vpc,
        "monitoring": True, "ipv6": True, "sshKeys": [key["fingerprint"]], "userData": "#cloud-config\n",
        "tags": ["web", "shop-production"]}, server_ignore)
    volume, _ = same(do["Volume"], {"name": "shop-production-web-1-data-1a2b", "region": "nyc3", "size": 10,
                                    "description": "Berth data for shop-web-1"}, ("name",))
    same(do["VolumeAttachment"], {"dropletId": int(droplet), "volumeId": volume})
    ip, _ = same(do["ReservedIp"], {"region": "nyc3"})
    same(do["ReservedIpAssignment"], {"ipAddress": ip, "dropletId": int(droplet)})
    same(do["Firewall"], {"name": "shop-production", "tags": ["shop-production"], "inboundRules": [
        {"protocol": "tcp", "portRange": "22", "sourceAddresses": ["10.230.0.1/32"]},
        {"protocol": "tcp", "portRange": "5432", "sourceTags": ["shop-production"]}], "outboundRules": [
        {"protocol": "udp", "portRange": "53", "destinationAddresses": ["0.0.0.0/0", "::/0"]},
        {"protocol": "icmp", "destinationAddresses": ["0.0.0.0/0", "::/0"]}]})
    key_id, _ = same(hc["SshKey"], {"name": "shop-staging-key-1", "publicKey": OTHER.replace(" ci", " ci2")
                                    .replace("AAAAIBv2", "AAAAIBv3")}, ("publicKey",))
    labels = {"berth": "shop-staging", "service": "shop", "role": "web"}
    primary, _ = same(hc["PrimaryIp"], {"name": "shop-staging-web-1-ipv4-1a2b", "type": "ipv4", "location": "nbg1",
                                        "assigneeType": "server", "autoDelete": False, "deleteProtection": True,
                                        "labels": labels}, ("name",))
    server, _ = same(hc["Server"], {
        "name": "shop-staging-web-1", "serverType": "cx23", "image": "ubuntu-24.04", "location": "nbg1",
        "sshKeys": [key_id], "labels": labels, "userData": "#cloud-config\n", "deleteProtection": False,
        "rebuildProtection": False, "publicNets": [{"ipv4Enabled": True, "ipv4": int(primary), "ipv6Enabled": True}]},
        (*server_ignore, "name"))
    hvolume, _ = same(hc["Volume"], {"name": "shop-staging-web-1-data-1a2b", "size": 10, "location": "nbg1",
                                     "automount": False, "deleteProtection": True, "labels": labels}, ("name",))
    same(hc["VolumeAttachment"], {"serverId": int(server), "volumeId": int(hvolume), "automount": False})
    firewall, _ = same(hc["Firewall"], {"name": "shop-staging", "rules": [
        {"direction": "in", "protocol": "tcp", "port": "22", "sourceIps": ["10.230.0.1/32"]},
        {"direction": "in", "protocol": "tcp", "port": "443", "sourceIps": ["0.0.0.0/0", "::/0"]},
        {"direction": "out", "protocol": "tcp", "port": "443", "destinationIps": ["0.0.0.0/0", "::/0"]}]})
    same(hc["FirewallAttachment"], {"firewallId": int(firewall), "serverIds": [int(server)]})


def test_an_ed25519_key_is_pkcs8_pem_and_an_openssh_public_key_as_terraform_provider_tls_writes_it():
    """The servers' pinned host keys (components/hostkeys.py) are `tls.PrivateKey(algorithm="ED25519")`:
    resource_private_key.go writes its PEM as PKCS#8 ("PRIVATE KEY"), and cloud-init takes the OpenSSH forms."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    tls = {k.token.split(":")[-1]: k for k in package("tls").kinds}
    key_id, state = tls["PrivateKey"].create(Config(), "web-1-host-key", {"algorithm": "ED25519"})
    assert state["privateKeyPem"].startswith("-----BEGIN PRIVATE KEY-----\n")
    assert state["privateKeyPem"] == state["privateKeyPemPkcs8"]
    assert state["privateKeyOpenssh"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert state["publicKeyOpenssh"].startswith("ssh-ed25519 ")
    key = serialization.load_pem_private_key(state["privateKeyPem"].encode(), None)
    assert isinstance(key, ed25519.Ed25519PrivateKey) and len(key_id) == 40


@pytest.mark.parametrize(("algorithm", "named"), [("ED25519", "ED25519"), ("ECDSA", "ECDSA"), ("RSA", "RSA")])
def test_a_cert_request_is_signed_by_its_key_and_names_its_algorithm(algorithm, named):
    """resource_cert_request.go signs with the key it is given and reports that key's algorithm
    (`key_algorithm`, one of internal/provider/types.go `Algorithm`); an ED25519 key signs with PureEd25519, no hash.
    Its id is `hashForState` of the request's DER."""
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    tls = {k.token.split(":")[-1]: k for k in package("tls").kinds}
    _, key = tls["PrivateKey"].create(Config(), "origin-key", {"algorithm": algorithm, "rsaBits": 2048,
                                                               "ecdsaCurve": "P256"})
    request_id, request = tls["CertRequest"].create(Config(), "origin-csr", {
        "privateKeyPem": key["privateKeyPem"], "subject": {"commonName": "shop.example"},
        "dnsNames": ["shop.example"]})
    assert request["keyAlgorithm"] == named
    csr = x509.load_pem_x509_csr(request["certRequestPem"].encode())
    assert csr.is_signature_valid
    der = csr.public_bytes(serialization.Encoding.DER)
    assert request_id == hashlib.sha1(der.strip(b"\t\n\v\f\r ")).hexdigest()  # noqa: S324 - hashForState
    assert csr.subject.rfc4514_string() == "CN=shop.example"


def test_a_connection_its_ssh_ended_says_what_ssh_said_as_docker_clis_commandconn_does():
    """The Docker provider reaches a host through docker/cli's connhelper: when ssh exits (a refused host key),
    the error carries its exit status and stderr (commandconn.go `handleEOF`), which is how an operator learns
    the key was refused."""
    from tests.e2e.plugins.dockerapi import ApiError, DockerApi

    api = DockerApi("ssh://root@192.0.2.1", [])
    api.argv = ["sh", "-c", "echo 'Host key verification failed.' >&2; exit 255"]
    with pytest.raises(ApiError) as refused:
        api.request("GET", "/images/json")
    said = str(refused.value)
    assert said.startswith("error during connect: command [sh -c echo 'Host key verification failed.' >&2; exit 255]"
                           " has exited with exit status 255, make sure the URL is valid"), said
    assert said.endswith("stderr=Host key verification failed.\n"), said


def test_the_wire_signatures_are_the_sdks():
    """wire.py writes the engine's signatures out (a plugin starts without the SDK's runtime); they are the
    pinned Python SDK's, which mirror sdk/go/common/resource/sig/sig.go."""
    from pulumi.runtime import rpc

    assert (wire._special_sig_key, wire._special_secret_sig, wire.UNKNOWN_TEXT) == (
        rpc._special_sig_key, rpc._special_secret_sig, rpc.UNKNOWN)


def test_a_plugin_starts_without_the_sdks_runtime_and_serves_the_engines_protocol():
    """The launcher's bare `pulumi` packages (plugins/__main__.py): the generated protocol modules load, the
    SDK's runtime does not, and the plugin prints its port and answers GetPluginInfo as the engine asks it."""
    import os
    import signal

    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import provider_pb2_grpc

    from tests.e2e.plugins import ROOT

    plugin = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "tests.e2e.plugins", "random"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        port = int(plugin.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = provider_pb2_grpc.ResourceProviderStub(channel).GetPluginInfo(empty_pb2.Empty(), timeout=10)
        assert info.version
    finally:
        os.killpg(plugin.pid, signal.SIGINT)
        _, imports = plugin.communicate(timeout=10)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in imports.splitlines() if line.startswith("import time:")}
    assert "pulumi.runtime.proto.provider_pb2" in loaded
    assert not {"pulumi.runtime.rpc", "pulumi.automation", "pulumi.runtime.stack"} & loaded


def test_cloudflares_published_ranges_answer_in_a_plugins_process():
    """A lab plugin runs with the SDK's packages bare (tests/e2e/plugins/__main__.py): outside the lab, its
    `getIpRanges` answers with Berth's published list, which must load without the Pulumi SDK (the program's
    components/origin.py declares through it; components/render/origin.py holds the list)."""
    code = """
import json, os, sys, types, importlib.util
root = importlib.util.find_spec("pulumi").submodule_search_locations[0]
for name, path in (("pulumi", root), ("pulumi.runtime", root + "/runtime")):
    bare = types.ModuleType(name); bare.__path__ = [path]; sys.modules[name] = bare
os.environ.pop("BERTH_LAB_ORIGIN_RANGES", None)
from tests.e2e.plugins.cloudflare import get_ip_ranges
print(json.dumps(get_ip_ranges(None, {}, True)))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    from components.render.origin import CLOUDFLARE_IPV4, CLOUDFLARE_IPV6

    answer = json.loads(result.stdout)
    assert (answer["ipv4Cidrs"], answer["ipv6Cidrs"]) == (list(CLOUDFLARE_IPV4), list(CLOUDFLARE_IPV6))
