"""Read `Pulumi.<stack>.yaml` as `pulumi up` reads it, and find what the CLI would silently change.

The values are those Go's yaml.v3 gives the Pulumi CLI (components/yamlv3.py), and `engine_config` is
the text the CLI then hands the program, so the offline plan, the tests and `pulumi up` see the same
stack. Reading the file itself (the program does too, see settings.read_stack) also finds what the
engine's view hides: duplicate keys, keys outside any namespace (a dedented key), namespaces Berth does
not read (`bearth:`), credentials written in plain text, and unquoted scalars the CLI turns into other
text (`version: 1.10` reaches the program as "1.1"). Each problem carries its line.

Encrypted values cannot be decrypted here: each `{secure: ...}` under `berth:secrets` becomes a
placeholder that stays a secret all the way through.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import yamlv3
from .config import SCALAR_KEYS, keys_at, paths_of, scalar_kind
from .errors import Problem

NAMESPACE = "berth"

PLACEHOLDER = "offline-placeholder-secret"


def decode(values: dict[str, str]) -> dict[str, Any]:
    """The engine's text back to YAML shapes, as the program reads it: JSON for sections, text for
    scalar keys. Text that is not JSON stays text, so validation names the key (unknown, or not a
    section) with its line."""
    raw: dict[str, Any] = {}
    for key, value in values.items():
        if key in SCALAR_KEYS or not isinstance(value, str):
            raw[key] = value
            continue
        try:
            raw[key] = json.loads(value)
        except json.JSONDecodeError:
            raw[key] = value
    return raw


# Namespaces a Berth stack file may use: Berth's own, and the providers' own configuration.
NAMESPACES = ("berth", "digitalocean", "hcloud", "cloudflare", "docker", "command", "tls", "random", "pulumi")
# Provider settings that are credentials: in plain text they are refused like berth:secrets entries.
# What a Pulumi.<stack>.yaml may hold at its top level (pulumi's ProjectStack).
STACK_FILE_KEYS = ("config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt")
PROVIDER_CREDENTIALS = {
    "digitalocean:token": "DIGITALOCEAN_TOKEN", "digitalocean:spacesAccessId": "SPACES_ACCESS_KEY_ID",
    "digitalocean:spacesSecretKey": "SPACES_SECRET_ACCESS_KEY", "hcloud:token": "HCLOUD_TOKEN",
    "cloudflare:apiToken": "CLOUDFLARE_API_TOKEN", "cloudflare:apiKey": "CLOUDFLARE_API_KEY",
}


@dataclass
class StackFile:
    name: str
    berth: dict[str, Any]  # the berth: namespace, keys without prefix, values as yaml.v3 decodes them
    other_keys: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    file: str | None = None  # for messages
    lines: dict[tuple, int] = field(default_factory=dict)  # key path in berth: -> line
    path: str | None = None  # where it was read from: the program reads it again

    def engine_config(self) -> dict[str, str]:
        """What the engine puts in the program's config: text for scalars, JSON (as Go writes it) for objects."""
        out = {}
        for key, value in self.berth.items():
            if value is None:  # `key:` with no value: nothing for the program to read
                continue
            out[f"{NAMESPACE}:{key}"] = yamlv3.engine_text(value)
        return out

    def program_view(self) -> dict[str, Any]:
        """The `berth:` values as the program decodes them from the engine's text (settings.decode)."""
        raw = decode({key.removeprefix(f"{NAMESPACE}:"): text for key, text in self.engine_config().items()})
        return raw

    @property
    def secret_keys(self) -> list[str]:
        return [f"{NAMESPACE}:secrets"] if "secrets" in self.berth else []

    def line_of(self, loc: tuple) -> int | None:
        """The line of a key path, or of its nearest ancestor the file has."""
        for end in range(len(loc), 0, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None

    def with_secrets(self, names: list[str]) -> "StackFile":
        """A copy in which these secrets are set (to placeholders): the plan's stand-in for unset values."""
        secrets = dict(self.berth.get("secrets") or {})
        secrets.update({name: PLACEHOLDER for name in names})
        return replace(self, berth={**self.berth, "secrets": secrets})


def stack_name(path: Path) -> str:
    """Pulumi.<stack>.yaml -> <stack> (a file elsewhere, examples/<name>.yaml, is named by its stem)."""
    return path.name.removeprefix("Pulumi.").rsplit(".", 1)[0]


def read(path: Path) -> StackFile:
    return replace(parse_text(stack_name(path), path.read_text(), path.name), path=str(path))


def parse(name: str, document: dict[str, Any] | None) -> StackFile:
    """A stack file from a document already in memory (tests, the real-host suite)."""
    config = (document or {}).get("config") or {}
    berth: dict[str, Any] = {}
    other = []
    for key, value in config.items():
        namespace, _, rest = str(key).partition(":")
        if namespace != NAMESPACE or not rest:
            other.append(str(key))
            continue
        berth[rest] = value
    problems = _placeholders(berth, {})
    return StackFile(name, berth, other, problems)


def parse_text(name: str, text: str, file: str) -> StackFile:
    """Raises yamlv3.SyntaxProblem for text that is not YAML; every other mistake is a Problem."""
    root = yamlv3.compose(text, file)
    problems: list[Problem] = []
    config_node = _mapping_entry(root, "config") if isinstance(root, MappingNode) else None
    if root is not None and not isinstance(root, MappingNode):
        problems.append(Problem("(file)", "is not a YAML mapping with a `config:` key", line=1))
    for key_node, _ in root.value if isinstance(root, MappingNode) else []:
        key = str(yamlv3.node_value(key_node)) if isinstance(key_node, ScalarNode) else "?"
        if key not in STACK_FILE_KEYS:
            hint = ("it is at the top of the file, so Pulumi ignores it: indent it under config:" if ":" in key
                    else f"a stack file holds {', '.join(STACK_FILE_KEYS)}")
            problems.append(Problem(key, f"is not read by Pulumi here; {hint}", line=key_node.start_mark.line + 1))
    if config_node is not None and not isinstance(config_node, MappingNode):
        problems.append(Problem("config", "must be a mapping of namespace:key settings",
                                line=config_node.start_mark.line + 1))
        config_node = None
    berth: dict[str, Any] = {}
    lines: dict[tuple, int] = {}
    other: list[str] = []
    seen: dict[str, int] = {}
    for key_node, value_node in config_node.value if config_node is not None else []:
        key = str(yamlv3.node_value(key_node)) if isinstance(key_node, ScalarNode) else "?"
        line = key_node.start_mark.line + 1
        if key in seen:
            problems.append(Problem(key, f"is set twice (first on line {seen[key]}); the Pulumi CLI refuses a file "
                                         "with a repeated key", line=line))
            continue
        seen[key] = line
        namespace, colon, rest = key.partition(":")
        if not colon or not rest or not namespace:
            problems.append(_without_namespace(key, line))
            continue
        value = _decoded(value_node, (key,), problems)
        if namespace == NAMESPACE:
            berth[rest] = value
            _record_lines(value_node, (rest,), lines)
            lines[(rest,)] = line
            problems += _mangled(value_node, (rest,))
        elif namespace in NAMESPACES:
            other.append(key)
            if key in PROVIDER_CREDENTIALS and not _is_secure(value):
                problems.append(Problem(key, "is a credential in plain text; remove it and run "
                                             f"`pulumi config set --secret {key} <value>` (or set "
                                             f"{PROVIDER_CREDENTIALS[key]} in the environment); the value is not "
                                             "shown here", line=line))
        else:
            close = difflib.get_close_matches(namespace, NAMESPACES, n=1, cutoff=0.6)
            homes = paths_of(rest) if close == [NAMESPACE] and rest not in keys_at(()) else []
            if homes:  # `bearth:region`: region lives inside a section
                hint = f"; did you mean {' or '.join(f'{NAMESPACE}:{h}' for h in homes)}?"
            elif close:
                hint = f"; did you mean {close[0]}:{rest}?"
            else:
                hint = f"; Berth reads {NAMESPACE}: and the providers' own namespaces ({', '.join(NAMESPACES[1:-1])})"
            problems.append(Problem(key, f"uses the namespace {namespace}:, which nothing in this stack reads{hint}",
                                    line=line))
    problems += _placeholders(berth, lines)
    return StackFile(name, berth, other, problems, file, lines)


# --- pieces ----------------------------------------------------------------------------------------------

def _mapping_entry(node: MappingNode, key: str) -> Node | None:
    return next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == key), None)


def _decoded(node: Node, path: tuple, problems: list[Problem]) -> Any:
    def duplicate(at: tuple, dup: yamlv3.Duplicate) -> None:
        where = ".".join(str(p) for p in (*path, *at, dup.key))
        problems.append(Problem(where, f"is set twice (first on line {dup.first_line}); the Pulumi CLI refuses "
                                       "a file with a repeated key", line=dup.line))

    return yamlv3.to_value(node, duplicate)


def _record_lines(node: Node, path: tuple, lines: dict[tuple, int]) -> None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                key = str(yamlv3.node_value(key_node))
                lines.setdefault(path + (key,), key_node.start_mark.line + 1)
                _record_lines(value_node, path + (key,), lines)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            lines.setdefault(path + (i,), item.start_mark.line + 1)
            _record_lines(item, path + (i,), lines)


def _key_path(loc: tuple) -> str:
    path = NAMESPACE + ":"
    for i, part in enumerate(loc):
        path += f"[{part}]" if isinstance(part, int) else (("." if i else "") + str(part))
    return path


def _mangled(node: Node, path: tuple) -> list[Problem]:
    """Unquoted scalars the CLI hands the program as other text: `1.10` as "1.1", `0123` as "83"."""
    problems = []
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                problems += _mangled(value_node, path + (str(yamlv3.node_value(key_node)),))
        return problems
    if isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            problems += _mangled(item, path + (i,))
        return problems
    if not isinstance(node, ScalarNode) or node.tag != yamlv3.PLAIN:
        return problems
    value = yamlv3.resolve(node.value)
    if isinstance(value, str) or value is None:
        return problems
    try:
        text = yamlv3.engine_text(value)
    except ValueError:
        text = "an error (JSON has no such number)"
    if text == node.value:
        return problems
    kind = scalar_kind(path)
    line = node.start_mark.line + 1
    key = path[-1] if not isinstance(path[-1], int) else None
    quoted = f'{key}: "{node.value}"' if key is not None else f'"{node.value}"'
    if kind == "text":
        what = "the boolean" if isinstance(value, bool) else "the number"
        problems.append(Problem(_key_path(path), f"{node.value} is read by Pulumi as {what} {text}, so the "
                                                 f"program would get {text!r}; quote it: {quoted}", line=line))
    elif kind == "number" and isinstance(value, int) and node.value.lstrip("+-")[:1] == "0" and value != 0:
        base = {"x": "hexadecimal", "o": "octal", "b": "binary"}.get(node.value.lstrip("+-")[1:2].lower(), "octal")
        problems.append(Problem(_key_path(path), f"{node.value} is read by Pulumi as {base}, the number {text}; "
                                                 "write it without the leading 0", line=line))
    return problems


def _without_namespace(key: str, line: int) -> Problem:
    homes = paths_of(key)
    hint = ("; it looks like " + " or ".join(f"berth:{h}" for h in homes) + ": indent it under its section"
            if homes else f"; write {NAMESPACE}:{key} if it is a Berth setting")
    return Problem(key, f"has no namespace, so the Pulumi CLI cannot read the file (keys are namespace:key){hint}",
                   line=line)


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _placeholders(berth: dict[str, Any], lines: dict[tuple, int]) -> list[Problem]:
    """Encrypted berth:secrets become placeholders; plain ones are refused without showing them."""
    problems = []
    secrets = berth.get("secrets")
    if isinstance(secrets, dict):
        placeholders = {}
        for secret_name, value in secrets.items():
            if _is_secure(value):
                placeholders[secret_name] = PLACEHOLDER
            else:
                problems.append(Problem(f"{NAMESPACE}:secrets.{secret_name}",
                                        "is plain text in the stack file; remove it and run pulumi config set --secret "
                                        f"--path 'secrets.{secret_name}' <value> (the value is not shown here)",
                                        line=lines.get(("secrets", secret_name))))
        berth["secrets"] = placeholders
    return problems
