"""Cloudflare as Berth declares it: three resources and two functions, sent to the engine exactly as
pulumi_cloudflare's own classes send them, without loading that SDK's types.

Why: each of the SDK's resource and function modules imports the package's `_inputs` and `outputs`, the types
of the whole Cloudflare API (12 MB of source, 15 MB compiled). Loading them took 0.46 s of Python before a
program behind Cloudflare could declare anything (on this project's machine, issue 26: a rollback's median went
from 3.12 s to 2.80 s without them), for a handful of plain properties.

What the engine receives is what the SDK's classes send (pulumi_cloudflare 6.23.1, `dns_record.py`,
`zone_setting.py`, `origin_ca_certificate.py`, `get_zone.py`, `get_ip_ranges.py`): the type or function token,
the wire names of the properties, the alias `DnsRecord` carries from the provider's v5 name, and the plugin
version, read by the SDK's own `_utilities` (the one module of it loaded here), so state, URNs and the plugin
the engine starts are unchanged. tests/test_cloudflare.py holds each of these against the installed SDK's
source, and tests/test_stacks.py checks every input of every shipped stack against the SDK's annotated Args.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import pulumi

from .sdk import deferred

PACKAGE = "pulumi_cloudflare"
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
DNS_RECORD_V5 = "cloudflare:index/record:Record"  # the SDK's alias: records made before v6 keep their URN
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
ORIGIN_CA_CERTIFICATE = "cloudflare:index/originCaCertificate:OriginCaCertificate"
GET_ZONE = "cloudflare:index/getZone:getZone"
GET_IP_RANGES = "cloudflare:index/getIpRanges:getIpRanges"


@functools.cache
def plugin_version() -> str:
    """The plugin version the SDK's classes ask the engine for: `_utilities.get_version()`, the distribution's
    version as semver."""
    deferred(PACKAGE)
    return importlib.import_module(f"{PACKAGE}._utilities").get_version()


def _options(opts: pulumi.ResourceOptions | None, *aliases: pulumi.Alias) -> pulumi.ResourceOptions:
    """As the SDK merges them: its defaults, then the caller's options, then its aliases."""
    merged = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(version=plugin_version()), opts)
    return pulumi.ResourceOptions.merge(merged, pulumi.ResourceOptions(aliases=list(aliases))) if aliases else merged


class DnsRecord(pulumi.CustomResource):
    """A record in the zone."""

    def __init__(self, resource_name: str, *, zone_id: pulumi.Input[str], name: str, type: str,
                 content: pulumi.Input[str], proxied: bool, ttl: int, comment: str,
                 opts: pulumi.ResourceOptions | None = None):
        props = {"zoneId": zone_id, "name": name, "type": type, "content": content, "proxied": proxied, "ttl": ttl,
                 "comment": comment}
        super().__init__(DNS_RECORD, resource_name, props, _options(opts, pulumi.Alias(type_=DNS_RECORD_V5)))


class ZoneSetting(pulumi.CustomResource):
    """One zone setting, `value` as `PATCH /zones/:id/settings/:id` takes it."""

    def __init__(self, resource_name: str, *, zone_id: pulumi.Input[str], setting_id: str, value: Any,
                 opts: pulumi.ResourceOptions | None = None):
        props = {"zoneId": zone_id, "settingId": setting_id, "value": value}
        super().__init__(ZONE_SETTING, resource_name, props, _options(opts))


class OriginCaCertificate(pulumi.CustomResource):
    """A certificate signed by Cloudflare's Origin CA for a CSR made elsewhere."""

    certificate: pulumi.Output[str]

    def __init__(self, resource_name: str, *, csr: pulumi.Input[str], hostnames: list[str], request_type: str,
                 requested_validity: int, opts: pulumi.ResourceOptions | None = None):
        props = {"csr": csr, "hostnames": hostnames, "requestType": request_type,
                 "requestedValidity": requested_validity, "certificate": None}  # None: an output, read back
        super().__init__(ORIGIN_CA_CERTIFICATE, resource_name, props, _options(opts))


def _invoke(token: str, args: dict[str, Any], opts: pulumi.InvokeOutputOptions | None) -> pulumi.Output[dict]:
    defaults = pulumi.InvokeOutputOptions(version=plugin_version())
    return pulumi.runtime.invoke_output(token, args, opts=pulumi.InvokeOutputOptions.merge(defaults, opts))


def zone_id(name: str, opts: pulumi.InvokeOutputOptions | None = None) -> pulumi.Output[str]:
    """The id of the zone named `name` (`getZone` with `filter: {match: all, name}`)."""
    return _invoke(GET_ZONE, {"filter": {"match": "all", "name": name}}, opts).apply(lambda zone: zone["id"])


def ip_ranges(opts: pulumi.InvokeOutputOptions | None = None) -> pulumi.Output[tuple[list[str], list[str]]]:
    """Cloudflare's edge ranges (`getIpRanges`): IPv4 and IPv6, each empty when the API gives none."""
    return _invoke(GET_IP_RANGES, {}, opts).apply(
        lambda ranges: (list(ranges.get("ipv4Cidrs") or []), list(ranges.get("ipv6Cidrs") or [])))
