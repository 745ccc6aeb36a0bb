"""The real Pulumi CLI as the oracle for Berth's reading of a stack file (issue 18, item 4).

Berth reads `Pulumi.<stack>.yaml` itself (components/stackfile.py, yamlv3.py) so that the offline plan sees
what `pulumi up` sees. Here the pinned CLI reads every stack file of tests/stackfiles/, the shipped stacks,
the examples, the lab's stacks and hypothesis mutations of them, and for each file either Berth refuses it
(a stack file problem or a validation error, as `berth-plan` reports them) or `stackfile.engine_config()` is
exactly what the CLI hands the program. Where both read a file, the values must agree even when Berth then
refuses it for its own rules (a date in a text setting, a key without a namespace): the model is checked on
every scalar form, not only on the files Berth plans.

The CLI's view is `pulumi config --json --show-secrets`: its `value` is the text `config.Map.Decrypt` returns
(pkg/cmd/pulumi/config/config.go `listConfig`), and `Map.Decrypt` is what the engine calls to build the
program's config (pkg/resource/deploy/source_eval.go `evalSource.Iterate`, then `RunRequest.config` and
`GetDeploymentInfo`), so `value` is the string `pulumi.Config` returns; an inline program's preview confirms it
(the last test). `objectValue` is that text parsed again by Go's encoding/json (an integer beyond 2^53 loses
digits), so it is not compared. The CLI runs in this process's TZ, which names some offsets (gotext.time_string);
the recorded answers are UTC's. One stack is created once;
each file is read through `--config-file`, which loads it with the same `workspace.LoadProjectStack` as the
stack's own file (pkg/cmd/pulumi/stack/io.go). Not compared: `berth:secrets`, whose encrypted entries Berth
turns into placeholders; a file holding `secure:` values (written under another passphrase, which this run
cannot decrypt) is read without --show-secrets, and the CLI then leaves its secret values out.

Never skipped: a missing CLI fails with its reason (tests.e2e.engine.cli_path builds it when absent).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pulumi import automation as auto
from test_stackfiles import CLI_ANSWERS

from berth.engine import pulumi_command
from components import stackfile, yamlv3
from components.errors import ConfigError
from components.settings import pulumi_values
from tooling.plan import unset_secrets

from .engine import REPO, cli_path

FILES = sorted((REPO / "tests" / "stackfiles").glob("*.yaml")) + sorted(REPO.glob("Pulumi.*.yaml")) + sorted(
    (REPO / "examples").glob("*.yaml")) + sorted((REPO / "tests" / "e2e" / "stacks").glob("*.yaml"))
STACK = "oracle"
UTC = {"TZ": "UTC"}  # the zone tests/test_stackfiles.py's CLI_ANSWERS were recorded in
RECORDED = "config:\n" + "".join(f"  berth:t{i}: {yaml_text}\n" for i, (yaml_text, _) in enumerate(CLI_ANSWERS))


@dataclass(frozen=True)
class Reading:
    """What the CLI made of a file: the program's config (key -> text), or its refusal."""

    values: dict[str, str] | None
    error: str = ""


class Cli:
    """The pinned CLI in a scratch project named `berth` on a file:// backend, one stack for every file."""

    def __init__(self, root: Path, binary: Path):
        self.root, self.binary, self.tally = root, binary, Counter()
        (root / "Pulumi.yaml").write_text("name: berth\nruntime: python\n")
        (root / "home").mkdir()
        self.env = {**os.environ, "PULUMI_BACKEND_URL": f"file://{root}", "PULUMI_CONFIG_PASSPHRASE": "x",
                    "PULUMI_HOME": str(root / "home"), "PULUMI_SKIP_UPDATE_CHECK": "true",
                    "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true"}
        # `stack init` writes the passphrase's encryptionsalt into Pulumi.oracle.yaml, never into a file read below.
        init = self.run("stack", "init", STACK)
        assert init.returncode == 0, init.stderr

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.binary), *args], cwd=self.root, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=120, check=False)

    def read(self, text: str, env: dict[str, str] | None = None) -> Reading:
        copy = self.root / "read.yaml"
        copy.write_text(text)
        show = [] if re.search(r"\bsecure\s*:", text) else ["--show-secrets"]
        result = self.run("config", "--json", *show, "-s", STACK, "--config-file", str(copy), env=env)
        self.tally["CLI calls"] += 1
        if result.returncode != 0:
            return Reading(None, (result.stderr or result.stdout).strip())
        return Reading({key: entry["value"] for key, entry in json.loads(result.stdout).items() if "value" in entry})


@dataclass(frozen=True)
class Verdict:
    """What Berth made of a file: its refusal (None when it plans it), and the config it says the program gets."""

    refusal: str | None
    engine: dict[str, str] | None  # None when Berth cannot parse the YAML at all
    undecided: frozenset[str] = frozenset()  # keys set twice at the top: the CLI keeps either (Go map order)


def berth_reads(name: str, text: str) -> Verdict:
    file = f"Pulumi.{name}.yaml"
    try:
        parsed = stackfile.parse_text(name, text, file)
    except yamlv3.SyntaxProblem as error:
        return Verdict(str(error), None)
    engine = {key: value for key, value in parsed.engine_config().items() if key != "berth:secrets"}
    undecided = frozenset(p.path for p in parsed.problems if "keeps either one" in p.message)
    try:
        unset_secrets(parsed, Path(file))  # every problem but unset secrets, as berth-plan reports them
    except ConfigError as error:
        return Verdict(str(error), engine, undecided)
    return Verdict(None, engine, undecided)


def compare(cli: Cli, name: str, text: str, env: dict[str, str] | None = None, original: str | None = None) -> None:
    """Berth refuses the file or reads it as the CLI does; where both read it, the values agree anyway."""
    reading, verdict = cli.read(text, env), berth_reads(name, text)
    shown = "\n".join(difflib.unified_diff(original.splitlines(), text.splitlines(), name, f"{name}, mutated", lineterm="",
                                           n=0)) if original is not None else text
    if reading.values is None:
        cli.tally["files the CLI refuses"] += 1
        assert verdict.refusal, f"the CLI refuses the file ({reading.error}) but Berth plans it:\n{shown}"
        return
    cli.tally["files Berth refuses, the CLI reads" if verdict.refusal else "files both read"] += 1
    if verdict.engine is None:
        return
    theirs = {key: value for key, value in reading.values.items()
              if key.startswith(f"{stackfile.NAMESPACE}:") and key != "berth:secrets" and key not in verdict.undecided}
    ours = {key: value for key, value in verdict.engine.items() if key not in verdict.undecided}
    cli.tally["values compared"] += len(theirs)
    assert ours == theirs, (f"Berth's engine_config is not the CLI's (Berth {'refuses' if verdict.refusal else 'plans'} "
                            f"the file):\n  only Berth: {sorted(set(ours.items()) - set(theirs.items()))}\n"
                            f"  only the CLI: {sorted(set(theirs.items()) - set(ours.items()))}\n{shown}")


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    try:
        binary = cli_path()
    except RuntimeError as error:
        pytest.fail(f"the stack file oracle needs the pinned Pulumi CLI: {error}")
    if not binary.is_file():
        pytest.fail(f"the stack file oracle needs the pinned Pulumi CLI, and {binary} is not there "
                    "(unset BERTH_PULUMI_CLI or run tools/pulumi-cli.sh)")
    started = time.monotonic()
    oracle = Cli(tmp_path_factory.mktemp("oracle"), binary)
    yield oracle
    print(f"\nstack file oracle: {dict(oracle.tally)} in {time.monotonic() - started:.1f} s")


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_the_cli_and_berth_agree_on_every_stack_file(cli, path):
    compare(cli, stackfile.stack_name(path), path.read_text())


def test_the_recorded_cli_answers_still_hold(cli):
    """tests/test_stackfiles.py pins Berth to answers recorded from this CLI; they must still be its answers."""
    reading = cli.read(RECORDED, env=UTC)
    assert reading.values is not None, reading.error
    assert {f"berth:t{i}": answer for i, (_, answer) in enumerate(CLI_ANSWERS)} == reading.values


@pytest.fixture
def new_york(monkeypatch):
    """This process and the CLI in the zone of New York (Go reads TZ as libc does)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield {"TZ": "America/New_York"}
    monkeypatch.undo()
    time.tzset()


def test_an_offset_is_named_by_the_local_zone_as_the_cli_names_it(cli, new_york):
    """Go names a parsed offset after the local zone when the zone has it at that instant (time.Parse)."""
    text = ("config:\n  berth:a: 2001-12-14T21:59:43.10-05:00\n  berth:b: 2001-07-14T21:59:43-05:00\n"
            "  berth:c: 2001-07-14t21:59:43-04:00\n  berth:d: {at: 2001-07-14T21:59:43+00:00}\n")
    compare(cli, "zone", text, env=new_york)
    assert berth_reads("zone", text).engine["berth:a"] == "2001-12-14 21:59:43.1 -0500 EST"


# Shapes the mutations below do not make: merges, the old `ns:config:key` form, escapes, aliases, odd keys.
STRUCTURES = {
    "merge": "config:\n  berth:a: &base {x: 1, y: [2024-01-02]}\n  berth:b: {<<: *base, x: 2}\n"
             "  berth:c:\n    <<: [{p: 1}, {p: 2, q: 3}]\n",
    "merge of a scalar": "config:\n  berth:a: {<<: 1}\n",
    "merge in config": "config:\n  <<: {berth:a: 1}\n",
    "old key form": "config:\n  berth:config:version: abc\n",
    "old and new key form": "config:\n  berth:config:version: abc\n  berth:version: abd\n",
    "two colons": "config:\n  berth:a:b: 1\n",
    "no name": "config:\n  'berth:': 1\n",
    "no namespace": "config:\n  version: abc\n",
    "text and number key": "config:\n  1: x\n  berth:a: 1\n",
    "list as key": "config:\n  berth:a: {? [1]\n    : x}\n",
    "keys": "config:\n  berth:a:\n    .inf: x\n    -0.0: y\n    0x10: z\n    2001-12-14T21:59:43.5+01:00: w\n"
            "    1e400: v\n    .nan: u\n    '1': t\n",
    "same key twice as written apart": "config:\n  berth:a: {1: x, 01: y}\n",
    "tagged key": "config:\n  berth:a: {!!int 1.5: x}\n",
    "binary": "config:\n  berth:a: !!binary aGVsbG8=\n  berth:b: !!binary 6Q==\n",
    "bad binary": "config:\n  berth:a: !!binary '###'\n",
    "non-specific tag": "config:\n  berth:a: ! \"12\"\n  berth:b: ! 12\n  berth:c: ! |\n    12\n",
    "escapes": "config:\n  berth:a: \"\\x41 \\u00e9 \\N \\_ \\L \\P \\e \\0 \\a \\v \\' \\t\"\n",
    "slash escape": "config:\n  berth:a: \"a\\/b\"\n",
    "surrogate escape": "config:\n  berth:a: \"\\ud800\"\n",
    "escape beyond unicode": "config:\n  berth:a: \"\\UFFFFFFFF\"\n",
    "alias in itself": "config:\n  berth:a: &a [1, *a]\n",
    "aliased date": "config:\n  berth:a: &v 2024-01-02\n  berth:b: *v\n",
    "block scalars": "config:\n  berth:a: |\n    line1\n    line2  \n\n  berth:b: >-\n    folded\n    text\n"
                     "  berth:c: plain\n    folded 1.10\n",
    "no values": "config:\n  berth:a:\n  berth:b: ~\n  berth:c: {x: ~}\n",
    "config twice": "config:\n  berth:a: 1\nconfig:\n  berth:a: 2\n",
    "two documents": "config:\n  berth:a: 1\n---\nconfig:\n  berth:b: 2\n",
    "YAML 1.1 directive": "%YAML 1.1\n---\nconfig:\n  berth:a: yes\n  berth:b: 0123\n",
    "empty file": "",
    "infinity elsewhere": "config:\n  digitalocean:x: .inf\n  berth:a: 1\n",
    "integers in a list": "config:\n  berth:a: [18446744073709551615, 9223372036854775807, -9223372036854775808]\n",
    "JSON escapes": "config:\n  berth:a: {s: \"q\\\"b\\\\c\\u007f\\u0085\\u2029<&>\"}\n",
    "encrypted secret": "config:\n  berth:secrets:\n    A: {secure: v1:abc}\n  berth:a: 1\n",
}


@pytest.mark.parametrize("name", STRUCTURES)
def test_structures_are_refused_or_read_exactly_as_the_cli_reads_them(cli, name):
    compare(cli, "structure", STRUCTURES[name])


# --- mutations: scalars in the forms where yaml.v3 (the CLI) and YAML 1.1 disagree, keys repeated, nesting ----

WORDS = ("on", "off", "yes", "no", "y", "n", "Y", "N", "On", "OFF", "True", "TRUE", "false", "~", "null", "NULL", "",
         ".inf", "-.Inf", ".nan", "1.10", "12345e6", "3f9c2e1", "0123", "080", "1e400", "-0.0", ".1_0", "1_000", "0x1F",
         "0b101", "0o17", "-0b101", "0b-101", "+0x1F", "0000-01-01", "2026-02-30", "2026-11-18", "18446744073709551615",
         "+18446744073709551615", "-9223372036854775809", "0xFFFFFFFFFFFFFFFF", "2001-12-14T21:59:43.10-05:00",
         "2001-12-14 21:59:43,10", "2001-12-14T21:59:43", "v1.10", "1.10.2", "<<")
QUOTED_ONLY = ("<b>&c", "a\u2028b", "x\ty", "\x01", "é", "two\nlines", " padded ")
TAGS = ("!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!", "!custom")
SCALAR_LINE = re.compile(r"^(?P<head>\s+(?:- |[^\s#-][^#]*?: ))(?P<value>[^\s\[{&*!|>#][^#]*?)(?P<tail>\s+#.*)?$")
NESTED_KEY_LINE = re.compile(r"^    (?P<line>[A-Za-z][A-Za-z0-9]*: .*)$")


@st.composite
def numbers(draw) -> str:
    if draw(st.booleans()):  # an integer, in any base Go's ParseInt(s, 0, 64) reads
        value = draw(st.integers(-(2**65), 2**65))
        base = draw(st.sampled_from(["", "0", "0o", "0x", "0X", "0b"]))
        digits = {"": str, "0": lambda v: f"{v:o}", "0o": lambda v: f"{v:o}", "0x": lambda v: f"{v:x}",
                  "0X": lambda v: f"{v:X}", "0b": lambda v: f"{v:b}"}[base](abs(value))
        if draw(st.booleans()) and len(digits) > 1:
            cut = draw(st.integers(1, len(digits) - 1))
            digits = digits[:cut] + "_" + digits[cut:]
        sign = "-" if value < 0 else draw(st.sampled_from(["", "", "+"]))
        return f"{sign}{base}{digits}"
    whole = draw(st.sampled_from(["", "0", "1", "18", "12345", "100000", "999999", "1000000"]))
    fraction = draw(st.sampled_from(["", ".", ".0", ".10", ".5", ".000001", ".1_0"]))
    exponent = draw(st.sampled_from(["", "", "e6", "E-7", "e+21", "e400", "e-400"]))
    sign = draw(st.sampled_from(["", "-", "+"]))
    return f"{sign}{whole or ('' if fraction else '0')}{fraction}{exponent}"


@st.composite
def timestamps(draw) -> str:
    day = draw(st.dates())
    month, dom = (f"{day.month}", f"{day.day}") if draw(st.booleans()) else (f"{day.month:02d}", f"{day.day:02d}")
    date = f"{day.year:04d}-{month}-{dom}"
    if draw(st.booleans()):
        return date
    sep = draw(st.sampled_from(["T", "t", " "]))
    clock = f"{draw(st.integers(0, 24))}:{draw(st.integers(0, 60)):02d}:{draw(st.integers(0, 60)):02d}"
    fraction = draw(st.sampled_from(["", ".1", ".10", ",5", ".123456789123"]))
    zone = draw(st.sampled_from(["", "Z", "+00:00", "-05:00", "+05:30", "+24:00", "-5"]))
    return f"{date}{sep}{clock}{fraction}{zone}"


@st.composite
def scalars(draw, key: bool = False) -> str:
    """A scalar as written in the file: plain, quoted, or tagged."""
    if not key and draw(st.integers(0, 9)) == 0:
        return json.dumps(draw(st.sampled_from(QUOTED_ONLY)))
    text = draw(st.one_of(st.sampled_from(WORDS), numbers(), timestamps()))
    if key and text in ("", "<<"):
        text = "1.10"
    style = draw(st.sampled_from(["plain"] * 6 + ["single", "double", "tag"]))
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    if style == "double":
        return json.dumps(text)
    if style == "tag":
        return f"{draw(st.sampled_from(TAGS))} {text}".rstrip()
    return text


def mutate(text: str, data) -> str:
    """One to four edits: a value retyped, a key repeated or dedented, new keys with scalars and nesting."""
    lines = text.splitlines()
    for n in range(data.draw(st.integers(1, 4), label="edits")):
        action = data.draw(st.sampled_from(["retype"] * 3 + ["probe", "nest"] * 2 + ["repeat", "dedent"]), label="edit")
        scalar_lines = [i for i, line in enumerate(lines) if SCALAR_LINE.match(line)]
        if action == "retype" and scalar_lines:
            i = data.draw(st.sampled_from(scalar_lines), label="line")
            match = SCALAR_LINE.match(lines[i])
            lines[i] = match["head"] + data.draw(scalars(), label="value") + (match["tail"] or "")
        elif action == "repeat" and scalar_lines:
            i = data.draw(st.sampled_from(scalar_lines), label="line")
            head = SCALAR_LINE.match(lines[i])["head"]
            lines.insert(i + 1, head + data.draw(scalars(), label="value"))
        elif action == "dedent":
            nested = [i for i, line in enumerate(lines) if NESTED_KEY_LINE.match(line)]
            if nested:
                i = data.draw(st.sampled_from(nested), label="line")
                lines[i] = "  " + NESTED_KEY_LINE.match(lines[i])["line"]
        elif action == "probe":
            lines.append(f"  berth:probe{n}: {data.draw(scalars(), label='value')}")
        else:
            keys = data.draw(st.lists(scalars(key=True), min_size=1, max_size=3), label="keys")
            lines += [f"  berth:probe{n}:", *(f"    {k}: {data.draw(scalars(), label='value')}" for k in keys),
                      "    list:", f"      - {data.draw(scalars(), label='item')}", f"      - [{data.draw(scalars())}]"]
    return "\n".join(lines) + "\n"


@settings(max_examples=100, deadline=None, database=None, phases=[Phase.explicit, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(path=st.sampled_from(FILES), data=st.data())
def test_mutations_are_refused_or_read_exactly_as_the_cli_reads_them(cli, path, data):
    compare(cli, stackfile.stack_name(path), mutate(path.read_text(), data), original=path.read_text())


# --- the claim the comparison rests on: `pulumi config --json` shows what the program receives -------------

def test_config_file_reads_a_file_as_the_stacks_own_file(cli):
    """`--config-file` goes through the same workspace.LoadProjectStack as `Pulumi.<stack>.yaml`."""
    assert cli.run("stack", "init", "own").returncode == 0
    own = cli.root / "Pulumi.own.yaml"  # keeps the encryptionsalt `stack init` wrote
    own.write_text(own.read_text() + RECORDED)
    result = cli.run("config", "--json", "--show-secrets", "-s", "own")
    assert result.returncode == 0, result.stderr
    assert {key: entry["value"] for key, entry in json.loads(result.stdout).items()} == cli.read(RECORDED).values


def test_the_program_receives_what_pulumi_config_shows(cli):
    """The engine's half: an inline program (the Automation API serves its language runtime) previewed on the
    recorded rows reads, through Berth's own reader (settings.pulumi_values), exactly the `value`s shown.
    Last in this module: the SDK leaves threads behind, and hypothesis should run before them."""
    work = cli.root / "program"
    work.mkdir()
    (work / "Pulumi.yaml").write_text((cli.root / "Pulumi.yaml").read_text())
    received: dict[str, str] = {}
    options = auto.LocalWorkspaceOptions(work_dir=str(work), env_vars={**cli.env, **UTC},
                                         pulumi_command=pulumi_command(cli.binary))
    stack = auto.create_stack("program", project_name="berth", opts=options,
                              program=lambda: received.update(pulumi_values()))
    own = work / "Pulumi.program.yaml"  # keeps the encryptionsalt `stack init` wrote
    own.write_text(own.read_text() + RECORDED)
    stack.preview(color="never")
    assert {f"berth:{key}": value for key, value in received.items()} == cli.read(RECORDED, env=UTC).values
