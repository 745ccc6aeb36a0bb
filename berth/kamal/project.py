"""Which Berth project a written stack file belongs to. `pulumi` and `berth` find a stack's file beside the
project's Pulumi.yaml, so a Pulumi.<stack>.yaml written anywhere else (beside deploy.yml, the import's default
directory when run in the app) is one neither reads: `pulumi stack init` and every `berth` verb there fail with
"no Pulumi.yaml project file found". The import still writes it, says so, and its next steps move it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tooling.evaluate import PROJECT_DIR


@dataclass(frozen=True)
class Project:
    directory: Path | None  # where `pulumi -C` must point: the Berth project (None: not known here)
    misplaced: bool  # the stack file was written where no Pulumi.yaml is


def of(directory: Path) -> Project:
    """--dir when it holds Pulumi.yaml; else the Berth checkout this `berth` runs from, when it is one (an
    editable install, as the README's `make` makes), else unknown."""
    directory = directory.resolve()
    if (directory / "Pulumi.yaml").is_file():
        return Project(directory, False)
    return Project(PROJECT_DIR if (PROJECT_DIR / "Pulumi.yaml").is_file() else None, True)


def warning(written: Path, project: Project) -> str:
    where = f" ({project.directory})" if project.directory else ""
    return (f"Warning: {written.parent} has no Pulumi.yaml, so neither pulumi nor berth reads {written.name} there. "
            f"Run berth import from your Berth project{where}, the directory with Pulumi.yaml, or pass --dir with "
            "it; or move the file there, as the first step below does.")
