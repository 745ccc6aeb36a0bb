"""The ops command's own commands (SSH, docker, scripts), driven with outputs recorded from real (offline)
evaluations: the exact argv it runs on the hosts. Everything it asks of Pulumi (the selected stack, its
outputs, a rollback or maintenance through preview and up) runs against the real CLI in tests/e2e/test_ops.py."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from shell import shellcheck
from typer.testing import CliRunner

from berth.__main__ import hoist_stack
from berth.cli import Context, app
from berth.outputs import StackOutputs
from components.render.hostkeys import pinned_options
from tooling.evaluate import PROJECT_DIR, unwrap

SSH = ["ssh", "-o", "StrictHostKeyChecking=accept-new"]  # a host whose key Berth did not give it (existing hosts)


class Recorder:
    """Stands in for subprocess on the hosts' side: records each command, streams a database for a backup.
    Pulumi is never asked here: the outputs are given to the Context."""

    def __init__(self, ssh_version: str = "OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.22") -> None:
        self.calls: list[list[str]] = []
        self.inputs: list[str | None] = []
        self.ssh_version = ssh_version
        self.version_checks = 0

    def __call__(self, argv, capture=False, stdout=None, input=None):
        assert argv[0] != "pulumi", f"this test gives the outputs; it does not model the Pulumi CLI: {argv}"
        if argv == ["ssh", "-V"]:  # asked once before the first pinned host (it prints on stderr)
            self.version_checks += 1
            return subprocess.CompletedProcess(argv, 0, "", self.ssh_version)
        self.calls.append(argv)
        self.inputs.append(input)
        if stdout is not None:
            stdout.write(b"SQLite format 3\x00")
        return subprocess.CompletedProcess(argv, 0, "", "")


def context(evaluations, stack: str, recorder: Recorder, **options) -> Context:
    outputs = StackOutputs.parse(unwrap(evaluations[stack][1].outputs))
    return Context(stack, runner=recorder, loaded_outputs=outputs, **options)


@pytest.fixture
def recorded_with_input(evaluations):
    def invoke(stack: str, *args: str):
        recorder = Recorder()
        result = CliRunner().invoke(app, ["--stack", stack, *args], obj=context(evaluations, stack, recorder))
        assert result.exit_code == 0, result.output
        return recorder.calls, recorder.inputs

    return invoke


@pytest.fixture
def recorded(evaluations):
    def invoke(stack: str, *args: str, input: str | None = None):
        recorder = Recorder()
        result = CliRunner().invoke(app, ["--stack", stack, *args], obj=context(evaluations, stack, recorder),
                                    input=input)
        assert result.exit_code == 0, result.output
        return recorder.calls

    return invoke


def _ip(evaluations, stack, host):
    return unwrap(evaluations[stack][1].outputs)["hosts"][host]["address"]


def _ssh(evaluations, stack, host) -> list[str]:
    """ssh to a server Berth created: it checks the key the stack's outputs name, with the Docker provider's options."""
    key = unwrap(evaluations[stack][1].outputs)["hosts"][host]["hostKey"]
    return ["ssh", *pinned_options(key)]


def test_outputs_parse_from_a_real_evaluation(evaluations):
    outputs = StackOutputs.parse(unwrap(evaluations["zen-miner"][1].outputs))
    assert [h.name for h in outputs.hosts] == ["zen-miner-web-1", "zen-miner-web-2", "zen-miner-web-3"]
    assert all(h.port == 22 and h.user == "root" for h in outputs.hosts)
    assert outputs.containers["zen-miner-web-2"].startswith("zen-miner-web-2026.11.20-")


def test_logs_on_every_primary_host(recorded, evaluations):
    calls = recorded("zen-miner", "logs", "--lines", "50")
    outputs = unwrap(evaluations["zen-miner"][1].outputs)
    assert calls == [
        [*_ssh(evaluations, "zen-miner", h), f"root@{outputs['hosts'][h]['address']}",
         f"docker logs --timestamps --tail 50 {outputs['release']['containers'][h]}"]
        for h in ("zen-miner-web-1", "zen-miner-web-2", "zen-miner-web-3")]


def test_follow_picks_one_host(recorded):
    calls = recorded("zen-miner", "logs", "-f")
    assert len(calls) == 1 and calls[0][-1].endswith("--follow " + calls[0][-1].split()[-1])


def test_exec_and_console(recorded, evaluations):
    ip = _ip(evaluations, "production", "covertext-web-1")
    SSH = _ssh(evaluations, "production", "covertext-web-1")
    container = unwrap(evaluations["production"][1].outputs)["release"]["containers"]["covertext-web-1"]
    assert recorded("production", "exec", "bin/rails runner 'puts 1'") == [
        [*SSH, f"root@{ip}", f"docker exec {container} sh -c 'bin/rails runner '\"'\"'puts 1'\"'\"''"]]
    assert recorded("production", "console") == [
        [*SSH, "-t", f"root@{ip}", f"docker exec -it {container} sh -c 'bin/rails console'"]]
    assert recorded("production", "shell")[0][-1] == f"docker exec -it {container} sh -c bash"


def test_details_and_proxy_details(recorded, evaluations):
    ip = _ip(evaluations, "production", "covertext-web-1")
    SSH = _ssh(evaluations, "production", "covertext-web-1")
    assert recorded("production", "details") == [
        [*SSH, f"root@{ip}", "docker ps --all --filter label=service=covertext --format "
                             "'{{.Names}}\t{{.Label \"version\"}}\t{{.Status}}'"]]
    assert recorded("production", "proxy", "details") == [
        [*SSH, f"root@{ip}", "docker ps --filter 'name=^kamal-proxy$'"],
        [*SSH, f"root@{ip}", "docker exec kamal-proxy kamal-proxy list"]]


def test_rollback_without_a_version_lists_the_versions_kept_on_the_host(recorded, evaluations):
    ip = _ip(evaluations, "production", "covertext-web-1")
    SSH = _ssh(evaluations, "production", "covertext-web-1")
    assert recorded("production", "rollback") == [
        [*SSH, f"root@{ip}", "docker ps --all --filter label=service=covertext --filter label=role=web --format "
                             "'{{.Label \"version\"}}\t{{.Status}}\t{{.Names}}'"]]


def test_a_restore_asks_first_and_needs_yes_without_a_terminal(evaluations):
    verb = ["restore", "/rails/storage/staging_queue.sqlite3"]
    recorder = Recorder()
    result = CliRunner().invoke(app, ["--stack", "staging", *verb],
                                obj=context(evaluations, "staging", recorder, interactive=False))
    assert result.exit_code == 1
    assert "run it in a terminal to confirm, or pass --yes" in " ".join(result.output.split())
    assert recorder.calls == []
    answered_no = CliRunner().invoke(app, ["--stack", "staging", *verb], input="n\n",
                                     obj=context(evaluations, "staging", Recorder(), interactive=True))
    assert answered_no.exit_code == 1 and "nothing changed" in answered_no.output


def test_backup_streams_a_restored_copy_of_each_database(recorded_with_input, evaluations, tmp_path):
    out = tmp_path / "out"
    calls, scripts = recorded_with_input("staging", "backup", "--output", str(out))
    assert len(calls) == 3
    assert calls[0] == [*_ssh(evaluations, "staging", "covertext-web-1"),
                        f"root@{_ip(evaluations, 'staging', 'covertext-web-1')}", "bash -s"]
    assert ("docker exec \"$container\" litestream restore -o \"$inside\" /rails/storage/staging_cache.sqlite3"
            in scripts[0])
    assert shellcheck({"backup": scripts[0]}, tmp_path) == ""
    assert (out / "staging_cache.sqlite3").read_bytes().startswith(b"SQLite format 3")
    assert not list(out.glob("*.part"))


def test_restore_runs_one_script_that_keeps_the_wal_with_the_safety_copy(recorded_with_input, tmp_path):
    calls, scripts = recorded_with_input("staging", "restore", "/rails/storage/staging_queue.sqlite3", "--timestamp",
                                         "2026-11-20T10:00:00Z", "--yes")
    assert [c[-1] for c in calls] == ["bash -s"]
    script = scripts[0]
    assert "litestream restore -o /rails/storage/staging_queue.sqlite3.restored -timestamp 2026-11-20T10:00:00Z" in script
    assert 'for suffix in "" -wal -shm' in script and "chown" in script
    assert shellcheck({"restore": script}, tmp_path) == ""


def test_unknown_host_is_a_clear_error(evaluations):
    recorder = Recorder()
    result = CliRunner().invoke(app, ["logs", "--host", "nope"], obj=context(evaluations, "production", recorder))
    assert result.exit_code == 1 and "no host matches 'nope'" in result.output
    assert recorder.calls == []


def test_bin_berth_runs_the_ops_command():
    result = subprocess.run([str(PROJECT_DIR / "bin" / "berth"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "rollback" in result.stdout and "maintenance" in result.stdout


# --- the first hour: clear failures, the stack anywhere ----------------------------------------------------

def test_berth_without_the_pulumi_cli_on_path_says_what_to_install(tmp_path):
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([str(PROJECT_DIR / "bin" / "berth"), "logs"], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "the Pulumi CLI is not installed" in " ".join(result.stderr.split()) and "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [["logs", "--stack", "staging"], ["logs", "-s", "staging"],
                                  ["--stack=staging", "logs"], ["logs", "--lines", "5", "--stack=staging"]])
def test_the_stack_option_is_read_anywhere_on_the_line(argv, evaluations):
    hoisted = hoist_stack(argv)
    assert hoisted[:2] == ["--stack", "staging"]
    outputs = StackOutputs.parse(unwrap(evaluations["staging"][1].outputs))
    result = CliRunner().invoke(app, hoisted, obj=Context(runner=Recorder(), loaded_outputs=outputs))
    assert result.exit_code == 0, result.output
    assert hoist_stack(["exec", "--", "ls", "-s", "x"]) == ["exec", "--", "ls", "-s", "x"]


def test_help_groups_the_verbs_with_an_example_each():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "160"})
    for panel in ("App", "Deploy", "Data", "Proxy"):
        assert f"─ {panel} " in result.output
    assert result.output.count("Example: berth") >= 10


def test_recover_finds_the_containers_an_interrupted_up_created_and_where():
    """What `pulumi stack export` holds after the CLI was killed while creating a release's containers."""
    from berth.recovery import pending_creates

    provider = "urn:pulumi:e2e::berth::berth:index:Servers$berth:index:Host$pulumi:providers:docker::shop-web-1-docker"
    deployment = {
        "resources": [{"urn": provider, "inputs": {"host": "ssh://deploy@10.0.0.5:2222"}}],
        "pending_operations": [
            {"type": "creating", "resource": {
                "urn": "urn:pulumi:e2e::berth::berth:index:Release$docker:index/container:Container::shop-web-1-app",
                "type": "docker:index/container:Container", "inputs": {"name": "shop-web-v2-5ac200"},
                "provider": f"{provider}::0b5c3c1e"}},
            {"type": "creating", "resource": {
                "urn": "urn:pulumi:e2e::berth::berth:index:Release$command:remote:Command::shop-web-1-switch",
                "type": "command:remote:Command", "inputs": {}}},
            {"type": "deleting", "resource": {"urn": "urn:x::gone", "type": "docker:index/container:Container"}},
        ]}
    app, switch = pending_creates(deployment)
    assert (app.container, app.host.address, app.host.user, app.host.port) == ("shop-web-v2-5ac200", "10.0.0.5",
                                                                               "deploy", 2222)
    assert (switch.container, switch.host) == (None, None)


def test_rebuilt_forgets_the_key_in_every_file_ssh_g_names_and_replaces_the_hosts_machine_generation():
    """`ssh -G` prints UserKnownHostsFile with `~` as written (OpenSSH's defaults are two files); `berth rebuilt`
    replaces the host's machine generation, found by the name components/hosts.py gives it."""
    from berth.recovery import known_hosts_files, machine_generation

    printed = "user root\nuserknownhostsfile ~/.ssh/known_hosts ~/.ssh/known_hosts2 /etc/ssh/lab_hosts\nport 22\n"
    assert known_hosts_files(printed, "/home/ops") == [
        "/home/ops/.ssh/known_hosts", "/home/ops/.ssh/known_hosts2", "/etc/ssh/lab_hosts"]
    assert known_hosts_files("user root\n", "/home/ops") == []
    machine = ("urn:pulumi:production::berth::berth:index:Servers$berth:index:Host$random:index/randomId:RandomId"
               "::covertext-web-1-machine")
    deployment = {"resources": [{"urn": machine}, {"urn": machine.replace("web-1", "web-2")}]}
    assert machine_generation(deployment, "covertext-web-1") == machine
    assert machine_generation(deployment, "covertext-web-3") is None


def test_a_rollback_asks_what_a_release_changes_before_it_sets_anything(evaluations):
    """No preview (a second run of the program): a version changes the release alone. Said no, nothing was
    set: the only call was the look at the versions the host kept."""
    recorder = Recorder()
    result = CliRunner().invoke(app, ["--stack", "production", "rollback", "2b7e1d0"],
                                obj=context(evaluations, "production", recorder, interactive=True), input="n\n")
    assert result.exit_code == 1 and "nothing changed" in result.output
    question = " ".join(result.output.split())
    assert "roll stack production back to 2b7e1d0 (now 3f9c2e1)" in question
    assert "kamal-proxy switches after their health checks, nothing else changes" in question
    assert "not among the versions kept on covertext-web-1, so the hosts pull it from the registry" in question
    assert [call[-1].split()[:2] for call in recorder.calls] == [["docker", "ps"]]


def _rollback_yes(evaluations, monkeypatch, tmp_path, version: str, up, recorder: Recorder | None = None):
    """`berth --stack production rollback VERSION --yes` in `tmp_path`, with `up` standing for engine.up."""
    from berth import engine

    monkeypatch.setattr(engine, "warm", lambda path=None: None)
    monkeypatch.setattr(engine, "up", up)
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(app, ["--stack", "production", "rollback", version, "--yes"],
                              obj=context(evaluations, "production", recorder or Recorder()))


def test_a_rollback_with_yes_runs_one_up_that_sets_the_version_and_looks_at_no_host(evaluations, monkeypatch,
                                                                                   tmp_path):
    """--yes asks nothing, so nothing reads the versions the hosts kept: no ssh. The version rides on the one
    `pulumi up` (--config), and the stack file is left to the CLI."""
    ups = []

    def up(stack, work_dir, config, on_output, gate):
        ups.append((stack, dict(config), gate.wait()))  # as the program does before it declares anything

    recorder = Recorder()
    result = _rollback_yes(evaluations, monkeypatch, tmp_path, "2b7e1d0", up, recorder)
    assert result.exit_code == 0, result.output
    assert recorder.calls == []
    assert ups == [("production", {"version": "2b7e1d0"}, True)]
    assert "$ pulumi up --stack production --config berth:version=2b7e1d0" in result.output


def test_a_rollback_with_yes_to_the_version_running_is_refused_before_the_program_declares_anything(
        evaluations, monkeypatch, tmp_path):
    """With --yes, `pulumi up` starts at once and berth's checks read the outputs beside it; the program waits for
    them (berth/engine.py `Gate`). Refused, it declares nothing, and the stack file the CLI saved is put back."""
    from berth import engine

    stack_file = tmp_path / "Pulumi.production.yaml"
    stack_file.write_text("config:\n  berth:version: 3f9c2e1  # the release\n")
    before = stack_file.read_bytes()
    declared = []

    def up(stack, work_dir, config, on_output, gate):
        stack_file.write_text("config:\n  berth:version: 3f9c2e1\n")  # `--config`, saved as the CLI starts
        if gate.wait():
            declared.append(stack)
            return
        raise engine.UpFailed("error: an unhandled error occurred: berth refused the change\n")

    result = _rollback_yes(evaluations, monkeypatch, tmp_path, "3f9c2e1", up)
    assert result.exit_code == 1
    assert "stack production runs 3f9c2e1 already" in result.output
    assert "unhandled error" not in result.output and "pulumi up failed" not in result.output
    assert declared == []
    assert stack_file.read_bytes() == before


def test_a_rollback_the_lock_refused_puts_the_stack_file_back_byte_for_byte(evaluations, monkeypatch, tmp_path):
    """`pulumi up --config` saves the setting before it meets the lock (up.go `parseAndSaveConfigArray`): when the
    lock refuses the up, berth writes the stack file back as it was, comments and all."""
    from berth import engine

    stack_file = tmp_path / "Pulumi.production.yaml"
    stack_file.write_text("config:\n  berth:version: 3f9c2e1  # the release\n")
    before = stack_file.read_bytes()

    def locked_up(stack, work_dir, config, on_output, gate=None):
        stack_file.write_text("config:\n  berth:version: 2b7e1d0\n")  # what the CLI saved before the lock
        raise engine.UpFailed(LOCKED)

    result = _rollback_yes(evaluations, monkeypatch, tmp_path, "2b7e1d0", locked_up)
    assert result.exit_code == 1
    assert "stack production is locked by alice@laptop" in " ".join(result.output.split())
    assert stack_file.read_bytes() == before


def test_logs_and_exec_of_a_role_that_shares_its_host(evaluations):
    from conftest import variant
    from tooling.evaluate import evaluate

    shared = evaluate(variant(PROJECT_DIR / "examples" / "dbcours.yaml",
                              servers={"web": {"hosts": ["192.0.2.10"]}, "jobs": {"hosts": ["192.0.2.10"],
                                                                                  "cmd": "bin/jobs"}}))
    outputs = StackOutputs.parse(unwrap(shared.outputs))
    jobs = outputs.role_containers["dbcours-web-1"]["jobs"]
    recorder = Recorder()
    result = CliRunner().invoke(app, ["--stack", "dbcours", "logs", "--role", "jobs"],
                                obj=Context("dbcours", runner=recorder, loaded_outputs=outputs))
    assert result.exit_code == 0, result.output
    assert recorder.calls == [[*SSH, "root@192.0.2.10", f"docker logs --timestamps --tail 100 {jobs}"]]
    assert outputs.container("dbcours-web-1") == outputs.containers["dbcours-web-1"] != jobs


# The Pulumi CLI v3.274.1's own words (pkg/backend/diy/lock.go `checkForLock`), as it printed them.
LOCKED = ("error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or "
          "delete the lock file with `pulumi cancel`.\n  file:///tmp/locktest/state/.pulumi/locks/organization/berth/"
          "dev/abc.json?no_tmp_dir=true: created by alice@laptop (pid 4242) at 2026-12-07T05:00:00Z\n")


def test_a_lock_is_read_from_the_clis_words_and_said_with_what_to_do():
    from berth import recovery

    (holder,) = recovery.lock_holders(LOCKED)
    assert str(holder) == "alice@laptop (pid 4242, since 2026-12-07T05:00:00Z)"
    assert recovery.lock_holders("error: a stack named dev already exists") is None  # the probe, unlocked
    message = recovery.locked_message("production", [holder], "roll stack production back to v1")
    assert "stack production is locked by alice@laptop (pid 4242" in message
    assert "nothing changed" in message and "berth recover --stack production" in message


@pytest.mark.parametrize(("output", "words"), [
    ("error: error listing stacks: could not list bucket: blob (code=NotFound): operation error S3: ListObjectsV2, "
     "https response error StatusCode: 404, RequestID: x, HostID: y, NoSuchBucket: The specified bucket does not exist",
     "the state bucket berth-state at https://10.231.0.1:9001 does not exist (NoSuchBucket)"),
    ("... api error SignatureDoesNotMatch: The request signature we calculated does not match",
     "refused the credentials (SignatureDoesNotMatch): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
    ('Get "https://10.231.0.1:9001/x": tls: failed to verify certificate: x509: certificate signed by unknown authority',
     "give its CA to the Pulumi CLI's S3 client with AWS_CA_BUNDLE"),
])
def test_a_state_store_that_refuses_is_said_with_what_to_do(output, words):
    """The CLI's own words (as it printed them on the lab, tests/e2e/test_teams.py), read for their S3 code."""
    from berth import backend

    url = "s3://berth-state?endpoint=https://10.231.0.1:9001&s3ForcePathStyle=true&region=us-east-1"
    assert words in backend.problem(output, url)
    assert backend.problem(output, "file://~") is None and backend.problem("no stack named x", url) is None


# --- host keys: a server Berth created must present the key Berth gave it ----------------------------------------

OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3qhwBYuWuDS9ihE9QHsvU686oTGZA1JmlkRqv1U8b1"


class RefusingHost(Recorder):
    """ssh exits 255 (its own failure), and ssh-keyscan finds `presents` (None: the host does not answer)."""

    def __init__(self, presents: str | None, **options) -> None:
        super().__init__(**options)
        self.presents = presents

    def __call__(self, argv, capture=False, stdout=None, input=None):
        result = super().__call__(argv, capture, stdout, input)
        if argv[0] == "ssh-keyscan":
            line = f"[{argv[-1]}]:22 {self.presents}\n" if self.presents else ""
            return subprocess.CompletedProcess(argv, 0 if line else 1, line, "")
        if argv[0] == "ssh" and argv != ["ssh", "-V"]:
            return subprocess.CompletedProcess(argv, 255, "", "")
        return result


def test_a_server_presenting_another_key_is_refused_with_which_host_why_and_what_to_do(evaluations):
    recorder = RefusingHost(OTHER_KEY)
    result = CliRunner().invoke(app, ["--stack", "production", "logs"], obj=context(evaluations, "production", recorder))
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    said = " ".join(result.output.split())
    host = unwrap(evaluations["production"][1].outputs)["hosts"]["covertext-web-1"]
    assert f"covertext-web-1 ({host['address']}) presents the host key SHA256:KDpPSEfpxG9LK+n0wVzOAWHML1uP8N/ZLNAVpjkMiEk" \
           in said
    assert "the key Berth gave this server when it created it, so Berth refuses to talk to it" in said
    assert "the address now reaches another machine" in said and "reinstalled outside Berth" in said
    assert f"pulumi up --stack production --replace '{host['serverUrn']}', then berth rebuilt covertext-web-1" in said
    assert "Traceback" not in result.output
    assert [c[0] for c in recorder.calls] == ["ssh", "ssh-keyscan"]
    assert recorder.calls[1] == ["ssh-keyscan", "-T", "10", "-t", "ed25519", "-p", "22", host["address"]]


def test_a_server_that_does_not_answer_is_not_called_another_machine(evaluations):
    recorder = RefusingHost(None)
    result = CliRunner().invoke(app, ["--stack", "production", "logs"], obj=context(evaluations, "production", recorder))
    assert result.exit_code == 255 and "refuses" not in result.output


def test_a_pinned_key_needs_an_ssh_that_can_check_it(evaluations):
    recorder = Recorder(ssh_version="OpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w")
    result = CliRunner().invoke(app, ["--stack", "production", "logs"], obj=context(evaluations, "production", recorder))
    assert result.exit_code == 1 and recorder.calls == []
    assert ("this machine's ssh is OpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w, and checking the host keys Berth "
            "pinned needs OpenSSH 8.5 or later") in " ".join(result.output.split())


def test_the_ssh_version_is_asked_once_and_only_for_pinned_hosts(evaluations):
    pinned, existing = Recorder(), Recorder()
    assert CliRunner().invoke(app, ["--stack", "zen-miner", "logs"],
                              obj=context(evaluations, "zen-miner", pinned)).exit_code == 0
    assert CliRunner().invoke(app, ["--stack", "dbcours", "logs"],
                              obj=context(evaluations, "dbcours", existing)).exit_code == 0
    assert (pinned.version_checks, len(pinned.calls), existing.version_checks) == (1, 3, 0)


def test_a_server_from_before_pinning_is_reached_as_before_and_said_once(evaluations):
    outputs = unwrap(evaluations["zen-miner"][1].outputs)
    for host in outputs["hosts"].values():
        host.pop("hostKey")  # as an earlier Berth's server: the stack output names no key
    recorder = Recorder()
    result = CliRunner().invoke(app, ["--stack", "zen-miner", "logs"], obj=Context(
        "zen-miner", runner=recorder, loaded_outputs=StackOutputs.parse(outputs)))
    assert result.exit_code == 0, result.output
    assert all(call[:3] == SSH for call in recorder.calls) and recorder.version_checks == 0
    said = " ".join(result.output.split())
    urn = outputs["hosts"]["zen-miner-web-2"]["serverUrn"]
    assert said.count("zen-miner-web-2: this server was created before Berth pinned host keys") == 1
    assert f"pulumi up --stack zen-miner --replace '{urn}', then berth rebuilt zen-miner-web-2" in said


def test_outputs_of_an_earlier_berth_parse_without_host_keys(evaluations):
    outputs = unwrap(evaluations["dbcours"][1].outputs)
    parsed = StackOutputs.parse(outputs)
    assert [(h.host_key, h.server_urn) for h in parsed.hosts] == [(None, None)]


@pytest.mark.parametrize("error", [
    # pulumi-command (connection.go Dial: "after N failed attempts: " + golang.org/x/crypto/ssh's error)
    "  command:remote:Command (zen-miner-web-2-bootstrap):\n"
    "    error: after 60 failed attempts: ssh: handshake failed: ssh: host key mismatch\n",
    # the Docker provider (docker/cli commandconn: the ssh command line, then ssh's stderr)
    "  docker:index/container:Container (zen-miner-web-2-proxy):\n    error: command [ssh -l root -p 22 -o "
    "StrictHostKeyChecking=yes -- {address} docker system dial-stdio] has exited with exit status 255, make sure the "
    "URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=Host key for {address} has "
    "changed and you have requested strict checking.\nHost key verification failed.\n",
])
def test_a_refused_key_in_pulumi_ups_output_names_its_host(evaluations, error):
    from berth.hostkeys import refused_hosts

    outputs = StackOutputs.parse(unwrap(evaluations["zen-miner"][1].outputs))
    address = outputs.host("zen-miner-web-2").address
    text = ("Updating (zen-miner):\n  pulumi:pulumi:Stack (berth-zen-miner):\n    zen-miner-web-1 zen-miner-web-3\n"
            + error.format(address=address))
    assert [h.name for h in refused_hosts(text, outputs.hosts)] == ["zen-miner-web-2"]
    assert refused_hosts("error: exit status 1\n", outputs.hosts) == []


def test_outside_the_project_pulumis_no_project_error_is_one_berth_line(tmp_path, monkeypatch):
    """Pulumi says "either run this command from a directory containing a Pulumi project, or pass the fully
    qualified stack name": its options, not berth's."""
    said = ("error: no Pulumi.yaml project file found; either run this command from a directory containing a Pulumi "
            "project, or pass the fully qualified stack name (organization/project/stack)\n")  # pulumi v3.274.1

    def pulumi(argv, capture=False, stdout=None, input=None):
        assert argv[0] == "pulumi"
        return subprocess.CompletedProcess(argv, 1, "", said)

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["--stack", "production", "logs"], obj=Context("production", runner=pulumi))
    assert result.exit_code == 1
    assert result.output == (f"no Pulumi.yaml in {tmp_path.resolve()} or above it: run berth in the Berth project "
                             f"directory, where Pulumi.yaml and your Pulumi.<stack>.yaml are (cd {PROJECT_DIR}), "
                             "choosing the stack with --stack\n")


class PulumiAnswers:
    """The Pulumi CLI as `berth recover` asks it: an export, the lock probe, and whatever it runs after."""

    def __init__(self, export: dict, probe: str) -> None:
        self.export, self.probe, self.calls = export, probe, []

    def __call__(self, argv, capture=False, stdout=None, input=None):
        self.calls.append(argv)
        if argv[:3] == ["pulumi", "stack", "export"]:
            return subprocess.CompletedProcess(argv, 0, json.dumps({"deployment": self.export}), "")
        if argv[:3] == ["pulumi", "stack", "rename"]:
            return subprocess.CompletedProcess(argv, 255, "", self.probe)
        return subprocess.CompletedProcess(argv, 0, "", "")


@pytest.mark.parametrize("probe, cancels", [
    ("error: a stack named organization/berth/production already exists\n", False),  # the probe took the lock
    ("error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the "
     "lock file with `pulumi cancel`.\n  file:///state/.pulumi/locks/organization/berth/production/x.json: created by "
     "ann@laptop (pid 4242) at 2026-12-07T06:00:00Z\n", True),
    ("error: [409] Conflict: Another update is currently in progress.\n", True),  # another backend: unknown, cancel
])
def test_recover_cancels_only_what_may_hold_the_lock(probe, cancels):
    runner = PulumiAnswers({"resources": []}, probe)
    result = CliRunner().invoke(app, ["recover", "--yes"], obj=Context("production", runner=runner))
    assert result.exit_code == 0, result.output
    assert (["pulumi", "cancel", "--stack", "production", "--yes"] in runner.calls) is cancels, runner.calls
    assert ("nothing to recover" in result.output) is not cancels


def test_a_change_runs_the_up_the_automation_api_runs_for_an_inline_program_and_nothing_around_it(tmp_path):
    """berth/engine.py starts the CLI as the pinned SDK's `Stack.up` does for an inline program (the same
    arguments, the program reached at --client), plus --config for the settings; the SDK's own calls before
    and after (`version`, `stack select`, two `stack output`, `stack history`) are the ones berth leaves out."""
    from pulumi import automation as auto
    from pulumi.automation._cmd import CommandResult

    from berth import engine

    calls: list[list[str]] = []

    class Recording(auto.PulumiCommand):
        def __init__(self):  # no `pulumi version`: nothing here runs a CLI
            self.command, self.version = "pulumi", None

        def run(self, args, cwd, additional_env, on_output=None, on_error=None):
            calls.append(list(args))
            history = [{"kind": "update", "startTime": "2026-12-07T10:00:00.000000Z", "message": "",
                        "environment": {}, "config": {}, "result": "succeeded"}]
            return CommandResult(stdout=json.dumps(history) if args[:2] == ["stack", "history"] else "{}",
                                 stderr="", code=0)

    workspace = auto.LocalWorkspace(work_dir=str(tmp_path), pulumi_command=Recording(), program=lambda: None)
    auto.Stack.select("production", workspace).up()
    (sdk_up,) = [args for args in calls if args[:1] == ["up"]]
    address = next(arg for arg in sdk_up if arg.startswith("--client="))
    ours = engine.up_argv("production", address.removeprefix("--client="), {"version": "v1"})
    assert ours[0] == "pulumi" and "--config=berth:version=v1" in ours
    assert "--non-interactive" in ours  # the SDK's PulumiCommand.run adds it to every command (_cmd.py)
    assert sorted(a for a in ours[1:] if not a.startswith("--config") and a != "--non-interactive") == sorted(sdk_up)
    assert [args[:2] for args in calls if args[:1] != ["up"]] == [
        ["stack", "select"], ["stack", "output"], ["stack", "output"], ["stack", "history"]]


@pytest.mark.parametrize("passes", [True, False])
def test_a_gated_up_shows_the_clis_words_only_once_the_checks_pass(monkeypatch, tmp_path, passes):
    """berth/engine.py `up` with a `Gate`: the CLI's progress and errors are held while the checks run beside its
    start, then shown in their order if they pass, and dropped if they refuse (the check has said why)."""
    from berth import engine

    cli = ("import sys; print('Updating (production):', flush=True); print('warning: said on stderr', "
           f"file=sys.stderr, flush=True); print(' ++ a step', flush=True); sys.exit({0 if passes else 255})")
    monkeypatch.setattr(engine, "up_argv", lambda stack, address, config: [sys.executable, "-c", cli])
    release = threading.Event()
    gate = engine.Gate(lambda: release.wait(30) and passes)
    shown: list[str] = []
    errors = io.StringIO()
    monkeypatch.setattr(sys, "stderr", errors)

    def said(line: str) -> None:
        shown.append(line)
        if not release.is_set():  # nothing reaches the operator before the checks end
            raise AssertionError(f"shown before the checks ended: {line}")

    threading.Timer(0.5, release.set).start()
    if passes:
        engine.up("production", tmp_path, {"version": "v1"}, on_output=said, gate=gate)
        assert shown == ["Updating (production):", " ++ a step"]
        assert errors.getvalue() == "warning: said on stderr\n"
    else:
        with pytest.raises(engine.UpFailed):
            engine.up("production", tmp_path, {"version": "v1"}, on_output=said, gate=gate)
        assert shown == [] and errors.getvalue() == ""


def _rollback_yes_with(runner, up, monkeypatch, tmp_path):
    """`berth --stack production rollback 2b7e1d0 --yes`, the outputs read through `runner` (the CLI's stand-in)
    and `up` standing for engine.up."""
    from berth import engine

    monkeypatch.setattr(engine, "warm", lambda path=None: None)
    monkeypatch.setattr(engine, "up", up)
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(app, ["--stack", "production", "rollback", "2b7e1d0", "--yes"],
                              obj=Context("production", runner=runner))


def test_a_rollback_with_yes_without_the_pulumi_cli_says_so_in_a_line(monkeypatch, tmp_path):
    """The checks read the outputs through the CLI and `up` starts it, both at once: without it, one line says
    what to install, no traceback, and the stack file stays as it was."""
    stack_file = tmp_path / "Pulumi.production.yaml"
    stack_file.write_text("config:\n  berth:version: 3f9c2e1\n")

    def no_cli(argv, **kwargs):
        raise FileNotFoundError(argv[0])

    def up(stack, work_dir, config, on_output, gate):
        raise FileNotFoundError("pulumi")  # what subprocess.Popen raises

    result = _rollback_yes_with(no_cli, up, monkeypatch, tmp_path)
    assert result.exit_code == 1 and not isinstance(result.exception, FileNotFoundError), result.exception
    assert " ".join(result.output.split()).count("the Pulumi CLI is not installed") == 1, result.output
    assert stack_file.read_text() == "config:\n  berth:version: 3f9c2e1\n"


def test_a_check_that_fails_unexpectedly_is_raised_not_hidden(monkeypatch, tmp_path):
    """A refusal says why itself; anything else the checks raise (here the CLI not allowed to run) reaches the
    operator as it came, never an exit 1 with nothing said."""
    from berth import engine

    def denied(argv, **kwargs):
        raise PermissionError(13, "Permission denied", argv[0])

    def up(stack, work_dir, config, on_output, gate):
        gate.wait()
        raise engine.UpFailed("error: berth refused the change\n")

    result = _rollback_yes_with(denied, up, monkeypatch, tmp_path)
    assert isinstance(result.exception, PermissionError), result.output
