"""Kamal 2 beside Berth on the lab: for the same settings, Berth sends kamal-proxy what `kamal deploy`
sends, except where docs/compatibility.md says why not."""

from __future__ import annotations

import shlex

from components.validation import load

from .http import get
from .kamal import Kamal, proxy_deploy_argv

# Every difference between Berth's and Kamal's `kamal-proxy deploy`, with its reason (also in
# docs/compatibility.md). Anything else that differs fails the test.
KNOWN_DIFFERENCES = {
    "--target": "Kamal targets the new container by its id, Berth by its name (known before it exists); "
                "both resolve on the kamal network",
    "--tls-certificate-path": "Kamal keeps a certificate per role (tls/<role>/), Berth one per service "
                              "(tls/): it issues one Origin CA certificate for all proxied roles",
    "--tls-private-key-path": "as --tls-certificate-path",
}


def flags(argv: list[str]) -> dict[str, list[str]]:
    """--name=value / --name value-less flags as name -> sorted values ('' for a bare flag)."""
    out: dict[str, list[str]] = {}
    for arg in argv:
        name, _, value = arg.partition("=")
        out.setdefault(name, []).append(value)
    return {name: sorted(values) for name, values in out.items()}


def test_berth_sends_kamal_proxy_what_kamal_deploy_sends(world):
    shop = world.deployment()
    assert shop.up().ok
    switch = shop.resource("shop-web-1-switch")
    berth = shlex.split(switch["inputs"]["create"])[5:]
    host = world.add_host()
    kamal = Kamal.project(world, host, load(shop.stack_file().program_view()))
    result, _ = kamal("deploy", "--skip-push", "--version=v2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    theirs = proxy_deploy_argv(result.stdout)
    assert theirs[0] == berth[0] == "shop-web"  # the route
    ours, kamals = flags(berth[1:]), flags(theirs[1:])
    differing = {name for name in set(ours) | set(kamals) if ours.get(name) != kamals.get(name)}
    assert differing == set(KNOWN_DIFFERENCES), {n: (ours.get(n), kamals.get(n)) for n in differing}
    assert get(host.address, "shop.e2e.test", ca=world.lab.ca_cert).body.strip() == "app v2"
