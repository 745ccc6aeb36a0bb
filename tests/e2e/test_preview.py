"""`pulumi preview` of every shipped stack and example through the real CLI and engine, offline: what a
pull request's preview does, minus the credentials (`make preview FILE=…` runs the same thing). The
program runs under the engine's unknowns (every address, id and digest a provider computes), so a program
that only works with the offline plan's invented values fails here. Needs no lab and no root."""

from __future__ import annotations

from pathlib import Path

import pytest
from readme import commands, run_verbatim

from tooling.plan import build

from .engine import Engine, Steps
from .preview import preview

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [REPO / "Pulumi.production.yaml", REPO / "Pulumi.staging.yaml", *sorted((REPO / "examples").glob("*.yaml"))]


@pytest.fixture(scope="module")
def engine():
    engine = Engine.offline()
    yield engine
    engine.close()


@pytest.mark.parametrize("file", SHIPPED, ids=lambda f: f.name)
def test_every_shipped_stack_previews_what_the_plan_shows(engine, file):
    result = preview(file, engine)
    assert result.steps.diagnostics == [], result.output[-3000:]
    planned = Steps.per_resource(result.steps.planned)
    assert set(planned.values()) == {"create"}, planned
    # The offline plan (the program under the SDK's mocks) and the engine's preview declare the same resources.
    plan = build(file)
    declared = {(r.type, r.name) for r in plan.evaluation.resources
                if r.custom and not r.type.startswith("pulumi:providers:")}
    assert {(step.type, step.name) for step in result.steps.planned if step.urn in planned} == declared


@pytest.mark.parametrize("command", [c for c in commands() if c.startswith("make preview")])
def test_the_readmes_make_preview_runs_verbatim(command):
    """The README's `make preview` line, typed as a user types it (make test leaves it here: it needs the CLI)."""
    result = run_verbatim(command, timeout=900)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
