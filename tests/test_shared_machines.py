"""Several roles on one machine (layout.py), as Kamal runs web and jobs on one server: one bootstrap, one Docker
provider, one kamal-proxy, one container per role, per-role release steps; and the names of today's
one-role-per-host stacks unchanged."""

from __future__ import annotations

import pytest

from components.layout import MachineLayout
from components.validation import load
from conftest import SHIPPED, variant, with_all_secrets
from tooling.evaluate import PROJECT_DIR, evaluate

DBCOURS = PROJECT_DIR / "examples" / "dbcours.yaml"
ZEN = PROJECT_DIR / "examples" / "zen-miner.yaml"  # DigitalOcean, web behind Cloudflare
CONTAINER = "docker:index/container:Container"
COMMAND = "command:remote:Command"

# web and jobs on one existing server, as Kamal writes it: the same address under both roles.
SHARED_ADDRESS = {"servers": {"web": {"hosts": ["192.0.2.10"]},
                              "jobs": {"hosts": ["192.0.2.10"], "cmd": "bin/jobs"}}}
# On a cloud: the jobs role runs on every web droplet.
RUNS_ON = {"servers": {"web": {"count": 2}, "jobs": {"runsOn": "web", "cmd": "bin/jobs"}}}



def names(ev, type_: str) -> set[str]:
    return {r.name for r in ev.of_type(type_)}


def test_the_same_address_under_two_roles_is_one_machine_running_both():
    stack = load(with_all_secrets(variant(DBCOURS, **SHARED_ADDRESS)).berth)
    assert stack.machines == [MachineLayout("web", 0, ("web", "jobs"), "192.0.2.10")]
    assert stack.role_count("jobs") == 1


def test_a_role_that_runs_on_another_roles_machines_has_none_of_its_own():
    stack = load(with_all_secrets(variant(ZEN, **RUNS_ON)).berth)
    assert [(m.name(stack.service), m.roles) for m in stack.machines] == [
        ("zen-miner-web-1", ("web", "jobs")), ("zen-miner-web-2", ("web", "jobs"))]


@pytest.mark.parametrize(("path", "changes"), [(DBCOURS, SHARED_ADDRESS), (ZEN, RUNS_ON)],
                         ids=["existing", "digitalocean"])
def test_one_bootstrap_provider_and_proxy_per_machine_and_a_container_per_role(path, changes):
    ev = evaluate(variant(path, **changes, releaseCommand="bin/rails db:prepare"))
    machines = sorted(names(ev, "berth:index:Host"))
    assert len(names(ev, "pulumi:providers:docker")) == len(machines)
    assert {n for n in names(ev, COMMAND) if n.endswith("-bootstrap")} == {f"{m}-bootstrap" for m in machines}
    assert {c.name for c in ev.of_type(CONTAINER) if c.plain_inputs["name"] == "kamal-proxy"} == \
        {f"{m}-proxy" for m in machines}
    apps = {c.name: c for c in ev.of_type(CONTAINER) if c.name.endswith("-app")}
    assert set(apps) == {f"{m}-app" for m in machines} | {f"{m}-jobs-app" for m in machines}
    for machine in machines:
        web, jobs = apps[f"{machine}-app"], apps[f"{machine}-jobs-app"]
        roles = [next(label["value"] for label in c.plain_inputs["labels"] if label["label"] == "role") for c in (web, jobs)]
        assert roles == ["web", "jobs"]  # Kamal's labels
        assert jobs.plain_inputs["command"] == ["bin/jobs"] and web.plain_inputs.get("command") is None
        assert f"{machine}-jobs-revision" in names(ev, "random:index/randomId:RandomId")
        assert f"{machine}-switch" in names(ev, COMMAND) and f"{machine}-jobs-switch" not in names(ev, COMMAND)
        assert f"{machine}-jobs-prune" in names(ev, COMMAND) and f"{machine}-prune" not in names(ev, COMMAND)
    images = names(ev, "docker:index/remoteImage:RemoteImage")
    assert {f"{m}-image" for m in machines} <= images and not any("-jobs-image" in i for i in images)
    assert len([n for n in names(ev, COMMAND) if n.endswith("-release-command")]) == 1


def test_the_outputs_name_every_role_of_a_host_and_its_containers():
    ev = evaluate(variant(DBCOURS, **SHARED_ADDRESS))
    host = ev.outputs["hosts"]["dbcours-web-1"]
    assert (host["role"], host["roles"]) == ("web", ["web", "jobs"])
    assert set(ev.outputs["servers"]) == {"web", "jobs"}
    release = ev.outputs["release"]
    assert set(release["roleContainers"]["dbcours-web-1"]) == {"web", "jobs"}
    assert release["containers"]["dbcours-web-1"] == release["roleContainers"]["dbcours-web-1"]["web"]


def test_an_accessory_of_two_roles_on_one_machine_runs_there_once():
    litestream = {"image": "litestream/litestream:0.5.16", "databases": ["/rails/storage/production.sqlite3"],
                  "roles": ["web", "jobs"]}
    backups = {"provider": "s3", "bucket": "dbcours-backups", "region": "eu-central-1",
               "endpoint": "https://s3.example.com", "accessKeyId": "S3_KEY_ID", "secretAccessKey": "S3_SECRET"}
    ev = evaluate(with_all_secrets(variant(DBCOURS, **SHARED_ADDRESS, volumes=["/mnt/storage:/rails/storage"],
                                           backups=backups, accessories={"litestream": litestream})))
    assert [c.name for c in ev.of_type(CONTAINER) if "litestream" in c.name] == ["dbcours-web-1-litestream"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_stack_whose_roles_share_no_machine_keeps_its_names(path):
    """One machine per role and index, named <service>-<role>-<n>, as before roles could share machines."""
    stack = load(with_all_secrets(variant(path)).berth)
    expected = [(f"{stack.service}-{role}-{i + 1}", (role,)) for role, spec in stack.servers.items()
                for i in range(len(spec.hosts) if spec.hosts else (spec.count or 1))]
    assert [(m.name(stack.service), m.roles) for m in stack.machines] == expected


# --- an accessory other hosts use ---------------------------------------------------------------------------

PG = {"image": "postgres:18.1", "roles": ["db"], "publish": "private:5432",
      "database": {"name": "app", "user": "app", "password": "PG_PASSWORD"}, "volumes": ["/mnt/pg:/var/lib/postgresql"]}
THREE_EXISTING = {"servers": {"web": {"hosts": ["192.0.2.10", "192.0.2.11"]},
                              "db": {"hosts": ["192.0.2.12"], "proxy": False, "cmd": "bin/jobs"}},
                  "dns": {"zone": "example.com", "proxied": True}, "proxy": {"hosts": ["app.example.com"]}}


def _inbound(ev, port: str) -> list:
    (firewall,) = ev.of_type("digitalocean:index/firewall:Firewall")
    return [r for r in firewall.plain_inputs["inboundRules"] if r.get("portRange") == port]


def test_an_accessory_published_privately_binds_the_hosts_private_address_and_opens_to_the_stacks_hosts_only():
    ev = evaluate(with_all_secrets(variant(ZEN, accessories={"pg": {**PG, "roles": None}})))
    (pg,) = [c for c in ev.of_type(CONTAINER) if c.name.endswith("-pg")]
    (binding,) = pg.plain_inputs["ports"]
    # the droplet's VPC address, as the offline mocks invent it (tooling/evaluate.py `OfflineMocks`)
    assert binding["ip"].startswith("10.10.0.") and binding["external"] == 5432
    (rule,) = _inbound(ev, "5432")
    assert rule["sourceTags"] == ["berth-zen-miner-zen-miner"] and not rule.get("sourceAddresses")  # the stack's tag


def test_on_existing_hosts_the_port_is_open_to_the_other_hosts_by_address_in_ufw_and_docker_user():
    ev = evaluate(with_all_secrets(variant(DBCOURS, **THREE_EXISTING, accessories={"pg": PG})))
    bootstrap = ev.named("dbcours-db-1-bootstrap").plain_inputs["stdin"]
    for address in ("192.0.2.10", "192.0.2.11", "192.0.2.12"):
        assert f"ufw allow proto tcp from {address}/32 to any port 5432" in bootstrap
        assert f"--ctorigdstport 5432 --ctdir ORIGINAL -s {address}/32 -j RETURN" in bootstrap
    web = [c for c in ev.of_type(CONTAINER) if c.name == "dbcours-web-1-app"][0]
    assert "DATABASE_URL" in {e.split("=", 1)[0] for e in web.plain_inputs["envs"]}


def test_the_plan_says_how_each_role_reaches_each_accessory():
    import tempfile
    from pathlib import Path

    import yaml

    from tooling.plan import as_json, build

    stack_file = variant(DBCOURS, **THREE_EXISTING, accessories={"pg": PG})
    with tempfile.TemporaryDirectory() as scratch:  # the plan sets what the file names but does not set
        path = Path(scratch) / "Pulumi.dbcours.yaml"
        path.write_text(yaml.safe_dump({"config": {f"berth:{k}": v for k, v in stack_file.berth.items()
                                                   if k != "secrets"}}))
        plan = as_json(build(path))
    (db,) = [h for h in plan["hosts"] if h["name"] == "dbcours-db-1"]
    assert db["accessories"]["pg"]["reach"] == {"web": "192.0.2.12:5432", "db": "dbcours-pg:5432"}


def test_an_accessory_published_on_a_written_address_is_reached_there_from_the_other_roles():
    """The import keeps Kamal's `10.0.0.3:6379:6379` on the same hosts as `publish: 10.0.0.3:6379`: the web role
    reaches it at that address (its REDIS_URL says so), not only the role beside it."""
    import tempfile
    from pathlib import Path

    import yaml

    from tooling.plan import as_json, build

    redis = {"image": "redis:7.2-alpine", "roles": ["db"], "port": 6379, "publish": "192.0.2.12:6379"}
    local = {"image": "redis:7.2-alpine", "roles": ["db"], "port": 6380, "publish": "127.0.0.1:6380"}
    stack_file = variant(DBCOURS, **THREE_EXISTING, accessories={"redis": redis, "local": local})
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "Pulumi.dbcours.yaml"
        path.write_text(yaml.safe_dump({"config": {f"berth:{k}": v for k, v in stack_file.berth.items()
                                                   if k != "secrets"}}))
        plan = as_json(build(path))
    (db,) = [h for h in plan["hosts"] if h["name"] == "dbcours-db-1"]
    assert db["accessories"]["redis"]["reach"] == {"web": "192.0.2.12:6379", "db": "dbcours-redis:6379"}
    assert db["accessories"]["local"]["reach"] == {"db": "dbcours-local:6380"}  # loopback: the host's own
