"""What the clouds sell: the region, size and price facts validation and the plan rely on.

One dated table, so that a typo in a size slug is caught before `pulumi up` and the plan can put a
price on it. A size the table does not know is refused rather than guessed at; adding a row here is
the fix. Prices are monthly list prices without VAT; re-check them against the providers' pricing pages
when PRICES_CHECKED grows old.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_CHECKED = "2026-11-01"  # DigitalOcean's list prices
PRICE_NOTES = {
    "digitalocean": f"DigitalOcean list prices as of {PRICES_CHECKED}, before tax",
    "hetzner": "Hetzner: cx23 and cx33 as billed after the change of 2026-04-01, other types at their launch "
               "prices (re-check on hetzner.com), before VAT",
}


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

@dataclass(frozen=True)
class ServerType:
    price: float  # EUR per month, without VAT
    memory_mb: int
    locations: tuple[str, ...]  # where it can be ordered; availability is per location
    retired_in: tuple[str, ...] = ()  # where it was sold and no longer is: servers keep running, new ones are refused


EU = ("fsn1", "nbg1", "hel1")
EVERYWHERE = EU + ("ash", "hil", "sin")
US = ("ash", "hil")
# Hetzner retired CX22-CX52 and, outside Ashburn and Hillsboro, CPX11-CPX51 (deprecated 2025-10-16): servers
# that run on them keep running, ordering one is answered "server type not found". Their successors:
SUCCESSORS = {"cx22": "cx23", "cx32": "cx33", "cx42": "cx43", "cx52": "cx53", "cpx11": "cpx12", "cpx21": "cpx22",
              "cpx31": "cpx32", "cpx41": "cpx42", "cpx51": "cpx52"}
# Prices: cx23 and cx33 as billed after Hetzner's change of 2026-04-01 (a bill published 2026-04-15); the
# others are the list prices of their launch and may now be 10-20% low. Re-check them on hetzner.com.
HETZNER_SERVER_TYPES: dict[str, ServerType] = {
    "cx23": ServerType(3.99, 4096, EU), "cx33": ServerType(6.49, 8192, EU),
    "cx43": ServerType(9.49, 16384, EU), "cx53": ServerType(17.49, 32768, EU),
    "cpx12": ServerType(6.49, 2048, EVERYWHERE), "cpx22": ServerType(7.99, 4096, EVERYWHERE),
    "cpx32": ServerType(13.99, 8192, EVERYWHERE), "cpx42": ServerType(25.49, 16384, EVERYWHERE),
    "cpx52": ServerType(35.49, 24576, EVERYWHERE), "cpx62": ServerType(49.49, 32768, EVERYWHERE),
    "cpx11": ServerType(4.35, 2048, US, EU + ("sin",)), "cpx21": ServerType(7.55, 4096, US, EU + ("sin",)),
    "cpx31": ServerType(13.60, 8192, US, EU + ("sin",)), "cpx41": ServerType(25.20, 16384, US, EU + ("sin",)),
    "cpx51": ServerType(54.90, 32768, US, EU + ("sin",)),
    "cx22": ServerType(3.79, 4096, (), EU), "cx32": ServerType(6.80, 8192, (), EU),
    "cx42": ServerType(16.40, 16384, (), EU), "cx52": ServerType(32.40, 32768, (), EU),
    "cax11": ServerType(3.79, 4096, EU), "cax21": ServerType(6.49, 8192, EU), "cax31": ServerType(12.49, 16384, EU),
    "cax41": ServerType(24.49, 32768, EU),
    "ccx13": ServerType(12.49, 8192, EVERYWHERE), "ccx23": ServerType(24.49, 16384, EVERYWHERE),
    "ccx33": ServerType(48.49, 32768, EVERYWHERE), "ccx43": ServerType(96.49, 65536, EVERYWHERE),
    "ccx53": ServerType(192.49, 131072, EVERYWHERE), "ccx63": ServerType(288.49, 196608, EVERYWHERE),
}


def hetzner_default(location: str | None) -> str:
    """Intel CX where Hetzner sells it (Europe), AMD CPX elsewhere."""
    return "cx23" if location in EU or location is None else "cpx22"


def _successor(server_type: str, location: str | None) -> str:
    successor = SUCCESSORS.get(server_type)
    if successor is None or (location is not None and location not in HETZNER_SERVER_TYPES[successor].locations):
        return hetzner_default(location)
    return successor


def hetzner_problem(server_type: str, location: str | None) -> str | None:
    """Why a server type can never run in a location, with what to use instead; None when it can (retired
    types included: Hetzner keeps their servers, see `hetzner_retirement`). A location Hetzner does not have is
    judged like none: that is the location's problem, not the type's."""
    if location not in HETZNER_LOCATIONS:
        location = None
    known = HETZNER_SERVER_TYPES.get(server_type)
    if known is not None and (location is None or location in known.locations + known.retired_in):
        return None
    successor = _successor(server_type, location)
    if known is not None:
        return f"{server_type!r} is not sold in {location}; use {successor}"
    return (f"{server_type!r} is not a Hetzner server type this version knows; use {successor} (add new ones to "
            "components/catalog.py)")


def hetzner_retirement(server_type: str, location: str | None) -> str | None:
    """A server type retired where the stack is: its running servers stay, a new one is refused by the API."""
    known = HETZNER_SERVER_TYPES.get(server_type)
    if known is None or location not in known.retired_in:
        return None
    return (f"{server_type} is retired in {location}: servers that run on it keep running, but Hetzner refuses to "
            f"create one (\"server type not found\"), so a new or replaced host of this role fails. Its successor "
            f"is {_successor(server_type, location)}; changing the size resizes a running server in place, and Hetzner "
            "leaves it powered off: power it on (`hcloud server poweron`, or the console), then `pulumi up` again")


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

DEFAULT_DROPLET = "s-1vcpu-2gb"
DEFAULT_OS_IMAGES = {"digitalocean": "ubuntu-24-04-x64", "hetzner": "ubuntu-24.04"}

# Memory per size in MiB, for the bootstrap's "swap under 2 GB" rule.
_MEMORY_HINTS = {"512mb": 512, "1gb": 1024, "2gb": 2048, "4gb": 4096, "8gb": 8192, "16gb": 16384, "32gb": 32768}


def default_size(provider: str, region: str | None) -> str:
    return DEFAULT_DROPLET if provider == "digitalocean" else hetzner_default(region)


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
        known = HETZNER_SERVER_TYPES.get(size)
        return known.memory_mb if known else None
    return None
