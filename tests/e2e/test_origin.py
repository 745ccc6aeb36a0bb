"""Origin restriction behind "Cloudflare": the lab's allowed client stands in for Cloudflare's ranges
(the program's get_ip_ranges answers with the lab's), the denied client for the rest of the internet.
Both reach the host through Docker's published ports, over IPv4 and IPv6."""

from __future__ import annotations

import json

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


# IPv6 on the default bridge, with ip6tables as Docker 27 and later turn it on by default (Debian's 20.10 calls it
# experimental; Docker 29 takes the same flags).
FORWARDS_IPV6 = ("--experimental", "--ipv6", "--ip6tables", "--fixed-cidr-v6")


def ipv6_addresses(host) -> list[str]:
    """The proxy's IPv6 addresses on its networks. As JSON: Docker 29's API types hold addresses as netip.Addr,
    which a Go template prints as "invalid IP" when unset (JSON has "", as 20.10's strings had)."""
    networks = json.loads(host.docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", "kamal-proxy").stdout)
    return [n["GlobalIPv6Address"] for n in networks.values() if n.get("GlobalIPv6Address")]


def test_ipv6_clients_of_daemons_that_forward_ipv6(world):
    """Both kinds of `kamal` network, on daemons with ip6tables on, each shown refused by the rule that refuses
    it: lifting that rule alone lets the denied client in.
    - Berth's own network is IPv4-only, as Kamal makes it: Docker hands an IPv6 client to docker-proxy
      (libnetwork's port_mapping.go), so ufw's INPUT rules refuse it, and DOCKER-USER plays no part.
    - An IPv6 network (an operator's own; the bootstrap keeps it) is DNATed past INPUT, so only DOCKER-USER can
      refuse. Docker 20.10 never jumps to that chain for IPv6 (moby/moby#42477): the bootstrap stops there
      before the proxy publishes anything; the test then makes the jump by hand as a later Docker's
      setupUserChain makes it. Docker 29 makes it itself (moby/moby#44706): the guard stays quiet. Either way,
      Berth's IPv6 rule in DOCKER-USER is what refuses."""
    own = world.add_host(dockerd_flags=(*FORWARDS_IPV6, "fd00:be2e:d0:1::/64"))
    dual = world.add_host(dockerd_flags=(*FORWARDS_IPV6, "fd00:be2e:d0:2::/64"))
    dual.docker("network", "create", "--ipv6", "--subnet", "fd00:be2e:d1::/64", "kamal")
    stack = world.deployment("e2e-ipv6", servers={"web": {"hosts": [own.address, dual.address]}}, **MINIMAL)

    def answers(host) -> tuple[int, int]:
        return (get_from(ALLOWED, host.ipv6, "shop.e2e.test", world.lab.ca_cert).status,
                get_from(DENIED, host.ipv6, "shop.e2e.test", world.lab.ca_cert).status)

    def jumps_to_docker_user(host) -> bool:
        return host.in_host("ip6tables", "-C", "FORWARD", "-j", "DOCKER-USER", check=False).returncode == 0

    up = stack.up()
    if world.lab.engine.name == "20.10":
        assert not up.ok
        assert "the kamal network has IPv6, and this Docker forwards IPv6 without its DOCKER-USER chain" in up.error
        assert dual.docker("ps", "-q", "--filter", "name=kamal-proxy").stdout.strip() == ""  # nothing published
        assert not jumps_to_docker_user(dual)
        dual.in_host("ip6tables", "-I", "FORWARD", "-j", "DOCKER-USER")
        up = stack.up()
    else:
        assert jumps_to_docker_user(dual)  # Docker's own jump: the guard has nothing to say
    assert up.ok, up.error
    assert ipv6_addresses(own) == []
    assert ipv6_addresses(dual) != []
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
