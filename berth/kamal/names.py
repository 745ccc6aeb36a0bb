"""Kamal's names (service, roles, accessories) as Berth names: a-z, 0-9 and single '-', because they go into
container, cloud resource and stack key names that take no more (components/fields.py `Name`)."""

from __future__ import annotations

import re


def berth_name(raw: str) -> str:
    """`my_app` becomes `my-app`, `job_worker` `job-worker`; a name that still does not fit is the caller's to
    refuse."""
    return re.sub(r"-+", "-", raw.lower().replace("_", "-")).strip("-")
