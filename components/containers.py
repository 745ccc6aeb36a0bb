"""What every container Berth runs has in common: Kamal's mount syntax, log rotation, resource limits."""

from __future__ import annotations

from .config import ContainerOptions, parse_mount
from .fields import docker_cpus, duration_seconds, go_duration
from .render.release import memory_mb
from .sdk import docker

LOG_DRIVER = "json-file"
LOG_OPTIONS = {"max-size": "10m"}  # Kamal's default: a chatty app never fills the disk


def volume(mount: str) -> docker.ContainerVolumeArgs:
    """`source:target[:ro]`: an absolute source is a host path, anything else a named Docker volume."""
    m = parse_mount(mount)
    source = {"host_path": m.source} if m.is_host_path else {"volume_name": m.source}
    return docker.ContainerVolumeArgs(container_path=m.target, read_only=m.read_only or None, **source)


def limits(options: ContainerOptions) -> dict:
    """`options: {memory: 512m, cpus: 1}` as the Docker provider's arguments."""
    return {"memory": memory_mb(options.memory) if options.memory else None,
            "cpus": docker_cpus(options.cpus) if options.cpus else None}


def healthcheck(tests: list[str], interval: str, timeout: str, retries: int) -> docker.ContainerHealthcheckArgs:
    """Every field the Docker provider reads back, in the form it reads it back in (Go durations), so
    an unchanged container never shows a diff (and a diff would replace it)."""
    return docker.ContainerHealthcheckArgs(
        tests=tests, interval=go_duration(duration_seconds(interval)), timeout=go_duration(duration_seconds(timeout)),
        start_period="0s", start_interval="0s", retries=retries)
