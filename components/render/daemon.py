"""What Berth needs to know of a host's Docker daemon, read by the host's `ready` step (`docker info`).

Swap: with `memory` set and `memory_swap` not, the daemon sets MemorySwap to twice the memory
(daemon/daemon_unix.go `adaptContainerSettings`), or to -1 on a kernel without swap limit support
(`verifyPlatformContainerResources`), and the Docker provider reads that back into `memory_swap`, an
input it updates in place: an undeclared swap is a change on every `up`. So Berth declares what the daemon
would set, which needs to know whether the kernel limits swap (`docker info`'s SwapLimit).
"""

from __future__ import annotations

from dataclasses import dataclass

INFO_FORMAT = "{{.ServerVersion}} {{.SwapLimit}}"


@dataclass(frozen=True)
class DaemonFacts:
    version: str
    swap_limit: bool


def daemon_facts(info: str | None) -> DaemonFacts:
    """`docker info --format INFO_FORMAT`'s answer; an empty one (the offline plan's) is Docker's usual case."""
    parts = (info or "").split()
    return DaemonFacts(parts[0] if parts else "", parts[1] != "false" if len(parts) > 1 else True)


def memory_swap_mb(memory_mb: int, facts: DaemonFacts) -> int:
    """The MemorySwap the daemon gives a container with `memory_mb` and no swap of its own, as the provider
    reads it back: twice the memory, or -1 where the kernel does not limit swap."""
    return 2 * memory_mb if facts.swap_limit else -1
