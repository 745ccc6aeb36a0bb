"""The ops CLI (`berth`) on the lab, as its operator runs it: the real command in the stack's directory,
with the real Pulumi CLI on PATH (reads through `pulumi stack output`, changes through the Automation
API), its SSH and docker commands reaching the lab's hosts."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BERTH = Path(sys.executable).parent / "berth"


@dataclass(frozen=True)
class Result:
    exit_code: int
    output: str
    lines: tuple[tuple[float, str], ...] = ()  # (seconds from the start, line) as they came: make bench-release

    def when(self, pattern: str) -> float | None:
        """When the first line matching `pattern` came."""
        return next((at for at, line in self.lines if re.search(pattern, line)), None)


_OWN = object()


@dataclass
class Ops:
    deployment: Any  # world.Deployment
    stack: str | None | object = _OWN  # --stack: the deployment's by default, None for none

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        """`berth [--stack <stack>] <args>`, the stack file written first."""
        self.deployment.write()
        stack = self.deployment.stack_name if self.stack is _OWN else self.stack
        return [str(BERTH), *(["--stack", stack] if stack else []), *args]

    def __call__(self, *args: str, input: str | None = None, timeout: int = 600) -> Result:
        """`berth [--stack <stack>] <args>` in the stack's directory."""
        result = subprocess.run(self._argv(args), cwd=self.deployment.work, env=self.deployment.env(), input=input,
                                capture_output=True, text=True, timeout=timeout, check=False)
        self.deployment.adopt()
        return Result(result.returncode, result.stdout + result.stderr)

    def timed(self, *args: str, timeout: int = 600) -> Result:
        """`berth [--stack <stack>] <args>`, each line of its output (merged) timed as it arrives."""
        argv = self._argv(args)
        started = time.monotonic()
        berth = subprocess.Popen(argv, cwd=self.deployment.work, env=self.deployment.env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        lines = []
        try:
            for line in berth.stdout:
                lines.append((time.monotonic() - started, line.rstrip("\n")))
            code = berth.wait(timeout=max(1, timeout - (time.monotonic() - started)))
        finally:
            if berth.poll() is None:
                berth.kill()
        lines.append((time.monotonic() - started, ""))  # the end
        self.deployment.adopt()
        return Result(code, "\n".join(line for _, line in lines), tuple(lines))
