"""Pure builders: the exact argv each ops command runs. No I/O here (Kamal's `commands/`)."""

from __future__ import annotations

import shlex

from components.render import proxy as proxy_text

from .outputs import HostAccess

SSH_OPTIONS = ("-o", "StrictHostKeyChecking=accept-new")


def ssh(host: HostAccess, remote: list[str], tty: bool = False) -> list[str]:
    """One remote command line over SSH; the remote shell sees exactly `remote`, quoted."""
    argv = ["ssh", *SSH_OPTIONS]
    if tty:
        argv.append("-t")
    if host.port != 22:
        argv += ["-p", str(host.port)]
    return [*argv, f"{host.user}@{host.address}", shlex.join(remote)]


def sudo(host: HostAccess, remote: list[str]) -> list[str]:
    return remote if host.user == "root" else ["sudo", "-n", *remote]


def logs(container: str, lines: int, follow: bool) -> list[str]:
    return ["docker", "logs", "--timestamps", "--tail", str(lines), *(["--follow"] if follow else []), container]


def exec_in(container: str, command: str, interactive: bool) -> list[str]:
    """In the running app container, as Kamal's `app exec --reuse` does."""
    return ["docker", "exec", *(["-it"] if interactive else []), container, "sh", "-c", command]


def details(service: str) -> list[str]:
    return ["docker", "ps", "--all", "--filter", f"label=service={service}",
            "--format", "{{.Names}}\t{{.Label \"version\"}}\t{{.Status}}"]


def proxy_details() -> list[list[str]]:
    return [["docker", "ps", "--filter", f"name=^{proxy_text.CONTAINER}$"],
            ["docker", "exec", proxy_text.CONTAINER, "kamal-proxy", "list"]]


def proxy_logs(lines: int, follow: bool) -> list[str]:
    return logs(proxy_text.CONTAINER, lines, follow)


def retained_versions(service: str, role: str) -> list[str]:
    """Every container of the role, newest first: the current one and those kept for rollback."""
    return ["docker", "ps", "--all", "--filter", f"label=service={service}", "--filter", f"label=role={role}",
            "--format", "{{.Label \"version\"}}\t{{.Status}}\t{{.Names}}"]


def pulumi_set(stack: str, key: str, value: str) -> list[str]:
    return ["pulumi", "config", "set", "--stack", stack, f"berth:{key}", value]


def pulumi_up(stack: str) -> list[str]:
    return ["pulumi", "up", "--stack", stack, "--yes"]


def pulumi_outputs(stack: str) -> list[str]:
    return ["pulumi", "stack", "output", "--stack", stack, "--json"]


def backup_copy(container: str, database: str) -> str:
    """A consistent copy restored from the bucket (so each backup also proves the restore path), streamed out."""
    tmp = f"/tmp/berth-backup-{database.rsplit('/', 1)[-1]}"
    q = shlex.quote
    return (f"docker exec {q(container)} litestream restore -o {q(tmp)} {q(database)} >&2"
            f" && docker cp {q(container + ':' + tmp)} {q(tmp)} >&2"
            f" && docker exec {q(container)} rm -f {q(tmp)}"
            f" && cat {q(tmp)} && rm -f {q(tmp)}")


def restore_in_place(service: str, container: str, database: str, timestamp: str | None) -> list[list[str]]:
    """Stop the app on the host, restore beside the live file, swap it in, restart replication and the app."""
    restored = f"{database}.restored"
    restore = ["docker", "exec", container, "litestream", "restore", "-o", restored]
    if timestamp:
        restore += ["-timestamp", timestamp]
    app = ["--filter", f"label=service={service}", "--filter", "label=role"]
    return [
        ["sh", "-c", f"docker ps --quiet {' '.join(app)} | xargs -r docker stop"],
        [*restore, database],
        ["docker", "exec", container, "mv", "-f", database, f"{database}.before-restore"],
        ["docker", "exec", container, "rm", "-f", f"{database}-wal", f"{database}-shm"],
        ["docker", "exec", container, "mv", restored, database],
        ["docker", "restart", container],
        ["sh", "-c", f"docker ps --all --quiet {' '.join(app)} --filter status=exited --latest | xargs -r docker start"],
    ]
