"""Two services behind the one kamal-proxy on one host, each answering only for its own hostnames."""

from __future__ import annotations

from .http import get
from .world import HERE


def test_two_services_share_the_proxy_and_keep_to_their_hosts(world):
    shop = world.deployment()
    assert shop.converged()
    shop_version = get(world.web.address, "shop.e2e.test", ca=world.lab.ca_cert).body.strip()
    proxy = world.web.docker("inspect", "--format", "{{.Id}}", "kamal-proxy").stdout
    blog = world.deployment("blog", stack_file=HERE / "stacks" / "blog.yaml")
    up = blog.up()
    assert up.ok, up.error
    assert not [s for s in up.resources if s.name.endswith("-proxy")], "a shared stack never declares the proxy"
    assert world.web.docker("inspect", "--format", "{{.Id}}", "kamal-proxy").stdout == proxy
    assert get(world.web.address, "blog.e2e.test", ca=world.lab.ca_cert).body.strip() == "app v2"
    assert get(world.web.address, "shop.e2e.test", ca=world.lab.ca_cert).body.strip() == shop_version
    unknown = get(world.web.address, "other.e2e.test", https=False)
    assert unknown.status == 404
