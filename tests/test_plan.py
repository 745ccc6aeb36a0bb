"""`make plan` on every shipped stack, and on a broken one."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from conftest import SHIPPED, SHIPPED_IDS
from tooling.evaluate import PROJECT_DIR
from tooling.schema import stack_file_schema

app = __import__("typer").Typer()
app.command()(__import__("tooling.plan", fromlist=["main"]).main)
runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_the_project(monkeypatch):
    """`make plan` runs `berth-plan --stack NAME` in the project, where it finds Pulumi.NAME.yaml."""
    monkeypatch.chdir(PROJECT_DIR)


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED_IDS)
def test_plan_shows_resources_cost_and_unset_secrets(path):
    result = runner.invoke(app, ["--file", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Host " in result.output and "Servers servers" in result.output
    assert "Estimated monthly cost" in result.output and ("total" in result.output or "nothing billed" in result.output)
    assert "pulumi config set --stack" in result.output and "--secret --path 'secrets." in result.output


def test_production_plan_lists_what_a_reviewer_checks():
    result = runner.invoke(app, ["--stack", "production"], env={"COLUMNS": "200"})
    out = result.output
    assert "s-1vcpu-2gb in sfo2" in out and "70 GB" in out and "protected" in out
    assert "22/tcp from 203.0.113.7/32" in out and "pg 18, db-s-1vcpu-1gb x 1, sfo2" in out
    assert "TLS letsencrypt" in out and "34.00 USD  total" in out


def test_broken_stack_file_exits_non_zero(tmp_path):
    broken = tmp_path / "Pulumi.broken.yaml"
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.production.yaml").read_text())
    document["config"]["berth:proxy"]["healthcheck"]["interval"] = "10"
    document["config"]["berth:servers"]["web"]["size"] = "s-99vcpu"
    broken.write_text(yaml.safe_dump(document))
    result = runner.invoke(app, ["--file", str(broken)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "berth:proxy.healthcheck.interval (line 27): '10' is not a duration" in result.output
    assert "berth:servers.web.size (line " in result.output
    assert "Secrets named but not set" in result.output  # the to-do, apart from the problems
    assert "Host " not in result.output


def test_committed_schema_is_current():
    committed = json.loads((PROJECT_DIR / "schema" / "stack.schema.json").read_text())
    assert committed == stack_file_schema(), "run `make schema`"


@pytest.mark.parametrize("path", SHIPPED, ids=SHIPPED_IDS)
def test_shipped_stacks_validate_against_the_schema(path):
    jsonschema.validate(yaml.safe_load(path.read_text()), stack_file_schema())


def test_schema_rejects_plain_text_secrets():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"config": {"berth:secrets": {"TOKEN": "plain"}}}, stack_file_schema())


def test_plan_prints_the_policy_packs_verdicts(tmp_path):
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.production.yaml").read_text())
    document["config"]["berth:ssh"]["allowFrom"] = ["0.0.0.0/0"]
    path = tmp_path / "Pulumi.open.yaml"
    path.write_text(yaml.safe_dump(document))
    result = runner.invoke(app, ["--file", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output  # a violation fails the plan, as it fails `pulumi preview`
    assert "policy: 1 violation(s) of 6 rules" in result.output
    assert "ssh-not-open-to-world: covertext-firewall opens port 22 to the whole internet" in result.output
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "allowFrom" in text)
    # and the review warning, with the line of the key it names
    assert f"berth:ssh.allowFrom (line {line}): opens SSH to the whole internet" in " ".join(result.output.split())
    clean = runner.invoke(app, ["--stack", "production"], env={"COLUMNS": "200"})
    assert clean.exit_code == 0 and "policy: 6 rules, all pass" in clean.output


def test_the_plan_shows_placeholders_never_mock_values(evaluations):
    result = runner.invoke(app, ["--stack", "production"], env={"COLUMNS": "400"})
    assert "203.0.113." not in result.output.replace("203.0.113.7/32", "")  # the office's range is configuration
    assert "2001:db8" not in result.output and "sha256:" not in result.output
    assert "ssh://root@<ip of covertext-web-1-ip>:22" in result.output
    assert "trusted: droplet <id of covertext-web-1>" in result.output


def test_long_commands_wrap_instead_of_being_cut():
    result = runner.invoke(app, ["--stack", "production"], env={"COLUMNS": "80"})
    text = " ".join(line.strip(" │├└─") for line in result.output.splitlines())
    assert "--log-request-header=User-Agent" in text.replace(" ", "")


def test_the_plan_as_json_has_the_same_content():
    result = runner.invoke(app, ["--stack", "production", "--json"])
    assert result.exit_code == 0
    plan = json.loads(result.output)
    assert plan["policy"] == {"rules": 6, "violations": []}
    assert plan["cost"]["totals"] == {"USD": 34.0}
    assert "KAMAL_REGISTRY_PASSWORD" in plan["unsetSecrets"]
    droplet = next(r for r in plan["resources"] if r["type"] == "digitalocean:index/droplet:Droplet")
    assert droplet["description"].startswith("s-1vcpu-2gb in sfo2") and droplet["parent"] == "covertext-web-1"
    assert not any("203.0.113.84" in r["description"] for r in plan["resources"])


def test_the_plan_as_json_says_what_each_host_runs():
    """Role, SSH address, the app's image, env names and kamal-proxy deploy arguments, accessories; never a
    secret's value and never a mock's invented address."""
    result = runner.invoke(app, ["--file", str(PROJECT_DIR / "examples" / "bisan.yaml"), "--json"])
    (host,) = json.loads(result.output)["hosts"]
    assert (host["name"], host["role"], host["address"], host["user"], host["port"]) == (
        "bisan-web-1", "web", "185.185.82.142", "root", 22)
    assert host["app"]["image"] == "docker.io/abukhadijah/bisan:2026.11.18"
    assert host["registries"] == [{"server": "docker.io", "username": "abukhadijah"}]
    assert host["app"]["env"] == ["MEILISEARCH_API_KEY", "MEILISEARCH_HOST", "RAILS_ENV", "RAILS_MASTER_KEY"]
    assert host["app"]["proxy"][:2] == ["deploy", "bisan-web"] and "--host=185.185.82.142.nip.io" in host["app"]["proxy"]
    assert host["accessories"]["meilisearch"]["published"] == []
    assert "offline-placeholder-secret" not in result.output
    production = json.loads(runner.invoke(app, ["--stack", "production", "--json"]).output)
    assert production["hosts"][0]["address"] == "<ip of covertext-web-1-ip>"


def test_user_text_is_never_markup_or_emoji(tmp_path):
    text = (PROJECT_DIR / "Pulumi.production.yaml").read_text().replace(
        "berth:releaseCommand: bin/rails db:prepare", "berth:releaseCommand: \"echo '[bold]x[/] :cloud: :smile:'\"")
    path = tmp_path / "Pulumi.production.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["--file", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text(text.replace("  berth:cloud:\n", "  berth:cloud:\n    nope: 1\n"))
    refused = runner.invoke(app, ["--file", str(broken)], env={"COLUMNS": "300"})
    for output in (result.output, refused.output):
        assert "☁" not in output and "😄" not in output
    assert "berth:cloud.nope (line" in refused.output


def test_the_plan_says_existing_hosts_keep_their_keys():
    result = runner.invoke(app, ["--file", str(PROJECT_DIR / "examples" / "dbcours.yaml")], env={"COLUMNS": "200"})
    assert "existing hosts keep the keys already installed; Berth adds none" in result.output


def test_stack_reads_the_stack_file_of_the_current_directory_and_says_which(tmp_path, monkeypatch):
    """Not the Berth checkout's own Pulumi.production.yaml: that would plan another app, with exit 0."""
    text = (PROJECT_DIR / "examples" / "bisan.yaml").read_text()
    (tmp_path / "Pulumi.production.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    plan = json.loads(runner.invoke(app, ["--stack", "production", "--json"]).output)
    assert plan["file"] == str(tmp_path.resolve() / "Pulumi.production.yaml")
    assert plan["release"]["image"] == "docker.io/abukhadijah/bisan"
    shown = runner.invoke(app, ["--stack", "production"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0 and shown.output.startswith(f"read {tmp_path.resolve() / 'Pulumi.production.yaml'}\n")


def test_stack_reads_beside_the_nearest_pulumi_yaml_above(tmp_path, monkeypatch):
    (tmp_path / "Pulumi.yaml").write_text("name: berth\nruntime: python\n")
    (tmp_path / "Pulumi.production.yaml").write_text((PROJECT_DIR / "examples" / "bisan.yaml").read_text())
    (tmp_path / "app" / "config").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "app" / "config")
    plan = json.loads(runner.invoke(app, ["--stack", "production", "--json"]).output)
    assert plan["file"] == str(tmp_path.resolve() / "Pulumi.production.yaml")


def test_no_stack_file_here_is_one_line_and_exit_1(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["--stack", "production"], env={"COLUMNS": "400"})
    assert result.exit_code == 1, result.output
    assert result.output == (f"berth-plan: no Pulumi.production.yaml in {tmp_path.resolve()}, nor beside a Pulumi.yaml "
                             "above it: run berth-plan where the stack file is (your Berth project), or pass --file "
                             "PATH\n")
