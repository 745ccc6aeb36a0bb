"""Hosts Berth does not create (Contabo, bare metal): reached over SSH at a configured address."""

from __future__ import annotations

import pulumi

from ..render.firewall import RuleSet
from .base import Cloud, HostSpec, Machine


class Existing(Cloud):
    provider = "existing"
    has_firewall = False
    creates_servers = False  # no user data reaches them: their host keys stay their own (trusted when first seen)

    def prepare(self, authorized_keys: list[str], parent: pulumi.Resource) -> None:
        return None

    def machine(self, spec: HostSpec, parent: pulumi.Resource,
                user_data: pulumi.Input[str] | None = None) -> Machine:
        return Machine(public_ipv4=pulumi.Output.from_input(spec.address), public_ipv6=None,
                       private_ipv4=None, server_id=None, volume_device=None)

    def firewall(self, rules: pulumi.Output[RuleSet], machines: list[Machine], parent: pulumi.Resource) -> None:
        return None  # the bootstrap script applies the same rules with ufw


CLOUD = Existing
