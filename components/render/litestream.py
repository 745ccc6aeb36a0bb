"""litestream.yml in Litestream v0.5's format, and the restore that precedes the app on a fresh host.

v0.5 takes exactly one `replica:` per database (the older `replicas:` list is rejected). Credentials
never go in the file: the container gets LITESTREAM_ACCESS_KEY_ID / LITESTREAM_SECRET_ACCESS_KEY as
secret environment variables, which Litestream reads itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

CONFIG_PATH = "/etc/litestream.yml"  # Litestream's default, so `litestream <command>` finds it
ACCESS_KEY_ENV = "LITESTREAM_ACCESS_KEY_ID"
SECRET_KEY_ENV = "LITESTREAM_SECRET_ACCESS_KEY"


@dataclass(frozen=True)
class Bucket:
    name: str
    endpoint: str  # https://…
    region: str
    prefix: str  # <service>/<stack>: two stacks sharing a bucket never mix their copies


def replica_path(bucket: Bucket, database: str) -> str:
    return f"{bucket.prefix}/{database.lstrip('/')}"


def litestream_config(databases: list[str], bucket: Bucket, sync_interval: str) -> str:
    """Paths are as the containers see them: the app and Litestream mount the storage at the same place."""
    document = {"dbs": [
        {"path": database, "replica": {
            "type": "s3",
            "bucket": bucket.name,
            "path": replica_path(bucket, database),
            "endpoint": bucket.endpoint,
            "region": bucket.region,
            "sync-interval": sync_interval,
        }}
        for database in databases
    ]}
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def restore_args(database: str) -> list[str]:
    """Restore only onto a host that has no database yet, and only if a copy exists: safe on every host."""
    return ["restore", "-config", CONFIG_PATH, "-if-db-not-exists", "-if-replica-exists", database]


# Run by the image's shell (`--entrypoint sh`): Litestream restores as root, and the app (berth:app.user)
# must be able to write what it restored; Litestream's answer to a missing bucket is an S3 error dump.
_RESTORE = """set -eu
database=$1 owner=$2 bucket=$3 endpoint=$4
if ! output=$(litestream {args} 2>&1); then
  echo "$output" >&2
  case "$output" in
    *NoSuchBucket*)
      echo "berth: the bucket $bucket does not exist at $endpoint (berth:backups.bucket): create it," \
           "or use berth:backups.provider spaces, which creates its own" >&2 ;;
  esac
  exit 1
fi
echo "$output"
for file in "$database" "$database-wal" "$database-shm"; do
  if [ -e "$file" ]; then chown "$owner" "$file"; fi
done
"""


def restore_command(database: str, owner: str, bucket: Bucket) -> list[str]:
    """Arguments to the image's `sh`: restore `database` if needed, then give it to `owner`."""
    args = " ".join(restore_args('"$database"'))
    return ["-c", _RESTORE.format(args=args), "sh", database, owner, bucket.name, bucket.endpoint]
