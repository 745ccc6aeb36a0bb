"""The real Pulumi CLI and engine, as the suite and `make preview` drive them.

An `Engine` is a state backend of its own (`file://`, secrets under a passphrase), a PULUMI_HOME, and the
lab's plugins first on PATH, so that the engine loads them for every package Berth uses. Stacks are the
Berth program run inline through the Automation API (berth/engine.py): the real CLI, the real engine, the
real state; only the providers are the lab's.

The CLI is Berth's pinned version, built once from its Go module (tools/pulumi-cli.sh) and cached.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pulumi import automation as auto

from berth import engine as berth_engine

from . import plugins

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "berth-lab-passphrase"  # the lab's state only; a real stack's passphrase is its operator's


def cli_path() -> Path:
    """The pinned Pulumi CLI: $BERTH_PULUMI_CLI, or tools/pulumi-cli.sh (which builds it on first use)."""
    configured = os.environ.get("BERTH_PULUMI_CLI")
    if configured:
        return Path(configured)
    result = subprocess.run([str(REPO / "tools" / "pulumi-cli.sh")], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the Pulumi CLI could not be built: {result.stderr.strip()[-2000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass
class Engine:
    root: Path  # state/, home/ and bin/ live here
    cli: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    owned: bool = False  # a scratch root this object removes on close()

    @classmethod
    def offline(cls) -> Engine:
        """For a preview with no lab: a scratch root, the plugins answering as in a preview."""
        return cls(Path(tempfile.mkdtemp(prefix="berth-engine-")), cli_path(), owned=True).prepared()

    def prepared(self) -> Engine:
        (self.root / "state").mkdir(parents=True, exist_ok=True)
        (self.root / "home").mkdir(exist_ok=True)
        plugins.install(self.root / "bin")
        return self

    def env(self, backend: str = "state", extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of the CLI and, through it, of the engine and the plugins. `backend`: a folder of the
        engine's own (a `file://` backend), or a backend URL (`s3://…`); `extra`: what that backend needs."""
        path = os.pathsep.join([str(self.root / "bin"), str(self.cli.parent), self.extra_env.get("PATH")
                                or os.environ["PATH"]])
        url = backend if "://" in backend else f"file://{self.root / backend}"
        return {**os.environ, **self.extra_env, **(extra or {}), "PATH": path, "PULUMI_HOME": str(self.root / "home"),
                "PULUMI_BACKEND_URL": url, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true"}

    def stack(self, name: str, work_dir: Path, create: bool = False, backend: str = "state",
              extra: dict[str, str] | None = None) -> auto.Stack:
        """Stack `name` of the project in `work_dir`, the Berth program inline. `work_dir` holds the project's
        own Pulumi.yaml (linked) and the stack file."""
        if "://" not in backend:
            (self.root / backend).mkdir(parents=True, exist_ok=True)
        project = Path(work_dir) / "Pulumi.yaml"
        if not project.exists():
            project.symlink_to(berth_engine.PROJECT_DIR / "Pulumi.yaml")
        return berth_engine.select(name, Path(work_dir), env=self.env(backend, extra), cli=self.cli, create=create)

    def run(self, *args: str, cwd: Path, backend: str = "state", check: bool = True,
            extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """The CLI itself, as an operator types it."""
        result = subprocess.run([str(self.cli), *args], cwd=cwd, env=self.env(backend, extra), capture_output=True,
                                text=True, check=False, timeout=600)
        if check and result.returncode != 0:
            raise RuntimeError(f"pulumi {' '.join(args)} failed ({result.returncode}): {result.stderr or result.stdout}")
        return result

    def close(self) -> None:
        if self.owned:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass(frozen=True)
class Step:
    """One step the engine announced or took, as its events report it."""

    op: str  # same, create, update, delete, replace, create-replacement, delete-replaced, read, refresh, ...
    urn: str
    diffs: tuple[str, ...] = ()
    failed: bool = False

    @property
    def type(self) -> str:
        return self.urn.split("::")[-2].rsplit("$", 1)[-1]

    @property
    def name(self) -> str:
        return self.urn.split("::")[-1]


# The engine reports a replacement as three steps; a resource's own op folds them into one.
_REPLACEMENT = {"create-replacement": "replace", "replace": "replace", "delete-replaced": "replace",
                "discard-replaced": "replace"}


@dataclass
class Steps:
    """What the engine reports through the Automation API's events: planned steps (a preview's), steps
    taken (an up's outputs events), failures and diagnostics."""

    planned: list[Step] = field(default_factory=list)
    taken: list[Step] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)  # errors
    warnings: list[str] = field(default_factory=list)
    # When each step started and ended (monotonic seconds, as the events arrived): for make bench-release.
    started: dict[tuple[str, str], float] = field(default_factory=dict)
    ended: dict[tuple[str, str], float] = field(default_factory=dict)

    def record(self, event: auto.EngineEvent) -> None:
        if event.resource_pre_event:
            meta = event.resource_pre_event.metadata
            self.planned.append(Step(meta.op.value, meta.urn, tuple(meta.diffs or ())))
            self.started.setdefault((meta.urn, meta.op.value), time.monotonic())
        elif event.res_outputs_event:
            meta = event.res_outputs_event.metadata
            self.taken.append(Step(meta.op.value, meta.urn, tuple(meta.diffs or ())))
            self.ended[(meta.urn, meta.op.value)] = time.monotonic()
        elif event.res_op_failed_event:
            meta = event.res_op_failed_event.metadata
            self.taken.append(Step(meta.op.value, meta.urn, tuple(meta.diffs or ()), failed=True))
        elif event.diagnostic_event and event.diagnostic_event.severity == "error":
            self.diagnostics.append(event.diagnostic_event.message)
        elif event.diagnostic_event and event.diagnostic_event.severity == "warning":
            self.warnings.append(event.diagnostic_event.message)

    @staticmethod
    def per_resource(steps: list[Step]) -> dict[str, str]:
        """urn -> the operation on each resource a provider serves (components, the stack and providers
        left out), a replacement's three steps folded into `replace`."""
        ops: dict[str, str] = {}
        for step in steps:
            if step.type == "pulumi:pulumi:Stack" or step.type.startswith(("pulumi:providers:", "berth:index:")):
                continue
            op = _REPLACEMENT.get(step.op, step.op)
            if ops.get(step.urn) != "replace":
                ops[step.urn] = op
        return ops


def phase(steps: Steps, *names: str) -> tuple[float, float] | None:
    """When the steps of the resources whose names end with `names` ran (components left out): the first
    start and the last end."""
    spans = [(steps.started[key], end) for key, end in steps.ended.items() if key in steps.started
             and Step(key[1], key[0]).name.endswith(names) and not Step(key[1], key[0]).type.startswith("berth:")]
    if not spans:
        return None
    return min(start for start, _ in spans), max(end for _, end in spans)
