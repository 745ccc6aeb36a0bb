"""Release texts: container names, the env file, and the scripts run around a switch (asset bridging,
the release command, pruning). Pure: the Release component hands them to remote commands."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

from ..gounits import ram_in_bytes
from .bootstrap import DOCKER_NETWORK
from .files import File, write_files
from .registry import familiar_name

STATE_DIR = "/var/lib/berth"


def docker_safe(text: str) -> str:
    """Docker names allow [a-zA-Z0-9_.-]; a digest version (sha256:…) keeps its first 12 hex digits."""
    if text.startswith("sha256:"):
        text = text.removeprefix("sha256:")[:12]
    return re.sub(r"[^a-zA-Z0-9_.-]+", "-", text).strip("-.") or "x"


def container_base(service: str, role: str, version: str) -> str:
    """`<service>-<role>-<version>`: a new version is a new name, so Pulumi creates it before the old one goes."""
    return f"{service}-{role}-{docker_safe(version)}"


def image_ref(repository: str, version: str) -> str:
    return f"{repository}@{version}" if version.startswith("sha256:") else f"{repository}:{version}"


def spec_hash(spec: dict[str, Any]) -> str:
    """A stable digest of a container's non-secret settings (sorted JSON, so two runs agree)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def secrets_hash(values: list[str]) -> str:
    """Changes when any secret changes; kept inside a secret Output by the caller."""
    return hashlib.sha256("\0".join(values).encode()).hexdigest()


def env_file(env: dict[str, str]) -> str:
    """Docker's --env-file format: NAME=value per line, taken literally (no quotes, no multi-line values)."""
    for name, value in env.items():
        if "\n" in value:
            raise ValueError(f"{name} holds a newline, which a Docker env file cannot carry")
    return "".join(f"{name}={env[name]}\n" for name in sorted(env))


@dataclass(frozen=True)
class RunSpec:
    """What `docker run` needs for a one-off container of the app (release command, Kamal's `app exec`)."""

    name: str
    image: str
    mounts: tuple[str, ...]  # Kamal syntax source:target[:ro]
    command: str
    entrypoint: str | None = None  # the image's own when None


def docker_run_script(runs: list[RunSpec], env: dict[str, str], env_name: str) -> str:
    """One-off containers in order (the release command, a restore), with env and secrets from a 0600
    file that is gone when the script exits; the first failure stops the script."""
    env_path = f"{STATE_DIR}/run/{env_name}.env"
    lines = [write_files([File(env_path, env_file(env), mode="0600")]).rstrip("\n"),
             f"trap 'rm -f {shlex.quote(env_path)}' EXIT"]
    for run in runs:
        argv = ["docker", "run", "--rm", "--name", run.name, "--network", DOCKER_NETWORK, "--env-file", env_path]
        for mount in run.mounts:
            argv += ["--volume", mount]
        if run.entrypoint:
            argv += ["--entrypoint", run.entrypoint]
        argv.append(run.image)
        lines.append(f"docker rm -f {shlex.quote(run.name)} >/dev/null 2>&1 || true")
        lines.append(f"{shlex.join(argv)} {run.command}")
    return "\n".join(lines) + "\n"


def assets_dir(service: str, role: str, version: str) -> str:
    return f"{STATE_DIR}/{service}/assets/{role}-{docker_safe(version)}"


def asset_bridge_script(service: str, role: str, version: str, image: str, asset_path: str, retain: int) -> str:
    """Kamal's asset bridging: the new version's assets plus the previous version's, never overwritten,
    so pages rendered by either version find their fingerprinted files during and after the switch."""
    root = f"{STATE_DIR}/{service}/assets"
    extracted = f"{root}/extracted/{role}-{docker_safe(version)}"
    target = assets_dir(service, role, version)
    helper = f"{service}-{role}-assets-{docker_safe(version)}"
    q = shlex.quote
    return f"""#!/usr/bin/env bash
set -euo pipefail
root={q(root)}
extracted={q(extracted)}
target={q(target)}
mkdir -p "$root/extracted"
if [ ! -d "$extracted" ]; then
  docker rm -f {q(helper)} >/dev/null 2>&1 || true
  docker create --name {q(helper)} {q(image)} >/dev/null
  mkdir -p "$extracted.tmp"
  docker cp -L {q(helper + ":" + asset_path.rstrip("/") + "/.")} "$extracted.tmp"
  docker rm -f {q(helper)} >/dev/null
  mv "$extracted.tmp" "$extracted"
fi
previous=$(find "$root/extracted" -mindepth 1 -maxdepth 1 -type d -name {q(role + "-*")} ! -path "$extracted" \\
  -printf '%T@ %p\\n' | sort -rn | head -n 1 | cut -d' ' -f2-)
mkdir -p "$target"
# Never overwrite a file already there. `cp -n` cannot say that portably: coreutils 9.2-9.3 exit 1 when
# they skip, Debian's 9.4 warns, and `--update=none` is refused by 9.1 and 8.32. GNU tar's
# --skip-old-files (tar 1.27+) skips silently and exits 0 everywhere.
tar -C "$extracted" -cf - . | tar -C "$target" --skip-old-files -xf -
if [ -n "$previous" ]; then
  tar -C "$previous" -cf - . | tar -C "$target" --skip-old-files -xf -
fi
# Keep the newest {retain + 1} extracted versions of this role; older ones are no longer bridged.
find "$root/extracted" -mindepth 1 -maxdepth 1 -type d -name {q(role + "-*")} -printf '%T@ %p\\n' \\
  | sort -rn | tail -n +{retain + 2} | cut -d' ' -f2- | xargs -r rm -rf
"""


# Why the release script starts the new app container first: the Docker provider keeps a container whose start
# failed in state, and the next `up` never starts it (containers.REPLACE_ON_ANY_CHANGE says why; an app
# container cannot simply be replaced, its name being its revision's). Its release script, which never ran,
# runs on that next `up`: starting it there either serves or fails the `up` with Docker's reason. On a running
# container `docker start` does nothing.
START_COMMENT = "# Started, in case the provider created it but could not start it (release.py says why)."


def boot_script(service: str, role: str, current: str, repository: str, retain: int, stop_timeout: int,
                switch: str | None = None) -> str:
    """Kamal's `app boot` for one role on one host, then the prune, in one script and so one SSH session (Kamal's
    boot runs over its one connection; a switch and a prune of their own each dialled the host again).

    Once the new container `current` exists: start it, run `switch` (a proxied role's `kamal-proxy deploy`,
    which returns once the new target is healthy and the old one drained; a failure ends the script there, with
    the old version serving), then stop this role's other containers, keep the newest `retain` stopped ones for
    an instant rollback, remove the rest, then every image of the repository that no container uses any more.

    Images are found by id and removed by their references in this repository, because a release by digest
    has no tag (`docker images` shows `repo <none>`, and the containerd image store lists it under its
    digest), and because `docker images` and `docker rmi` take the familiar name (acme/app, never
    docker.io/acme/app). Removing a reference rather than the id leaves the image to other repositories
    that also name it; the last reference removes the image itself."""
    q = shlex.quote
    labels = f"--filter label=service={q(service)} --filter label=role={q(role)}"
    references = "{{range .RepoTags}}{{println .}}{{end}}{{range .RepoDigests}}{{println .}}{{end}}"
    switching = f"{switch}\n" if switch else ""
    return f"""#!/usr/bin/env bash
set -euo pipefail
current={q(current)}
repository={q(familiar_name(repository))}
{START_COMMENT}
docker start "$current" >/dev/null
{switching}docker ps {labels} --format '{{{{.Names}}}}' | while read -r name; do
  if [ "$name" != "$current" ]; then docker stop -t {stop_timeout} "$name" >/dev/null; fi
done
docker ps -a {labels} --filter status=exited --format '{{{{.Names}}}}' | tail -n +{retain + 1} \\
  | xargs -r docker rm >/dev/null
docker images --no-trunc --quiet "$repository" | sort -u | while read -r id; do
  if [ -n "$(docker ps -a --quiet --filter ancestor="$id")" ]; then continue; fi
  refs=$(docker image inspect --format {q(references)} "$id" 2>/dev/null) || continue  # gone meanwhile
  printf '%s\\n' "$refs" \\
    | awk -v repository="$repository" 'index($0, repository ":") == 1 || index($0, repository "@") == 1' \\
    | while read -r ref; do
        if docker image inspect "$ref" >/dev/null 2>&1; then docker rmi "$ref" >/dev/null || true; fi
      done
done
"""


def healthcheck_command(port: int, path: str) -> list[str]:
    """Docker's own view of the container's health (`docker ps`), on the path kamal-proxy checks."""
    url = shlex.quote(f"http://localhost:{port}{path}")
    return ["CMD-SHELL", f"curl -fsS -o /dev/null {url} || wget -q -O /dev/null {url} || exit 1"]


def memory_mb(memory: str) -> int:
    """Kamal's `512m`, `1.5g` or `4GB` (as Docker reads them: go-units RAMInBytes, binary) to the Docker
    provider's megabytes (MiB); the stack file's validation already refused a size that is not whole MiB."""
    return ram_in_bytes(memory) // (1024 * 1024)
