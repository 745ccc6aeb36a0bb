"""`python -m berth` and the `berth` command: `--stack` may come anywhere on the line, as users type it."""

from __future__ import annotations

import os
import sys

from .cli import app


def hoist_stack(argv: list[str]) -> list[str]:
    """Move the first `--stack X`, `--stack=X`, `-s X` (wherever it is) in front of the verb, where the CLI
    reads it. A `--` ends the options: what follows is left alone."""
    end = argv.index("--") if "--" in argv else len(argv)
    for i, arg in enumerate(argv[:end]):
        if arg in ("--stack", "-s") and i + 1 < end:
            return ["--stack", argv[i + 1], *argv[:i], *argv[i + 2:]]
        if arg.startswith("--stack="):
            return ["--stack", arg.split("=", 1)[1], *argv[:i], *argv[i + 1:]]
    return argv


def main(argv: list[str] | None = None) -> None:
    args = hoist_stack(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args, prog_name="berth")
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # one line, no traceback; BERTH_DEBUG=1 shows it
        if os.environ.get("BERTH_DEBUG"):
            raise
        print(f"berth: {type(error).__name__}: {error} (BERTH_DEBUG=1 shows the traceback)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
