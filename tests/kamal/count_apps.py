"""Every run (app x destination) of tests/kamal/apps: does the real `kamal config` accept it, and does `berth
import` import it? The figures in issue 25's note come from `.venv/bin/python -m tests.kamal.count_apps`.
Kamal runs offline as the oracle runs it (tests/test_kamal_oracle.py `kamal_config`, with the app's kamal.env)."""

from __future__ import annotations

import io
import json
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from berth.kamal import importer
from tests.test_kamal_oracle import kamal_config

APPS = Path(__file__).resolve().parent / "apps"


def runs() -> list[tuple[Path, str | None]]:
    """Each app without a destination, then with each destination file it has."""
    out: list[tuple[Path, str | None]] = []
    for app in sorted(p for p in APPS.iterdir() if p.is_dir()):
        files = sorted((app / "config").glob("deploy.*.yml"))
        out += [(app, None)] + [(app, f.name[len("deploy."):-len(".yml")]) for f in files]
    return out


def main(target: str | None = None) -> None:
    found = {}
    for app, destination in runs():
        name = app.name + (f" -d {destination}" if destination else "")
        with tempfile.TemporaryDirectory() as scratch:
            done = kamal_config(app, "config/deploy.yml", destination, Path(scratch) / "facts.json")
            said = io.StringIO()
            code = importer.run(importer.Options(config=app / "config" / "deploy.yml", destination=destination,
                                                 stack="count", allow_from=("203.0.113.7/32",), version="v1",
                                                 directory=Path(scratch) / "out"),
                                Console(file=said, width=300, emoji=False))
        kamal = done.returncode == 0
        why = "" if kamal else (done.stdout + done.stderr).strip().splitlines()[-1]
        found[name] = {"kamal": kamal, "imported": code == 0, "kamal_says": why, "berth_says": said.getvalue()}
        print(f"{name:36} kamal {'accepts' if kamal else 'refuses'}  berth {'imports' if code == 0 else 'refuses'}")
    accepted = [n for n, v in found.items() if v["kamal"]]
    print(f"{len(found)} runs; Kamal accepts {len(accepted)}; berth import imports "
          f"{sum(found[n]['imported'] for n in accepted)} of them")
    if target:
        Path(target).write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
