"""What the cloud plugins share: the lab has no DigitalOcean or Hetzner account, so their resources can
only be previewed. A preview checks the inputs the provider requires and returns the outputs as unknown,
as the real providers do in a preview; an `up` that would create one is refused with that reason."""

from __future__ import annotations

import json
import os

from .schema import Attr, Schema
from .server import Failed, Kind


class PreviewOnly(Kind):
    def __init__(self, schema: Schema, autonamed: bool):
        self.schema = schema
        self.autonamed = autonamed

    def replaces_delete_first(self, news):
        """pulumi-terraform-bridge pkg/tfbridge/schema.go `nameRequiresDeleteBeforeReplace`: an SDKv2
        resource whose autonamed `name` the program sets itself is replaced delete-first (the new one
        could not take the name while the old one holds it)."""
        return self.autonamed and "name" in news

    def create(self, config, name, inputs):
        raise Failed(f"the lab has no cloud account: {self.token} can be previewed here, not created")


def kind(token: str, source: str, required: tuple[str, ...] = (), replace: tuple[str, ...] = (),
         optional: tuple[str, ...] = (), outputs: tuple[str, ...] = (), secrets: tuple[str, ...] = (),
         computed: tuple[str, ...] = (), framework: bool = False) -> PreviewOnly:
    """`framework`: a plugin-framework resource, which the bridge never replaces delete-first by name."""
    attrs = {name: Attr(required=name in required, replace=name in replace, computed=name in computed)
             for name in (*required, *optional)}
    attrs |= {name: Attr(output=True, secret=name in secrets) for name in outputs}
    return PreviewOnly(Schema(token, attrs, source), autonamed=not framework and "name" in attrs)


def ssh_keys_answer(config, args: dict, preview: bool) -> dict:
    """getSshKeys: the account's keys. The lab's account is empty unless a scenario puts keys in it
    (BERTH_LAB_ACCOUNT_SSH_KEYS, a JSON list of {id, name, publicKey, fingerprint})."""
    keys = json.loads(os.environ.get("BERTH_LAB_ACCOUNT_SSH_KEYS") or "[]")
    return {"id": "ssh-keys", "sshKeys": keys}
