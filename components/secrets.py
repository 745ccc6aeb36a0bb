"""Named secrets from `berth:secrets`, handed out only as secret Outputs."""

from __future__ import annotations

import pulumi
from pydantic import SecretStr


class Secrets:
    def __init__(self, values: dict[str, SecretStr]):
        self._values = values

    def output(self, name: str) -> pulumi.Output[str]:
        return pulumi.Output.secret(self._values[name].get_secret_value())

    def maybe(self, name: str | None) -> pulumi.Output[str] | None:
        return None if name is None else self.output(name)


def resolved(values: dict[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    """Named secret Outputs as one (secret) Output of a dict; `{}` when there are none."""
    return pulumi.Output.all(**values).apply(dict)
