"""The ops CLI (`berth`) against the lab: its SSH and docker commands run for real, and its `pulumi`
commands reach the applier instead of the Pulumi CLI (which this machine does not have):
`pulumi config set` edits the stack's settings, `pulumi up` is `Applier.up`, and `pulumi stack output`
prints the last up's outputs, secrets masked as the CLI masks them."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import Any

from typer.testing import CliRunner

from berth.cli import Context, app
from tooling.evaluate import secret_paths, unwrap


def _masked(value: Any) -> Any:
    if isinstance(value, dict) and secret_paths(value) == ["."]:
        return "[secret]"
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return unwrap(value)


@dataclass
class Ops:
    deployment: Any  # world.Deployment
    calls: list[list[str]] = field(default_factory=list)

    def runner(self, argv: list[str], capture: bool = False, stdout=None, input: str | None = None
               ) -> subprocess.CompletedProcess:
        self.calls.append(argv)
        if argv[0] == "pulumi":
            return self._pulumi(argv)
        site = self.deployment.applier.site
        env = site.env()
        binary = stdout is not None
        return subprocess.run(argv, env=env, check=False, capture_output=capture and not binary,
                              stdout=stdout, text=not binary, timeout=300,
                              input=input.encode() if binary and input is not None else input)

    def _pulumi(self, argv: list[str]) -> subprocess.CompletedProcess:
        if argv[1:3] == ["stack", "output"]:
            outputs = {k: _masked(v) for k, v in self.deployment.last_up.evaluation.outputs.items()}
            return subprocess.CompletedProcess(argv, 0, json.dumps(outputs), "")
        if argv[1:3] == ["config", "set"]:
            key, value = argv[-2], argv[-1]
            self.deployment.set(**{key.removeprefix("berth:"): value})
            return subprocess.CompletedProcess(argv, 0, "", "")
        if argv[1:3] in (["config", "get"], ["config", "rm"]):
            key = argv[-1].removeprefix("berth:")
            value = self.deployment.stack().berth.get(key)
            if argv[2] == "rm":
                self.deployment.settings.pop(key, None)
            return subprocess.CompletedProcess(argv, 0 if value is not None else 1, f"{value}\n", "")
        if argv[1] == "preview":  # the applier performs steps; it has no dry run
            return subprocess.CompletedProcess(argv, 0, "(the lab's pulumi stand-in does not preview)\n", "")
        if argv[1] == "up":
            up = self.deployment.up()
            return subprocess.CompletedProcess(argv, 0 if up.ok else 1, "", up.error or "")
        raise AssertionError(f"the lab's pulumi stand-in does not know {argv}")

    def __call__(self, *args: str, input: str | None = None):
        """`berth --stack <stack> <args>`; returns typer's result (exit_code, output)."""
        name = self.deployment.stack_name
        return CliRunner().invoke(app, ["--stack", name, *args], obj=Context(name, runner=self.runner), input=input)
