"""The ops command. Reads a stack's outputs, then runs Kamal's day-two commands over SSH.

Every command is built by `berth.commands` (pure) and run through one `Runner`, so tests replace the
runner and assert the exact argv. Changes of state (maintenance, rollback) go through `pulumi up`, so
the stack file, the state and the hosts never disagree; like Kamal, they show what will change and ask
first (`--yes` answers for you, and is required without a terminal).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from components.render.hostkeys import too_old

from . import backend, commands, hostkeys, recovery
from .outputs import HostAccess, StackOutputs

if TYPE_CHECKING:
    from pulumi import automation as auto

    from .engine import Gate

Runner = Callable[..., subprocess.CompletedProcess]
DEFAULT_STACK = "production"
INSTALL_PULUMI = "https://www.pulumi.com/docs/iac/download-install/"


def run(argv: list[str], capture: bool = False, stdout=None, input: str | None = None) -> subprocess.CompletedProcess:
    binary = stdout is not None  # a backup streams bytes
    return subprocess.run(argv, check=False, text=not binary, capture_output=capture, stdout=stdout,
                          input=input.encode() if binary and input is not None else input)


CHECKOUT = Path(__file__).resolve().parent.parent  # the Berth checkout this berth runs from (an editable install)
NO_PROJECT = "no Pulumi.yaml project file found"  # the Pulumi CLI, outside a project (pkg/workspace/paths.go)


def no_project(here: Path) -> str:
    """Pulumi's own words ("either run this command from a directory containing a Pulumi project, or pass the
    fully qualified stack name") point at its options, not berth's: one line that says where berth runs."""
    checkout = CHECKOUT if (CHECKOUT / "Pulumi.yaml").is_file() else None
    return (f"no Pulumi.yaml in {here} or above it: run berth in the Berth project directory, where Pulumi.yaml "
            f"and your Pulumi.<stack>.yaml are{f' (cd {checkout})' if checkout else ''}, choosing the stack with "
            "--stack")


@dataclass
class Context:
    chosen_stack: str | None = None  # --stack; otherwise the stack selected in Pulumi, then production
    runner: Runner = run
    console: Console = field(default_factory=lambda: Console(stderr=True, emoji=False))
    interactive: bool = field(default_factory=lambda: sys.stdin.isatty())
    loaded_outputs: StackOutputs | None = None  # read from `pulumi stack output` on first use
    _stack: str | None = None
    _ssh_checked: bool = False
    _noted: set[str] = field(default_factory=set)  # hosts whose unpinned key was said once

    # --- which stack, and its outputs ---------------------------------------------------------------

    @property
    def stack(self) -> str:
        if self._stack is None:
            if self.chosen_stack:
                self._stack = self.chosen_stack
            else:
                selected = self.call(commands.pulumi_selected_stack(), capture=True)
                name = selected.stdout.strip() if selected.returncode == 0 else ""
                self._stack = name or DEFAULT_STACK
                how = "selected in Pulumi" if name else "the default; choose one with --stack"
                self.console.print(f"stack: {self._stack} ({how})", style="dim", markup=False)
        return self._stack

    @property
    def outputs(self) -> StackOutputs:
        if self.loaded_outputs is None:
            result = self.call(commands.pulumi_outputs(self.stack), capture=True)
            if result.returncode != 0:
                detail = (result.stderr or result.stdout or "").strip().splitlines()
                reason = detail[-1] if detail else f"exit status {result.returncode}"
                store = backend.problem(result.stderr + result.stdout, os.environ.get("PULUMI_BACKEND_URL", ""))
                if store:
                    self.fail(f"cannot read stack {self.stack}: {store}")
                if "no stack named" in reason or "not found" in reason:
                    self.fail(f"there is no stack {self.stack} here ({reason}); `pulumi stack ls` lists the stacks, "
                              f"`pulumi up --stack {self.stack}` creates it")
                self.fail(f"`pulumi stack output --stack {self.stack}` failed: {reason}")
            try:
                self.loaded_outputs = StackOutputs.parse(json.loads(result.stdout or "{}"))
            except (KeyError, TypeError, ValueError):
                self.fail(f"stack {self.stack} has no outputs yet: run `pulumi up --stack {self.stack}` first")
        return self.loaded_outputs

    @property
    def stack_file(self) -> Path:
        from .engine import stack_file

        return stack_file(Path.cwd(), self.stack)

    def hosts(self, role: str | None, host: str | None) -> list[HostAccess]:
        try:
            return self.outputs.select(role, host)
        except LookupError as error:
            self.fail(str(error))

    # --- running things -------------------------------------------------------------------------------

    def call(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        try:
            result = self.runner(argv, **kwargs)
        except FileNotFoundError:
            if argv[0] == "pulumi":
                self.fail(f"the Pulumi CLI is not installed: berth reads the stack through `pulumi stack output` "
                          f"and changes it through `pulumi up`. Install it: {INSTALL_PULUMI}")
            self.fail(f"{argv[0]} is not installed on this machine; berth needs it to reach the hosts")
        said = [text for text in (result.stdout, result.stderr) if isinstance(text, str)]
        if argv[0] == "pulumi" and result.returncode != 0 and any(NO_PROJECT in text for text in said):
            self.fail(no_project(Path.cwd()))
        return result

    def engine_stack(self) -> auto.Stack:
        """This stack, the program inline (see berth/engine.py), in the project directory berth runs in."""
        from . import engine

        try:
            return engine.select(self.stack, Path.cwd())
        except engine.automation().CommandError as error:
            if NO_PROJECT in str(error):
                self.fail(no_project(Path.cwd()))
            self.fail(f"cannot open stack {self.stack}: {str(error).strip().splitlines()[-1]}")

    def echo(self, line: str) -> None:
        print(line, flush=True)

    def on(self, host: HostAccess, remote: list[str], tty: bool = False) -> int:
        self.console.print(f"{host.name} ({host.address})", style="dim", markup=False)
        return self.ssh(host, commands.ssh(host, commands.sudo(host, remote), tty=tty)).returncode

    def script(self, host: HostAccess, script: str, stdout=None) -> int:
        """A script on stdin of `bash -s` on the host: nothing of it reaches a command line."""
        return self.ssh(host, commands.ssh(host, commands.sudo(host, ["bash", "-s"])), stdout=stdout,
                        input=script).returncode

    def ssh(self, host: HostAccess, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Every ssh to a host goes through here: a pinned key needs an ssh that can check it, and a refused key is
        said in Berth's words (which host, what it presented, why that matters, what to do), not ssh's alone."""
        if host.host_key and not self._ssh_checked:
            version = self.call(commands.ssh_version(), capture=True)
            problem = too_old(version.stderr + version.stdout)
            if problem:
                self.fail(problem)
            self._ssh_checked = True
        elif not host.host_key and host.server_urn and host.name not in self._noted:
            self._noted.add(host.name)
            self.console.print(hostkeys.unpinned_note(host, self.stack), style="yellow", markup=False, soft_wrap=True)
        result = self.call(argv, **kwargs)
        if result.returncode == hostkeys.SSH_FAILED and host.host_key:
            scan = self.call(commands.presented_key(host), capture=True)
            found = hostkeys.presented(scan.stdout or "")
            if found is not None and found != host.host_key:  # none found: unreachable, which ssh said already
                self.fail(hostkeys.mismatch_message(host, self.stack, found))
        return result

    def explain_refused_keys(self, cli_output: str) -> None:
        """After a failed `pulumi up`: a host whose key check failed, in Berth's words."""
        refused = hostkeys.refused_hosts(cli_output, self.outputs.hosts)
        for host in refused:
            if host.host_key:
                scan = self.call(commands.presented_key(host), capture=True)
                self.console.print(hostkeys.mismatch_message(host, self.stack, hostkeys.presented(scan.stdout or "")),
                                   style="red", markup=False, soft_wrap=True)
            else:
                self.console.print(hostkeys.changed_key_message(host, self.stack), style="red", markup=False,
                                   soft_wrap=True)

    def local(self, argv: list[str]) -> int:
        self.console.print(f"$ {' '.join(argv)}", style="dim", markup=False)
        return self.call(argv).returncode

    def container(self, host: HostAccess, role: str | None = None) -> str:
        """The running app container of `role` on `host` (default: the role that has the host)."""
        name = self.outputs.container(host.name, role)
        if not name:
            what = f"no {role} container" if role else "no app container"
            self.fail(f"{host.name} runs {what} yet; run `pulumi up --stack {self.stack}` first")
        return name

    def confirm(self, question: str, yes: bool) -> None:
        """Kamal asks before it changes anything; so does berth. `--yes` answers, and is needed without a terminal."""
        if yes:
            return
        if not self.interactive:
            self.fail(f"{question} This changes the deployment: run it in a terminal to confirm, or pass --yes.")
        if not typer.confirm(question, default=False):
            self.console.print("nothing changed", markup=False)
            raise typer.Exit(1)

    @contextmanager
    def timed(self, what: str):
        started = time.monotonic()
        with self.console.status(what):
            yield
        self.console.print(f"{what}: done in {time.monotonic() - started:.1f}s", markup=False)

    def fail(self, message: str):
        # soft_wrap: a long word (a URN in a command to copy) is never cut by a line break
        self.console.print(message, style="red", markup=False, soft_wrap=True)
        raise typer.Exit(1)


app = typer.Typer(help="Day-two commands for a Berth stack, in Kamal's words, grouped as `kamal --help` groups "
                       "them; each says how it is used.", no_args_is_help=True, rich_markup_mode="markdown",
                  pretty_exceptions_enable=False)
proxy_app = typer.Typer(help="kamal-proxy on the web hosts. Example: berth proxy details", no_args_is_help=True)
app.add_typer(proxy_app, name="proxy", rich_help_panel="Proxy")

RoleOption = typer.Option(None, "--role", "-r", help="Hosts of this role (default: the primary role)")
HostOption = typer.Option(None, "--host", "-h", help="One host, by name or address")
BackupDirOption = typer.Option("backups", "--output", "-o", help="Local directory for the copies")
YesOption = typer.Option(False, "--yes", "-y", help="Do not ask; required when not in a terminal")


@app.callback()
def main(ctx: typer.Context, stack: str | None = typer.Option(
        None, "--stack", "-s", help="Pulumi stack (default: the one selected in Pulumi, then production); "
                                    "accepted anywhere on the line")) -> None:
    ctx.obj = ctx.obj if isinstance(ctx.obj, Context) else Context()
    if stack:
        ctx.obj.chosen_stack = stack


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


# --- App ------------------------------------------------------------------------------------------------

@app.command(rich_help_panel="App")
def logs(ctx: typer.Context, follow: bool = typer.Option(False, "--follow", "-f"),
         lines: int = typer.Option(100, "--lines", "-n"), role: str | None = RoleOption,
         host: str | None = HostOption) -> None:
    """The app's log lines (kamal app logs). Example: berth logs -f --role web"""
    c: Context = ctx.obj
    hosts = c.hosts(role, host)
    if follow and len(hosts) > 1:
        c.console.print(f"following {hosts[0].name} only; pick another with --host", style="yellow", markup=False)
        hosts = hosts[:1]
    chosen = role or (None if host else c.outputs.primary_role)
    for h in hosts:
        _exit(c.on(h, commands.logs(c.container(h, chosen), lines, follow)))


@app.command("exec", rich_help_panel="App")
def exec_(ctx: typer.Context, command: str, interactive: bool = typer.Option(False, "--interactive", "-i"),
          role: str | None = RoleOption, host: str | None = HostOption,
          all_hosts: bool = typer.Option(False, "--all", help="Every host of the role, not just the first")) -> None:
    """Run a command in the running app container (kamal app exec --reuse). Example: berth exec 'bin/rails about'"""
    c: Context = ctx.obj
    hosts = c.hosts(role, host)
    if interactive and all_hosts:
        c.fail("--interactive runs on one host; drop --all")
    chosen = role or (None if host else c.outputs.primary_role)
    for h in hosts if all_hosts else hosts[:1]:
        _exit(c.on(h, commands.exec_in(c.container(h, chosen), command, interactive), tty=interactive))


@app.command(rich_help_panel="App")
def console(ctx: typer.Context, host: str | None = HostOption) -> None:
    """A Rails console on the primary host (kamal console). Example: berth console"""
    exec_(ctx, "bin/rails console", interactive=True, role=None, host=host, all_hosts=False)


@app.command(rich_help_panel="App")
def dbconsole(ctx: typer.Context, host: str | None = HostOption) -> None:
    """The database console (kamal dbc). Example: berth dbconsole"""
    exec_(ctx, "bin/rails dbconsole", interactive=True, role=None, host=host, all_hosts=False)


@app.command(rich_help_panel="App")
def shell(ctx: typer.Context, host: str | None = HostOption) -> None:
    """A shell in the app container (kamal shell). Example: berth shell --host web-2"""
    exec_(ctx, "bash", interactive=True, role=None, host=host, all_hosts=False)


@app.command(rich_help_panel="App")
def details(ctx: typer.Context) -> None:
    """Containers, versions and health on every host (kamal details). Example: berth details"""
    c: Context = ctx.obj
    c.console.print(f"release {c.outputs.version}", markup=False)
    for h in c.outputs.hosts:
        _exit(c.on(h, commands.details(c.outputs.service)))


# --- Proxy ----------------------------------------------------------------------------------------------

@proxy_app.command("details")
def proxy_details(ctx: typer.Context) -> None:
    """The proxy container and its routes (kamal proxy details). Example: berth proxy details"""
    c: Context = ctx.obj
    for h in c.outputs.proxied_hosts():
        for remote in commands.proxy_details():
            _exit(c.on(h, remote))


@proxy_app.command("logs")
def proxy_logs(ctx: typer.Context, follow: bool = typer.Option(False, "--follow", "-f"),
               lines: int = typer.Option(100, "--lines", "-n"), host: str | None = HostOption) -> None:
    """kamal-proxy's log lines (kamal proxy logs). Example: berth proxy logs -f"""
    c: Context = ctx.obj
    hosts = c.hosts(None, host) if host else c.outputs.proxied_hosts()
    for h in hosts[:1] if follow else hosts:
        _exit(c.on(h, commands.proxy_logs(lines, follow)))


# --- Deploy: changes go through `pulumi up`, after a preview and a question ------------------------------

def _change(c: Context, settings: dict[str, str], what: str, yes: bool, question: str | None = None,
            gate: Gate | None = None) -> None:
    """Ask, then `pulumi up` with the new settings. The question is about the preview of exactly what
    `pulumi up` will do, unless the caller knows that already (`question`: a rollback, which changes the
    release alone), which spares the program's second run.

    The program runs inline (berth/engine.py): the real CLI and engine, without the Python language host and
    its virtualenv. Until the up starts, the stack file can be put back as it was: a "no", a failed preview or
    another operator's lock leaves the stack as it was."""
    stack_file = c.stack_file
    before = stack_file.read_bytes() if stack_file.exists() else None

    def put_back() -> None:
        if before is None:
            stack_file.unlink(missing_ok=True)
        else:
            stack_file.write_bytes(before)

    if question is not None:  # asked before anything is set: a "no" leaves the stack as it was
        c.confirm(question, yes)
    else:
        for key, value in settings.items():
            _exit(c.local(commands.pulumi_set(c.stack, key, value)))
        settings = {}  # set: the preview reads them from the stack file, and so does the up
        try:
            _preview(c, what)
            c.confirm(f"{what}: apply the preview above?", yes)
        except typer.Exit:
            put_back()
            raise
    _up(c, what, settings, put_back, gate)


def _preview(c: Context, what: str) -> None:
    from . import engine

    stack = c.engine_stack()
    try:
        stack.preview(diff=True, on_output=c.echo)
    except engine.automation().CommandError:
        c.fail(f"the preview failed; nothing was changed on the hosts ({what})")


def _up(c: Context, what: str, settings: dict[str, str], put_back: Callable[[], None],
        gate: Gate | None = None) -> None:
    """`pulumi up`, saving `settings` to the stack file as it starts (`--config`); with a `gate`, berth's checks
    run beside the CLI's start (berth/engine.py `Gate`)."""
    from . import engine

    shown = "".join(f" --config berth:{key}={value}" for key, value in settings.items())
    c.console.print(f"$ pulumi up --stack {c.stack}{shown}", style="dim", markup=False)
    with c.timed(what):
        try:
            engine.up(c.stack, Path.cwd(), settings, on_output=c.echo, gate=gate)
        except FileNotFoundError:  # no `pulumi` to start
            put_back()
            _refused(gate)
            c.fail(f"the Pulumi CLI is not installed: berth changes the stack through `pulumi up`. Install it: "
                   f"{INSTALL_PULUMI}")
        except engine.UpFailed as error:
            if gate is not None and not gate.wait():  # refused before the program declared anything
                put_back()
                _refused(gate)
            holders = recovery.lock_holders(str(error))
            if holders is not None:  # another operation runs: this one never started
                put_back()
                c.fail(recovery.locked_message(c.stack, holders, what))
            if NO_PROJECT in str(error):
                put_back()
                c.fail(no_project(Path.cwd()))
            c.explain_refused_keys(str(error))
            c.fail(f"pulumi up failed ({what}); the output above says where")


def _refused(gate: Gate | None) -> None:
    """Ends berth when `gate`'s checks refused the change: they said why (a refusal, typer.Exit), or failed
    unexpectedly, which is raised as it came."""
    if gate is None or gate.wait():
        return
    if gate.error is not None and not isinstance(gate.error, typer.Exit):
        raise gate.error
    raise typer.Exit(1)


@app.command(rich_help_panel="Deploy")
def maintenance(ctx: typer.Context, state: str = typer.Argument(..., help="on or off"),
                message: str | None = typer.Option(None, "--message", "-m"), yes: bool = YesOption) -> None:
    """503 with a message while on (kamal app maintenance / live), through pulumi up. Example: berth maintenance on"""
    c: Context = ctx.obj
    if state not in ("on", "off"):
        c.fail("maintenance takes on or off")
    from . import engine

    engine.warm(c.stack_file)  # the program's modules load while the CLI reads the outputs and previews
    c.outputs  # noqa: B018 - the stack must exist and have been deployed
    settings = {"maintenance": "true" if state == "on" else "false"}
    if message is not None:
        settings["maintenanceMessage"] = message
    _change(c, settings, f"maintenance {state} for stack {c.stack}", yes)


@app.command(rich_help_panel="Deploy")
def rollback(ctx: typer.Context, version: str | None = typer.Argument(None), yes: bool = YesOption) -> None:
    """Without VERSION: the versions kept on the hosts. With it: release that version again (kamal rollback).
    Example: berth rollback 3f9c2e1"""
    c: Context = ctx.obj
    if version is None:
        h = c.outputs.select()[0]
        _exit(c.on(h, commands.retained_versions(c.outputs.service, c.outputs.primary_role)))
        c.console.print(f"current: {c.outputs.version}; roll back with: berth --stack {c.stack} rollback VERSION",
                        markup=False)
        return
    from . import engine

    engine.warm(c.stack_file)  # the program's modules load while the CLI reads the outputs
    if yes:
        _rollback_unasked(c, version)
        return
    if version == c.outputs.version:
        c.fail(f"stack {c.stack} runs {version} already")
    # A version is a release and nothing else (the stack's invariant, tests/test_stacks.py): what changes needs no
    # preview, which would run the program a second time. Whether the hosts kept the version says if it pulls.
    what = f"roll stack {c.stack} back to {version} (now {c.outputs.version})"
    h = c.outputs.select()[0]
    kept = c.ssh(h, commands.ssh(h, commands.sudo(h, commands.retained_versions(c.outputs.service,
                                                                                c.outputs.primary_role))),
                 capture=True)
    versions = {line.split("\t", 1)[0] for line in kept.stdout.splitlines()} if kept.returncode == 0 else set()
    pulls = version + (" is kept on the hosts, so nothing is pulled" if version in versions else
                       f" is not among the versions kept on {h.name}, so the hosts pull it from the registry")
    question = (f"{what}: the app's containers of every role are replaced, kamal-proxy switches after their health "
                f"checks, nothing else changes; {pulls}. Go ahead?")
    _change(c, {"version": version}, what, yes, question)


def _rollback_unasked(c: Context, version: str) -> None:
    """`rollback VERSION --yes`: with nothing to ask, `pulumi up` starts at once, and the checks a question would
    have come after (the stack has been released, and runs another version) read its outputs meanwhile; the
    program declares nothing until they pass (berth/engine.py `Gate`), and a refusal changes no resource (the
    stack's history keeps it as a failed update)."""
    from . import engine

    def check() -> bool:
        if version == c.outputs.version:  # c.outputs says itself why it cannot read them
            c.fail(f"stack {c.stack} runs {version} already")
        return True

    _change(c, {"version": version}, f"roll stack {c.stack} back to {version}", True,
            question=f"roll stack {c.stack} back to {version}?", gate=engine.Gate(check))


# --- Setup -----------------------------------------------------------------------------------------------

KamalConfigArgument = typer.Argument(Path("config/deploy.yml"), help="Kamal's deploy.yml")
AllowFromOption = typer.Option([], "--allow-from", help="A CIDR that may reach SSH (repeat it); required")
AuthorizedKeyOption = typer.Option([], "--authorized-key", help="A public key file for new servers (repeat it)")
DirectoryOption = typer.Option(Path("."), "--dir", help="Where Pulumi.STACK.yaml goes: the Berth project, beside "
                                                         "Pulumi.yaml")


@app.command("import", rich_help_panel="Setup")
def import_(ctx: typer.Context, config: Path = KamalConfigArgument,
            destination: str | None = typer.Option(None, "--destination", "-d",
                                                   help="Merge config/deploy.DESTINATION.yml over it, as Kamal does"),
            provider: str = typer.Option("existing", help="existing (the hosts Kamal used), digitalocean or hetzner "
                                                          "(new servers)"),
            region: str | None = typer.Option(None, help="Region for new servers (default: nyc3 / fsn1)"),
            allow_from: list[str] = AllowFromOption, authorized_key: list[Path] = AuthorizedKeyOption,
            cloudflare_zone: str | None = typer.Option(None, help="Serve through Cloudflare's proxy in this zone"),
            version: str | None = typer.Option(None, help="Image tag to release (default: VERSION, then the git "
                                                          "commit, as Kamal)"),
            directory: Path = DirectoryOption,
            force: bool = typer.Option(False, "--force", help="Replace an existing stack file")) -> None:
    """Write Pulumi.STACK.yaml from a Kamal configuration, plan it, and say what is left to do; --stack names
    it (default: the destination, then production). Run it in the Berth project (where Pulumi.yaml is) or pass
    --dir. Example: berth import ../app/config/deploy.yml -d production --stack production --allow-from
    203.0.113.7/32"""
    from .kamal import importer  # the import's modules load only for this verb

    c: Context = ctx.obj
    options = importer.Options(
        config=config, destination=destination, stack=c.chosen_stack, provider=provider, region=region,
        allow_from=tuple(allow_from), authorized_keys=tuple(authorized_key), cloudflare_zone=cloudflare_zone,
        version=version, force=force, directory=directory)
    _exit(importer.run(options, Console(emoji=False, highlight=False)))


@app.command(rich_help_panel="Deploy")
def recover(ctx: typer.Context, yes: bool = YesOption) -> None:
    """After an interrupted `pulumi up` (a second Ctrl-C, a killed CI job): release the stack's lock, remove the
    containers the interrupted up created but never recorded, and clear its pending creates, so that the next
    `pulumi up` converges. Example: berth recover"""
    c: Context = ctx.obj
    exported = c.call(commands.pulumi_export(c.stack), capture=True)
    if exported.returncode != 0:
        c.fail(f"`pulumi stack export --stack {c.stack}` failed: {(exported.stderr or exported.stdout).strip()}")
    pending = recovery.pending_creates(json.loads(exported.stdout).get("deployment") or {})
    probe = c.call(commands.pulumi_lock_probe(c.stack), capture=True)
    holders = recovery.lock_holders(probe.stdout + probe.stderr)
    if holders:
        for holder in holders:
            c.console.print(f"lock held by {holder}: if that operation still runs, answer no", markup=False)
    else:
        c.console.print(f"stack {c.stack} holds no lock", markup=False)
    for create in pending:
        where = f" on {create.host.address}: removed, the next up creates it again" if create.container else ""
        c.console.print(f"pending create: {create.label}{where}", markup=False)
    if not pending:
        c.console.print("no pending creates in the state", markup=False)
        if recovery.unlocked(probe.stdout + probe.stderr):
            c.console.print(f"nothing to recover: stack {c.stack} is ready for `pulumi up --stack {c.stack}`",
                            markup=False)
            return
    c.confirm(f"Release stack {c.stack}'s lock and put its state right as above?", yes)
    c.local(commands.pulumi_cancel(c.stack))  # fails harmlessly when no update holds the lock
    for create in pending:
        if create.container and create.host:
            _exit(c.on(create.host, commands.remove_container(create.container)))
    if pending:
        _exit(c.local(commands.pulumi_clear_pending_creates(c.stack)))
    c.console.print(f"now run: pulumi up --stack {c.stack}", markup=False)


@app.command(rich_help_panel="Deploy")
def rebuilt(ctx: typer.Context, host: str = typer.Argument(..., help="The host, by name or address"),
            yes: bool = YesOption) -> None:
    """A host was rebuilt blank behind its address (a reinstalled VPS, a server replaced): forget its old SSH
    host key, then `pulumi up --refresh` with its setup run again (bootstrap, proxy, accessories with
    Litestream's restore first, the app). Example: berth rebuilt covertext-web-1"""
    c: Context = ctx.obj
    (target,) = c.hosts(None, host)
    exported = c.call(commands.pulumi_export(c.stack), capture=True)
    if exported.returncode != 0:
        c.fail(f"`pulumi stack export --stack {c.stack}` failed: {(exported.stderr or exported.stdout).strip()}")
    generation = recovery.machine_generation(json.loads(exported.stdout).get("deployment") or {}, target.name)
    if generation is None:
        c.fail(f"stack {c.stack} has no machine generation for {target.name}: run `pulumi up --stack {c.stack}` "
               "first (a Berth from before it)")
    settings = c.call(commands.known_hosts_files(target.address), capture=True)
    named = recovery.known_hosts_files(settings.stdout if settings.returncode == 0 else "", str(Path.home()))
    files = [path for path in named if Path(path).exists()]
    # The refresh reads the host through the Docker provider's ssh, which would refuse the new key.
    for path in files:
        c.call(commands.forget_host_key(target, path), capture=True)
    if target.host_key:  # nothing to forget: it must present the key Berth gave it, as its replacement does
        c.console.print(f"{target.name} ({target.address}): its host key is the one Berth gave the server, which it "
                        "must still present; `pulumi up --refresh` finds what is gone and sets the host up again",
                        markup=False)
    else:
        c.console.print(f"{target.name} ({target.address}): its old host key is forgotten "
                        f"({', '.join(files) or 'none'}); `pulumi up --refresh` finds what is gone and sets the host "
                        "up again", markup=False)
    from . import engine

    CommandError = engine.automation().CommandError  # noqa: N806
    stack = c.engine_stack()
    try:
        stack.preview(diff=True, refresh=True, replace=[generation], on_output=c.echo)
    except CommandError as error:
        c.echo(str(error).strip()[-3000:])
        c.explain_refused_keys(str(error))
        c.fail("the preview failed; nothing was changed on the hosts")
    c.confirm(f"Set {target.name} up again as above?", yes)
    with c.timed(f"set {target.name} up again"):
        try:
            stack.up(refresh=True, replace=[generation], on_output=c.echo)
        except CommandError as error:
            c.explain_refused_keys(str(error))
            c.fail(f"pulumi up failed (setting {target.name} up again); the output above says where")


# --- Data ------------------------------------------------------------------------------------------------

@app.command(rich_help_panel="Data")
def backup(ctx: typer.Context, output: Path = BackupDirOption) -> None:
    """Copy each Litestream database from the bucket here; every copy is a tested restore. Example: berth backup -o b/"""
    c: Context = ctx.obj
    if not c.outputs.litestream:
        c.fail("this stack replicates no database (no litestream accessory)")
    output.mkdir(parents=True, exist_ok=True)
    for entry in c.outputs.litestream:
        h = c.outputs.host(entry.host)
        for database in entry.databases:
            target = output / database.rsplit("/", 1)[-1]
            partial = target.with_name(target.name + ".part")
            with c.timed(f"{database} -> {target}"), partial.open("wb") as out:
                code = c.script(h, commands.backup_script(entry.container, database), stdout=out)
            if code:
                partial.unlink(missing_ok=True)
                _exit(code)
            partial.replace(target)


@app.command(rich_help_panel="Data")
def restore(ctx: typer.Context, database: str, timestamp: str | None = typer.Option(None, "--timestamp"),
            yes: bool = YesOption) -> None:
    """Replace a live database with its replica (optionally at --timestamp); the app is down meanwhile.
    Example: berth restore /rails/storage/production.sqlite3"""
    c: Context = ctx.obj
    entry = next((e for e in c.outputs.litestream if database in e.databases), None)
    if entry is None:
        c.fail(f"{database} is not replicated; known: "
               + ", ".join(d for e in c.outputs.litestream for d in e.databases))
    h = c.outputs.host(entry.host)
    script = commands.restore_script(c.outputs.service, entry.container, database, timestamp, entry.owner)
    c.console.print(f"on {h.name} ({h.address}), as root:\n{script}", markup=False)
    c.confirm(f"Stop the app on {entry.host} and replace {database}?", yes)
    with c.timed(f"restore {database}"):
        _exit(c.script(h, script))
