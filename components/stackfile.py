"""Read `Pulumi.<stack>.yaml` as `pulumi up` reads it, and find what the CLI would silently change.

The values are those the Pulumi CLI reads (components/yamlv3.py), and `engine_config` is the text the CLI then
hands the program, so the offline plan, the tests and `pulumi up` see the same stack (the real CLI checks this:
tests/e2e/test_stack_file_oracle.py). Reading the file itself (the program does too, see settings.read_stack)
also finds what the engine's view hides: duplicate keys, keys outside any namespace (a dedented key, which the
CLI files under the project's name, `berth:`), namespaces Berth does not read (`bearth:`), credentials written
in plain text, and unquoted scalars the CLI turns into other text (`version: 1.10` reaches the program as "1.1",
`version: 2026-11-18` as "2026-11-18 00:00:00 +0000 UTC"). Each problem carries its line.

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

from . import gotext, yamlv3
from .config import SCALAR_KEYS, keys_at, paths_of, scalar_kind
from .errors import Problem
from .yamlv3 import entries

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
            if value is None:  # absent (a document built in memory); a file's `key:` with no value is "" (parse_text)
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
    top: dict[str, int] = {}  # the file's own keys as written -> line
    for key_node, _ in root.value if isinstance(root, MappingNode) else []:
        key = _key(key_node) or "?"
        if isinstance(key_node, ScalarNode) and key_node.value in top:
            problems.append(Problem(key, f"is set twice (first on line {top[key_node.value]}); the Pulumi CLI "
                                         "refuses a file with a repeated key", line=key_node.start_mark.line + 1))
        elif isinstance(key_node, ScalarNode):
            top[key_node.value] = key_node.start_mark.line + 1
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
    seen: dict[str, tuple[int, str]] = {}  # namespace:key -> (line, as written)
    for key_node, value_node in entries(config_node, _reporter((), problems)) if config_node is not None else []:
        line = key_node.start_mark.line + 1
        key, namespace, rest, problem = _config_key(key_node)
        full = f"{namespace}:{rest}"
        if problem:
            problems.append(Problem(key if namespace is None else full, problem, line=line))
            if namespace is None:
                continue
        if full in seen:
            first, written = seen[full]
            why = ("the Pulumi CLI refuses a file with a repeated key" if written == key
                   else f"Pulumi reads {written} as {full} too and keeps either one")
            problems.append(Problem(full, f"is set twice (first on line {first}); {why}", line=line))
            continue
        seen[full] = (line, key)
        value = _decoded(value_node, (full,), problems)
        if namespace == NAMESPACE:
            if value is None:  # the CLI keeps no value as "" (and warns that a later Pulumi hands null)
                value = ""
                problems.append(Problem(_key_path((rest,)), "has no value, so Pulumi hands the program an empty "
                                                            "string (a later Pulumi, null): write the value or remove "
                                                            "the key", line=line))
            berth[rest] = value
            _record_lines(value_node, (rest,), lines)
            lines[(rest,)] = line
            problems += _changed(value_node, (rest,))
        elif namespace in NAMESPACES:
            other.append(full)
            if full in PROVIDER_CREDENTIALS and not _is_secure(value):
                problems.append(Problem(full, "is a credential in plain text; remove it and run "
                                              f"`pulumi config set --secret {full} <value>` (or set "
                                              f"{PROVIDER_CREDENTIALS[full]} in the environment); the value is not "
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
            problems.append(Problem(full, f"uses the namespace {namespace}:, which nothing in this stack reads{hint}",
                                    line=line))
    problems += _placeholders(berth, lines)
    return StackFile(name, berth, other, problems, file, lines)


# --- pieces ----------------------------------------------------------------------------------------------

def _mapping_entry(node: MappingNode, key: str) -> Node | None:
    return next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == key), None)


def _config_key(node: Node) -> tuple[str, str | None, str, str | None]:
    """(the key as written, namespace, name, problem) for a key of `config:`, read as the CLI reads it: a key
    without a namespace belongs to the project (named berth in Pulumi.yaml), `ns:config:name` is the old form
    of `ns:name`. The namespace is None when Pulumi cannot read the key at all."""
    if not isinstance(node, ScalarNode):
        return "?", None, "", "is a mapping or a list, so the Pulumi CLI cannot read the file (keys are namespace:key)"
    try:
        kind, key = yamlv3.scalar(node)
    except yamlv3.Unreadable as error:
        return node.value, None, "", str(error)
    if kind != "str":
        return node.value, None, "", "is not text, so the Pulumi CLI cannot read the file (keys are namespace:key)"
    parts = key.split(":")
    if len(parts) == 3 and parts[1] == "config":
        return key, parts[0], parts[2], None
    if len(parts) > 2:
        return key, None, "", "has more than one colon, so the Pulumi CLI cannot read the file (keys are namespace:key)"
    if len(parts) == 1:
        return key, NAMESPACE, key, _without_namespace(key)
    problem = None if parts[1] else f"has no name after {parts[0]}:"
    return key, parts[0], parts[1], problem


def _reporter(path: tuple, problems: list[Problem]) -> yamlv3.Report:
    def report(at: tuple, line: int, message: str) -> None:
        problems.append(Problem(".".join(str(p) for p in (*path, *at)) or "config", message, line=line))

    return report


def _decoded(node: Node, path: tuple, problems: list[Problem]) -> Any:
    return yamlv3.to_value(node, _reporter(path, problems))


def _key(node: Node) -> str | None:
    """A mapping key as the program names it; None for one the CLI refuses (to_value reports it)."""
    try:
        return yamlv3.key_text(node) if isinstance(node, ScalarNode) else None
    except yamlv3.Unreadable:
        return None


def _record_lines(node: Node, path: tuple, lines: dict[tuple, int]) -> None:
    if isinstance(node, MappingNode):
        for key_node, value_node in entries(node):
            if (key := _key(key_node)) is not None:
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


def _changed(node: Node, path: tuple) -> list[Problem]:
    """Unquoted scalars and keys the CLI hands the program as other text: `1.10` as "1.1", `0123` as "83",
    `2026-11-18` as "2026-11-18 00:00:00 +0000 UTC", a key `~` as "<nil>"."""
    problems = []
    if isinstance(node, MappingNode):
        for key_node, value_node in entries(node):
            if (key := _key(key_node)) is None:
                continue
            if key_node.tag == yamlv3.PLAIN and key != key_node.value:
                problems.append(Problem(_key_path(path + (key,)), f"the key {key_node.value} is read by Pulumi as "
                                                                  f'{key!r}; quote it: "{key_node.value}":',
                                        line=key_node.start_mark.line + 1))
            problems += _changed(value_node, path + (key,))
        return problems
    if isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            problems += _changed(item, path + (i,))
        return problems
    if not isinstance(node, ScalarNode) or node.tag != yamlv3.PLAIN:
        return problems
    kind, value = yamlv3.scalar(node)
    if kind == "str" or value is None:
        return problems
    try:  # the text the program reads: a timestamp's Go text, a number's JSON (inside an object, as JSON reads it back)
        text = value if isinstance(value, str) else gotext.to_json(value, nested=len(path) > 1)
    except ValueError:
        return problems  # .inf, .nan: to_value reports them
    if text == node.value:
        return problems
    expected = scalar_kind(path)
    line = node.start_mark.line + 1
    key = path[-1] if not isinstance(path[-1], int) else None
    quoted = f'{key}: "{node.value}"' if key is not None else f'"{node.value}"'
    if expected == "text":
        what = {"bool": f"the boolean {text}", "timestamp": "a date" if len(node.value) <= 10 else "a timestamp"}.get(
            kind, f"the number {text}")
        problems.append(Problem(_key_path(path), f"{node.value} is read by Pulumi as {what}, so the program would "
                                                 f"get {text!r}; quote it: {quoted}", line=line))
    elif expected == "number" and node.value.lstrip("+-")[:1] == "0" and gotext.parse_int(node.value.replace("_", "")):
        base = {"x": "hexadecimal", "o": "octal", "b": "binary"}.get(node.value.lstrip("+-")[1:2].lower(), "octal")
        problems.append(Problem(_key_path(path), f"{node.value} is read by Pulumi as {base}, the number {text}; "
                                                 "write it without the leading 0", line=line))
    return problems


def _without_namespace(key: str) -> str:
    homes = paths_of(key)
    hint = ("it looks like " + " or ".join(f"{NAMESPACE}:{h}" for h in homes) + ": indent it under its section"
            if homes else f"write {NAMESPACE}:{key}")
    return f"is written without its namespace ({key}:), so Pulumi reads it as {NAMESPACE}:{key}; {hint}"


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
