"""Berth's policies as plain functions over one declared resource (or all of them).

The policy pack (`__main__.py`, run by `pulumi preview --policy-pack policy`) and the offline plan
(`make plan`) call the same functions, so a reviewer sees the same verdicts with or without the CLI.
No import of pulumi_policy here: the plan must not need it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

WORLD = {"0.0.0.0/0", "::/0"}
WEB_PORTS = {"80", "443"}
STATEFUL_TYPES = frozenset({
    "digitalocean:index/volume:Volume", "digitalocean:index/reservedIp:ReservedIp",
    "digitalocean:index/databaseCluster:DatabaseCluster", "digitalocean:index/databaseDb:DatabaseDb",
    "digitalocean:index/spacesBucket:SpacesBucket", "hcloud:index/volume:Volume", "hcloud:index/primaryIp:PrimaryIp",
})
# NAME=value on a command line, where NAME says it is a credential and value is not a variable reference.
_CREDENTIAL_ON_COMMAND_LINE = re.compile(
    r"(?i)(\b[A-Z0-9_]*(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|ACCESS_KEY|API_KEY|MASTER_KEY)[A-Z0-9_]*=(?![\"']?\$)\S+"
    r"|--password[= ](?!-)\S+)")


@dataclass(frozen=True)
class Resource:
    """What a rule sees: the resource's type and name, its inputs (plain values) and its options."""

    type: str
    name: str
    props: dict[str, Any]
    protect: bool = False
    labels: dict[str, str] = field(default_factory=dict)


def _firewall_rules(r: Resource) -> list[tuple[str, list[str]]]:
    """(port, sources) of every inbound rule, for DigitalOcean's and Hetzner's firewall shapes."""
    if r.type == "digitalocean:index/firewall:Firewall":
        return [(str(rule.get("portRange")), list(rule.get("sourceAddresses") or []))
                for rule in r.props.get("inboundRules") or []]
    if r.type == "hcloud:index/firewall:Firewall":
        return [(str(rule.get("port")), list(rule.get("sourceIps") or []))
                for rule in r.props.get("rules") or [] if rule.get("direction") == "in"]
    return []


def ssh_not_open_to_world(r: Resource) -> list[str]:
    """Only 80 and 443 may face the whole internet; SSH and anything else answer known sources only."""
    return [f"{r.name} opens port {port} to the whole internet"
            for port, sources in _firewall_rules(r) if port not in WEB_PORTS and WORLD & set(sources)]


def no_public_accessory_ports(r: Resource) -> list[str]:
    if r.type != "docker:index/container:Container":
        return []
    labels = {label.get("label"): label.get("value") for label in r.props.get("labels") or []}
    if "accessory" not in labels:
        return []
    return [f"{r.name} publishes port {port.get('external')} on {port.get('ip') or '0.0.0.0'}"
            for port in r.props.get("ports") or [] if (port.get("ip") or "0.0.0.0") in ("0.0.0.0", "::")]


def stateful_resources_protected(r: Resource) -> list[str]:
    if r.type in STATEFUL_TYPES and not r.protect:
        return [f"{r.name} ({r.type.split(':')[-1]}) holds data but is not protected"]
    return []


def tls_not_off_behind_cloudflare(r: Resource) -> list[str]:
    if r.type == "cloudflare:index/zoneSetting:ZoneSetting" and r.props.get("settingId") == "ssl" \
            and r.props.get("value") in ("off", "flexible"):
        return [f"{r.name} sets Cloudflare SSL mode {r.props.get('value')}: traffic to the origin is not encrypted"]
    return []


def no_secret_on_a_command_line(r: Resource) -> list[str]:
    """Secrets reach hosts on stdin or as secret container env, never in a command's text."""
    texts = []
    if r.type == "command:remote:Command":
        texts = [r.props.get(key) for key in ("create", "update", "delete")]
    elif r.type == "docker:index/container:Container":
        texts = [" ".join(r.props.get("command") or [])]
    return [f"{r.name} carries a credential on its command line"
            for text in texts if isinstance(text, str) and _CREDENTIAL_ON_COMMAND_LINE.search(text)]


RESOURCE_RULES: dict[str, Callable[[Resource], list[str]]] = {
    "ssh-not-open-to-world": ssh_not_open_to_world,
    "no-public-accessory-ports": no_public_accessory_ports,
    "stateful-resources-protected": stateful_resources_protected,
    "tls-not-off-behind-cloudflare": tls_not_off_behind_cloudflare,
    "no-secret-on-a-command-line": no_secret_on_a_command_line,
}


def database_trusted_sources_set(resources: Iterable[Resource]) -> list[str]:
    """A managed database accepts connections only from listed sources; an empty list means nobody is vetted."""
    resources = list(resources)
    clusters = [r for r in resources if r.type == "digitalocean:index/databaseCluster:DatabaseCluster"]
    firewalls = [r for r in resources if r.type == "digitalocean:index/databaseFirewall:DatabaseFirewall"
                 and r.props.get("rules")]
    if clusters and len(firewalls) < len(clusters):
        return [f"{c.name} has no trusted sources (DatabaseFirewall with rules)" for c in clusters[len(firewalls):]]
    return []


STACK_RULES: dict[str, Callable[[Iterable[Resource]], list[str]]] = {
    "database-trusted-sources-set": database_trusted_sources_set,
}


def check(resources: Iterable[Resource]) -> list[tuple[str, str]]:
    """(policy name, violation) for every rule over every resource: what the plan prints."""
    resources = list(resources)
    found = [(name, message) for r in resources for name, rule in RESOURCE_RULES.items() for message in rule(r)]
    found += [(name, message) for name, rule in STACK_RULES.items() for message in rule(resources)]
    return found
