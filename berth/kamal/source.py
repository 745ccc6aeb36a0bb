"""A Kamal configuration read as Kamal 2.11 reads it, with the file and line of every value.

Kamal (lib/kamal/configuration.rb, `Configuration.create_from`) renders each file through ERB, loads
it with Psych (anchors, aliases and `<<` merges allowed), then deep-merges `deploy.<destination>.yml`
over `deploy.yml` (ActiveSupport's `deep_merge!`: mappings merge key by key, anything else is
replaced). The import does the same except for ERB, which it never evaluates: an ERB tag is reported
with its line (a tag that only prints into a comment cannot change the configuration and is let be).
Then it refuses what Kamal refuses: unknown keys, a missing destination when one is required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from components.fields import looks_like_credential

from . import keys

_MERGE = "tag:yaml.org,2002:merge"
_ERB = re.compile(r"<%(?!%)(?P<kind>[=#-]?)(?P<code>.*?)-?%>", re.DOTALL)  # a tag may span lines
# Code that renders nothing and changes nothing the file shows: loading a library or a .env file (its variables
# reach the file only through other tags, which are reported on their own).
_SILENT = re.compile(r"""^(require(_relative)?\s*\(?\s*["'][\w./-]+["']\s*\)?|Dotenv\.(load|overload)(\(.*?\))?!?"""
                     r"""|Bundler\.require(\(.*?\))?)$""")


@dataclass(frozen=True)
class Origin:
    """Where a value was written: the file as the user names it, and the line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file} line {self.line}"


@dataclass(frozen=True)
class Problem:
    """Something that stops the import; `origin` when it has a place in a file."""

    message: str
    origin: Origin | None = None

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}" if self.origin else self.message


class ImportError_(Exception):
    """Every problem found, at once; nothing is written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@dataclass(frozen=True)
class ErbTag:
    origin: Origin
    code: str
    output: bool  # `<%= %>` prints into the file; `<% %>` runs code (it may repeat or drop lines)
    in_comment: bool
    path: tuple  # the key whose value holds it, () when it is outside any key


MAX_LOCAL_FILE = 64 * 1024  # Berth carries an accessory's files in the stack file; larger ones are refused


@dataclass
class KamalConfig:
    raw: dict[str, Any]  # the merged configuration, as Kamal's raw_config
    origins: dict[tuple, Origin]  # key path -> where the value that won was written
    files: list[str]  # as the user names them
    destination: str | None
    app_dir: Path
    erb: list[ErbTag] = field(default_factory=list)
    # What Kamal would read beside the configuration, read here so the translation does no I/O:
    local_files: dict[str, dict[str, bytes] | None] = field(default_factory=dict)  # accessory files: path -> content
    hooks: list[str] = field(default_factory=list)  # the hooks Kamal would run (files in hooks_path, not .sample)

    def get(self, *path: Any, default: Any = None) -> Any:
        node: Any = self.raw
        for part in path:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                return default
        return node

    def at(self, *path: Any) -> Origin | None:
        """Where a key was written, or its nearest ancestor."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.origins:
                return self.origins[path[:end]]
        return None


def destination_file(config_file: Path, destination: str) -> Path:
    """Kamal's `sub_ext(".<destination>.yml")`: config/deploy.yml -> config/deploy.staging.yml."""
    return config_file.with_name(f"{config_file.stem}.{destination}.yml")


def destinations(config_file: Path) -> list[str]:
    """The destination files beside the configuration, for "pass -d" messages."""
    return sorted(path.name[len(config_file.stem) + 1:-len(".yml")]
                  for path in config_file.parent.glob(f"{config_file.stem}.*.yml"))


def read(config_file: Path, destination: str | None, app_dir: Path, shown: Path | None = None) -> KamalConfig:
    """Read, merge and check a configuration as Kamal does. Raises ImportError_ with every problem."""
    files = [config_file] + ([destination_file(config_file, destination)] if destination else [])
    merged: dict[str, Any] = {}
    origins: dict[tuple, Origin] = {}
    erb: list[ErbTag] = []
    problems: list[Problem] = []
    names = []
    for path in files:
        name = _display(path, shown)
        names.append(name)
        if not path.is_file():
            hint = ""
            if path != config_file:
                known = destinations(config_file)
                hint = f"; destinations here: {', '.join(known)}" if known else "; there is no destination file here"
            problems.append(Problem(f"Configuration file not found in {name}{hint}"))
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError as error:
            problems.append(Problem(f"is not UTF-8 text (byte {error.start}); Kamal could not read it either",
                                    Origin(name, 1)))
            continue
        try:
            value, lines, root = _load(_without_code_tags(text), name)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            tags = _erb_tags(text, name)
            hint = " (it would be once its ERB is rendered, which berth import never does: see the ERB lines)" \
                if tags else ""
            problems.append(Problem(f"is not valid YAML: {error.problem or error.context}{hint}",
                                    Origin(name, mark.line + 1 if mark else 1)))
            problems += [_erb_problem(tag) for tag in tags if not (tag.output and tag.in_comment)]
            continue
        if value is None:
            problems.append(Problem("is empty; Kamal needs at least service, image, registry and servers",
                                    Origin(name, 1)))
            continue
        if not isinstance(value, dict):
            problems.append(Problem("is not a mapping of Kamal keys (service:, image:, servers: ...)", Origin(name, 1)))
            continue
        erb += [_place(tag, root) for tag in _erb_tags(text, name)]
        merged = _deep_merge(merged, value, origins, lines, ())
    if problems:
        raise ImportError_(problems)
    config = KamalConfig(merged, origins, names, destination, app_dir, erb)
    _check(config, config_file, destination)
    config.local_files = _local_files(config)
    config.hooks = _hooks(app_dir / str(config.get("hooks_path") or ".kamal/hooks"))
    return config


def _local_files(config: KamalConfig) -> dict[str, dict[str, bytes] | None]:
    """Each accessory's `files` entry as Kamal would upload it, relative to where Kamal runs: a file is
    {"": content}, a directory {relative path: content}, a missing path None. A file larger than Berth
    carries is cut one byte past the limit, so the translation can say so without holding it all."""
    found: dict[str, dict[str, bytes] | None] = {}
    for spec in (config.get("accessories") or {}).values():
        for item in (spec.get("files") or []) if isinstance(spec, dict) else []:
            local = str(item.get("local") or "") if isinstance(item, dict) else str(item).split(":")[0]
            path = config.app_dir / local
            if path.is_dir():
                found[local] = {str(f.relative_to(path)): _head(f) for f in sorted(path.rglob("*")) if f.is_file()}
            else:
                found[local] = {"": _head(path)} if path.is_file() else None
    return found


def _head(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(MAX_LOCAL_FILE + 1)


def _hooks(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if p.is_file() and p.suffix != ".sample")


def _display(path: Path, shown: Path | None) -> str:
    try:
        return str(path.relative_to(shown)) if shown else str(path)
    except ValueError:
        return str(path)


# --- YAML with lines -------------------------------------------------------------------------------------

def _load(text: str, file: str) -> tuple[Any, dict[tuple, Origin], Node | None]:
    """The first document's value (as Psych gives it to Kamal, `<<` merges applied) and each key's line."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    loader = yaml.SafeLoader("")  # constructs scalars as Psych would type them (YAML 1.1: yes/no, 1_000)
    lines: dict[tuple, Origin] = {}
    if root is None:
        return None, lines, None
    return _value(loader, root, (), lines, file), lines, root


def _value(loader: yaml.SafeLoader, node: Node, path: tuple, lines: dict[tuple, Origin], file: str) -> Any:
    if isinstance(node, MappingNode):
        out: dict[Any, Any] = {}
        explicit: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # `<<: *anchor` or `<<: [*a, *b]`: the explicit keys win
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in reversed(sources):
                    merged = _value(loader, source, path, lines, file)
                    if isinstance(merged, dict):
                        out.update(merged)
            else:
                explicit.append((key_node, value_node))
        for key_node, value_node in explicit:
            key = loader.construct_object(key_node, deep=True) if isinstance(key_node, ScalarNode) else "?"
            key = key if isinstance(key, str) else str(key)
            lines[(*path, key)] = Origin(file, key_node.start_mark.line + 1)
            out[key] = _value(loader, value_node, (*path, key), lines, file)
        return out
    if isinstance(node, SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            lines[(*path, i)] = Origin(file, item.start_mark.line + 1)
            items.append(_value(loader, item, (*path, i), lines, file))
        return items
    return loader.construct_object(node, deep=True)


def _deep_merge(base: dict, other: dict, origins: dict[tuple, Origin], lines: dict[tuple, Origin],
                path: tuple) -> dict:
    """ActiveSupport's deep_merge: a mapping in both merges key by key; anything else is replaced, with
    the lines of the file that replaced it."""
    out = dict(base)
    for key, value in other.items():
        here = (*path, key)
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            origins[here] = lines[here]
            out[key] = _deep_merge(out[key], value, origins, lines, here)
            continue
        for stale in [p for p in origins if p[:len(here)] == here]:
            del origins[stale]
        origins.update({p: o for p, o in lines.items() if p[:len(here)] == here})
        out[key] = value
    return out


# --- ERB -------------------------------------------------------------------------------------------------

def _erb_tags(text: str, file: str) -> list[ErbTag]:
    """Every tag, with the line it starts on; a tag may span lines (`<%` on one, `%>` on a later one)."""
    tags = []
    lines = text.splitlines()
    for match in _ERB.finditer(text):
        if match.group("kind") == "#":
            continue  # an ERB comment renders nothing
        number = text.count("\n", 0, match.start()) + 1
        comment = lines[number - 1].lstrip().startswith("#")
        code = " ".join(match.group("code").split())  # a multi-line tag shown on one line
        tags.append(ErbTag(Origin(file, number), code, match.group("kind") == "=", comment, ()))
    return tags


def _without_code_tags(text: str) -> str:
    """The text YAML reads: each `<% %>` tag (and ERB comment) blanked, as ERB renders it to nothing, keeping its
    newlines so every line stays where it was. Tags that decide which lines Kamal reads are problems of their own;
    `<%= %>` tags stay, since their output is the value."""
    return _ERB.sub(lambda m: m.group(0) if m.group("kind") == "=" else re.sub(r"[^\n]", " ", m.group(0)), text)


def renders_nothing(tag: ErbTag) -> bool:
    """`<% require "dotenv"; Dotenv.load %>`: code run for its side effects, which print nothing into the file."""
    return not tag.output and all(_SILENT.match(part.strip()) for part in re.split(r"[;\n]", tag.code) if part.strip())


def _place(tag: ErbTag, root: Node | None) -> ErbTag:
    """The innermost key whose value spans the tag's line."""
    path: tuple = ()
    node = root
    line = tag.origin.line - 1
    while isinstance(node, (MappingNode, SequenceNode)):
        pairs = node.value if isinstance(node, MappingNode) else [(None, item) for item in node.value]
        for i, (key_node, value_node) in enumerate(pairs):
            start = (key_node or value_node).start_mark.line
            if start <= line <= value_node.end_mark.line:
                path = (*path, key_node.value if isinstance(key_node, ScalarNode) else i)
                node = value_node
                break
        else:
            break
    return ErbTag(tag.origin, tag.code, tag.output, tag.in_comment, path)


def erb_advice(code: str) -> str:
    """What to write in place of an ERB tag, by what it does."""
    env = re.search(r"""ENV(?:\.fetch\(|\[)\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""", code)
    if re.match(r"(if|unless|case|end|else|elsif|while|until)\b", code) or re.search(r"\.each\b|\bdo\b", code):
        return ("it decides which lines Kamal reads: write each destination's values in its own "
                "deploy.<destination>.yml and import with -d")
    if re.search(r"%x|`|system\(|IO\.popen", code):
        return ("it runs a command: write the value it prints, or, for a secret, name it (password: [NAME], "
                "env.secret) and give .kamal/secrets the command: NAME=$(command)")
    if env:
        return (f"it reads ${env.group(1)}: write the value itself, or, for a secret, list {env.group(1)} under "
                "env.secret (or password: [NAME]) and give .kamal/secrets the line "
                f"{env.group(1)}=${env.group(1)}")
    return "write the value it renders to"


def _erb_problem(tag: ErbTag) -> Problem:
    kind = "<%= %>" if tag.output else "<% %>"
    code = _short(tag.code)
    shown = f"`` {code} ``" if "`" in code else f"`{code}`"
    return Problem(f"ERB {kind} {shown} is not evaluated by berth import: {erb_advice(tag.code)}", tag.origin)


def erb_problems(tags: list[ErbTag]) -> list[Problem]:
    return [_erb_problem(tag) for tag in tags]


def _short(code: str) -> str:
    """The tag's code as shown: a string in it that looks like a credential is never shown."""
    code = re.sub(r"""(["'])(.*?)\1""", lambda m: m.group(0) if not looks_like_credential("", m.group(2))
                  else f"{m.group(1)}(not shown){m.group(1)}", code)
    return code if len(code) <= 60 else code[:57] + "..."


# --- what Kamal refuses ----------------------------------------------------------------------------------

def _check(config: KamalConfig, config_file: Path, destination: str | None) -> None:
    problems = []
    for path, hint in keys.unknown_keys(config.raw):
        where = "/".join(str(p) for p in path[:-1])
        message = f"{where + ': ' if where else ''}unknown key: {path[-1]} (Kamal 2.11 refuses it too"
        problems.append(Problem(message + (f"; {hint})" if hint else ")"), config.at(*path)))
    for path, message in keys.type_problems(config.raw):
        where = "/".join(str(p) for p in path)
        problems.append(Problem(f"{where}: {message} (Kamal 2.11 refuses it too)", config.at(*path)))
    if problems:  # the shapes below assume the types are right
        raise ImportError_(problems)
    registry = config.raw.get("registry") or {}
    for key in ("username", "password"):  # validator/registry.rb: both, unless the registry is local
        if registry and not registry.get(key) and not _local_registry(config):
            problems.append(Problem(f"registry/{key}: is required (Kamal refuses it too)", config.at("registry")))
    for key in ("service", "registry", "image"):  # Configuration#ensure_required_keys_present
        if not config.raw.get(key) and not (key == "image" and _local_registry(config)):
            problems.append(Problem(f"Missing required configuration for {key} (Kamal refuses it too)"))
    if config.raw.get("require_destination") and destination is None:
        known = destinations(config_file)
        problems.append(Problem("this configuration requires a destination (require_destination: true): pass -d "
                                + (" or -d ".join(known) if known else "DESTINATION"),
                                config.at("require_destination")))
    if problems:
        raise ImportError_(problems)


def _local_registry(config: KamalConfig) -> bool:
    """With a local registry Kamal names the image after the service (translate.py then refuses the registry)."""
    return bool(re.match(r"^localhost[:$]", str(config.get("registry", "server") or "")))
