"""What the edge declares, as plain data: zone settings in the Cloudflare API's own ids and values,
and the DNS records each proxy host needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

AUTO_TTL = 1  # Cloudflare's "automatic"; proxied records must use it
ORIGIN_CERTIFICATE_DAYS = 5475  # the longest validity Cloudflare's Origin CA issues (15 years)


@dataclass(frozen=True)
class ZoneSettings:
    ssl_mode: str  # off | flexible | full | strict
    always_use_https: bool
    min_tls_version: str  # "1.0" … "1.3"
    hsts_max_age: int | None = None  # None: HSTS left as the zone has it
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False


def zone_setting_values(settings: ZoneSettings) -> list[tuple[str, Any]]:
    """(setting id, value) pairs, one Cloudflare `ZoneSetting` each, as `PATCH /zones/:id/settings/:id` takes them."""
    values: list[tuple[str, Any]] = [
        ("ssl", settings.ssl_mode),
        ("always_use_https", "on" if settings.always_use_https else "off"),
        ("min_tls_version", settings.min_tls_version),
    ]
    if settings.hsts_max_age is not None:
        values.append(("security_header", {"strict_transport_security": {
            "enabled": True,
            "max_age": settings.hsts_max_age,
            "include_subdomains": settings.hsts_include_subdomains,
            "preload": settings.hsts_preload,
            "nosniff": True,
        }}))
    return values


@dataclass(frozen=True)
class RecordSpec:
    resource_name: str
    hostname: str
    type: str  # A | AAAA
    host: str  # the Berth host it points at


def record_specs(hostnames: list[str], hosts: list[tuple[str, bool]]) -> list[RecordSpec]:
    """One A record per proxy hostname and web host, plus AAAA where the host has IPv6.

    Several records of one name are how Cloudflare balances proxied traffic over several hosts.
    `hosts` is (host name, has IPv6) in the order the stack declares them.
    """
    specs = []
    for hostname in hostnames:
        for host, has_ipv6 in hosts:
            for kind in ("A", "AAAA") if has_ipv6 else ("A",):
                specs.append(RecordSpec(f"dns-{hostname}-{host}-{kind.lower()}", hostname, kind, host))
    return specs


WILDCARD_DNS = ("nip.io", "sslip.io")  # services that answer 1.2.3.4.nip.io with 1.2.3.4 themselves


def resolves_itself(hostname: str) -> bool:
    return any(hostname.endswith("." + suffix) for suffix in WILDCARD_DNS)


def manual_records(hostnames: list[str], addresses: dict[str, tuple[str, str | None]]) -> list[str]:
    """The records a user without `berth:dns` creates by hand: `name A ip` lines (nip.io needs none)."""
    lines = []
    for hostname in [h for h in hostnames if not resolves_itself(h)]:
        for ipv4, ipv6 in addresses.values():
            lines.append(f"{hostname} A {ipv4}")
            if ipv6:
                lines.append(f"{hostname} AAAA {ipv6}")
    return lines
