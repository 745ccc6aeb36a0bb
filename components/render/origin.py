"""Cloudflare's published edge ranges: the offline stand-in for its API's list (pure data, no SDK)."""

from __future__ import annotations

# Cloudflare's published ranges (https://www.cloudflare.com/ips/), the fallback when the API is silent.
CLOUDFLARE_IPV4 = (
    "173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22", "141.101.64.0/18",
    "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20", "197.234.240.0/22", "198.41.128.0/17",
    "162.158.0.0/15", "104.16.0.0/13", "104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
)
CLOUDFLARE_IPV6 = (
    "2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32", "2405:8100::/32",
    "2a06:98c0::/29", "2c0f:f248::/32",
)


def cloudflare_ranges(ipv4: list[str] | None, ipv6: list[str] | None) -> list[str]:
    """The API's answer in a stable order, or the published list when the API gave none."""
    if not ipv4 and not ipv6:
        return list(CLOUDFLARE_IPV4 + CLOUDFLARE_IPV6)
    return sorted(ipv4 or []) + sorted(ipv6 or [])
