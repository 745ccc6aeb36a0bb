"""A host rebuilt blank behind its address, with a new SSH host key (a reinstalled VPS, a server replaced
behind a kept IP): `berth rebuilt` sets it up again through the engine, and Litestream restores the app's
rows before the app starts."""

from __future__ import annotations

import time

from .http import get
from .ops import Ops
from .test_litestream import rows, write
from .test_release import HOSTNAMES, serving


def host_key(host) -> str:
    return host.path("/etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[1]


def test_a_host_rebuilt_behind_its_address_is_set_up_again(world):
    shop = world.deployment()
    assert shop.converged()
    version = serving(world)
    write(world, world.web.address, "before-the-rebuild")
    kept = rows(world, world.web.address)
    time.sleep(2)  # one sync interval and more: the rows are in the bucket
    old_key = host_key(world.web)
    world.web.rebuild()
    world._base_images(world.web)
    assert host_key(world.web) != old_key
    assert not world.web.path("/var/lib/berth").exists() or not any(world.web.path("/var/lib/berth").iterdir())
    # A plain `up` reads nothing back: the state still believes in the old machine, so it changes nothing
    # while the host serves nothing. This is what `berth rebuilt` is for.
    stale = shop.up()
    assert stale.ok and stale.changed == [], stale.error
    assert get(world.web.address, HOSTNAMES[0], ca=world.lab.ca_cert).status == 0
    result = Ops(shop)("rebuilt", "shop-web-1", "--yes")
    assert result.exit_code == 0, result.output[-3000:]
    assert serving(world) == version
    assert rows(world, world.web.address) == kept  # Litestream restored them before the app started
    again = shop.up()
    assert again.ok and again.changed == [], [(s.op, s.name) for s in again.changed]
