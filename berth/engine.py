"""The Berth program run inline through Pulumi's Automation API.

`pulumi up` starts the Python language host, which needs the project's virtualenv to be found and
complete. Running the program inline (`program=`) lets the Automation API serve the language runtime from
this process instead: the CLI and the engine are the real ones, the program is the same `__main__.py`, and
no language host is involved. The real-host suite uses it for every `preview` and `up`.

`berth`'s changes (rollback, maintenance) run `up` as the Automation API runs an inline program, without
its calls around it: it serves the same language runtime and starts the CLI once (`up`).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import os
import runpy
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent import futures
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulumi import automation as auto

# The Pulumi SDK and the program's modules are imported where they are used: `warm` loads them on a thread
# while berth waits on the CLI, and a berth verb that never runs the program never loads them.

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROGRAM = PROJECT_DIR / "__main__.py"
PROJECT = "berth"  # Pulumi.yaml's name; the workspace reads the file itself from the work directory


def stack_file(work_dir: Path, stack: str) -> Path:
    """`Pulumi.<stack>.yaml` in the project directory `work_dir`, as the CLI names it (a stack's short name)."""
    return Path(work_dir) / f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"


def program(work_dir: Path) -> Callable[[], None]:
    """The program, reading `Pulumi.<stack>.yaml` from `work_dir` (an inline program runs in this
    process, whose working directory is not the project's). Its modules are waited for when it runs, not
    before: the CLI starts meanwhile."""

    def run() -> None:
        _warmed()
        import pulumi

        from components.settings import STACK_FILE_ENV

        path = stack_file(work_dir, pulumi.get_stack())
        os.environ[STACK_FILE_ENV] = str(path) if path.exists() else ""
        try:
            runpy.run_path(str(PROGRAM), run_name="__main__")
        finally:
            os.environ.pop(STACK_FILE_ENV, None)

    return run


def pulumi_command(cli: str | os.PathLike | None = None) -> auto.PulumiCommand | None:
    """The CLI at `cli` (its path), or the one on PATH."""
    _warmed()
    from pulumi import automation as auto

    if cli is None:
        return None
    return auto.PulumiCommand(root=str(Path(cli).resolve().parent.parent))


def select(stack: str, work_dir: Path, env: dict[str, str] | None = None, cli: str | os.PathLike | None = None,
           create: bool = False) -> auto.Stack:
    """The stack `stack` of the project in `work_dir`, with the Berth program inline."""
    _warmed()
    from pulumi import automation as auto

    options = auto.LocalWorkspaceOptions(work_dir=str(work_dir), env_vars=env, pulumi_command=pulumi_command(cli))
    chooser = auto.create_or_select_stack if create else auto.select_stack
    return chooser(stack, project_name=PROJECT, program=program(work_dir), opts=options)


def warm(path: Path | None = None) -> None:
    """Load what the program imports on a thread, while berth waits on the CLI and the hosts: the Pulumi SDK,
    Berth's components and the provider SDKs the stack file at `path` uses (about 1 s of Python for a stack
    behind Cloudflare) would otherwise load only once the engine asks the program to run. A subprocess berth
    waits on releases the interpreter's lock, so the two overlap.

    First the SDK's language server (`SERVER_MODULES`), which `up` waits for before it starts the CLI; then the
    modules `__main__.py` imports (read from it, so the list never drifts), which every other use of the SDK here
    waits for (`_warmed`), the program too, as two threads importing one package at once see it
    half-initialized. Then the provider SDKs, each behind components/sdk.py's own lock, which the program waits on
    if it gets there first."""
    if _imported.is_set() or _warming.is_set():
        return
    _warming.set()

    def load() -> None:
        try:
            try:  # what the language server needs, so the CLI can start while the program's modules load
                for name in SERVER_MODULES:
                    with contextlib.suppress(Exception):  # `up` imports them itself, and says what is missing
                        importlib.import_module(name)
            finally:
                _server_imported.set()
            names = ["components.settings", "components.sdk"]
            for node in ast.walk(ast.parse(PROGRAM.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    names.append(node.module)
                elif isinstance(node, ast.Import):
                    names.extend(alias.name for alias in node.names)
            for name in names:
                with contextlib.suppress(Exception):  # the program's own import says it, with its traceback
                    importlib.import_module(name)
        finally:
            _imported.set()
        from components import sdk

        for name in provider_sdks(path):
            with contextlib.suppress(Exception):
                getattr(sdk, name).load()

    threading.Thread(target=load, name="berth-warm", daemon=True).start()


_warming, _server_imported, _imported = threading.Event(), threading.Event(), threading.Event()
SERVER_MODULES = ("grpc", "pulumi", "pulumi.automation._server", "pulumi.runtime._grpc_settings",
                  "pulumi.runtime.proto.language_pb2_grpc")


def _warmed(server_only: bool = False) -> None:
    """Once `warm` has imported the program's modules (`server_only`: the SDK's language server's)."""
    if _warming.is_set():
        (_server_imported if server_only else _imported).wait()


def provider_sdks(path: Path | None) -> list[str]:
    """The provider SDKs (components/sdk.py) the program loads for the stack file at `path`, in the order its
    hosts first need them (Cloudflare's declarations need none: components/cloudflare.py). Only a hint for `warm`:
    were it wrong, the program would load what it needs itself, later."""
    import yaml

    try:
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {} if path else {}
    except (OSError, yaml.YAMLError, AttributeError):
        config = {}
    cloud = config.get("berth:cloud") if isinstance(config.get("berth:cloud"), dict) else {}
    return ["random", "remote", "tls", "docker",
            *{"digitalocean": ["digitalocean"], "hetzner": ["hcloud"]}.get(cloud.get("provider"), [])]


def automation():
    """The Automation API, once `warm` is done importing it."""
    _warmed()
    from pulumi import automation as auto

    return auto


class UpFailed(Exception):
    """`pulumi up` ended non-zero; the text is the CLI's own (its errors, then its progress)."""


def up_argv(stack: str, address: str, config: Mapping[str, str]) -> list[str]:
    """What the Automation API runs for an inline program's `up` (sdk/python/lib/pulumi/automation/_stack.py
    `Stack.up`): the engine reaches the program at `--client`. `--config` saves each setting to the stack file
    before the update, as `pulumi config set` would, in the same start of the CLI."""
    settings = [f"--config=berth:{key}={value}" for key, value in config.items()]
    return ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack, *settings,
            f"--client={address}", "--exec-kind", "auto.inline"]


class Gate:
    """Checks that run beside the CLI's start (berth's own, on the stack's outputs), so that neither waits on
    the other: the program declares nothing until they pass, and a refusal ends the update there, with nothing
    declared. `check` says why it refuses itself; it returns whether the change may go ahead."""

    def __init__(self, check: Callable[[], bool]):
        self._passed = False
        self.error: BaseException | None = None  # what the check raised: its refusal, or its failure
        self._done = threading.Event()
        threading.Thread(target=self._run, args=(check,), name="berth-gate", daemon=True).start()

    def _run(self, check: Callable[[], bool]) -> None:
        try:
            self._passed = bool(check())
        except BaseException as error:  # noqa: BLE001 - kept for the caller, on its own thread (berth/cli.py)
            self.error = error
        finally:
            self._done.set()

    @property
    def decided(self) -> bool:
        return self._done.is_set()

    def wait(self) -> bool:
        """Whether the change may go ahead, once the checks are done."""
        self._done.wait()
        return self._passed


def up(stack: str, work_dir: Path, config: Mapping[str, str], on_output: Callable[[str], None],
       gate: Gate | None = None) -> None:
    """One `pulumi up` of the program, inline: the CLI started once, its progress streamed line by line.

    The Automation API's `Stack.up` also runs `pulumi version` and `pulumi stack select` before, and two
    `pulumi stack output` and a `pulumi stack history` after, for a result berth does not read: about 1.2 s of
    a rollback's time on the lab's machine.

    With a `gate`, the program waits for it before it declares anything, and the CLI's output (progress and
    errors) is held until it has passed: a refused change shows only the check's own words.

    The CLI starts once the language server can answer it (the SDK imported); the program's own modules go on
    loading meanwhile, while the CLI starts and derives the stack's key, and the program waits for them."""
    _warmed(server_only=True)
    import grpc
    from pulumi.automation._server import LanguageServer  # the runtime the Automation API serves (pinned SDK)
    from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
    from pulumi.runtime.proto import language_pb2, language_pb2_grpc

    class GatedLanguageServer(LanguageServer):
        def Run(self, request, context):  # noqa: N802 - the gRPC method's name
            if gate is not None and not gate.wait():  # `bail`: the error is said, the CLI adds none of its own
                return language_pb2.RunResponse(error="berth refused the change", bail=True)
            return super().Run(request, context)

    held: list[tuple[Callable[[str], None], str]] = []
    holding = threading.Lock()

    def release_held() -> None:  # under `holding`, once the checks passed
        for sink, text in held:
            sink(text)
        held.clear()

    def say(line: str, sink: Callable[[str], None]) -> None:
        with holding:
            if gate is not None and not gate.decided:
                held.append((sink, line))
                return
            if gate is not None and not gate.wait():
                return
            release_held()
            sink(line)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=_GRPC_CHANNEL_OPTIONS)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(GatedLanguageServer(program(work_dir)), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        cli = subprocess.Popen(up_argv(stack, f"127.0.0.1:{port}", config), cwd=work_dir, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        errors: list[str] = []

        def read_errors() -> None:  # the CLI's own errors (a lock, a missing project) reach the operator as said
            for line in cli.stderr:
                errors.append(line)
                say(line, sys.stderr.write)

        reader = threading.Thread(target=read_errors, daemon=True)
        reader.start()
        said = []
        for line in cli.stdout:
            said.append(line)
            say(line.rstrip("\n"), on_output)
        code = cli.wait()
        reader.join()
        if gate is not None and gate.wait():  # what came before the checks passed, when nothing came after
            with holding:
                release_held()
    finally:
        server.stop(0)
    if code != 0:
        raise UpFailed("".join(errors) + "".join(said))
