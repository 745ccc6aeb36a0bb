"""What every container Berth runs has in common: Kamal's mount syntax, log rotation, resource limits, and
declarations that read back from the Docker provider exactly as declared, so an unchanged `up` changes
nothing (docs/compatibility.md, "Docker provider")."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from .config import ContainerOptions, Logging, parse_mount
from .fields import docker_cpus, duration_seconds, go_duration
from .render.daemon import DaemonFacts, memory_swap_mb
from .render.release import memory_mb
from .sdk import docker

LOG_DRIVER = "json-file"
LOG_OPTIONS = {"max-size": "10m"}  # Kamal's default: a chatty app never fills the disk
# The daemon merges its own default log options (`log-opts` in /etc/docker/daemon.json, which Docker's docs
# recommend) into every container's, and the provider reads the merged set back into `log_opts`, which forces
# a new container: on such a host every `up` would replace every container, and an app container would meet
# its own name. So the diff ignores `log_opts`, and a label (labels force a new container too) carries
# Berth's own options, so that a change of them still takes effect.
IGNORED = ["logOpts"]
LOGGING = {"log_driver": LOG_DRIVER, "log_opts": LOG_OPTIONS}
LOGGING_LABEL = docker.ContainerLabelArgs(
    label="berth.log-opts", value=",".join(f"{k}={v}" for k, v in sorted(LOG_OPTIONS.items())))
# A container with a fixed name (kamal-proxy, an accessory) is replaced on any change the provider would
# otherwise apply in place, and after a create that left it unstarted. The Docker provider keeps a container
# whose start failed (a port already taken) in state as planned, with the engine's "initialization error";
# the next `up` finds no diff and runs an empty update that never starts it (terraform-provider-docker v4.5.0
# starts a container only when `must_run` goes from false to true), so the `up` would succeed with the proxy
# stopped. A "*" path makes the engine replace such a resource instead (pulumi v3.274.1 step_generator.go
# `applyReplaceOnChanges`: init errors count as a change to "*"). Any change also includes removing a memory
# limit, which the provider's update sends as 0 and Docker reads as "unchanged".
REPLACE_ON_ANY_CHANGE = ["*"]


@dataclass(frozen=True)
class Logs:
    args: dict  # log_driver and log_opts, as the Container's arguments
    label: docker.ContainerLabelArgs


def logging(declared: Logging | None = None) -> Logs:
    """A container's log driver and options, and the `berth.log-opts` label that carries exactly what was
    declared: the provider's diff ignores `logOpts` (IGNORED, above), so the label, which forces a new
    container, is what makes a change of them take effect (on a replacement the engine creates the container
    from the program's new inputs). Nothing declared is Berth's default, the same inputs and label as before
    the stack file had `logging`, so an upgrade replaces no container. A declared driver is passed as it is;
    options without a driver leave the driver to the daemon, as Kamal's `--log-opt` alone does."""
    if declared is None or not declared.declared:
        return Logs(LOGGING, LOGGING_LABEL)
    options = dict(sorted(declared.options.items()))
    label = [f"log-driver={declared.driver}"] if declared.driver else []
    label += [f"{key}={value}" for key, value in options.items()]
    return Logs({"log_driver": declared.driver, "log_opts": options or None},
                docker.ContainerLabelArgs(label=LOGGING_LABEL.label, value=",".join(label)))


# Docker stops a container with SIGTERM and kills it after this many seconds. The provider's own default
# is 0 (an immediate kill): Postgres would need crash recovery, Litestream would lose its last sync.
STOP_SECONDS = 30


def volume(mount: str) -> docker.ContainerVolumeArgs:
    """`source:target[:ro]`: an absolute source is a host path, anything else a named Docker volume."""
    m = parse_mount(mount)
    source = {"host_path": m.source} if m.is_host_path else {"volume_name": m.source}
    return docker.ContainerVolumeArgs(container_path=m.target, read_only=m.read_only or None, **source)


def limits(options: ContainerOptions, daemon: pulumi.Output[DaemonFacts]) -> dict:
    """`options: {memory: 512m, cpus: 1}` as the Docker provider's arguments; the swap the daemon would
    give the memory limit is declared with it (render/daemon.py)."""
    memory = memory_mb(options.memory) if options.memory else None
    return {"memory": memory,
            "memory_swap": daemon.apply(lambda facts: memory_swap_mb(memory, facts)) if memory else None,
            "cpus": docker_cpus(options.cpus) if options.cpus else None}


def identity_and_hosts(options: ContainerOptions) -> dict:
    """`--user`, `--group-add` and `--add-host` as the Docker provider's `user`, `group_adds` and `hosts`
    (all ForceNew; unset stays unset, so the image's own user is kept)."""
    hosts = [docker.ContainerHostArgs(host=name, ip=ip) for name, _, ip in (h.partition(":") for h in options.add_host)]
    return {"user": options.user, "group_adds": list(options.group_add) or None, "hosts": hosts or None}


def healthcheck(tests: list[str], interval: str, timeout: str, retries: int) -> docker.ContainerHealthcheckArgs:
    """Every field the Docker provider reads back, in the form it reads it back in (Go durations), so
    an unchanged container never shows a diff (and a diff would replace it)."""
    return docker.ContainerHealthcheckArgs(
        tests=tests, interval=go_duration(duration_seconds(interval)), timeout=go_duration(duration_seconds(timeout)),
        start_period="0s", start_interval="0s", retries=retries)
