"""What the clouds sell: the region, size and price facts validation and the plan rely on.

One dated table, so that a typo in a size slug is caught before `pulumi up` and the plan can put a
price on it. A size the table does not know is refused rather than guessed at; adding a row here is
the fix. Prices are monthly list prices without VAT; re-check them against the providers' pricing pages
when PRICES_CHECKED grows old.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_CHECKED = "2026-11-01"


@dataclass(frozen=True)
class Price:
    amount: float
    currency: str  # "USD" (DigitalOcean) or "EUR" (Hetzner)


DIGITALOCEAN_REGIONS = (
    "nyc1", "nyc2", "nyc3", "sfo1", "sfo2", "sfo3", "ams3", "sgp1", "lon1",
    "fra1", "tor1", "blr1", "syd1", "atl1",
)
# Spaces (object storage) runs in fewer regions than droplets.
SPACES_REGIONS = ("nyc3", "sfo2", "sfo3", "ams3", "sgp1", "fra1", "syd1", "blr1", "lon1", "tor1", "atl1")

HETZNER_LOCATIONS = ("fsn1", "nbg1", "hel1", "ash", "hil", "sin")

DIGITALOCEAN_SIZES: dict[str, float] = {
    "s-1vcpu-512mb-10gb": 4.0,
    "s-1vcpu-1gb": 6.0,
    "s-1vcpu-1gb-amd": 7.0,
    "s-1vcpu-1gb-intel": 7.0,
    "s-1vcpu-2gb": 12.0,
    "s-1vcpu-2gb-amd": 14.0,
    "s-1vcpu-2gb-intel": 14.0,
    "s-2vcpu-2gb": 18.0,
    "s-2vcpu-2gb-amd": 21.0,
    "s-2vcpu-2gb-intel": 21.0,
    "s-2vcpu-4gb": 24.0,
    "s-2vcpu-4gb-amd": 28.0,
    "s-2vcpu-4gb-intel": 28.0,
    "s-2vcpu-8gb-amd": 42.0,
    "s-4vcpu-8gb": 48.0,
    "s-4vcpu-8gb-amd": 56.0,
    "s-4vcpu-8gb-intel": 56.0,
    "s-4vcpu-16gb-amd": 84.0,
    "s-8vcpu-16gb": 96.0,
    "s-8vcpu-16gb-amd": 112.0,
    "c-2": 42.0,
    "c-4": 84.0,
    "c-8": 168.0,
    "g-2vcpu-8gb": 63.0,
    "g-4vcpu-16gb": 126.0,
    "m-2vcpu-16gb": 84.0,
    "m-4vcpu-32gb": 168.0,
}

HETZNER_SERVER_TYPES: dict[str, float] = {
    "cx22": 3.79, "cx32": 6.80, "cx42": 16.40, "cx52": 32.40,
    "cx23": 3.49, "cx33": 5.49, "cx43": 9.49, "cx53": 17.49,
    "cpx11": 4.35, "cpx21": 7.55, "cpx31": 13.60, "cpx41": 25.20, "cpx51": 54.90,
    "cpx12": 6.49, "cpx22": 7.99, "cpx32": 13.99, "cpx42": 25.49, "cpx52": 35.49, "cpx62": 49.49,
    "cax11": 3.79, "cax21": 6.49, "cax31": 12.49, "cax41": 24.49,
    "ccx13": 12.49, "ccx23": 24.49, "ccx33": 48.49, "ccx43": 96.49, "ccx53": 192.49, "ccx63": 288.49,
}

# Managed PostgreSQL, price per node.
DIGITALOCEAN_DATABASE_SIZES: dict[str, float] = {
    "db-s-1vcpu-1gb": 15.0,
    "db-s-1vcpu-2gb": 30.0,
    "db-s-2vcpu-4gb": 60.0,
    "db-s-4vcpu-8gb": 120.0,
    "db-s-6vcpu-16gb": 240.0,
    "db-s-8vcpu-32gb": 480.0,
}
# The smallest plan runs one node only (no standby).
SINGLE_NODE_DATABASE_SIZES = ("db-s-1vcpu-1gb",)
DATABASE_ENGINE_VERSIONS = {"pg": ("14", "15", "16", "17", "18")}

DIGITALOCEAN_VOLUME_PER_GB = 0.10
HETZNER_VOLUME_PER_GB = 0.044
HETZNER_PRIMARY_IPV4 = 0.50
SPACES_SUBSCRIPTION = 5.0  # 250 GiB storage and 1 TiB transfer included
DIGITALOCEAN_RESERVED_IP_ASSIGNED = 0.0

DEFAULT_SIZES = {"digitalocean": "s-1vcpu-2gb", "hetzner": "cx22"}
DEFAULT_OS_IMAGES = {"digitalocean": "ubuntu-24-04-x64", "hetzner": "ubuntu-24.04"}

# Memory per size in MiB, for the bootstrap's "swap under 2 GB" rule.
_MEMORY_HINTS = {"512mb": 512, "1gb": 1024, "2gb": 2048, "4gb": 4096, "8gb": 8192, "16gb": 16384, "32gb": 32768}
HETZNER_MEMORY_MB = {
    "cx22": 4096, "cx23": 4096, "cpx11": 2048, "cax11": 4096, "cpx12": 2048,
}


def memory_mb(provider: str, size: str | None) -> int | None:
    """Best-known RAM for a size, or None when the table cannot tell (existing hosts)."""
    if size is None:
        return None
    if provider == "digitalocean":
        for part in size.split("-"):
            if part in _MEMORY_HINTS:
                return _MEMORY_HINTS[part]
        return None
    if provider == "hetzner":
        return HETZNER_MEMORY_MB.get(size, 8192)
    return None
