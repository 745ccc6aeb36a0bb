"""Upgrading Berth under a running stack replaces no infrastructure: every server, volume, IP, firewall, database,
DNS record, zone setting, key and generation a shipped stack declared with an earlier Berth is declared again
under the same URN (tests/upgrade/infrastructure-urns.json, recorded from commit 8d1e191, the Berth before
roles could share machines). A name that must move needs an alias; then this snapshot records the new URN."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SHIPPED, SHIPPED_IDS, ready
from tooling.evaluate import evaluate

SNAPSHOT = json.loads((Path(__file__).parent / "upgrade" / "infrastructure-urns.json").read_text())
INFRASTRUCTURE = ("digitalocean:", "hcloud:", "cloudflare:", "tls:", "random:index/randomId:RandomId")


@pytest.mark.parametrize(("path", "name"), list(zip(SHIPPED, SHIPPED_IDS, strict=True)), ids=SHIPPED_IDS)
def test_every_infrastructure_urn_of_an_earlier_berth_is_declared_again(path, name):
    ev = evaluate(ready(path))
    declared = {r.urn for r in ev.resources}
    aliased = {alias for r in ev.resources for alias in getattr(r, "aliases", []) or []}
    assert set(SNAPSHOT[name]) - declared - aliased == set()
    assert all(urn.split("::")[-2].rsplit("$", 1)[-1].startswith(INFRASTRUCTURE) for urn in SNAPSHOT[name])
