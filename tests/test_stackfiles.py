"""The stack file read as `pulumi up` reads it: a corpus of broken files (one mistake each), the program's
own reading of the file, what reaches the program, and text-level mutations of the shipped stacks."""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi import RunError
from typer.testing import CliRunner

from components import stackfile, yamlv3
from components.errors import ConfigError
from components.validation import load
from conftest import SHIPPED, ready
from tooling.evaluate import PROJECT_DIR, Evaluation, evaluate

CORPUS = PROJECT_DIR / "tests" / "stackfiles"
PRODUCTION = PROJECT_DIR / "Pulumi.production.yaml"
# file -> (line, what the message says); every file holds exactly one mistake.
EXPECTED = {
    "unquoted-version": (9, 'berth:version (line 9): 1.10 is read by Pulumi as the number 1.1, so the program '
                            'would get \'1.1\'; quote it: version: "1.10"'),
    "octal-version": (9, "0123456 is read by Pulumi as the number 42798"),
    "float-sha": (9, "12345e6 is read by Pulumi as the number 12345000000"),
    "date-version": (9, 'berth:version (line 9): 2026-11-18 is read by Pulumi as a date, so the program would get '
                        '\'2026-11-18 00:00:00 +0000 UTC\'; quote it: version: "2026-11-18"'),
    "float-in-section": (52, 'berth:database.version (line 52): 18.0 is read by Pulumi as the number 18'),
    "dedented-key": (61, "berth:proxied (line 61): is written without its namespace (proxied:), so Pulumi reads it "
                         "as berth:proxied; it looks like berth:dns.proxied: indent it under its section"),
    "duplicate-key": (49, "berth:releaseCommand (line 49): is set twice (first on line 48)"),
    "duplicate-nested-key": (41, "berth:proxy.appPort (line 41): is set twice (first on line 40)"),
    "misspelled-namespace": (48, "bearth:releaseCommand (line 48): uses the namespace bearth:, which nothing in this "
                                 "stack reads; did you mean berth:releaseCommand?"),
    "misspelled-text-key": (48, "berth:releaseComand (line 48): is not a known key; did you mean 'releaseCommand'?"),
    "misspelled-required-key": (8, "berth:imag (line 8): is not a known key; did you mean 'image'?"),
    "unknown-key": (40, "berth:proxy.appport (line 40): is not a known key; did you mean 'appPort'?"),
    "key-in-wrong-section": (41, "berth:proxy.sizeGb (line 41): is not a known key; it belongs under "
                                 "berth:volume.sizeGb: check its indentation"),
    "token-as-password": (14, "berth:registry.password (line 14): is not the name of a berth:secrets entry"),
    "plain-provider-token": (7, "digitalocean:token (line 7): is a credential in plain text"),
    "tab-indent": (18, "Pulumi.tab-indent.yaml:18:1: found character '\\t' that cannot start any token"),
    "unclosed-bracket": (26, "expected ',' or ']', but got '<scalar>' (while parsing a flow sequence that starts "
                             "on line 24)"),
    "bad-indent": (18, "Pulumi.bad-indent.yaml:18:12: mapping values are not allowed here"),
    "field-and-cross-section": (43, "berth:database.envVar (line 58): SOLID_QUEUE_IN_PUMA is also set in berth:env"),
    "ssl-off-stays-text": (41, "berth:proxy.ssl (line 41): off is only allowed behind Cloudflare's proxy"),
}
TOKENS = ("ghp_AbCdEf0123456789abcdef0123456789AbCd", "dop_v1_0123456789abcdef")
plan_app = __import__("typer").Typer()
plan_app.command()(__import__("tooling.plan", fromlist=["main"]).main)


def test_the_corpus_is_what_the_table_says():
    assert {p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in CORPUS.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_plan_refuses_each_mistake_with_its_line_and_no_traceback(name):
    line, message = EXPECTED[name]
    result = CliRunner().invoke(plan_app, ["--file", str(CORPUS / f"Pulumi.{name}.yaml")], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert " ".join(message.split()) in output
    assert f"line {line}" in output or f":{line}:" in output
    assert "Traceback" not in output and not result.exception or isinstance(result.exception, SystemExit)
    assert not any(token in result.output for token in TOKENS) and "ghp_" not in result.output


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_program_reads_the_file_too_and_refuses_the_same(name):
    """`pulumi up` gets the config from the engine, then reads Pulumi.<stack>.yaml itself for what the
    engine's text hides. A file the CLI could not parse at all stands beside the production config."""
    line, message = EXPECTED[name]
    path = CORPUS / f"Pulumi.{name}.yaml"
    try:
        engine = stackfile.read(path)
    except yamlv3.SyntaxProblem:
        engine = ready(PRODUCTION)
    engine = dataclasses.replace(engine.with_secrets(_names(engine)), path=str(path))
    record = Evaluation("production")
    with pytest.raises(RunError) as caught:
        evaluate(engine, record=record)
    assert " ".join(message.split()) in " ".join(str(caught.value).split())
    assert record.resources == []
    assert not any(token in str(caught.value) for token in TOKENS)


# What the Pulumi CLI v3.274.1 hands the program for `berth:t: <yaml>`, recorded from the CLI itself
# (`pulumi config --json --show-secrets`, see tests/e2e/test_stack_file_oracle.py, which re-checks every row
# against the binary). yaml.v3 resolves the scalar, the CLI writes it back as YAML and reads it again, then
# hands strings as they are and anything else as Go's JSON.
CLI_ANSWERS = [
    ('1.10', '1.1'),
    ('0123456', '42798'),
    ('12345e6', '12345000000'),
    ('1e21', '1e+21'),
    ('0x1F', '31'),
    ('1_000', '1000'),
    ("'1.10'", '1.10'),
    ('!!str 1.10', '1.10'),
    ('3f9c2e1', '3f9c2e1'),
    ('true', 'true'),
    ('yes', 'yes'),
    ('off', 'off'),
    ('y', 'y'),
    ('~', ''),
    ('2026-11-18', '2026-11-18 00:00:00 +0000 UTC'),
    ('"2026-11-18"', '2026-11-18'),
    ('2026-1-2', '2026-01-02 00:00:00 +0000 UTC'),
    ('2026-02-30', '2026-02-30'),
    ('2001-12-14T21:59:43.10-05:00', '2001-12-14 21:59:43.1 -0500 -0500'),
    ('2001-12-14t21:59:43Z', '2001-12-14 21:59:43 +0000 UTC'),
    ('2001-12-14 21:59:43,10', '2001-12-14 21:59:43.1 +0000 UTC'),
    ('2001-12-14T21:59:43', '2001-12-14T21:59:43'),
    ('1.0', '1'),
    ('-0.0', '0'),
    ('080', '80'),
    ('1e400', '1e400'),
    ('.1_0', '0.1'),
    ('0b101', '5'),
    ('0b-101', '-5'),
    ('18446744073709551615', '18446744073709551615'),
    ('+18446744073709551615', '18446744073709552000'),
    ('!!binary aGVsbG8=', 'hello'),
    ('!!timestamp 2024-01-02', '2024-01-02 00:00:00 +0000 UTC'),
    ('{version: 1.10, ssl: off, appPort: 080}', '{"appPort":80,"ssl":"off","version":1.1}'),
    ('{appPort: 0100}', '{"appPort":64}'),
    ('{clear: {A: <b>&c}}', '{"clear":{"A":"\\u003cb\\u003e\\u0026c"}}'),
    ('{name: 2024-01-02, at: 2001-12-14T21:59:43+00:00}',
     '{"at":"2001-12-14 21:59:43 +0000 UTC","name":"2024-01-02 00:00:00 +0000 UTC"}'),
    ('{big: 18446744073709551615, zero: -0.0, none: ~}', '{"big":18446744073709552000,"none":null,"zero":0}'),
    ('{~: a, 1.10: b, 010: c, true: d, 2024-01-02: e, 12345e6: f}',
     '{"1.1":"b","1.2345e+10":"f","2024-01-02 00:00:00 +0000 UTC":"e","8":"c","\\u003cnil\\u003e":"a","true":"d"}'),
    ('{<<: {a: 1, b: 2}, b: 3}', '{"a":1,"b":3}'),
    ('"a\\u2028b"', 'a\u2028b'),
]


@pytest.fixture
def utc(monkeypatch):
    """The zone the answers were recorded in: Go names an offset after the local zone when that zone has it."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("yaml_text", "answer"), CLI_ANSWERS)
def test_the_program_gets_the_text_the_pulumi_cli_hands_it(utc, yaml_text, answer):
    parsed = stackfile.parse_text("x", f"config:\n  berth:t: {yaml_text}\n", "Pulumi.x.yaml")
    assert parsed.engine_config() == {"berth:t": answer}


@pytest.mark.parametrize(("yaml_text", "line", "path", "quoted"), [
    ("berth:version: 2026-11-18", 2, "berth:version", 'version: "2026-11-18"'),
    ("berth:database:\n    name: 2024-01-02", 3, "berth:database.name", 'name: "2024-01-02"'),
    ("berth:proxy: {hosts: [2001-12-14t21:59:43Z]}", 2, "berth:proxy.hosts[0]", '"2001-12-14t21:59:43Z"'),
])
def test_a_date_the_cli_would_change_in_a_text_setting_is_refused_like_1_10(utc, yaml_text, line, path, quoted):
    parsed = stackfile.parse_text("x", f"config:\n  {yaml_text}\n", "Pulumi.x.yaml")
    (problem,) = parsed.problems
    assert (problem.path, problem.line) == (path, line)
    assert "+0000 UTC'" in problem.message and problem.message.endswith(f"quote it: {quoted}")


def test_what_else_the_cli_reads_otherwise_is_refused_with_its_line():
    text = ("config:\n  berth:env:\n    clear: {~: a, 010: b}\n  berth:releaseCommand:\n  berth:maintenance: !!bool yes\n"
            "  berth:proxy: {appPort: .inf}\n")
    parsed = stackfile.parse_text("x", text, "Pulumi.x.yaml")
    assert sorted((p.line, p.path, p.message) for p in parsed.problems) == [
        (3, "berth:env.clear.8", "the key 010 is read by Pulumi as '8'; quote it: \"010\":"),
        (3, "berth:env.clear.<nil>", "the key ~ is read by Pulumi as '<nil>'; quote it: \"~\":"),
        (4, "berth:releaseCommand", "has no value, so Pulumi hands the program an empty string (a later Pulumi, "
                                    "null): write the value or remove the key"),
        (5, "berth:maintenance", "cannot decode !!str `yes` as a !!bool, so the Pulumi CLI refuses the file"),
        (6, "berth:proxy.appPort", '.inf is a number JSON cannot carry, so the Pulumi CLI refuses the file; quote it: '
                                   '".inf"'),
    ]
    assert parsed.engine_config()["berth:releaseCommand"] == ""  # what the CLI hands the program, warning about it


def test_a_key_without_its_namespace_reaches_the_program_under_the_projects_name():
    parsed = stackfile.parse_text("x", "config:\n  berth:config:image: app\n  version: v1\n", "Pulumi.x.yaml")
    assert parsed.engine_config() == {"berth:image": "app", "berth:version": "v1"}
    (problem,) = parsed.problems
    assert (problem.path, problem.line) == ("berth:version", 3)


def test_values_the_cli_keeps_as_text_stay_text():
    parsed = stackfile.parse_text("x", "config:\n  berth:proxy: {ssl: off}\n  berth:env: {clear: {A: on}}\n", "f")
    assert parsed.program_view() == {"proxy": {"ssl": "off"}, "env": {"clear": {"A": "on"}}}
    assert parsed.problems == []


def test_a_planted_token_never_reaches_any_output(tmp_path, capsys):
    token = "ghp_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
    text = PRODUCTION.read_text().replace("password: KAMAL_REGISTRY_PASSWORD", f"password: {token}").replace(
        "secret: [RAILS_MASTER_KEY, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN]", f"secret: [RAILS_MASTER_KEY, {token}]")
    path = tmp_path / "Pulumi.production.yaml"
    text = text.replace('SOLID_QUEUE_IN_PUMA: "true"', f'SOLID_QUEUE_IN_PUMA: "true"\n      GITHUB_API: {token}')
    assert text.count(token) == 3
    path.write_text(text + f"  berth:secrets:\n    PLAIN: {token}\n")
    result = CliRunner().invoke(plan_app, ["--file", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    with pytest.raises(RunError) as caught:
        evaluate(dataclasses.replace(ready(PRODUCTION), path=str(path)))
    for text in (result.output, str(caught.value), capsys.readouterr().out, capsys.readouterr().err):
        assert token not in text and token[:12] not in text


# --- mutations of the shipped stacks: a clean refusal or the same stack, never anything else ------------

def _mutate(text: str, data) -> str:
    lines = text.splitlines()
    keyed = [i for i, line in enumerate(lines) if re.match(r"^\s+[A-Za-z:]+[A-Za-z0-9_:]*:", line)]
    i = data.draw(st.sampled_from(keyed))
    line = lines[i]
    indent = len(line) - len(line.lstrip())
    action = data.draw(st.sampled_from(["dedent", "duplicate", "retype", "tab", "indent"]))
    if action == "dedent" and indent >= 2:
        lines[i] = line[2:]
    elif action == "indent":
        lines[i] = " " + line
    elif action == "duplicate":
        lines.insert(i + 1, line)
    elif action == "tab":
        lines[i] = "\t" + line.lstrip() if indent else line
    else:
        key, _, value = line.partition(": ")
        value = value.split(" #")[0].strip()
        if value and not value.startswith(("[", "{", "-")):  # the same text, quoted or not: the same meaning
            quoted = value[:1] in "\"'" and value[-1:] == value[:1] and len(value) > 1
            lines[i] = f"{key}: {value[1:-1] if quoted else repr(value)}"
    return "\n".join(lines) + "\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(SHIPPED), data=st.data())
def test_mutations_are_refused_cleanly_or_change_nothing(path: Path, data):
    original = stackfile.read(path)
    names = sorted((original.berth.get("secrets") or {}) | {n: 1 for n in _names(original)})
    before = load(original.with_secrets(names).program_view())
    text = _mutate(path.read_text(), data)
    try:
        mutated = stackfile.parse_text(original.name, text, path.name)
    except yamlv3.SyntaxProblem as error:
        assert f"{path.name}:" in str(error) and "^" in str(error)
        return
    if mutated.problems:
        assert all(p.line for p in mutated.problems), mutated.problems
        return
    try:
        after = load(mutated.with_secrets(names).program_view(), mutated.line_of)
    except ConfigError as error:
        assert error.faults and all(p.line for p in error.faults), str(error)
        return
    assert after == before, "the file changed meaning without a word"


def _names(stack_file: stackfile.StackFile) -> list[str]:
    try:
        load(stack_file.program_view())
    except ConfigError as error:
        return [p.missing_secret for p in error.unset_secrets]
    return []


def test_a_misspelled_namespace_on_a_section_key_points_at_its_sections():
    parsed = stackfile.parse_text("x", "config:\n  bearth:region: nyc3\n", "Pulumi.x.yaml")
    (problem,) = parsed.problems
    assert str(problem).endswith("did you mean berth:cloud.region or berth:database.region or berth:backups.region?")
