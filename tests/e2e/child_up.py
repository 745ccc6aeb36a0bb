"""One `pulumi up` of a deployment in a process of its own: the program runs inline, and the Pulumi SDK keeps
its runtime in module globals, so two stacks' `up`s at once (the machine tier boots a DigitalOcean and a Hetzner
stack side by side) cannot share a process. `python -m tests.e2e.child_up SPEC OUT`: SPEC is JSON (the engine's
root, CLI and environment, the stack, its directory and backend); OUT gets the pickled Steps, error and output."""

from __future__ import annotations

import json
import pickle
import sys
import time
from pathlib import Path

from pulumi import automation as auto

from .engine import Engine, Steps


def main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    engine = Engine(Path(spec["root"]), Path(spec["cli"]), spec["extra_env"])
    stack = engine.stack(spec["stack"], Path(spec["work"]), backend=spec["backend"], extra=spec["backend_env"])
    steps, lines, error = Steps(), [], None
    started = time.monotonic()
    try:
        stack.up(on_event=steps.record, on_output=lines.append, color="never", refresh=spec["refresh"],
                 replace=spec["replace"] or None)
    except auto.CommandError as failure:
        error = "\n".join(steps.diagnostics) or str(failure)
    Path(out_path).write_bytes(pickle.dumps((steps, error, time.monotonic() - started, "\n".join(lines))))


if __name__ == "__main__":
    main(*sys.argv[1:3])
