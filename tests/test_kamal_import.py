"""`berth import` without Kamal: reading a configuration as Kamal does (destinations, anchors, ERB), the
secrets file, what is refused and how, what is written and when, and the command itself."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from berth.__main__ import hoist_stack
from berth.cli import app
from berth.kamal import importer, notes, secrets_file, source, translate, writer
from components import yamlv3
from tooling.evaluate import PROJECT_DIR

CORPUS = PROJECT_DIR / "tests" / "kamal"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text())


def run(options: importer.Options) -> tuple[int, str]:
    out = io.StringIO()
    code = importer.run(options, Console(file=out, width=300, emoji=False, highlight=False))
    return code, out.getvalue()


def options_for(directory: Path, case: dict, tmp: Path, **changes) -> importer.Options:
    extra = dict(case.get("import") or {})
    keys = tuple(CORPUS / case["dir"] / key for key in extra.pop("authorized_keys", []))  # relative to the app
    base = dict(config=CORPUS / case["dir"] / case.get("config", "config/deploy.yml"),
                destination=case.get("destination"), stack="imported", allow_from=("203.0.113.7/32",),
                version="v1", directory=tmp, authorized_keys=keys, **extra)
    return importer.Options(**{**base, **changes})


# --- reading as Kamal reads ---------------------------------------------------------------------------------

def test_a_destination_merges_over_the_base_as_kamal_merges():
    app_dir = CORPUS / "corpus" / "destinations"
    config = source.read(app_dir / "config" / "deploy.yml", "production", app_dir, shown=app_dir)
    assert config.get("servers") == {"web": {"hosts": ["10.3.2.1"], "env": {"clear": {"WEB_CONCURRENCY": 4}}},
                                     "jobs": {"hosts": ["10.3.2.2"], "cmd": "bin/jobs"}}  # replaced: a list became a map
    assert config.get("proxy", "host") == "atlas.example.com" and config.get("retain_containers") == 10
    assert str(config.at("servers", "web", "hosts", 0)) == "config/deploy.production.yml line 4"
    assert str(config.at("proxy", "healthcheck", "interval")) == "config/deploy.yml line 22"
    staging = source.read(app_dir / "config" / "deploy.yml", "staging", app_dir, shown=app_dir)
    assert staging.get("env", "clear") == {"RAILS_ENV": "staging", "RAILS_LOG_LEVEL": "info"}  # merged key by key
    assert staging.get("volumes") == ["atlas_staging_storage:/rails/storage"]  # a list is replaced, not appended
    assert staging.get("proxy") == {"ssl": True, "host": "staging.atlas.example.com",
                                    "healthcheck": {"path": "/up", "interval": 5}}


def test_anchors_aliases_and_merge_keys_resolve_with_the_line_they_were_written_on():
    app_dir = CORPUS / "corpus" / "anchors"
    config = source.read(app_dir / "config" / "deploy.yml", None, app_dir, shown=app_dir)
    assert config.get("proxy") == {"healthcheck": {"path": "/status", "interval": 5}, "response_timeout": 15,
                                   "hosts": ["kite.example.com"], "path_prefix": "/app"}
    assert config.get("registry", "username") == "kite"
    assert config.get("accessories", "cache", "options") == {"memory": "256m"}
    assert str(config.at("proxy", "healthcheck", "path")) == "config/deploy.yml line 6"  # in the anchor
    assert str(config.at("proxy", "hosts")) == "config/deploy.yml line 30"


def test_a_missing_destination_file_lists_the_destinations_there(tmp_path):
    app_dir = CORPUS / "corpus" / "destinations"
    with pytest.raises(source.ImportError_) as caught:
        source.read(app_dir / "config" / "deploy.yml", "qa", app_dir, shown=app_dir)
    assert str(caught.value) == ("Configuration file not found in config/deploy.qa.yml; destinations here: "
                                 "production, staging")


def test_erb_that_prints_into_a_comment_or_a_section_berth_does_not_take_is_let_be(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: app\nimage: acme/app\nservers: [10.0.0.1]\nproxy: {ssl: true, host: app.example.com}\n"
        "# generated <%= Time.now %>\nregistry: {username: acme, password: [KAMAL_REGISTRY_PASSWORD]}\n"
        "builder:\n  arch: amd64\n  args:\n    RUBY_VERSION: <%= ENV['RUBY_VERSION'] %>\n")
    code, out = run(importer.Options(config=tmp_path / "config" / "deploy.yml", allow_from=("10.0.0.0/8",),
                                     version="v1", directory=tmp_path / "out"))
    assert code == 0, out
    assert "ERB (config/deploy.yml line 10): `ENV['RUBY_VERSION']` in builder is not evaluated" in out


def test_every_key_of_the_corpus_is_handled_by_name():
    """The catch-all note ("Berth has no setting for it") exists so nothing is dropped silently; no key of the
    corpus needs it: each is taken or noted with its reason."""
    for name, case in CASES["imported"].items():
        app_dir = CORPUS / case["dir"]
        config = source.read(app_dir / case.get("config", "config/deploy.yml"), case.get("destination"), app_dir)
        extra = {k: v for k, v in (case.get("import") or {}).items() if k != "authorized_keys"}
        keys = ("ssh-ed25519 AAAA x",) if extra.get("provider") else ()
        draft = translate.translate(config, translate.Settings(stack=name, version="v1", allow_from=("10.0.0.0/8",),
                                                               authorized_keys=keys, **extra))
        assert not draft.problems, name
        assert not [n for n in draft.notes if "has no setting" in n.message], name


def test_the_catch_all_names_a_key_no_section_reads(tmp_path):
    config = source.KamalConfig({"service": "app", "image": "a/app", "servers": ["10.0.0.1"],
                                 "proxy": {"host": "a.example.com", "ssl": True},
                                 "registry": {"username": "a", "password": ["P"]},
                                 "boot": {"limit": 1, "future_key": True}}, {}, ["config/deploy.yml"], None, tmp_path)
    draft = translate.translate(config, translate.Settings("s", "v1", ("10.0.0.0/8",)))
    assert [str(n) for n in draft.notes if "has no setting" in n.message] == ["boot/future_key: Berth has no setting for it"]


@pytest.mark.parametrize(("provider", "publish"), [("existing", "10.0.0.5:5432"), ("digitalocean", "private:5432")])
def test_an_accessory_kamal_published_on_a_private_address_stays_on_that_network(tmp_path, provider, publish):
    """global-symbols publishes MySQL on its VPC address for a replica outside Kamal: an existing host keeps the
    address; a new server publishes on its own private address (`private:`), never on every interface."""
    config = source.KamalConfig({"service": "app", "image": "a/app", "servers": ["10.0.0.5"],
                                 "registry": {"username": "a", "password": ["P"]},
                                 "accessories": {"db": {"image": "postgres:18.1", "host": "10.0.0.5",
                                                        "port": "10.0.0.5:5432:5432",
                                                        "env": {"secret": ["POSTGRES_PASSWORD"]}}}},
                                {}, ["config/deploy.yml"], None, tmp_path)
    keys = ("ssh-ed25519 AAAA x",) if provider != "existing" else ()
    draft = translate.translate(config, translate.Settings("s", "v1", ("10.0.0.0/8",), authorized_keys=keys,
                                                           provider=provider))
    assert not draft.problems
    assert draft.config["accessories"]["db"]["publish"] == publish
    assert [n.kind for n in draft.notes if n.key == "accessories/db/port"] == (
        ["check"] if provider == "existing" else ["changed"])


# --- the secrets file ---------------------------------------------------------------------------------------

def test_the_secrets_file_is_read_never_evaluated(tmp_path):
    secrets = tmp_path / ".kamal" / "secrets"
    secrets.parent.mkdir()
    secrets.write_text('# comment\nA=$(cat config/master.key)\nexport B="$B"\nC=${SECRETS}\n'
                       "D='quoted literal'\nE=plain-literal  # trailing comment\nF=prefix-$(cmd)\n"
                       'G="-----BEGIN KEY\nbody\n-----END KEY"\nH=$(echo ghp_0123456789abcdefghijklmnopqrstuvwx)\n'
                       "I=\n")
    lines = secrets_file.read([secrets])
    assert {n: line.expression for n, line in lines.items()} == {
        "A": "$(cat config/master.key)", "B": "$B", "C": "${SECRETS}", "D": None, "E": None, "F": None, "G": None,
        "H": None, "I": None}
    assert lines["H"].why_hidden == "runs a command that carries what looks like a credential"
    assert lines["A"].origin == source.Origin(str(secrets), 2)


def test_set_commands_carry_the_users_expressions_in_order():
    origin = source.Origin(".kamal/secrets", 1)
    defined = {"SECRETS": secrets_file.SecretLine("SECRETS", origin, "$(kamal secrets fetch --from V A B)"),
               "A": secrets_file.SecretLine("A", origin, "$(kamal secrets extract A ${SECRETS})"),
               "B": secrets_file.SecretLine("B", origin, "$B"),
               "C": secrets_file.SecretLine("C", origin, None, "the value itself")}
    assert secrets_file.set_commands("prod", ["A", "B", "C", "D"], defined) == [
        "SECRETS=$(kamal secrets fetch --from V A B)   # .kamal/secrets line 1",
        "pulumi config set --stack prod --secret --path 'secrets.A' \"$(kamal secrets extract A ${SECRETS})\"",
        "pulumi config set --stack prod --secret --path 'secrets.B' \"$B\"",
        "pulumi config set --stack prod --secret --path 'secrets.C' <value>",
        "pulumi config set --stack prod --secret --path 'secrets.D' <value>"]


# --- what is refused ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CASES["refused"]))
def test_a_refused_configuration_says_why_with_its_line_and_writes_nothing(name, tmp_path):
    case = CASES["refused"][name]
    code, out = run(options_for(CORPUS, case, tmp_path / "out"))
    assert code == 1
    assert out.startswith("berth import: nothing written;")
    for line in case["says"]:
        assert line in out, f"{line!r} not in:\n{out}"
    assert not (tmp_path / "out").exists()
    assert "Traceback" not in out


def test_options_are_checked_before_anything_is_read(tmp_path):
    code, out = run(importer.Options(config=tmp_path / "nope.yml", allow_from=(), provider="aws",
                                     region="fsn1", stack="a b", directory=tmp_path))
    assert code == 1
    for message in ("Configuration file not found in", "--stack 'a b'", "--provider 'aws'",
                    "--allow-from is required"):
        assert message in out, out


def test_what_kamal_requires_is_required(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text("servers: [10.0.0.1]\n")
    code, out = run(importer.Options(config=tmp_path / "config" / "deploy.yml", allow_from=("10.0.0.0/8",),
                                     version="v1", directory=tmp_path / "out"))
    assert code == 1
    for key in ("service", "registry", "image"):
        assert f"Missing required configuration for {key} (Kamal refuses it too)" in out


def test_new_servers_need_public_keys(tmp_path):
    case = CASES["imported"]["dbcours"]
    code, out = run(options_for(CORPUS, case, tmp_path, provider="hetzner"))
    assert code == 1 and "new hetzner servers need the public keys to install: pass --authorized-key" in out


def test_an_existing_stack_file_is_replaced_only_with_force(tmp_path):
    case = CASES["imported"]["dbcours"]
    target = tmp_path / "Pulumi.imported.yaml"
    target.write_text("config: {}\n")
    code, out = run(options_for(CORPUS, case, tmp_path))
    assert code == 1 and f"{target} exists; pass --force to replace it" in out
    assert target.read_text() == "config: {}\n"
    code, out = run(options_for(CORPUS, case, tmp_path, force=True))
    assert code == 0 and target.read_text().startswith("# Stack imported, imported from Kamal by:")


def test_a_stack_the_plan_refuses_is_not_written_and_the_problem_names_the_kamal_line(tmp_path):
    app_dir = tmp_path / "app"
    (app_dir / "config").mkdir(parents=True)
    (app_dir / "config" / "deploy.yml").write_text(
        "service: app\nimage: acme/app\nservers: [10.0.0.1]\nproxy:\n  ssl: true\n  host: App_Example\n"
        "registry: {username: acme, password: [KAMAL_REGISTRY_PASSWORD]}\n")
    code, out = run(importer.Options(config=app_dir / "config" / "deploy.yml", allow_from=("10.0.0.0/8",),
                                     version="v1", directory=tmp_path / "out"))
    assert code == 1 and not (tmp_path / "out" / "Pulumi.production.yaml").exists()
    assert ("config/deploy.yml line 4: proxy/hosts/0: 'App_Example' is not a lowercase DNS name like app.example.com "
            "(berth:proxy.hosts[0] in the stack file)") in out


# --- the written file ---------------------------------------------------------------------------------------

@given(st.text(max_size=30))
@example("0\n")  # a plain-looking scalar with a line break must be quoted
@example("yes")  # a boolean to PyYAML, text to yaml.v3: either way it reads back as written
def test_every_text_is_written_so_the_pulumi_cli_reads_it_back(text):
    node = yamlv3.compose(f"key: {writer.scalar(text)}\n", "test")
    assert yamlv3.to_value(node) == {"key": text}


@given(st.lists(st.text(max_size=12), max_size=4))
@example(["a, b", "[c]", "0\n"])
def test_flow_lists_read_back_as_written(items):
    node = yamlv3.compose(f"key: {writer._inline(items)}\n", "test")
    assert yamlv3.to_value(node) == {"key": items}


def test_a_file_content_is_written_as_a_literal_block_that_reads_back(tmp_path):
    draft = translate.Draft(config={"accessories": {"db": {"files": {"/etc/a.conf": "a = 1\n\nb: 2 # x\n"}}}})
    text = writer.render(draft, ["header"])
    assert "/etc/a.conf: |\n" in text
    assert yamlv3.to_value(yamlv3.compose(text, "t"))["config"]["berth:accessories"]["db"]["files"] == {
        "/etc/a.conf": "a = 1\n\nb: 2 # x\n"}


def test_the_written_keys_follow_the_readmes_order():
    draft = translate.Draft(config={"accessories": {}, "env": {"clear": {"A": "1"}}, "service": "s", "version": "1.10"})
    text = writer.render(draft, [])
    assert text.index("berth:service") < text.index("berth:version") < text.index("berth:env")
    assert 'berth:version: "1.10"' in text  # 1.10 unquoted would reach the program as 1.1


# --- notes -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, verb", [
    ('app exec --interactive --reuse "bin/rails console"', "berth console"),
    ('app exec -i --reuse "bash"', "berth shell"),
    ('app exec --interactive --reuse "bin/rails dbconsole"', "berth dbconsole"),
    ("app logs -f", "berth logs -f"),
    ('app exec "bin/rails runner \'puts 1\'"', "berth exec 'bin/rails runner '\"'\"'puts 1'\"'\"''"),
    ("proxy details", "berth proxy details"),
    ("accessory reboot db", "no Berth verb does this; `berth exec '…'` runs a command in the app container"),
])
def test_an_alias_names_the_berth_verb_that_does_its_job(command, verb):
    assert notes.alias_replacement(command) == verb


# --- the command ------------------------------------------------------------------------------------------------

def test_the_command_takes_stack_anywhere_on_the_line(tmp_path):
    config = CORPUS / "seeds" / "dbcours" / "config" / "deploy.yml"
    args = hoist_stack(["import", str(config), "--allow-from", "203.0.113.7/32", "--version", "v2",
                        "--dir", str(tmp_path), "--stack", "dbcours"])
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    written = (tmp_path / "Pulumi.dbcours.yaml").read_text()
    assert 'berth:version: "v2"' in written and "berth:service: dbcours" in written
    assert "pulumi -C" in result.output and "'secrets.RAILS_MASTER_KEY' \"$RAILS_MASTER_KEY\"" in result.output


def test_the_command_fails_in_a_line_without_a_traceback(tmp_path):
    result = CliRunner().invoke(app, ["import", str(tmp_path / "missing.yml"), "--allow-from", "203.0.113.7/32"])
    assert result.exit_code == 1
    assert "Configuration file not found in" in result.output and "Traceback" not in result.output


def test_the_readmes_before_and_after_are_the_seed_and_what_import_writes_for_it(tmp_path, monkeypatch):
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme.split("## Coming from Kamal", 1)[1]
    before, after = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)[:2]
    seed = CORPUS / "seeds" / "dbcours"
    lines = (seed / "config" / "deploy.yml").read_text().splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    assert before == "".join(lines[header:])
    monkeypatch.chdir(seed)
    command = "berth import config/deploy.yml --stack dbcours --allow-from 198.51.100.0/24 --version v1.4.0"
    assert f"`{command}` writes:" in section
    code, out = run(importer.Options(config=Path("config/deploy.yml"), stack="dbcours", allow_from=("198.51.100.0/24",),
                                     version="v1.4.0", directory=tmp_path))
    assert code == 0, out
    assert after == (tmp_path / "Pulumi.dbcours.yaml").read_text()


def _paths(value, path=()):
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        yield from _paths(item, (*path, key))


_MUTABLE = [(name, path) for name in ("roles", "primary-role", "anchors", "proxy-full", "accessories", "secrets")
            for path in _paths(yaml.safe_load((CORPUS / "corpus" / name / "config" / "deploy.yml").read_text())) if path]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_MUTABLE), st.sampled_from([None, 0, 7, "x", "10.0.0.1", True, 3.5, [], {}, ["a"], {"a": 1},
                                                   [{"a": "b"}], [{"a": 1}], {"a": [1]}]))
def test_a_value_of_the_wrong_shape_is_a_problem_never_a_traceback(where, value):
    """Any key of a real configuration set to any other shape: the import names a problem (Kamal's own
    "should be ..." where Kamal refuses it too) or carries on; it never raises anything else."""
    name, path = where
    raw = yaml.safe_load((CORPUS / "corpus" / name / "config" / "deploy.yml").read_text())
    node = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with tempfile.TemporaryDirectory() as scratch:
        app_dir = Path(scratch)
        (app_dir / "config").mkdir()
        (app_dir / "config" / "deploy.yml").write_text(yaml.safe_dump(raw))
        try:
            config = source.read(app_dir / "config" / "deploy.yml", None, app_dir, shown=app_dir)
        except source.ImportError_ as error:
            assert all(str(problem) for problem in error.problems)
            return
        translate.translate(config, translate.Settings(name, "v1", ("10.0.0.0/8",)))


def test_a_credential_in_erb_code_is_not_shown(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: app\nimage: acme/app\nservers: [10.0.0.1]\nproxy: {ssl: true, host: app.example.com}\n"
        "registry:\n  username: acme\n  password: <%= ENV.fetch('P', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB') %>\n")
    code, out = run(importer.Options(config=tmp_path / "config" / "deploy.yml", allow_from=("10.0.0.0/8",),
                                     version="v1", directory=tmp_path / "out"))
    assert code == 1 and "config/deploy.yml line 7: ERB <%= %> `ENV.fetch('P', '(not shown)')`" in out
    assert "ghp_0123" not in out


@pytest.mark.parametrize("password, command", [
    ('"$(op read op://Deploy/ghcr/token)"', "op read op://Deploy/ghcr/token"),
    ("<%= `op read op://Deploy/ghcr/token`.strip %>", "op read op://Deploy/ghcr/token"),
    ("<%= %x{pass show ghcr} %>", "pass show ghcr"),
])
def test_a_registry_password_read_from_a_command_becomes_the_secrets_expression(tmp_path, password, command):
    """Never run here, never shown as a value: the set command runs the user's own command (item 6)."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: app\nimage: acme/app\nservers: [10.0.0.1]\nproxy: {ssl: true, host: app.example.com}\n"
        f"registry:\n  username: acme\n  password: {password}\nbuilder:\n  arch: amd64\n"
        "env:\n  clear:\n    A: b\n<%\n  require 'json'\n%>\n")
    code, out = run(importer.Options(config=tmp_path / "config" / "deploy.yml", allow_from=("10.0.0.0/8",),
                                     version="v1", directory=tmp_path / "out"))
    assert code == 0, out
    assert f"--path 'secrets.KAMAL_REGISTRY_PASSWORD' \"$({command})\"" in out
    assert "ERB (config/deploy.yml line 13): `require 'json'` renders nothing" in out
