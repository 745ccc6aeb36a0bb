"""Litestream on the lab: rows replicate to S3, a fresh host restores them before the app starts,
and `berth backup` / `berth restore` work in place without losing what only the WAL held."""

from __future__ import annotations

import shutil
import sqlite3
import time

import boto3

from .http import get
from .ops import Ops
from .world import BUCKET

DATABASE = "/rails/storage/production.sqlite3"
ON_HOST = "/mnt/storage/shop/production.sqlite3"


def write(world, address: str, name: str) -> int:
    answer = get(address, "shop.e2e.test", f"/cgi-bin/write?{name}", ca=world.lab.ca_cert)
    assert answer.status == 200 and answer.body.strip().isdigit(), answer
    return int(answer.body)


def rows(world, address: str) -> int:
    answer = get(address, "shop.e2e.test", "/cgi-bin/rows", ca=world.lab.ca_cert)
    assert answer.status == 200 and answer.body.strip().isdigit(), answer
    return int(answer.body)


def replica_objects(world) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=world.lab.s3_endpoint, region_name="us-east-1",
                      aws_access_key_id=world.secrets["S3_ACCESS_KEY_ID"],
                      aws_secret_access_key=world.secrets["S3_SECRET_ACCESS_KEY"], verify=str(world.lab.ca_cert))
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix="shop/e2e/shop-web-1/rails/storage/production.sqlite3/")
    return [o["Key"] for o in listing.get("Contents", [])]


def copy_count(world, tmp_path, backup: str, *sidecars: str) -> int:
    """Rows in a copy of a database taken from the host (with its -wal, if named), opened here."""
    target = tmp_path / backup.rsplit("/", 1)[-1]
    shutil.copy(world.web.path(backup), target)
    for suffix in sidecars:
        if world.web.path(backup + suffix).exists():
            shutil.copy(world.web.path(backup + suffix), f"{target}{suffix}")
    with sqlite3.connect(target) as db:
        return db.execute("SELECT count(*) FROM items").fetchone()[0]


def wait_replicated(world, minimum_objects: int = 1) -> list[str]:
    for _ in range(60):
        objects = replica_objects(world)
        if len(objects) >= minimum_objects:
            return objects
        time.sleep(0.5)
    raise AssertionError("nothing reached the bucket within 30s")


def test_rows_the_app_writes_replicate_to_the_bucket(world):
    assert world.deployment().converged()
    before = len(replica_objects(world))
    for i in range(5):
        count = write(world, world.web.address, f"row-{i}")
    assert count >= 5
    assert len(wait_replicated(world, before + 1)) > before


def test_backup_copies_the_replica_and_survives_a_failed_earlier_backup(world, tmp_path):
    ops = Ops(world.deployment())
    expected = rows(world, world.web.address)
    time.sleep(2)  # one sync interval and more
    # What a failed backup leaves behind must not break the next one.
    world.web.docker("exec", "shop-litestream", "touch", "/tmp/berth-backup-production.sqlite3")
    for attempt in (1, 2):
        result = ops("backup", "--output", str(tmp_path / f"b{attempt}"))
        assert result.exit_code == 0, result.output
        with sqlite3.connect(tmp_path / f"b{attempt}" / "production.sqlite3") as db:
            assert db.execute("SELECT count(*) FROM items").fetchone()[0] == expected


def test_restore_in_place_keeps_uncheckpointed_rows_in_the_safety_copy(world, tmp_path):
    app = world.web.docker("ps", "--filter", "label=service=shop", "--filter", "label=role=web",
                           "--format", "{{.Names}}").stdout.split()[0]
    for i in range(3):  # writes that stay in the WAL: no checkpoint when the connection closes
        world.web.docker("exec", app, "sqlite3", DATABASE, ".dbconfig no_ckpt_on_close on",
                         f"INSERT INTO items (name, version) VALUES ('wal-{i}', 'x')")
    assert world.web.path(ON_HOST + "-wal").stat().st_size > 0
    live = rows(world, world.web.address)
    result = Ops(world.deployment())("restore", DATABASE, "--yes")
    assert result.exit_code == 0, result.output
    assert copy_count(world, tmp_path, ON_HOST + ".before-restore", "-wal") == live
    stat = world.web.path(ON_HOST).stat()
    assert (stat.st_uid, stat.st_gid) == (1000, 1000)
    assert write(world, world.web.address, "after-restore") >= 1  # the app (uid 1000) writes the restored file


def test_a_fresh_host_restores_before_the_app_starts(world):
    written = rows(world, world.web.address)
    time.sleep(2)  # let the last writes reach the bucket
    fresh = world.add_host()
    rebuilt = world.deployment("e2e-rebuilt", stack_name="e2e",
                               servers={"web": {"hosts": [fresh.address]}, "jobs": None})
    up = rebuilt.up()
    assert up.ok, up.error
    assert rows(world, fresh.address) == written
    stat = fresh.path(ON_HOST).stat()
    assert (stat.st_uid, stat.st_gid) == (1000, 1000)
    assert write(world, fresh.address, "on-the-new-host") == written + 1


def test_a_missing_external_bucket_is_named_before_the_app_starts(world):
    fresh = world.add_host()
    stack = world.deployment("e2e-nobucket", servers={"web": {"hosts": [fresh.address]}, "jobs": None},
                             backups={"bucket": "missing-bucket"})
    up = stack.up()
    assert not up.ok
    assert ("berth: the bucket missing-bucket does not exist at https://10.231.0.1:9000 (berth:backups.bucket)"
            in up.error)
    assert fresh.docker("ps", "--all", "--filter", "label=role", "--quiet").stdout.strip() == ""
