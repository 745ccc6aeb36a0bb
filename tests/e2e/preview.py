"""`make preview FILE=<stack file>`: the real `pulumi preview` of any stack file, offline.

What a pull request's preview does, minus the credentials: the real CLI and engine run the real program
(inline, tests.e2e.engine), and the lab's plugins answer for every package as its provider answers in a
preview: required inputs checked, outputs a provider computes unknown. The file is copied into a scratch
project (the CLI writes an encryption salt and the placeholder secrets into the stack file it previews),
next to the project's own Pulumi.yaml.

    python -m tests.e2e.preview --file examples/dbcours.yaml
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import typer
from pulumi import automation as auto

from components import stackfile
from components.errors import ConfigError
from tooling.plan import unset_secrets

from .engine import Engine, Steps

PLACEHOLDER = "preview-placeholder"


@dataclass
class Preview:
    stack: str
    steps: Steps
    summary: dict[str, int]
    output: str
    diagnostics: list[str] = field(default_factory=list)


def preview(file: Path, engine: Engine, echo: bool = False) -> Preview:
    """Raises auto.CommandError when the preview fails (the program's error, a plugin's refusal)."""
    name = stackfile.stack_name(file)
    names = unset_secrets(stackfile.read(file), file)
    with tempfile.TemporaryDirectory(prefix="berth-preview-") as scratch:
        work = Path(scratch)
        shutil.copy(file, work / f"Pulumi.{name}.yaml")
        stack = engine.stack(name, work, create=True)
        if names:
            stack.set_all_config({f"berth:secrets.{n}": auto.ConfigValue(PLACEHOLDER, secret=True) for n in names},
                                 path=True)
        steps = Steps()
        lines: list[str] = []

        def output(line: str) -> None:
            lines.append(line)
            if echo:
                print(line)

        result = stack.preview(on_event=steps.record, on_output=output, diff=False, color="never")
        return Preview(name, steps, dict(result.change_summary), "\n".join(lines), steps.diagnostics)


def main(file: Path = typer.Option(..., "--file", exists=True, dir_okay=False, help="the stack file to preview")) -> None:
    engine = Engine.offline()
    try:
        try:
            result = preview(file, engine, echo=True)
        except ConfigError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from None
        except auto.CommandError:
            raise typer.Exit(1) from None
        typer.echo(f"{file}: {', '.join(f'{n} {op}' for op, n in sorted(result.summary.items()))}")
    finally:
        engine.close()


if __name__ == "__main__":
    sys.exit(typer.run(main))
