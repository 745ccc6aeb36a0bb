"""Shared fixtures: every shipped stack and example is evaluated once per test session."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from components import stackfile
from components.config import Stack
from components.errors import ConfigError
from components.validation import load
from tooling.evaluate import PROJECT_DIR, Evaluation, evaluate

# The real-host suite (tests/e2e) needs root and builds a lab of namespaces: `make e2e` runs it, plain
# `pytest` never starts it by accident.
collect_ignore = [] if os.environ.get("BERTH_E2E") == "1" else ["e2e"]

SHIPPED = sorted(PROJECT_DIR.glob("Pulumi.*.yaml")) + sorted((PROJECT_DIR / "examples").glob("*.yaml"))
SHIPPED_IDS = [path.stem.removeprefix("Pulumi.") for path in SHIPPED]


def with_all_secrets(stack_file: stackfile.StackFile) -> stackfile.StackFile:
    """Fill every named secret with a placeholder, as `make plan` does."""
    try:
        load(stack_file.berth)
    except ConfigError as error:
        assert error.only_missing_secrets, str(error)
        return stack_file.with_secrets([p.missing_secret for p in error.problems])
    return stack_file


def ready(path: Path) -> stackfile.StackFile:
    return with_all_secrets(stackfile.read(path))


def _merged(base, changes):
    if isinstance(base, dict) and isinstance(changes, dict):
        return {**base, **{k: _merged(base.get(k), v) for k, v in changes.items()}}
    return copy.deepcopy(changes)


def variant(path: Path, **changes) -> stackfile.StackFile:
    """A shipped stack file with `changes` merged in (mappings merge key by key, anything else replaces)."""
    base = ready(path)
    return stackfile.StackFile(base.name, _merged(base.berth, changes))


@pytest.fixture(scope="session")
def evaluations() -> dict[str, tuple[Stack, Evaluation]]:
    out = {}
    for path, name in zip(SHIPPED, SHIPPED_IDS, strict=True):
        stack_file = ready(path)
        out[name] = (load(stack_file.berth), evaluate(stack_file))
    return out


@pytest.fixture(params=SHIPPED_IDS)
def shipped(request, evaluations) -> tuple[Stack, Evaluation]:
    return evaluations[request.param]


def _descendants(root: int) -> list[str]:
    """Live processes under `root` (zombies left out), as `pid command` lines, from /proc."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(proc.name))
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        found.append(f"{pid} {command}")
        stack.extend(children.get(pid, []))
    return found


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """No test leaves a process behind (a build a timed-out command started, a server a test forgot)."""
    left = _descendants(os.getpid())
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("processes the tests left running:\n  " + "\n  ".join(left), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
