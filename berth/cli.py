"""The ops command. Reads a stack's outputs, then runs Kamal's day-two commands over SSH.

Every command is built by `berth.commands` (pure) and run through one `Runner`, so tests replace the
runner and assert the exact argv. Changes of state (maintenance, rollback) go through `pulumi up`, so
the stack file, the state and the hosts never disagree.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

from . import commands
from .outputs import HostAccess, StackOutputs

Runner = Callable[..., subprocess.CompletedProcess]


def run(argv: list[str], capture: bool = False, stdout=None, input: str | None = None) -> subprocess.CompletedProcess:
    binary = stdout is not None  # a backup streams bytes
    return subprocess.run(argv, check=False, text=not binary, capture_output=capture, stdout=stdout,
                           input=input.encode() if binary and input is not None else input)


@dataclass
class Context:
    stack: str
    runner: Runner = run
    console: Console = field(default_factory=lambda: Console(stderr=True, emoji=False))
    _outputs: StackOutputs | None = None

    @property
    def outputs(self) -> StackOutputs:
        if self._outputs is None:
            result = self.runner(commands.pulumi_outputs(self.stack), capture=True)
            if result.returncode != 0:
                self.fail(f"pulumi stack output failed for stack {self.stack}: {result.stderr}")
            self._outputs = StackOutputs.parse(json.loads(result.stdout))
        return self._outputs

    def hosts(self, role: str | None, host: str | None) -> list[HostAccess]:
        try:
            return self.outputs.select(role, host)
        except LookupError as error:
            self.fail(str(error))

    def on(self, host: HostAccess, remote: list[str], tty: bool = False) -> int:
        self.console.print(f"{host.name} ({host.address})", style="dim", markup=False)
        return self.runner(commands.ssh(host, commands.sudo(host, remote), tty=tty)).returncode

    def script(self, host: HostAccess, script: str, stdout=None) -> int:
        """A script on stdin of `bash -s` on the host: nothing of it reaches a command line."""
        return self.runner(commands.ssh(host, commands.sudo(host, ["bash", "-s"])), stdout=stdout,
                           input=script).returncode

    def local(self, argv: list[str]) -> int:
        self.console.print(f"$ {' '.join(argv)}", style="dim", markup=False)
        return self.runner(argv).returncode

    def container(self, host: HostAccess) -> str:
        name = self.outputs.containers.get(host.name)
        if not name:
            self.fail(f"{host.name} runs no app container yet; run `pulumi up --stack {self.stack}` first")
        return name

    def fail(self, message: str):
        self.console.print(message, style="red", markup=False)
        raise typer.Exit(1)


app = typer.Typer(help="Day-two commands for a Berth stack, in Kamal's words.", no_args_is_help=True)
proxy_app = typer.Typer(help="kamal-proxy on the web hosts.", no_args_is_help=True)
app.add_typer(proxy_app, name="proxy")

RoleOption = typer.Option(None, "--role", "-r", help="Hosts of this role (default: the primary role)")
HostOption = typer.Option(None, "--host", "-h", help="One host, by name or address")
BackupDirOption = typer.Option("backups", "--output", "-o", help="Local directory for the copies")


@app.callback()
def main(ctx: typer.Context, stack: str = typer.Option("production", "--stack", "-s", help="Pulumi stack")) -> None:
    ctx.obj = ctx.obj if isinstance(ctx.obj, Context) else Context(stack)
    ctx.obj.stack = stack


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


@app.command()
def logs(ctx: typer.Context, follow: bool = typer.Option(False, "--follow", "-f"),
         lines: int = typer.Option(100, "--lines", "-n"), role: str | None = RoleOption,
         host: str | None = HostOption) -> None:
    """The app's log lines (`kamal app logs`)."""
    c: Context = ctx.obj
    hosts = c.hosts(role, host)
    if follow and len(hosts) > 1:
        c.console.print(f"following {hosts[0].name} only; pick another with --host", style="yellow", markup=False)
        hosts = hosts[:1]
    for h in hosts:
        _exit(c.on(h, commands.logs(c.container(h), lines, follow)))


@app.command("exec")
def exec_(ctx: typer.Context, command: str, interactive: bool = typer.Option(False, "--interactive", "-i"),
          role: str | None = RoleOption, host: str | None = HostOption,
          all_hosts: bool = typer.Option(False, "--all", help="Every host of the role, not just the first")) -> None:
    """Run a command in the running app container (`kamal app exec --reuse`)."""
    c: Context = ctx.obj
    hosts = c.hosts(role, host)
    if interactive and all_hosts:
        c.fail("--interactive runs on one host; drop --all")
    for h in hosts if all_hosts else hosts[:1]:
        _exit(c.on(h, commands.exec_in(c.container(h), command, interactive), tty=interactive))


@app.command()
def console(ctx: typer.Context, host: str | None = HostOption) -> None:
    """A Rails console on the primary host (`kamal console`)."""
    exec_(ctx, "bin/rails console", interactive=True, role=None, host=host, all_hosts=False)


@app.command()
def dbconsole(ctx: typer.Context, host: str | None = HostOption) -> None:
    """The database console (`kamal dbc`)."""
    exec_(ctx, "bin/rails dbconsole", interactive=True, role=None, host=host, all_hosts=False)


@app.command()
def shell(ctx: typer.Context, host: str | None = HostOption) -> None:
    """A shell in the app container (`kamal shell`)."""
    exec_(ctx, "bash", interactive=True, role=None, host=host, all_hosts=False)


@app.command()
def details(ctx: typer.Context) -> None:
    """Containers, versions and health on every host (`kamal details`)."""
    c: Context = ctx.obj
    c.console.print(f"release {c.outputs.version}", markup=False)
    for h in c.outputs.hosts:
        _exit(c.on(h, commands.details(c.outputs.service)))


@proxy_app.command("details")
def proxy_details(ctx: typer.Context) -> None:
    """The proxy container and its routes (`kamal proxy details`)."""
    c: Context = ctx.obj
    for h in c.outputs.proxied_hosts():
        for remote in commands.proxy_details():
            _exit(c.on(h, remote))


@proxy_app.command("logs")
def proxy_logs(ctx: typer.Context, follow: bool = typer.Option(False, "--follow", "-f"),
               lines: int = typer.Option(100, "--lines", "-n"), host: str | None = HostOption) -> None:
    """kamal-proxy's log lines (`kamal proxy logs`)."""
    c: Context = ctx.obj
    hosts = c.hosts(None, host) if host else c.outputs.proxied_hosts()
    for h in hosts[:1] if follow else hosts:
        _exit(c.on(h, commands.proxy_logs(lines, follow)))


@app.command()
def maintenance(ctx: typer.Context, state: str = typer.Argument(..., help="on or off"),
                message: str | None = typer.Option(None, "--message", "-m")) -> None:
    """503 with a message while on (`kamal app maintenance` / `live`), through `pulumi up`."""
    c: Context = ctx.obj
    if state not in ("on", "off"):
        c.fail("maintenance takes on or off")
    _exit(c.local(commands.pulumi_set(c.stack, "maintenance", "true" if state == "on" else "false")))
    if message is not None:
        _exit(c.local(commands.pulumi_set(c.stack, "maintenanceMessage", message)))
    _exit(c.local(commands.pulumi_up(c.stack)))


@app.command()
def rollback(ctx: typer.Context, version: str | None = typer.Argument(None)) -> None:
    """Without VERSION: the versions kept on the hosts. With it: release that version again (`kamal rollback`)."""
    c: Context = ctx.obj
    if version is None:
        h = c.outputs.select()[0]
        _exit(c.on(h, commands.retained_versions(c.outputs.service, h.role)))
        c.console.print(f"current: {c.outputs.version}; roll back with: berth --stack {c.stack} rollback VERSION",
                        markup=False)
        return
    _exit(c.local(commands.pulumi_set(c.stack, "version", version)))
    _exit(c.local(commands.pulumi_up(c.stack)))


@app.command()
def backup(ctx: typer.Context, output: Path = BackupDirOption) -> None:
    """Copy each Litestream database from the bucket to this machine; every copy is a tested restore."""
    c: Context = ctx.obj
    if not c.outputs.litestream:
        c.fail("this stack replicates no database (no litestream accessory)")
    output.mkdir(parents=True, exist_ok=True)
    for entry in c.outputs.litestream:
        h = c.outputs.host(entry.host)
        for database in entry.databases:
            target = output / database.rsplit("/", 1)[-1]
            partial = target.with_name(target.name + ".part")
            c.console.print(f"{database} -> {target}", markup=False)
            with partial.open("wb") as out:
                code = c.script(h, commands.backup_script(entry.container, database), stdout=out)
            if code:
                partial.unlink(missing_ok=True)
                _exit(code)
            partial.replace(target)


@app.command()
def restore(ctx: typer.Context, database: str, timestamp: str | None = typer.Option(None, "--timestamp"),
            yes: bool = typer.Option(False, "--yes", help="Skip the confirmation")) -> None:
    """Replace a live database with its replica (optionally at --timestamp). The app is down meanwhile."""
    c: Context = ctx.obj
    entry = next((e for e in c.outputs.litestream if database in e.databases), None)
    if entry is None:
        c.fail(f"{database} is not replicated; known: "
               + ", ".join(d for e in c.outputs.litestream for d in e.databases))
    if not yes and not typer.confirm(f"Stop the app on {entry.host} and replace {database}?"):
        raise typer.Exit(1)
    h = c.outputs.host(entry.host)
    _exit(c.script(h, commands.restore_script(c.outputs.service, entry.container, database, timestamp, entry.owner)))

