"""Where accessories (Litestream) put their copies: a Spaces bucket with a key scoped to it, or external S3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from .clouds.base import stateful
from .sdk import digitalocean as do

if TYPE_CHECKING:
    from .config import Stack
    from .secrets import Secrets


@dataclass
class BackupsArgs:
    service: str
    stack_name: str
    provider: str  # spaces | s3
    bucket: str
    region: str
    endpoint: str
    access_key_id: pulumi.Output[str] | None = None  # s3: from berth:secrets
    secret_access_key: pulumi.Output[str] | None = None

    @classmethod
    def from_stack(cls, stack: "Stack", stack_name: str, secrets: "Secrets") -> "BackupsArgs":
        b = stack.backups
        return cls(service=stack.service, stack_name=stack_name, provider=b.provider, bucket=b.bucket,
                   region=b.region, endpoint=b.endpoint_url, access_key_id=secrets.maybe(b.access_key_id),
                   secret_access_key=secrets.maybe(b.secret_access_key))


class BackupsStorage(pulumi.ComponentResource):
    access_key_id: pulumi.Output[str]
    secret_access_key: pulumi.Output[str]  # secret

    def __init__(self, name: str, args: BackupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:index:BackupsStorage", name, {}, opts)
        self.bucket = pulumi.Output.from_input(args.bucket)
        self.endpoint = args.endpoint
        self.region = args.region
        if args.provider == "spaces":
            bucket = do.SpacesBucket(f"{name}-bucket", name=args.bucket, region=args.region, acl="private",
                                     versioning=do.SpacesBucketVersioningArgs(enabled=True), opts=stateful(self))
            key = do.SpacesKey(f"{name}-key", name=f"{args.service}-{args.stack_name}-backups",
                               grants=[do.SpacesKeyGrantArgs(bucket=bucket.name, permission="readwrite")],
                               opts=pulumi.ResourceOptions(parent=self))
            self.bucket = bucket.name
            self.access_key_id = pulumi.Output.secret(key.access_key)
            self.secret_access_key = pulumi.Output.secret(key.secret_key)
        else:
            self.access_key_id = pulumi.Output.secret(args.access_key_id)
            self.secret_access_key = pulumi.Output.secret(args.secret_access_key)
        self.register_outputs({"bucket": self.bucket, "endpoint": self.endpoint})
