"""The one reader of Pulumi configuration in `pulumi up`: the `berth:` namespace in, a validated Stack out.

Pulumi hands the program every config value as text (objects as JSON); `stackfile.decode` turns that
back into the stack file's shapes. The program also reads the stack file itself, when it is there
(`Pulumi.<stack>.yaml` in the project directory, as the CLI finds it), for what the engine's text hides:
values the CLI changed (`version: 1.10` arrives as "1.1"), repeated keys, stray namespaces, and lines.
So `pulumi up` refuses exactly what the offline plan refuses.
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi
from pulumi.runtime import config as runtime_config

from . import stackfile, yamlv3
from .config import Stack
from .errors import ConfigError, Problem, besides
from .stackfile import NAMESPACE, decode
from .validation import load

# Set by the offline evaluation to the file it evaluates ("" for none); `pulumi up` leaves it unset.
STACK_FILE_ENV = "BERTH_STACK_FILE"


def pulumi_values(namespace: str = NAMESPACE) -> dict[str, str]:
    """Every `<namespace>:` key the engine passed, as the engine passed it (text)."""
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{namespace}:"
    return {key[len(prefix):]: value for key, value in merged.items() if key.startswith(prefix)}


def stack_file_path() -> Path | None:
    configured = os.environ.get(STACK_FILE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    path = Path.cwd() / f"Pulumi.{pulumi.get_stack()}.yaml"
    return path if path.exists() else None


def read_stack() -> Stack:
    """Validate the running stack's config before any resource is declared."""
    raw = decode(pulumi_values())
    problems: list[Problem] = []
    if "secrets" in raw and not runtime_config.is_config_secret(f"{NAMESPACE}:secrets"):
        problems.append(Problem(f"{NAMESPACE}:secrets", "holds plain text; set each value with "
                                                        "pulumi config set --secret --path 'secrets.NAME'"))
    path = stack_file_path()
    lines = None
    if path is not None:
        try:
            raw_file = stackfile.read(path)
        except yamlv3.SyntaxProblem as error:
            raise ConfigError([Problem("(file)", str(error))], file=path.name) from None
        problems += raw_file.problems
        lines = raw_file.line_of
    try:
        stack = load(raw, lines, stack_name=pulumi.get_stack())
    except ConfigError as error:
        raise ConfigError([*problems, *besides(problems, error.problems)], file=path.name if path else None) from None
    if problems:
        raise ConfigError(problems, file=path.name if path else None)
    return stack
