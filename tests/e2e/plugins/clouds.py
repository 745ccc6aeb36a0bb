"""What the cloud plugins share: the lab has no DigitalOcean or Hetzner account, so their resources can
only be previewed. A preview checks the inputs the provider requires and returns the outputs as unknown,
as the real providers do in a preview; an `up` that would create one is refused with that reason."""

from __future__ import annotations

from .schema import Attr, Schema
from .server import Failed, Kind


class PreviewOnly(Kind):
    def __init__(self, schema: Schema):
        self.schema = schema

    def create(self, config, name, inputs):
        raise Failed(f"the lab has no cloud account: {self.token} can be previewed here, not created")


def kind(token: str, source: str, required: tuple[str, ...] = (), replace: tuple[str, ...] = (),
         optional: tuple[str, ...] = (), outputs: tuple[str, ...] = (), secrets: tuple[str, ...] = (),
         computed: tuple[str, ...] = ()) -> PreviewOnly:
    attrs = {name: Attr(required=name in required, replace=name in replace, computed=name in computed)
             for name in (*required, *optional)}
    attrs |= {name: Attr(output=True, secret=name in secrets) for name in outputs}
    return PreviewOnly(Schema(token, attrs, source))
