"""The stack as its operator reads it through the real CLI: secrets never in plain text (state, stack file,
outputs), the outputs' documented shape, and the ops CLI's reads and first-hour failures against the real
`pulumi` (no stand-in)."""

from __future__ import annotations

import json

from .ops import Ops
from .world import BUCKET


def _secret_texts(world) -> dict[str, str]:
    """Every secret of the run, the SSH key by one of its lines (the state holds it as a whole)."""
    texts = dict(world.secrets)
    texts["E2E_SSH_KEY"] = world.secrets["E2E_SSH_KEY"].strip().splitlines()[2]
    return texts


def test_no_secret_in_plain_text_in_the_state_the_stack_file_or_the_outputs(world):
    shop = world.deployment()
    assert shop.converged()
    exported = shop.cli("stack", "export").stdout
    stack_file = shop.file.read_text()
    printed = shop.cli("stack", "output", "--json").stdout
    for name, text in _secret_texts(world).items():
        assert text not in exported, f"{name} is in the exported state in plain text"
        assert text not in stack_file, f"{name} is in the stack file in plain text"
        assert text not in printed, f"{name} is printed by pulumi stack output"
    assert "secure:" in stack_file  # set with `pulumi config set --secret --path 'secrets.NAME'`
    revealed = json.loads(shop.cli("stack", "output", "--json", "--show-secrets").stdout)
    for key, output in shop.stack.outputs().items():
        carries = any(text in json.dumps(revealed[key]) for text in _secret_texts(world).values())
        assert output.secret or not carries, f"output {key} carries a secret but is not marked secret"


def test_the_outputs_have_the_documented_shape(world):
    outputs = json.loads(world.deployment().cli("stack", "output", "--json").stdout)
    web, jobs = world.web.address, world.jobs.address
    assert outputs["service"] == "shop"
    assert outputs["urls"] == ["https://shop.e2e.test", "https://www.shop.e2e.test"]
    assert outputs["healthcheckUrl"] == "https://shop.e2e.test/up"
    assert outputs["roles"] == {"primary": "web", "proxied": ["web"]}
    assert outputs["servers"] == {
        "web": [{"name": "shop-web-1", "publicIpv4": web, "publicIpv6": None, "privateIp": None}],
        "jobs": [{"name": "shop-jobs-1", "publicIpv4": jobs, "publicIpv6": None, "privateIp": None}]}
    assert outputs["ssh"] == {"shop-web-1": f"ssh root@{web}", "shop-jobs-1": f"ssh root@{jobs}"}
    # Existing hosts: Berth generated no host key and created no server, so both are null.
    assert outputs["hosts"]["shop-web-1"] == {"role": "web", "roles": ["web"], "address": web, "user": "root",
                                              "port": 22, "hostKey": None, "serverUrn": None}
    release = outputs["release"]
    assert release["image"] == f"{world.app_repository}:{release['version']}"
    assert release["digest"].startswith(f"{world.app_repository}@sha256:")
    assert set(release["containers"]) == {"shop-web-1", "shop-jobs-1"}
    assert outputs["backups"]["bucket"] == BUCKET
    assert outputs["accessories"] == {"shop-web-1": ["shop-cache", "shop-litestream"]}


def test_the_ops_cli_reads_the_stack_through_the_real_cli(world):
    shop = world.deployment()
    ops = Ops(shop)
    details = ops("details")
    assert details.exit_code == 0, details.output
    running = json.loads(shop.cli("stack", "output", "--json").stdout)["release"]["containers"]["shop-web-1"]
    assert running in details.output
    logs = ops("logs", "--lines", "5")
    assert logs.exit_code == 0, logs.output
    said = ops("exec", "echo from-the-container")
    assert said.exit_code == 0 and "from-the-container" in said.output, said.output


def test_the_ops_cli_first_hour_against_the_real_cli(world):
    shop = world.deployment()
    missing = Ops(shop, stack="nope")("logs")
    assert missing.exit_code == 1 and "there is no stack nope here" in " ".join(missing.output.split()), missing.output
    fresh = world.deployment("e2e-fresh")
    fresh.stack  # noqa: B018 - the stack exists (pulumi stack init), nothing deployed
    empty = Ops(fresh)("logs")
    assert empty.exit_code == 1, empty.output
    assert "has no outputs yet: run `pulumi up --stack e2e-fresh` first" in " ".join(empty.output.split())
    shop.cli("stack", "select")
    selected = Ops(shop, stack=None)("details")
    assert selected.exit_code == 0, selected.output
    assert "stack: e2e (selected in Pulumi)" in selected.output
