"""Accessories: litestream.yml read back field by field, restore before the app, presets, no public ports."""

from __future__ import annotations

import pytest
import yaml

import conftest
from components import stackfile
from components.render.accessory import fill_secrets, secret_names
from components.render.litestream import Bucket, litestream_config, restore_args
from tooling.evaluate import PROJECT_DIR, evaluate, secret_paths

STAGING = PROJECT_DIR / "Pulumi.staging.yaml"
CONTAINER = "docker:index/container:Container"
COMMAND = "command:remote:Command"


def variant(path, accessories=None, **changes) -> stackfile.StackFile:
    """With an extra secret the generic-accessory test refers to."""
    return conftest.variant(path, accessories=accessories or {}, secrets={"EXTRA_TOKEN": stackfile.PLACEHOLDER},
                            **changes)


def accessory_containers(ev):
    return [c for c in ev.of_type(CONTAINER) if any(label["label"] == "accessory" for label in c.plain_inputs["labels"])]


# --- pure ------------------------------------------------------------------------------------------

def test_litestream_config_reads_back_one_replica_per_database():
    bucket = Bucket("b", "https://fsn1.your-objectstorage.com", "fsn1", "app/production")
    dbs = ["/rails/storage/production.sqlite3", "/rails/storage/production_queue.sqlite3"]
    parsed = yaml.safe_load(litestream_config(dbs, bucket, "1s"))
    assert set(parsed) == {"dbs"}
    assert [db["path"] for db in parsed["dbs"]] == dbs
    for db in parsed["dbs"]:
        assert "replicas" not in db
        assert db["replica"] == {
            "type": "s3", "bucket": "b", "path": f"app/production{db['path']}",
            "endpoint": "https://fsn1.your-objectstorage.com", "region": "fsn1", "sync-interval": "1s"}


def test_restore_only_when_missing_and_only_if_a_copy_exists():
    assert restore_args("/rails/storage/x.sqlite3") == [
        "restore", "-config", "/etc/litestream.yml", "-if-db-not-exists", "-if-replica-exists", "/rails/storage/x.sqlite3"]


def test_file_secret_references():
    content = "token = {{ secrets.EXTRA_TOKEN }}\nother = {{secrets.B}}"
    assert secret_names(content) == ["EXTRA_TOKEN", "B"]
    assert fill_secrets(content, {"EXTRA_TOKEN": "t", "B": "b"}) == "token = t\nother = b"


# --- litestream under mocks ------------------------------------------------------------------------

def test_litestream_accessory_on_staging(evaluations):
    stack, ev = evaluations["staging"]
    (litestream,) = [c for c in accessory_containers(ev) if c.plain_inputs["name"] == "covertext-litestream"]
    i = litestream.plain_inputs
    assert i["command"] == ["replicate"] and i["restart"] == "unless-stopped"
    assert i["networksAdvanced"] == [{"name": "kamal"}] and "ports" not in i
    volumes = {v["containerPath"]: v for v in i["volumes"]}
    assert volumes["/rails/storage"]["hostPath"] == "/mnt/storage/rails"  # where the app sees it too
    assert volumes["/etc/litestream.yml"] == {
        "hostPath": "/var/lib/berth/covertext/accessories/litestream/files/etc/litestream.yml",
        "containerPath": "/etc/litestream.yml", "readOnly": True}
    names = {e.split("=", 1)[0] for e in i["envs"]}
    assert {"LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY"} <= names
    assert secret_paths(litestream.inputs) == ["envs"]

    (setup,) = [c for c in ev.of_type(COMMAND) if c.name == "covertext-web-1-litestream-setup"]
    written = setup.plain_inputs["stdin"].split("<<'", 1)[1].split("\n", 1)[1].rsplit("\nBERTH_", 1)[0]
    config = yaml.safe_load(written)
    assert [db["path"] for db in config["dbs"]] == stack.accessories["litestream"].databases
    for db in config["dbs"]:
        assert db["replica"]["bucket"] == "covertext-staging-backups"
        assert db["replica"]["endpoint"] == "https://nbg1.your-objectstorage.com"
        assert db["replica"]["path"] == "covertext/staging/covertext-web-1" + db["path"]
    assert "offline-placeholder-secret" not in written and "access-key" not in written


def test_restore_precedes_the_litestream_container_and_the_app(evaluations):
    _, ev = evaluations["staging"]
    (restore,) = [c for c in ev.of_type(COMMAND) if c.name == "covertext-web-1-litestream-before-start"]
    stdin = restore.plain_inputs["stdin"]
    assert stdin.count("-if-db-not-exists -if-replica-exists") == 3
    config = "/var/lib/berth/covertext/accessories/litestream/files/etc/litestream.yml"
    assert f"--volume {config}:/etc/litestream.yml:ro" in stdin
    assert "stdin" in secret_paths(restore.inputs)
    (litestream,) = [c for c in accessory_containers(ev) if c.plain_inputs["name"] == "covertext-litestream"]
    assert restore.urn in litestream.dependencies
    app = ev.named("covertext-web-1-app")
    assert restore.urn in app.dependencies and litestream.urn in app.dependencies
    release = ev.named("covertext-web-1-release-command")
    assert restore.urn in release.dependencies


def test_wombat_replicates_its_four_databases(evaluations):
    _, ev = evaluations["wombat"]
    (setup,) = [c for c in ev.of_type(COMMAND) if c.name.endswith("-litestream-setup")]
    assert setup.plain_inputs["stdin"].count("replica:") == 4
    (restore,) = [c for c in ev.of_type(COMMAND) if c.name.endswith("-litestream-before-start")]
    script = restore.plain_inputs["stdin"]
    assert script.count("--entrypoint sh litestream/litestream:0.5.16 -c") == 4
    assert script.count("-if-db-not-exists -if-replica-exists") == 4 and script.count("chown") == 4


# --- postgres and meilisearch ----------------------------------------------------------------------

def test_postgres_accessory_builds_the_app_database_url(evaluations):
    _, ev = evaluations["staging"]
    (db,) = [c for c in accessory_containers(ev) if c.plain_inputs["name"] == "covertext-db"]
    i = db.plain_inputs
    assert "POSTGRES_USER=covertext" in i["envs"] and "POSTGRES_DB=covertext_staging" in i["envs"]
    assert any(e.startswith("POSTGRES_PASSWORD=") for e in i["envs"]) and secret_paths(db.inputs) == ["envs"]
    assert i["volumes"] == [{"hostPath": "/mnt/storage/postgres", "containerPath": "/var/lib/postgresql"}]
    assert i["wait"] is True and "pg_isready" in i["healthcheck"]["tests"][1]
    app = ev.named("covertext-web-1-app")
    assert "DATABASE_URL=postgres://covertext:offline-placeholder-secret@covertext-db:5432/covertext_staging" in \
        app.plain_inputs["envs"]
    assert db.urn in ev.named("covertext-web-1-release-command").dependencies


def test_meilisearch_on_the_network_only(evaluations):
    _, ev = evaluations["bisan"]
    (search,) = accessory_containers(ev)
    i = search.plain_inputs
    assert i["name"] == "bisan-meilisearch" and i["image"]
    assert "ports" not in i
    assert i["volumes"] == [{"volumeName": "contabo_data", "containerPath": "/meili_data"}]
    assert any(e.startswith("MEILI_MASTER_KEY=") for e in i["envs"]) and "MEILI_ENV=production" in i["envs"]
    assert secret_paths(search.inputs) == ["envs"]
    assert ev.outputs["accessories"] == {"bisan-web-1": ["bisan-meilisearch"]}


def test_no_accessory_publishes_a_port_by_default(shipped):
    stack, ev = shipped
    for container in accessory_containers(ev):
        assert "ports" not in container.plain_inputs, container.name


def test_publish_binds_to_the_address_given():
    bisan = PROJECT_DIR / "examples" / "bisan.yaml"
    ev = evaluate(variant(bisan, accessories={"meilisearch": {"publish": "127.0.0.1:7700"}}))
    (search,) = accessory_containers(ev)
    assert search.plain_inputs["ports"] == [{"ip": "127.0.0.1", "external": 7700, "internal": 7700}]


# --- generic accessory with files ------------------------------------------------------------------

def test_generic_accessory_files_directories_and_secrets():
    ev = evaluate(variant(STAGING, accessories={"redis": {
        "image": "redis:7.4.1", "cmd": "redis-server /etc/redis/redis.conf",
        "files": {"/etc/redis/redis.conf": "requirepass {{ secrets.EXTRA_TOKEN }}\n", "/etc/motd": "hello\n"},
        "directories": ["data:/data"], "env": {"clear": {"A": "1"}}}}))
    (redis,) = [c for c in accessory_containers(ev) if c.plain_inputs["name"] == "covertext-redis"]
    i = redis.plain_inputs
    assert i["command"] == ["redis-server", "/etc/redis/redis.conf"]
    assert {"hostPath": "/var/lib/berth/covertext/accessories/redis/data", "containerPath": "/data"} in i["volumes"]
    assert {"hostPath": "/var/lib/berth/covertext/accessories/redis/files/etc/redis/redis.conf",
            "containerPath": "/etc/redis/redis.conf", "readOnly": True} in i["volumes"]
    assert redis.delete_before_replace
    (setup,) = [c for c in ev.of_type(COMMAND) if c.name.endswith("-redis-setup")]
    assert "stdin" in secret_paths(setup.inputs)
    stdin = setup.plain_inputs["stdin"]
    assert "requirepass offline-placeholder-secret" in stdin
    assert "install -m 0600 /dev/null /var/lib/berth/covertext/accessories/redis/files/etc/redis/redis.conf" in stdin
    assert "install -m 0644 /dev/null /var/lib/berth/covertext/accessories/redis/files/etc/motd" in stdin
    assert "install -d -m 0755 /var/lib/berth/covertext/accessories/redis/data" in stdin
    assert setup.urn in redis.dependencies


def test_changing_an_accessory_leaves_the_app_alone(evaluations):
    _, before = evaluations["staging"]
    after = evaluate(variant(STAGING, accessories={"litestream": {"image": "litestream/litestream:0.5.17",
                                                                  "syncInterval": "5s"}}))
    old = {r.urn: r.plain_inputs for r in before.resources}
    changed = {r.name for r in after.resources if old.get(r.urn) != r.plain_inputs}
    assert changed and all("litestream" in name for name in changed), changed


# --- Kamal's accessory forms, and the data directory per postgres major ---------------------------------

BISAN = PROJECT_DIR / "examples" / "bisan.yaml"


def _container(ev, name):
    (container,) = [c for c in accessory_containers(ev) if c.plain_inputs["name"] == name]
    return container


def test_meilisearch_takes_its_master_key_from_env_secret_as_kamal_writes_it(evaluations):
    _, ev = evaluations["bisan"]
    search = _container(ev, "bisan-meilisearch")
    envs = search.plain_inputs["envs"]
    assert f"MEILI_MASTER_KEY={stackfile.PLACEHOLDER}" in envs and "MEILI_ENV=production" in envs
    assert "envs" in secret_paths(search.inputs)[0]


def test_meilisearch_without_any_master_key_is_refused_with_both_forms_named():
    from components.errors import ConfigError
    from components.validation import load

    raw = variant(BISAN).berth
    raw["accessories"]["meilisearch"]["env"] = {}
    try:
        load(raw)
    except ConfigError as error:
        assert "env: {secret: [MEILI_MASTER_KEY]}" in str(error) and "masterKey" in str(error)
    else:
        raise AssertionError("accepted")


def test_postgres_written_kamals_way_runs_with_its_own_env():
    ev = evaluate(variant(STAGING, accessories={"db": {"database": None, "env": {
        "clear": {"POSTGRES_USER": "app", "POSTGRES_DB": "app_staging"}, "secret": ["POSTGRES_PASSWORD"]}}}))
    db = _container(ev, "covertext-db")
    assert "POSTGRES_USER=app" in db.plain_inputs["envs"]
    assert db.plain_inputs["healthcheck"]["tests"] == ["CMD-SHELL", "pg_isready -U app -d app_staging"]


@pytest.mark.parametrize(("image", "mount", "problem"), [
    ("postgres:17.6", None, None), ("postgres:18.1", None, None),
    ("postgres:17.6", "/mnt/storage/pg:/var/lib/postgresql", "postgres 17 keeps its data in /var/lib/postgresql/data"),
    ("postgres:18.1", "/mnt/storage/pg:/var/lib/postgresql/data", "refuse to start with a mount at"),
    ("postgres:16-alpine", "/mnt/storage/pg:/var/lib/postgresql/data", None),
])
def test_the_postgres_data_directory_follows_the_major_version(image, mount, problem):
    from components.errors import ConfigError
    from components.validation import load

    changes = {"image": image, "volumes": [mount] if mount else []}
    stack_file = variant(STAGING, accessories={"db": changes})
    try:
        stack = load(stack_file.berth)
    except ConfigError as error:
        assert problem and problem in str(error), str(error)
        return
    assert problem is None
    db = _container(evaluate(stack_file), "covertext-db")
    target = {v["containerPath"] for v in db.plain_inputs["volumes"]}
    expected = "/var/lib/postgresql" if stack.accessories["db"].postgres_major >= 18 else "/var/lib/postgresql/data"
    assert target == {expected}


@pytest.mark.parametrize(("kind", "advice"), [("postgres", "publish: private:5432"), ("postgres", "berth:database"),
                                              ("meilisearch", "publish: private:7700"), ("meilisearch", "hosted")])
def test_the_multi_host_refusal_advises_for_its_accessory(kind, advice):
    from components.errors import ConfigError
    from components.validation import load

    accessory = ({"image": "postgres:18.1", "database": {"name": "a", "user": "a", "password": "PW"}}
                 if kind == "postgres" else {"image": "getmeili/meilisearch:v1.5", "env": {"secret": ["MEILI_MASTER_KEY"]}})
    raw = conftest.variant(PROJECT_DIR / "examples" / "zen-miner.yaml", accessories={"x": accessory},
                           secrets={"PW": stackfile.PLACEHOLDER, "MEILI_MASTER_KEY": stackfile.PLACEHOLDER}).berth
    try:
        load(raw)
    except ConfigError as error:
        (problem,) = [p for p in error.problems if p.path == "berth:accessories.x"]
        assert f"the {kind} preset" in problem.message and advice in problem.message
        assert ("berth:database" in problem.message) == (kind == "postgres")
    else:
        raise AssertionError("accepted")


# --- one mount per container path (Docker: "Duplicate mount point") ---------------------------------------

@pytest.mark.parametrize(("image", "target"), [("postgres:16.4", "/var/lib/postgresql/data"),
                                               ("postgres:18.1", "/var/lib/postgresql")])
def test_kamals_directories_at_the_postgres_data_directory_are_its_only_data_mount(image, target):
    """The Rails generator's accessory (`directories: [data:/var/lib/postgresql/data]`, no volumes): the preset's
    default data volume would be a second mount at the same path, which Docker refuses."""
    ev = evaluate(variant(STAGING, accessories={"db": {"image": image, "volumes": [], "directories": [f"data:{target}"]}}))
    db = _container(ev, "covertext-db")
    assert [(v.get("hostPath"), v.get("volumeName"), v["containerPath"]) for v in db.plain_inputs["volumes"]] == [
        ("/var/lib/berth/covertext/accessories/db/data", None, target)]


def test_kamals_directories_at_the_meilisearch_data_directory_are_its_only_data_mount():
    ev = evaluate(variant(BISAN, accessories={"meilisearch": {"volumes": [], "directories": ["data:/meili_data"]}}))
    search = _container(ev, "bisan-meilisearch")
    assert [v["containerPath"] for v in search.plain_inputs["volumes"]] == ["/meili_data"]


def test_a_postgres_17_directory_at_the_parent_of_its_data_is_refused_as_a_volume_is():
    from components.errors import ConfigError
    from components.validation import load

    with pytest.raises(ConfigError) as caught:
        load(variant(STAGING, accessories={"db": {"image": "postgres:17.6", "volumes": [],
                                                  "directories": ["data:/var/lib/postgresql"]}}).berth)
    assert "postgres 17 keeps its data in /var/lib/postgresql/data" in str(caught.value)


@pytest.mark.parametrize(("changes", "path", "first"), [
    ({"volumes": ["pg:/var/lib/postgresql"], "directories": ["data:/var/lib/postgresql"]},
     "berth:accessories.db.directories[0]", "berth:accessories.db.volumes[0]"),
    ({"volumes": ["pg:/var/lib/postgresql", "/mnt/storage/pg:/var/lib/postgresql"]},
     "berth:accessories.db.volumes[1]", "berth:accessories.db.volumes[0]"),
    ({"directories": ["conf:/etc/app.conf"], "files": {"/etc/app.conf": "x"}},
     "berth:accessories.db.files", "berth:accessories.db.directories[0]"),
])
def test_two_mounts_at_one_container_path_are_refused_with_both_key_paths(changes, path, first):
    from components.errors import ConfigError
    from components.validation import load

    with pytest.raises(ConfigError) as caught:
        load(variant(STAGING, accessories={"db": changes}).berth)
    (problem,) = [p for p in caught.value.problems if "Duplicate mount point" in p.message]
    assert problem.path == path and first in problem.message


# --- one listener per host port and address (Docker: "address already in use") --------------------------------

REDIS = {"image": "redis:7.2-alpine", "port": 6379}


def _problems(stack_file) -> list:
    from components.errors import ConfigError
    from components.validation import load

    try:
        load(stack_file.berth)
    except ConfigError as error:
        return [(p.path, p.message) for p in error.faults]
    return []


@pytest.mark.parametrize(("changes", "path", "other", "shown"), [
    ({"accessories": {"redis": {**REDIS, "publish": "127.0.0.1:443"}}},
     "berth:accessories.redis.publish", "berth:proxy.run.httpsPort", "listens on 0.0.0.0:443"),
    ({"accessories": {"redis": {**REDIS, "publish": "private:80"}}},
     "berth:accessories.redis.publish", "berth:proxy.run.httpPort", "would listen on private:80"),
    ({"accessories": {"redis": {**REDIS, "publish": "127.0.0.1:22"}}},
     "berth:accessories.redis.publish", "berth:ssh.port", "sshd"),
    ({"proxy": {"run": {"httpPort": 8080}}, "accessories": {"redis": {**REDIS, "publish": "127.0.0.1:8080"}}},
     "berth:accessories.redis.publish", "berth:proxy.run.httpPort", "listens on 0.0.0.0:8080"),
    ({"accessories": {"redis": {**REDIS, "publish": "127.0.0.1:6379"},
                      "cache": {**REDIS, "publish": "127.0.0.1:6379"}}},
     "berth:accessories.cache.publish", "berth:accessories.redis.publish", "the accessory redis"),
])
def test_a_host_port_taken_twice_on_a_machine_is_refused_naming_both_keys(changes, path, other, shown):
    """kamal-proxy publishes 80 and 443 on 0.0.0.0 and :: where it runs; Docker would refuse the second binding
    at `pulumi up`, after creating everything before it."""
    clashes = [(p, m) for p, m in _problems(variant(STAGING, **changes)) if "address already in use" in m]
    assert len(clashes) == 1, clashes
    (found, message), = clashes
    assert found == path and f"({other})" in message and shown in message and "covertext-web-1" in message


@pytest.mark.parametrize("changes", [
    {"accessories": {"redis": {**REDIS, "publish": "127.0.0.1:6379"}, "cache": {**REDIS, "publish": "127.0.0.1:6380"}}},
    {"proxy": {"run": {"httpPort": 8080}}, "accessories": {"redis": {**REDIS, "publish": "127.0.0.1:80"}}},
    {"proxy": {"run": {"bindIps": ["10.0.0.5"]}}, "accessories": {"redis": {**REDIS, "publish": "127.0.0.1:443"}}},
    {"proxy": {"run": {"publish": False}}, "accessories": {"redis": {**REDIS, "publish": "127.0.0.1:443"}}},
    # on the worker's machine, which runs no kamal-proxy
    {"servers": {"worker": {"count": 1, "size": "cx23", "proxy": False, "cmd": "bin/jobs"}},
     "accessories": {"redis": {**REDIS, "roles": ["worker"], "publish": "127.0.0.1:443"}}},
])
def test_ports_on_other_addresses_or_machines_do_not_clash(changes):
    assert not [m for _, m in _problems(variant(STAGING, **changes)) if "address already in use" in m]


def test_a_role_on_the_proxys_machine_brings_the_proxy_to_its_accessories():
    """`runsOn: web`: the worker's accessory runs on the web machine, where kamal-proxy publishes 443."""
    changes = {"servers": {"worker": {"runsOn": "web", "proxy": False, "cmd": "bin/jobs"}},
               "accessories": {"redis": {**REDIS, "roles": ["worker"], "publish": "127.0.0.1:443"}}}
    assert [p for p, m in _problems(variant(STAGING, **changes)) if "address already in use" in m] == [
        "berth:accessories.redis.publish"]


def test_the_plan_gives_the_line_of_both_keys(tmp_path):
    from typer.testing import CliRunner

    import tooling.plan

    text = STAGING.read_text().replace("    hosts: [staging.covertext.app]\n",
                                       "    hosts: [staging.covertext.app]\n    run: {httpsPort: 8443}\n")
    text = text.replace("      volumes: [/mnt/storage/postgres:/var/lib/postgresql]\n",
                        "      volumes: [/mnt/storage/postgres:/var/lib/postgresql]\n      publish: 127.0.0.1:8443\n")
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(text)
    lines = text.splitlines()
    run_line = lines.index("    run: {httpsPort: 8443}") + 1
    publish_line = lines.index("      publish: 127.0.0.1:8443") + 1
    app = tooling.plan.typer.Typer()
    app.command()(tooling.plan.main)
    result = CliRunner().invoke(app, ["--file", str(path)], env={"COLUMNS": "400"})
    assert result.exit_code == 1
    assert (f"berth:accessories.db.publish (line {publish_line}): the accessory db would listen on 127.0.0.1:8443 on "
            f"covertext-web-1, where kamal-proxy's HTTPS port (berth:proxy.run.httpsPort, line {run_line}) listens on "
            "0.0.0.0:8443") in result.output
