"""`berth import` of a Rails generator's app for a move off Kamal: what happens to the data, which names change, what
the next steps tell the user to run (the new-user audit of 2026-12-07: /work/notes/newuser-audit.md)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from berth.kamal import importer

# `rails new hey_pantry` with a postgres accessory beside web and job on one host, and redis with Kamal's data
# directory; the MySQL accessory on a host of its own stays Kamal's.
PANTRY = """\
service: hey_pantry
image: acme/hey_pantry
servers:
  web:
    - 203.0.113.10
  job:
    hosts:
      - 203.0.113.10
    cmd: bin/jobs
proxy:
  ssl: true
  host: pantry.example.com
registry:
  server: ghcr.io
  username: acme-bot
  password:
    - KAMAL_REGISTRY_PASSWORD
env:
  secret:
    - RAILS_MASTER_KEY
    - POSTGRES_PASSWORD
  clear:
    DB_HOST: hey_pantry-db
    REDIS_URL: redis://hey_pantry-redis:6379/0
    RAILS_LOG_LEVEL: info
volumes:
  - "hey_pantry_storage:/rails/storage"
ssh:
  user: deploy
accessories:
  db:
    image: postgres:16.4
    host: 203.0.113.10
    port: "127.0.0.1:5432:5432"
    env:
      clear:
        POSTGRES_USER: hey_pantry
      secret:
        - POSTGRES_PASSWORD
    directories:
      - data:/var/lib/postgresql/data
  redis:
    image: redis:7.0
    host: 203.0.113.10
    directories:
      - data:/data
  mysql:
    image: mysql:8.0
    host: 192.0.2.20
    directories:
      - data:/var/lib/mysql
"""


def app(tmp_path: Path, text: str = PANTRY) -> Path:
    (tmp_path / "app" / "config").mkdir(parents=True)
    (tmp_path / "app" / "config" / "deploy.yml").write_text(text)
    return tmp_path / "app" / "config" / "deploy.yml"


def run(config: Path, tmp_path: Path, **options) -> tuple[int, str, dict]:
    out = io.StringIO()
    (tmp_path / "berth").mkdir(exist_ok=True)  # the Berth project: the stack file goes beside its Pulumi.yaml
    (tmp_path / "berth" / "Pulumi.yaml").write_text("name: berth\nruntime: python\n")
    base = dict(config=config, stack="production", allow_from=("198.51.100.7/32",), version="v1",
                directory=tmp_path / "berth")
    if options.get("provider", "existing") != "existing":
        key = tmp_path / "id.pub"
        key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ1c3R5a2V5Zm9ydGVzdHNvbmx5MDEyMzQ1Njc4OQ x\n")
        base["authorized_keys"] = (key,)
    code = importer.run(importer.Options(**{**base, **options}), Console(file=out, width=400, emoji=False,
                                                                           highlight=False))
    written = tmp_path / "berth" / "Pulumi.production.yaml"
    stack = yaml.safe_load(written.read_text())["config"] if written.exists() else {}
    return code, out.getvalue(), stack


# --- finding 1: the accessories' data on the hosts Kamal used --------------------------------------------------

def test_on_the_same_hosts_an_accessory_mounts_the_directory_kamal_keeps_its_data_in(tmp_path):
    """Kamal mounts `$PWD/<service>-<accessory>/data` (Accessory#directories), $PWD the SSH user's home; Berth's
    own /var/lib/berth/... would be a new, empty directory: Postgres would start without its data."""
    code, out, stack = run(app(tmp_path), tmp_path)
    assert code == 0, out
    accessories = stack["berth:accessories"]
    assert accessories["db"]["directories"] == ["/home/deploy/hey_pantry-db/data:/var/lib/postgresql/data"]
    assert accessories["redis"]["directories"] == ["/home/deploy/hey_pantry-redis/data:/data"]
    assert "ssh deploy@203.0.113.10 ls -d ~/hey_pantry-db/data" in out


def test_the_next_steps_stop_kamals_accessories_and_never_remove_them(tmp_path):
    """`kamal accessory remove` deletes the data directory (cli/accessory.rb `remove_accessory` ends in
    `remove_service_directory`: rm -rf <service_name>)."""
    code, out, _ = run(app(tmp_path), tmp_path)
    assert code == 0, out
    steps = out.split("\nNext:\n", 1)[1]
    assert "accessory remove all" not in steps
    assert "kamal accessory stop db   # Berth runs hey-pantry-db instead" in steps
    assert "kamal accessory stop redis" in steps and "kamal accessory stop mysql" not in steps
    assert "Never `kamal accessory remove`" in steps
    assert "Leave mysql (hey_pantry-mysql on 192.0.2.20) running: Berth does not manage it" in steps


def test_a_container_whose_name_berths_takes_is_removed_alone_after_its_stop(tmp_path):
    code, out, _ = run(app(tmp_path, PANTRY.replace("service: hey_pantry", "service: pantry")), tmp_path,
                       destination=None)
    assert code == 0, out
    assert "kamal accessory stop db   # Berth runs pantry-db instead" in out
    assert "ssh deploy@203.0.113.10 docker rm pantry-db   # the stopped container only" in out


def test_kamals_commands_carry_the_destination(tmp_path):
    config = app(tmp_path)
    (config.parent / "deploy.production.yml").write_text("env:\n  clear:\n    RAILS_ENV: production\n")
    code, out, _ = run(config, tmp_path, destination="production")
    assert code == 0, out
    assert "kamal accessory stop db -d production" in out and "kamal app remove -d production" in out


# --- finding 5: new servers start without the data -------------------------------------------------------------

def test_new_servers_are_told_that_directories_and_volumes_do_not_move_and_how_to_copy_them(tmp_path):
    code, out, stack = run(app(tmp_path), tmp_path, provider="hetzner")
    assert code == 0, out
    assert stack["berth:accessories"]["db"]["directories"] == ["data:/var/lib/postgresql/data"]
    assert "the data in /home/deploy/hey_pantry-db/data on 203.0.113.10 does not move" in out
    assert "rsync -aHAX" in out and "/mnt/storage/hey-pantry-db-data:/var/lib/postgresql/data" in out
    assert "the Docker volume hey_pantry_storage stays on the Kamal hosts" in out
    assert "docker run --rm -v hey_pantry_storage:/from alpine tar -C /from -cf - ." in out
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("4. After that first `pulumi up` and before DNS points at the new hosts, copy ")
    assert "the Docker volume hey_pantry_storage" in last and "db's data (/home/deploy/hey_pantry-db/data)" in last


@pytest.mark.parametrize("user,home", [("root", "/root"), ("app", "/home/app")])
def test_the_directory_is_under_the_ssh_users_home(tmp_path, user, home):
    code, out, stack = run(app(tmp_path, PANTRY.replace("user: deploy", f"user: {user}")), tmp_path)
    assert code == 0, out
    assert stack["berth:accessories"]["db"]["directories"] == [f"{home}/hey_pantry-db/data:/var/lib/postgresql/data"]


# --- finding 3: `service: hey_pantry` is hey-pantry, and so are its accessories' containers ----------------------

def test_env_values_naming_a_renamed_accessory_container_name_berths_and_each_change_is_listed(tmp_path):
    text = PANTRY.replace("    RAILS_LOG_LEVEL: info\n", "    RAILS_LOG_LEVEL: info\n    OTHER: hey_pantry-dbx\n")
    text = text.replace("  job:\n    hosts:\n      - 203.0.113.10\n    cmd: bin/jobs\n",
                        "  job:\n    hosts:\n      - 203.0.113.10\n    cmd: bin/jobs\n    env:\n      clear:\n"
                        "        CACHE: hey_pantry-redis:6379\n")
    code, out, stack = run(app(tmp_path, text), tmp_path)
    assert code == 0, out
    clear = stack["berth:env"]["clear"]
    assert clear["DB_HOST"] == "hey-pantry-db" and clear["REDIS_URL"] == "redis://hey-pantry-redis:6379/0"
    assert clear["OTHER"] == "hey_pantry-dbx"  # another name that starts alike
    assert stack["berth:servers"]["job"]["env"]["clear"]["CACHE"] == "hey-pantry-redis:6379"
    line = PANTRY.splitlines().index("    DB_HOST: hey_pantry-db") + 1 + 3  # the job's env: 3 lines above it
    assert (f"env/clear/DB_HOST (config/deploy.yml line {line}): hey_pantry-db names Kamal's container "
            "hey_pantry-db, which Berth runs as hey-pantry-db: the value is now hey-pantry-db") in out
    assert "servers/job/env/clear/CACHE" in out
    assert "set one that names a renamed container (a DATABASE_URL, say) with its new name" in out


def test_an_accessorys_own_service_name_is_rewritten_too(tmp_path):
    text = PANTRY.replace("    image: redis:7.0\n", "    image: redis:7.0\n    service: cache\n").replace(
        "REDIS_URL: redis://hey_pantry-redis:6379/0", "REDIS_URL: redis://cache:6379/0")
    code, out, stack = run(app(tmp_path, text), tmp_path)
    assert code == 0, out
    assert stack["berth:env"]["clear"]["REDIS_URL"] == "redis://hey-pantry-redis:6379/0"


# --- finding 4: with --provider, env values that name an old host's address ---------------------------------------

LEDGER = """\
service: ledger
image: ledgerco/ledger
servers:
  web:
    hosts:
      - 10.0.0.1
      - 10.0.0.2
  worker:
    hosts:
      - 10.0.0.3
    cmd: bundle exec sidekiq
    proxy: false
    env:
      clear:
        CACHE_HOST: 10.0.0.3:6379
proxy:
  ssl: false
  host: app.ledger.io
  app_port: 3000
registry:
  username: ledgerbot
  password:
    - KAMAL_REGISTRY_PASSWORD
env:
  clear:
    REDIS_URL: redis://10.0.0.3:6379/0
    CALLBACK_URL: http://10.0.0.1:3000/hook
    OTHER_HOST: 10.0.0.30
  secret:
    - RAILS_MASTER_KEY
accessories:
  redis:
    image: redis:7.2-alpine
    host: 10.0.0.3
    port: "10.0.0.3:6379:6379"
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_with_new_servers_an_env_value_naming_an_old_host_is_rewritten_or_flagged_with_what_to_write(tmp_path):
    """The new servers get addresses of their own: `redis://10.0.0.3:6379/0` would send the app to the old host."""
    code, out, stack = run(app(tmp_path, LEDGER), tmp_path, provider="digitalocean")
    assert code == 0, out
    clear = stack["berth:env"]["clear"]
    # seen from the web servers too: the new worker's private address is not known before `pulumi up`
    assert clear["REDIS_URL"] == "redis://10.0.0.3:6379/0"
    assert stack["berth:accessories"]["redis"]["publish"] == "private:6379"
    assert (f"env/clear/REDIS_URL (config/deploy.yml line {line_of(LEDGER, 'REDIS_URL')}): redis://10.0.0.3:6379/0 "
            "names a Kamal host the new digitalocean servers replace") in out
    assert "write redis://<private ip of ledger-worker-1>:6379/0" in out
    assert (f"env/clear/CALLBACK_URL (config/deploy.yml line {line_of(LEDGER, 'CALLBACK_URL')})" in out
            and "write http://<ip of ledger-web-1>:3000/hook" in out)
    # only the worker, on redis's own server, sees it: the container's name, as on the same host
    assert stack["berth:servers"]["worker"]["env"]["clear"]["CACHE_HOST"] == "ledger-redis:6379"
    assert (f"servers/worker/env/clear/CACHE_HOST (config/deploy.yml line {line_of(LEDGER, 'CACHE_HOST')}): "
            "10.0.0.3:6379 names an accessory's Kamal address on the server that runs it") in out
    assert clear["OTHER_HOST"] == "10.0.0.30" and "OTHER_HOST" not in out  # another address that starts alike
    assert "one that names an address of the Kamal hosts (10.0.0.1, 10.0.0.2, 10.0.0.3) must name" in out


def test_a_port_kamal_published_on_every_interface_is_published_on_the_new_servers_private_address(tmp_path):
    """`port: 6379` published on 10.0.0.3 too; a new server cannot bind the old address."""
    code, out, stack = run(app(tmp_path, LEDGER.replace('"10.0.0.3:6379:6379"', '"6379"')), tmp_path,
                           provider="hetzner")
    assert code == 0, out
    assert stack["berth:accessories"]["redis"]["publish"] == "private:6379"
    assert "write redis://<private ip of ledger-worker-1>:6379/0" in out


def test_on_the_same_hosts_the_addresses_stay_and_nothing_is_flagged(tmp_path):
    code, out, stack = run(app(tmp_path, LEDGER), tmp_path)
    assert code == 0, out
    assert stack["berth:env"]["clear"]["REDIS_URL"] == "redis://10.0.0.3:6379/0"
    assert stack["berth:accessories"]["redis"]["publish"] == "10.0.0.3:6379"
    assert "names a Kamal host" not in out and "must name the new" not in out


# --- finding 7: a stack file written where no Pulumi.yaml is ------------------------------------------------------

def test_a_stack_file_written_where_no_pulumi_yaml_is_is_said_and_the_next_steps_move_it(tmp_path):
    """Beside deploy.yml (the default when run in the app) `pulumi stack init` and every berth verb fail."""
    from tooling.evaluate import PROJECT_DIR

    code, out, _ = run(app(tmp_path), tmp_path, directory=tmp_path / "app")
    assert code == 0, out
    written = tmp_path.resolve() / "app" / "Pulumi.production.yaml"
    assert (f"Warning: {written.parent} has no Pulumi.yaml, so neither pulumi nor berth reads Pulumi.production.yaml "
            f"there. Run berth import from your Berth project ({PROJECT_DIR}), the directory with Pulumi.yaml, or pass "
            "--dir with it") in out
    next_steps = out[out.index("\nNext:\n"):]
    assert f"\n1. Move the stack file into your Berth project, beside its Pulumi.yaml: mv -i {written} {PROJECT_DIR}/\n" \
        in next_steps
    assert "\n2. Create the stack and set its secrets" in next_steps
    assert f"  pulumi -C {PROJECT_DIR} stack init production\n" in next_steps
    assert f"pulumi -C {PROJECT_DIR} config set --stack production --secret --path 'secrets.RAILS_MASTER_KEY'" in out
    assert f"then: pulumi -C {PROJECT_DIR} up --stack production" in out


def test_beside_pulumi_yaml_nothing_is_said_and_pulumi_runs_there(tmp_path):
    code, out, _ = run(app(tmp_path), tmp_path)  # into tmp_path/berth, which holds Pulumi.yaml
    assert code == 0, out
    assert "Warning:" not in out and "Move the stack file" not in out
    assert f"  pulumi -C {tmp_path.resolve() / 'berth'} stack init production\n" in out
