"""The ops CLI (`berth`) on the lab, as its operator runs it: the real command in the stack's directory,
with the real Pulumi CLI on PATH (reads through `pulumi stack output`, changes through the Automation
API), its SSH and docker commands reaching the lab's hosts."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BERTH = Path(sys.executable).parent / "berth"


@dataclass(frozen=True)
class Result:
    exit_code: int
    output: str


_OWN = object()


@dataclass
class Ops:
    deployment: Any  # world.Deployment
    stack: str | None | object = _OWN  # --stack: the deployment's by default, None for none

    def __call__(self, *args: str, input: str | None = None, timeout: int = 600) -> Result:
        """`berth [--stack <stack>] <args>` in the stack's directory."""
        self.deployment.write()
        stack = self.deployment.stack_name if self.stack is _OWN else self.stack
        result = subprocess.run([str(BERTH), *(["--stack", stack] if stack else []), *args], cwd=self.deployment.work,
                                env=self.deployment.env(), input=input, capture_output=True, text=True,
                                timeout=timeout, check=False)
        self.deployment.adopt()
        return Result(result.returncode, result.stdout + result.stderr)
