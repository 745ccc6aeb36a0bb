"""The one interface every cloud implements, so the Host component never asks which cloud it is on."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import pulumi

from ..render.firewall import RuleSet


@dataclass(frozen=True)
class HostSpec:
    """One host as the stack file describes it; pure data, built by `components.hosts.host_specs`."""

    name: str  # <service>-<role>-<n>
    role: str
    index: int
    region: str | None
    size: str | None
    os_image: str | None
    tags: tuple[str, ...]
    volume_gb: int | None
    address: str | None = None  # existing hosts only
    user_data: str | None = None  # cloud-init for a new cloud host (render/cloudinit.py)


@dataclass
class Machine:
    """What a cloud hands back for a host: where to reach it and what must exist before bootstrap."""

    public_ipv4: pulumi.Output[str]
    public_ipv6: pulumi.Output[str] | None
    private_ipv4: pulumi.Output[str] | None
    server_id: pulumi.Output[str] | None
    volume_device: pulumi.Output[str] | None
    ready_after: list[pulumi.Resource] = field(default_factory=list)


def stateful(parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
    """Data that must outlive a mistaken `pulumi destroy` or a renamed resource."""
    return pulumi.ResourceOptions(parent=parent, protect=True, retain_on_delete=True, **kwargs)


class Cloud(ABC):
    """Shared resources (keys, network), one machine per host, one firewall over all of them."""

    provider: str
    has_firewall: bool = True  # False: the bootstrap sets up a host firewall instead

    def __init__(self, service: str, stack: str, region: str | None):
        self.service = service
        self.stack = stack
        self.region = region

    @property
    def group_tag(self) -> str:
        """Marks exactly this stack's hosts (two stacks of one service never share a firewall)."""
        return f"berth-{self.service}-{self.stack}"

    @abstractmethod
    def prepare(self, authorized_keys: list[str], parent: pulumi.Resource) -> None: ...

    @abstractmethod
    def machine(self, spec: HostSpec, parent: pulumi.Resource) -> Machine: ...

    @abstractmethod
    def firewall(self, rules: pulumi.Output[RuleSet], machines: list[Machine], parent: pulumi.Resource) -> None: ...

    @property
    def network_id(self) -> pulumi.Output[str] | None:
        """The private network hosts share (DigitalOcean's VPC), for a database in the same network."""
        return None


def cloud_for(provider: str, service: str, stack: str, region: str | None) -> Cloud:
    """Import only the SDK of the cloud in use: a Hetzner stack never loads DigitalOcean's."""
    module = importlib.import_module(f"{__package__}.{provider}")
    return module.CLOUD(service, stack, region)
