"""Origin restriction behind "Cloudflare": the lab's allowed client stands in for Cloudflare's ranges
(the program's get_ip_ranges answers with the lab's), the denied client for the rest of the internet.
Both reach the host through Docker's published ports, over IPv4 and IPv6."""

from __future__ import annotations

import pytest

from .http import get_from
from .testhost import ALLOWED, DENIED


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_only_the_allowed_ranges_reach_80_and_443(world, family):
    assert world.deployment().converged()
    address = world.web.address if family == "ipv4" else world.web.ipv6
    allowed = get_from(ALLOWED, address, "shop.e2e.test", world.lab.ca_cert)
    denied = get_from(DENIED, address, "shop.e2e.test", world.lab.ca_cert)
    assert allowed.status == 200, allowed
    assert denied.status == 0, f"a client outside the allowed ranges got an answer: {denied}"


def test_the_restriction_survives_a_firewall_reload(world):
    world.web.in_host("ufw", "reload")
    assert get_from(DENIED, world.web.address, "shop.e2e.test", world.lab.ca_cert).status == 0
    assert get_from(ALLOWED, world.web.address, "shop.e2e.test", world.lab.ca_cert).status == 200


def test_lifting_the_restriction_opens_the_ports_without_a_reboot(world):
    """ufw's stop leaves DOCKER-USER alone; the next bootstrap's empty declaration is what clears it.
    SSH open to the world too, so that nothing at all is restricted any more."""
    lifted = world.deployment().up(cloudflare={"restrictOrigin": False}, ssh={"allowFrom": ["0.0.0.0/0", "::/0"]})
    assert lifted.ok
    assert get_from(DENIED, world.web.address, "shop.e2e.test", world.lab.ca_cert).status == 200
    assert world.deployment().up().ok
    assert get_from(DENIED, world.web.address, "shop.e2e.test", world.lab.ca_cert).status == 0
