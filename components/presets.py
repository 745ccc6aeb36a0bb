"""Accessory presets: what Litestream, Meilisearch and Postgres need beyond the generic container.

Each preset takes the generic AccessoryArgs built from the stack file and returns them completed, so
the Accessory component never asks which image it runs.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .accessory_args import AccessoryArgs
from .config import Accessory as AccessoryConfig
from .config import Stack, parse_mount
from .render import accessory as text
from .render import litestream as litestream_text
from .render.release import RunSpec
from .secrets import Secrets

if TYPE_CHECKING:
    from .backups import BackupsStorage


@dataclass(frozen=True)
class PresetContext:
    stack: Stack
    stack_name: str
    config: AccessoryConfig
    secrets: Secrets
    backups: BackupsStorage | None


def litestream(args: AccessoryArgs, c: PresetContext) -> AccessoryArgs:
    """Replicate to berth:backups, seeing the app's storage at the app's paths; restore before anything starts."""
    backups, settings = c.backups, c.stack.backups
    assert backups is not None and settings is not None  # checks.py requires berth:backups with litestream
    bucket = litestream_text.Bucket(settings.bucket, settings.endpoint_url, settings.region,
                                    f"{c.stack.service}/{c.stack_name}/{args.host.spec.name}")  # each host its own
    config_file = text.HostFile(litestream_text.CONFIG_PATH, litestream_text.litestream_config(
        c.config.databases, bucket, c.config.sync_interval), [])
    volumes = args.volumes + [m for m in c.stack.volumes if any(
        db.startswith(parse_mount(m).target.rstrip("/") + "/") for db in c.config.databases)]
    config_mount = (f"{text.file_host_path(args.service, args.name, litestream_text.CONFIG_PATH)}:"
                    f"{litestream_text.CONFIG_PATH}:ro")
    restores = [RunSpec(name=f"{args.service}-{args.name}-restore-{i + 1}", image=args.image,
                        mounts=(*volumes, config_mount), entrypoint="sh",
                        command=shlex.join(litestream_text.restore_command(database, c.stack.app.user, bucket)))
                for i, database in enumerate(c.config.databases)]
    return replace(
        args, command=args.command or ["replicate"], files=[*args.files, config_file], volumes=volumes,
        env_secret={**args.env_secret, litestream_text.ACCESS_KEY_ENV: backups.access_key_id,
                    litestream_text.SECRET_KEY_ENV: backups.secret_access_key},
        runs_before_start=restores,
    )


def meilisearch(args: AccessoryArgs, c: PresetContext) -> AccessoryArgs:
    """The master key comes from `masterKey`, or from `env.secret: [MEILI_MASTER_KEY]` as Kamal writes it; the data
    in a named volume unless the stack file mounts /meili_data (AccessoryConfig.default_data_mount)."""
    key = {"MEILI_MASTER_KEY": c.secrets.output(c.config.master_key)} if c.config.master_key else {}
    return replace(
        args, env_clear={"MEILI_ENV": "production", "MEILI_NO_ANALYTICS": "true", **args.env_clear},
        env_secret={**args.env_secret, **key},
        volumes=[*args.volumes, *filter(None, [c.config.default_data_mount(args.service, args.name)])],
    )


def postgres(args: AccessoryArgs, c: PresetContext) -> AccessoryArgs:
    """With `database`, Berth sets POSTGRES_* and gives the app its URL; Kamal's form passes env as written.
    The data volume sits where the image's major version keeps its data. Dependants wait until
    `pg_isready` answers (the container is created with wait=True)."""
    db = c.config.database
    env_clear = dict(args.env_clear)
    env_secret = dict(args.env_secret)
    if db is not None:
        env_clear.update(POSTGRES_USER=db.user, POSTGRES_DB=db.name)
        env_secret["POSTGRES_PASSWORD"] = c.secrets.output(db.password)
    user = env_clear.get("POSTGRES_USER", "postgres")
    database = env_clear.get("POSTGRES_DB", user)
    return replace(
        args, env_clear=env_clear, env_secret=env_secret,
        volumes=[*args.volumes, *filter(None, [c.config.default_data_mount(args.service, args.name)])],
        healthcheck=["CMD-SHELL", f"pg_isready -U {shlex.quote(user)} -d {shlex.quote(database)}"],
    )


PRESETS: dict[str, Callable[[AccessoryArgs, PresetContext], AccessoryArgs]] = {
    "litestream": litestream, "meilisearch": meilisearch, "postgres": postgres,
}
