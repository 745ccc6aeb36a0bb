"""Origin restriction behind "Cloudflare": the lab's allowed client stands in for Cloudflare's ranges
(the program's get_ip_ranges answers with the lab's), the denied client for the rest of the internet.
Both reach the host through Docker's published ports, over IPv4 and IPv6."""

from __future__ import annotations

import pytest

from .http import get_from
from .testhost import ALLOWED, DENIED
from .world import MINIMAL


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


# ip6tables as Docker 27 and later turn it on by default (Docker 20.10, the lab's, calls it experimental).
FORWARDS_IPV6 = ("--experimental", "--ipv6", "--ip6tables", "--fixed-cidr-v6")


def test_ipv6_clients_of_daemons_that_forward_ipv6(world):
    """Both kinds of `kamal` network, on daemons with ip6tables on, each shown refused by the rule that refuses
    it: lifting that rule alone lets the denied client in.
    - Berth's own network is IPv4-only, as Kamal makes it: Docker hands an IPv6 client to docker-proxy
      (libnetwork's port_mapping.go), so ufw's INPUT rules refuse it, and DOCKER-USER plays no part.
    - An IPv6 network (an operator's own; the bootstrap keeps it) is DNATed past INPUT, so only DOCKER-USER can
      refuse. Docker 20.10 never jumps to that chain for IPv6 (moby/moby#42477): the bootstrap stops there
      before the proxy publishes anything. With the jump a later Docker adds (moby/moby#44706, made here by
      hand as its setupUserChain makes it), Berth's IPv6 rule in DOCKER-USER is what refuses."""
    own = world.add_host(dockerd_flags=(*FORWARDS_IPV6, "fd00:be2e:d0:1::/64"))
    dual = world.add_host(dockerd_flags=(*FORWARDS_IPV6, "fd00:be2e:d0:2::/64"))
    dual.docker("network", "create", "--ipv6", "--subnet", "fd00:be2e:d1::/64", "kamal")
    stack = world.deployment("e2e-ipv6", servers={"web": {"hosts": [own.address, dual.address]}}, **MINIMAL)

    def answers(host) -> tuple[int, int]:
        return (get_from(ALLOWED, host.ipv6, "shop.e2e.test", world.lab.ca_cert).status,
                get_from(DENIED, host.ipv6, "shop.e2e.test", world.lab.ca_cert).status)

    refused = stack.up()
    assert not refused.ok
    assert "the kamal network has IPv6, and this Docker forwards IPv6 without its DOCKER-USER chain" in refused.error
    assert dual.docker("ps", "-q", "--filter", "name=kamal-proxy").stdout.strip() == ""  # nothing published

    dual.in_host("ip6tables", "-I", "FORWARD", "-j", "DOCKER-USER")
    up = stack.up()
    assert up.ok, up.error
    addresses = "{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}"
    assert own.docker("inspect", "--format", addresses, "kamal-proxy").stdout.strip() == ""
    assert dual.docker("inspect", "--format", addresses, "kamal-proxy").stdout.strip() != ""
    assert (answers(own), answers(dual)) == ((200, 0), (200, 0))

    own.in_host("ip6tables", "-F", "DOCKER-USER")
    assert answers(own) == (200, 0)
    own.in_host("ufw", "disable")  # its disable leaves DOCKER-USER alone
    assert answers(own) == (200, 200)
    dual.in_host("ip6tables", "-F", "DOCKER-USER")
    assert answers(dual) == (200, 200)
    own.in_host("ufw", "--force", "enable")
    dual.in_host("ufw", "reload")
    assert (answers(own), answers(dual)) == ((200, 0), (200, 0))  # DOCKER-USER loaded again from after6.rules
