"""The Accessory component's typed args: what the stack file's section becomes, and what a preset completes.

Its own module so that presets (which complete the args) and the component (which consumes them) both
depend on it and not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from .config import ContainerOptions, Logging
from .hosts import Host
from .render import accessory as text
from .render.release import RunSpec


@dataclass
class AccessoryArgs:
    service: str
    name: str
    host: Host
    image: str
    command: list[str] | None
    env_clear: dict[str, str]
    env_secret: dict[str, pulumi.Output[str]]
    files: list[text.HostFile]
    file_secrets: dict[str, pulumi.Output[str]]  # the berth:secrets the files refer to
    directories: list[tuple[str, str]]  # (host path, container path)
    volumes: list[str]  # Kamal syntax
    publish: tuple[str, int, int] | None = None  # (ip, host port, container port)
    options: ContainerOptions = field(default_factory=ContainerOptions)
    logging: Logging | None = None  # berth:logging (Kamal's accessories log as the root section says)
    healthcheck: list[str] | None = None  # wait for healthy before dependants start
    runs_before_start: list[RunSpec] = field(default_factory=list)  # one-off runs of the image (a restore)
    depends_on: list[pulumi.Resource] = field(default_factory=list)
