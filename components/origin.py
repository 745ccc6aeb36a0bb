"""Who may reach the hosts on 80/443: everyone, or only Cloudflare when the origin is restricted.

The live list comes from Cloudflare's API (`getIpRanges`). When it answers nothing, as under the
offline plan's mocks, the published list (render/origin.py) is used, so the plan still shows a restricted origin.
"""

from __future__ import annotations

import pulumi

from . import cloudflare
from .render.firewall import WORLD
from .render.origin import cloudflare_ranges


def web_sources(restrict_to_cloudflare: bool) -> pulumi.Output[list[str]]:
    if not restrict_to_cloudflare:
        return pulumi.Output.from_input(list(WORLD))
    return cloudflare.ip_ranges().apply(lambda ranges: cloudflare_ranges(*ranges))
