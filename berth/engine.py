"""The Berth program run inline through Pulumi's Automation API.

`pulumi up` starts the Python language host, which needs the project's virtualenv to be found and
complete. Running the program inline (`program=`) lets the Automation API serve the language runtime from
this process instead: the CLI and the engine are the real ones, the program is the same `__main__.py`, and
no language host is involved. `berth` uses it for the verbs that change a stack (rollback, maintenance);
the real-host suite uses it for every `preview` and `up`.
"""

from __future__ import annotations

import os
import runpy
from collections.abc import Callable
from pathlib import Path

import pulumi
from pulumi import automation as auto

from components.settings import STACK_FILE_ENV

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROGRAM = PROJECT_DIR / "__main__.py"
PROJECT = "berth"  # Pulumi.yaml's name; the workspace reads the file itself from the work directory


def program(work_dir: Path) -> Callable[[], None]:
    """The program, reading `Pulumi.<stack>.yaml` from `work_dir` (an inline program runs in this
    process, whose working directory is not the project's)."""

    def run() -> None:
        stack_file = Path(work_dir) / f"Pulumi.{pulumi.get_stack()}.yaml"
        os.environ[STACK_FILE_ENV] = str(stack_file) if stack_file.exists() else ""
        try:
            runpy.run_path(str(PROGRAM), run_name="__main__")
        finally:
            os.environ.pop(STACK_FILE_ENV, None)

    return run


def pulumi_command(cli: str | os.PathLike | None = None) -> auto.PulumiCommand | None:
    """The CLI at `cli` (its path), or the one on PATH."""
    if cli is None:
        return None
    return auto.PulumiCommand(root=str(Path(cli).resolve().parent.parent))


def select(stack: str, work_dir: Path, env: dict[str, str] | None = None, cli: str | os.PathLike | None = None,
           create: bool = False) -> auto.Stack:
    """The stack `stack` of the project in `work_dir`, with the Berth program inline."""
    options = auto.LocalWorkspaceOptions(work_dir=str(work_dir), env_vars=env, pulumi_command=pulumi_command(cli))
    chooser = auto.create_or_select_stack if create else auto.select_stack
    return chooser(stack, project_name=PROJECT, program=program(work_dir), opts=options)
