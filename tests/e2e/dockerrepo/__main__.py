"""python3 -m tests.e2e.dockerrepo build [--bin DIR] [--cache DIR]    prints the repository's root (cached)
python3 -m tests.e2e.dockerrepo serve --root ROOT --cert C --key K --address A [--port 443] [--log FILE]"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from pathlib import Path

from . import DEFAULT_CACHE, build_repository
from .server import PROJECT, RepositoryServer


def main(args: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.e2e.dockerrepo")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build (or reuse) the repository; prints its root")
    build.add_argument("--bin", type=Path, help="the Docker binaries (default: tools/docker-engine.sh's output)")
    build.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    serve = commands.add_parser("serve", help="serve ROOT/linux over HTTPS as download.docker.com")
    serve.add_argument("--root", type=Path, required=True)
    serve.add_argument("--cert", type=Path, required=True)
    serve.add_argument("--key", type=Path, required=True)
    serve.add_argument("--address", required=True)
    serve.add_argument("--port", type=int, default=443)
    serve.add_argument("--log", type=Path)
    options = parser.parse_args(args)

    if options.command == "build":
        bin_dir = options.bin or Path(subprocess.run([str(PROJECT / "tools" / "docker-engine.sh")], check=True,
                                                     capture_output=True, text=True).stdout.strip())
        print(build_repository(bin_dir, options.cache, log=lambda line: print(line, file=sys.stderr)))
        return 0

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with RepositoryServer(options.root, options.cert, options.key, options.address, options.port, options.log) as server:
        print(f"serving {server.url} on {server.address}:{server.port}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
