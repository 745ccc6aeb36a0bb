"""The one interface every cloud implements, so the Host component never asks which cloud it is on."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import pulumi

from ..render.cloudinit import CloudInit
from ..render.firewall import RuleSet
from ..sdk import random
from .keys import AccountKey, KeyPlan, plan_keys
from .names import GENERATION_BYTES, Names


@dataclass(frozen=True)
class HostSpec:
    """One host as the stack file describes it; pure data, built by `components.hosts.host_specs`."""

    name: str  # <service>-<role>-<n>: the resources' names in the stack (clouds name them with the stack too)
    role: str  # the role that has the machine (layout.py)
    roles: tuple[str, ...]  # every role it runs, `role` first
    index: int
    region: str | None
    size: str | None
    os_image: str | None
    tags: tuple[str, ...]
    volume_gb: int | None
    address: str | None = None  # existing hosts only
    cloud_init: CloudInit | None = None  # what a new cloud host's user data sets up (render/cloudinit.py)

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass
class Machine:
    """What a cloud hands back for a host: where to reach it and what must exist before bootstrap."""

    public_ipv4: pulumi.Output[str]
    public_ipv6: pulumi.Output[str] | None
    private_ipv4: pulumi.Output[str] | None
    server_id: pulumi.Output[str] | None
    volume_device: pulumi.Output[str] | None
    ready_after: list[pulumi.Resource] = field(default_factory=list)
    server_urn: pulumi.Output[str] | None = None  # a server Berth created (what `pulumi up --replace` takes)
    # What the provider kept of the user data the server was created with (a hash: `Cloud.user_data_state`).
    user_data_state: pulumi.Output[str | None] | None = None
    # The size the cloud reports (a droplet's size slug, a server's type): a resize is applied in place.
    size: pulumi.Output[str] | None = None


def stateful(parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
    """Data that must outlive a mistaken `pulumi destroy` or a renamed resource."""
    return pulumi.ResourceOptions(parent=parent, protect=True, retain_on_delete=True, **kwargs)


def server_options(parent: pulumi.Resource, ignore_changes: list[str]) -> pulumi.ResourceOptions:
    """A server is replaced delete-first (`pulumi up --replace <server>`, a changed size on Hetzner): its volume
    and its kept IP attach to one server at a time, and its name is taken while it exists. (The bridge would
    delete first anyway for a name the program sets, `nameRequiresDeleteBeforeReplace`; this does not rely on
    it.) A new image, key list or user data must never rebuild a running host: the bootstrap adapts it."""
    return pulumi.ResourceOptions(parent=parent, delete_before_replace=True,
                                  ignore_changes=["image", "sshKeys", "userData", *ignore_changes])


# A name that changed with this version (the stack, the generation) is applied to what a stack creates
# from now on; what it already created keeps the name it has, which Pulumi reads from the state.
KEEP_NAME = ["name"]


class Cloud(ABC):
    """Shared resources (keys, network), one machine per host, one firewall over all of them."""

    provider: str
    has_firewall: bool = True  # False: the bootstrap sets up a host firewall instead
    creates_servers: bool = True  # False: hosts that exist already, which get no user data (and no pinned key)

    def __init__(self, service: str, stack: str, region: str | None):
        self.service = service
        self.stack = stack
        self.region = region
        self.names = Names(service, stack)

    @property
    def group_tag(self) -> str:
        return self.names.tag

    @abstractmethod
    def prepare(self, authorized_keys: list[str], parent: pulumi.Resource) -> None: ...

    @abstractmethod
    def machine(self, spec: HostSpec, parent: pulumi.Resource,
                user_data: pulumi.Input[str] | None = None) -> Machine: ...

    @staticmethod
    def user_data_state(user_data: str) -> str:
        """What the cloud's Terraform provider keeps in state for the user data a server was created with (its
        `user_data` StateFunc), which the server's `userData` output then shows."""
        raise NotImplementedError

    @abstractmethod
    def firewall(self, rules: pulumi.Output[RuleSet], machines: list[Machine], parent: pulumi.Resource) -> None: ...

    @property
    def network_id(self) -> pulumi.Output[str] | None:
        """The private network hosts share (DigitalOcean's VPC), for a database in the same network."""
        return None


class AccountCloud(Cloud):
    """A cloud Berth creates servers in, inside an account (DigitalOcean) or project (Hetzner) that other
    stacks and people share: SSH keys that may already be there, names that must not collide."""

    def prepare(self, authorized_keys: list[str], parent: pulumi.Resource) -> None:
        self.parent = parent
        self._generation: random.RandomId | None = None
        self.ssh_keys = [self._key(plan, parent) for plan in plan_keys(self.names, authorized_keys, self._account())]
        self.prepare_network(parent)

    def prepare_network(self, parent: pulumi.Resource) -> None:
        return None

    def kept_name(self, spec: HostSpec, kind: str) -> pulumi.Output[str]:
        """The name of a resource that outlives the stack; its generation is drawn once, when the stack first
        declares such a resource."""
        if self._generation is None:
            self._generation = random.RandomId(f"{self.service}-generation", byte_length=GENERATION_BYTES,
                                               opts=pulumi.ResourceOptions(parent=self.parent))
        return self._generation.hex.apply(lambda generation: self.names.kept(spec.role, spec.number, kind, generation))

    def _account(self) -> list[AccountKey]:
        try:
            return self.account_keys()
        except Exception as error:  # an invoke that failed: no credentials, most often
            if pulumi.runtime.is_dry_run():
                pulumi.log.warn(f"could not list the SSH keys in the {self.provider} account ({error}); this "
                                "preview assumes none of berth:ssh.authorizedKeys is there yet")
                return []
            raise pulumi.RunError(f"could not list the SSH keys in the {self.provider} account: {error}") from None

    def _key(self, plan: KeyPlan, parent: pulumi.Resource) -> pulumi.Input[str]:
        if plan.existing is not None and not plan.owned:
            return self.key_reference(plan.existing)
        return self.declare_key(plan, pulumi.ResourceOptions(
            parent=parent, aliases=[pulumi.Alias(name=plan.legacy_logical)], import_=plan.import_id,
            # The key material was matched above; a changed comment must not replace the key, which the
            # cloud would refuse as a duplicate while the old one still exists.
            ignore_changes=["publicKey"]))

    @abstractmethod
    def account_keys(self) -> list[AccountKey]:
        """The SSH keys already in the account (the provider's getSshKeys invoke)."""

    @abstractmethod
    def declare_key(self, plan: KeyPlan, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """The key as a resource of this stack; returns how a new server refers to it."""

    @abstractmethod
    def key_reference(self, key: AccountKey) -> str:
        """How a new server refers to a key the account already has."""


def cloud_for(provider: str, service: str, stack: str, region: str | None) -> Cloud:
    """Import only the SDK of the cloud in use: a Hetzner stack never loads DigitalOcean's."""
    module = importlib.import_module(f"{__package__}.{provider}")
    return module.CLOUD(service, stack, region)
