"""A monthly cost estimate from the stack file and the dated price table in `catalog`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from components import catalog
from components.config import Stack
from components.hosts import host_specs


@dataclass(frozen=True)
class CostLine:
    item: str
    amount: float
    currency: str


def estimate(stack: Stack, stack_name: str) -> list[CostLine]:
    lines: list[CostLine] = []
    provider = stack.provider
    for spec in host_specs(stack, stack_name):
        if provider == "digitalocean":
            lines.append(CostLine(f"droplet {spec.name} ({spec.size})", catalog.DIGITALOCEAN_SIZES[spec.size], "USD"))
            if spec.volume_gb:
                lines.append(CostLine(f"volume {spec.name}-data ({spec.volume_gb} GB)",
                                      spec.volume_gb * catalog.DIGITALOCEAN_VOLUME_PER_GB, "USD"))
        elif provider == "hetzner":
            lines.append(CostLine(f"server {spec.name} ({spec.size})", catalog.HETZNER_SERVER_TYPES[spec.size].price,
                                  "EUR"))
            lines.append(CostLine(f"primary IPv4 {spec.name}", catalog.HETZNER_PRIMARY_IPV4, "EUR"))
            if spec.volume_gb:
                lines.append(CostLine(f"volume {spec.name}-data ({spec.volume_gb} GB)",
                                      spec.volume_gb * catalog.HETZNER_VOLUME_PER_GB, "EUR"))
    if stack.database:
        db = stack.database
        lines.append(CostLine(f"managed PostgreSQL {db.version} ({db.size} x {db.nodes})",
                              catalog.DIGITALOCEAN_DATABASE_SIZES[db.size] * db.nodes, "USD"))
    if stack.backups and stack.backups.provider == "spaces":
        lines.append(CostLine("Spaces subscription (backups bucket)", catalog.SPACES_SUBSCRIPTION, "USD"))
    return lines


def totals(lines: list[CostLine]) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    for line in lines:
        sums[line.currency] += line.amount
    return dict(sums)
