"""The `random` package (pulumi-random 4.21.4, hashicorp/terraform-provider-random): RandomId, with
real random bytes, kept in state only."""

from __future__ import annotations

import base64
import secrets

from .schema import Attr, Schema
from .server import Kind, Package

SOURCE = "hashicorp/terraform-provider-random internal/provider/resource_id.go"


class RandomId(Kind):
    schema = Schema("random:index/randomId:RandomId", {
        "byteLength": Attr(required=True, replace=True),
        "keepers": Attr(replace=True),
        "prefix": Attr(replace=True),
        "hex": Attr(output=True),
        "b64Std": Attr(output=True),
        "b64Url": Attr(output=True),
        "dec": Attr(output=True),
    }, SOURCE)

    def create(self, config, name, inputs):
        raw = secrets.token_bytes(int(inputs["byteLength"]))
        prefix = inputs.get("prefix") or ""
        b64url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        state = {**inputs, "hex": prefix + raw.hex(), "b64Std": prefix + base64.b64encode(raw).decode(),
                 "b64Url": prefix + b64url, "dec": prefix + str(int.from_bytes(raw, "big"))}
        return b64url, state


PACKAGE = Package("random", "pulumi_random", [RandomId()])
