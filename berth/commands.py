"""Pure builders: the exact argv each ops command runs. No I/O here (Kamal's `commands/`)."""

from __future__ import annotations

import shlex

from components.render import hostkeys
from components.render import proxy as proxy_text

from .outputs import HostAccess


def ssh(host: HostAccess, remote: list[str], tty: bool = False) -> list[str]:
    """One remote command line over SSH; the remote shell sees exactly `remote`, quoted. A server Berth gave a host
    key must present it (the options the Docker provider uses too); another host's first key is trusted."""
    argv = ["ssh", *hostkeys.ssh_options(host.host_key)]
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


def pulumi_selected_stack() -> list[str]:
    return ["pulumi", "stack", "--show-name"]


def pulumi_outputs(stack: str) -> list[str]:
    return ["pulumi", "stack", "output", "--stack", stack, "--json"]


def pulumi_export(stack: str) -> list[str]:
    return ["pulumi", "stack", "export", "--stack", stack]


def pulumi_cancel(stack: str) -> list[str]:
    """Releases the lock an interrupted update left (on a `file://` or S3 backend, its lock file)."""
    return ["pulumi", "cancel", "--stack", stack, "--yes"]


def pulumi_lock_probe(stack: str) -> list[str]:
    """Reads who holds the stack's lock, changing nothing: a DIY backend's rename takes the lock first (it names
    the holders when it cannot), then refuses a name that exists, its own (pkg/backend/diy/backend.go
    `renameStack`, v3.274.1)."""
    return ["pulumi", "stack", "rename", stack, "--stack", stack]


def pulumi_clear_pending_creates(stack: str) -> list[str]:
    return ["pulumi", "refresh", "--stack", stack, "--yes", "--skip-preview", "--clear-pending-creates"]


def ssh_version() -> list[str]:
    """`ssh -V`: the client's version, on stderr."""
    return ["ssh", "-V"]


def presented_key(host: HostAccess) -> list[str]:
    """The ED25519 key the host presents now (one `<name> ssh-ed25519 AAAA...` line), to say why ssh refused it."""
    return ["ssh-keyscan", "-T", "10", "-t", "ed25519", "-p", str(host.port), host.address]


def known_hosts_files(address: str) -> list[str]:
    """`ssh -G`: the configuration ssh would use for this host, its UserKnownHostsFile among it."""
    return ["ssh", "-G", address]


def forget_host_key(host: HostAccess, known_hosts: str) -> list[str]:
    """Drop a rebuilt host's old key, so that `StrictHostKeyChecking=accept-new` takes its new one."""
    name = host.address if host.port == 22 else f"[{host.address}]:{host.port}"
    return ["ssh-keygen", "-R", name, "-f", known_hosts]


def remove_container(name: str, grace: int = 30) -> list[str]:
    """Stopped first, with time to finish (an accessory's last sync), then removed; nothing if it is not there."""
    quoted = shlex.quote(name)
    return ["sh", "-c", f"docker stop --time {grace} {quoted} >/dev/null 2>&1; docker rm --force {quoted} >/dev/null 2>&1; "
                        "true"]


def backup_script(container: str, database: str) -> str:
    """A copy restored from the bucket (so every backup also proves the restore path), streamed to stdout.

    The copy is made under a fixed name inside the Litestream container; it is removed before the
    restore (a failed earlier backup would leave one behind, and `litestream restore` refuses an existing
    output) and again on exit, whatever happens."""
    q = shlex.quote
    inside = f"/tmp/berth-backup-{database.rsplit('/', 1)[-1]}"
    return f"""set -euo pipefail
container={q(container)}
inside={q(inside)}
outside=$(mktemp)
cleanup() {{
  docker exec "$container" rm -f "$inside" "$inside-wal" "$inside-shm" >/dev/null 2>&1 || true
  rm -f "$outside"
}}
trap cleanup EXIT
docker exec "$container" rm -f "$inside" "$inside-wal" "$inside-shm"
docker exec "$container" litestream restore -o "$inside" {q(database)} >&2
docker cp "$container:$inside" "$outside" >&2
cat "$outside"
"""


def restore_script(service: str, container: str, database: str, timestamp: str | None, owner: str) -> str:
    """Restore beside the live file while the app still serves, then stop the app, set the live file
    aside with its -wal and -shm (the -wal holds every write not yet checkpointed), swap the copy in,
    give it to the app's user, and restart replication and exactly the containers that were running."""
    q = shlex.quote
    restore = ["litestream", "restore", "-o", f"{database}.restored"]
    if timestamp:
        restore += ["-timestamp", timestamp]
    return f"""set -euo pipefail
container={q(container)}
database={q(database)}
owner={q(owner)}
running=$(docker ps --quiet --filter label=service={q(service)} --filter label=role)
docker exec "$container" rm -f "$database.restored" "$database.restored-wal" "$database.restored-shm"
docker exec "$container" {shlex.join(restore)} "$database"
if [ -n "$running" ]; then
  # shellcheck disable=SC2086 # one id per word
  docker stop $running >/dev/null
fi
docker exec "$container" sh -c 'for suffix in "" -wal -shm; do
  if [ -e "$1$suffix" ]; then mv -f "$1$suffix" "$1.before-restore$suffix"; fi
done
mv -f "$1.restored" "$1"
chown "$2" "$1"' sh "$database" "$owner"
docker restart "$container" >/dev/null
if [ -n "$running" ]; then
  # shellcheck disable=SC2086
  docker start $running >/dev/null
fi
echo "restored $database; the replaced copy is $database.before-restore (with its -wal and -shm)"
"""
