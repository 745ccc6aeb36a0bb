"""YAML as the Pulumi CLI reads a stack file, so the offline plan and `pulumi up` see the same values.

The CLI (v3.274.1) reads `Pulumi.<stack>.yaml` with Go's gopkg.in/yaml.v3 (v3.0.1) twice: into untyped values,
which it writes back as YAML (workspace `LoadProjectStackBytes`), then into config values
(config `object.UnmarshalYAML`). It hands the program each `namespace:key` as text: strings as they are,
anything else as Go's JSON (config `Map.Decrypt`, `Plaintext.marshalText`). Through that trip, a plain scalar is:
- a boolean only as true/True/TRUE/false/False/FALSE, null as ~/null/Null/NULL or nothing: `on`, `yes`, `y` stay text;
- an integer by Go's strconv.ParseInt(s, 0, 64), else ParseUint, on the text without `_`: `0123` is octal (83),
  `0x1F` 31, `0b101` 5; exact up to 2^64-1, but inside an object JSON reads one beyond int64 back as a float;
- a float by `[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?` and Go's ParseFloat (`1.10` is 1.1, `12345e6`
  12345000000; `1e400` overflows and stays text); written back with %g, a whole float under 1e6 comes back an
  integer, so `-0.0` reaches the program as 0;
- a timestamp (`2026-11-18`, `2001-12-14T21:59:43.10-05:00`, `2001-12-14 21:59:43`) becomes a Go time.Time, and
  the program gets its String(): `2026-11-18 00:00:00 +0000 UTC`. A zero offset is UTC; another is named after
  the local zone when that zone has it at that instant (`-0500 EST`), else it names itself (`-0500 -0500`).
A mapping key that is not text becomes Go's %v of it (`~` "<nil>", `1.10` "1.1", `010` "8"). `<<` merges mappings
(the mapping's own keys first, then the first mapping listed); `!!binary` is decoded. The CLI refuses a tag the
value does not fit (`!!int 1.5`), .inf and .nan (JSON has no such numbers), a key written twice in one mapping.
A top-level key with no value reaches the program as "".
Go's own rules (strconv, time, encoding/json) are in gotext.py. docs/compatibility.md cites the sources;
tests/e2e/test_stack_file_oracle.py checks all of it against the CLI.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import gotext

PLAIN = "tag:berth,2026:plain"  # a plain (unquoted, untagged) scalar, resolved by `_resolve`
STR = "tag:yaml.org,2002:str"
_YAML_TAG = "tag:yaml.org,2002:"
_WORDS: dict[str, tuple[str, Any]] = {
    **dict.fromkeys(("true", "True", "TRUE"), ("bool", True)), **dict.fromkeys(("false", "False", "FALSE"), ("bool", False)),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), ("null", None)),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), ("float", math.nan)),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), ("float", math.inf)),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), ("float", -math.inf)),
}
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_TIMESTAMP = re.compile(r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})(?:(?P<sep>[Tt ])(?P<h>[0-9]{1,2}):"
                        r"(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})(?:[.,](?P<f>[0-9]+))?(?P<z>Z|[-+][0-9]{2}:[0-9]{2})?)?")


class Unreadable(ValueError):
    """A scalar the CLI refuses (a tag its value does not fit), or turns into bytes that are no text; `value`
    is then what `pulumi config` shows of it, if anything."""

    def __init__(self, message: str, value: str | None = None):
        super().__init__(message)
        self.value = value


@dataclass(frozen=True)
class SyntaxProblem(Exception):
    """A YAML syntax error, with where it is and the line itself."""

    file: str
    line: int  # 1-based
    column: int  # 1-based
    problem: str
    text: str

    def __str__(self) -> str:
        caret = " " * (self.column - 1) + "^"
        return (f"{self.file}:{self.line}:{self.column}: {self.problem}\n"
                f"  {self.text.expandtabs(1) if self.text else ''}\n  {caret}")


# --- scalars ------------------------------------------------------------------------------------------

def _timestamp(text: str) -> str | None:
    """Go's time.Time.String() of what yaml.v3's parseTimestamp reads, after the CLI's round trip; None if no time."""
    match = _TIMESTAMP.fullmatch(text)
    if not match or (match["sep"] and (match["sep"] == " ") == (match["z"] is not None)):
        return None  # `T` needs a zone, a space allows none (yaml.v3's allowedTimestampFormats)
    year, month, day = int(match["y"]), int(match["mo"]), int(match["d"])
    hour, minute, second = (int(match[g]) if match[g] else 0 for g in ("h", "mi", "s"))
    if not (1 <= month <= 12 and 1 <= day <= gotext.days_in_month(year, month) and hour < 24 and minute < 60
            and second < 60):
        return None
    offset = 0
    if match["z"] and match["z"] != "Z":
        hours, minutes = int(match["z"][1:3]), int(match["z"][4:6])
        if hours > 24 or minutes > 60:  # time.Parse's own limits
            return None
        offset = (hours * 60 + minutes) * 60 * (-1 if match["z"][0] == "-" else 1)
    nanos = int(match["f"][:9].ljust(9, "0")) if match["f"] else 0
    return gotext.time_string(year, month, day, hour, minute, second, nanos, offset)


def _round_trip(value: float) -> Any:
    """A float as the CLI reads it again after writing it with %g: `-0.0` and `18.0` come back integers."""
    text = gotext.format_g(value)
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else value


def _resolve(text: str) -> tuple[str, Any]:
    """yaml.v3's `resolve("", text)`: its tag for a plain scalar and the value that reaches the program."""
    if text in _WORDS:
        return _WORDS[text]
    if not text or text[0] not in "+-.0123456789":
        return "str", text
    if text[0] == ".":
        number = gotext.parse_float(text)
        return ("float", _round_trip(number)) if number is not None else ("str", text)
    stamp = _timestamp(text)
    if stamp is not None:
        return "timestamp", stamp
    plain = text.replace("_", "")
    for signed in (True, False):
        number = gotext.parse_int(plain, signed=signed)
        if number is not None:
            return "int", number
    if _YAML_FLOAT.fullmatch(plain) and (number := gotext.parse_float(plain)) is not None:
        return "float", _round_trip(number)
    for prefix, base in (("0b", 2), ("0o", 8)):  # `0b-101`: yaml.v3 retries the digits with a sign
        if plain.startswith(prefix):
            number = gotext.parse_int(plain[2:], base)
            number = number if number is not None else gotext.parse_int(plain[2:], base, signed=False)
        elif plain.startswith("-" + prefix):
            number = gotext.parse_int("-" + plain[3:], base)
        else:
            continue
        if number is not None:
            return "int", number
    return "str", text


def stays_text(text: str) -> bool:
    """Whether `text`, written as a plain scalar, reaches the program as this same text (writers of stack
    files quote everything else)."""
    kind, value = _resolve(text)
    return kind == "str" and value == text


def scalar(node: ScalarNode) -> tuple[str, Any]:
    """yaml.v3's tag for a scalar (str, null, bool, int, float, timestamp) and the value that reaches the program:
    plain ones resolved, quoted ones text, explicit tags as yaml.v3 applies them. Raises Unreadable."""
    if node.tag == PLAIN:
        return _resolve(node.value)
    tag = node.tag.removeprefix(_YAML_TAG) if node.tag.startswith(_YAML_TAG) else None
    if tag == "binary":
        try:
            data = base64.b64decode(node.value.replace("\r", "").replace("\n", ""), validate=True)
        except (binascii.Error, ValueError):
            raise Unreadable("!!binary value contains invalid base64 data, so the Pulumi CLI refuses the file") from None
        try:
            return "str", data.decode("utf-8")
        except UnicodeDecodeError:  # Go's JSON shows each byte that is no UTF-8 as U+FFFD
            raise Unreadable("!!binary value is not UTF-8 text: the program would get bytes, not text",
                             gotext.text_of_bytes(data)) from None
    if tag not in ("null", "bool", "int", "float", "timestamp"):
        return "str", node.value  # quoted, !!str, or a tag yaml.v3 does not resolve (`!custom`)
    kind, value = _resolve(node.value)
    if kind == tag:
        return kind, value
    if tag == "float" and kind == "int":
        return "float", _round_trip(float(value))
    raise Unreadable(f"cannot decode !!{kind} `{node.value}` as a !!{tag}, so the Pulumi CLI refuses the file")


def node_value(node: ScalarNode) -> Any:
    return scalar(node)[1]


def key_text(node: ScalarNode) -> str:
    """The name a scalar key has for the program: text as it is, anything else Go's %v of it."""
    value = node_value(node)
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return gotext.format_g(value) if isinstance(value, float) else str(value)


# --- the program's text ---------------------------------------------------------------------------------

def engine_text(value: Any) -> str:
    """What the program receives for a top-level config value (config `object.MarshalString`): text as it is,
    anything else Go's JSON. A value JSON cannot carry (.inf, .nan), which the CLI refuses, gets Python's JSON:
    stackfile reports it."""
    if isinstance(value, str):
        return value
    try:
        return gotext.to_json(value)
    except ValueError:
        return json.dumps(value)


# --- parsing ------------------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """Composes nodes only, with no YAML 1.1 guessing: a plain scalar is tagged PLAIN and resolved above.
    Double-quoted escapes are yaml.v3's: `\\'` is one, `\\/` is none."""

    ESCAPE_REPLACEMENTS = {**{k: v for k, v in yaml.SafeLoader.ESCAPE_REPLACEMENTS.items() if k != "/"}, "'": "'"}

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode and implicit[0]:
            return PLAIN
        return super().resolve(kind, value, implicit)

    def compose_scalar_node(self, anchor):
        node = super().compose_scalar_node(anchor)
        if node.tag == PLAIN and node.style:  # `! "12"`: quoted under the non-specific tag is text to yaml.v3
            node.tag = STR
        return node


_Loader.yaml_implicit_resolvers = {}


def compose(text: str, file: str) -> Node | None:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except (ValueError, OverflowError):  # chr() of an escape beyond U+10FFFF
        raise SyntaxProblem(file, 1, 1, "found invalid Unicode character escape code", "") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        lines = text.splitlines()
        line = mark.line + 1 if mark else 1
        problem = (error.problem or error.context or "invalid YAML").strip()
        if error.context and error.context_mark and error.problem and error.context_mark.line != (mark.line if mark else -1):
            problem += f" ({error.context} that starts on line {error.context_mark.line + 1})"
        if "\t" in (lines[line - 1] if 0 < line <= len(lines) else "") and "tab" not in problem:
            problem += " (a tab character: YAML indents with spaces only)"
        raise SyntaxProblem(file, line, (mark.column + 1) if mark else 1, problem,
                            lines[line - 1] if 0 < line <= len(lines) else "") from None
    except yaml.YAMLError as error:
        raise SyntaxProblem(file, 1, 1, str(error).strip(), "") from None
    _refused_by_yaml_v3(root, file, text.splitlines(), set(), set())
    return root


def _refused_by_yaml_v3(node: Node | None, file: str, lines: list[str], open_: set[int], done: set[int]) -> None:
    """What PyYAML composes and yaml.v3 refuses: an alias inside the node it names, a surrogate escape."""
    if node is None or id(node) in done:
        return
    mark = node.start_mark
    where = (file, mark.line + 1, mark.column + 1)
    text = lines[mark.line] if mark.line < len(lines) else ""
    if id(node) in open_:
        raise SyntaxProblem(*where, "an alias names the node that holds it (yaml.v3: anchor value contains itself)",
                            text)
    if isinstance(node, ScalarNode):
        if re.search("[\ud800-\udfff]", node.value):
            raise SyntaxProblem(*where, "found invalid Unicode character escape code (a surrogate)", text)
        return
    open_.add(id(node))
    for child in (c for pair in node.value for c in pair) if isinstance(node, MappingNode) else node.value:
        _refused_by_yaml_v3(child, file, lines, open_, done)
    open_.discard(id(node))
    done.add(id(node))


Report = Callable[[tuple, int, str], None]  # (key path, line, what the CLI makes of it)


def is_merge(node: Node) -> bool:
    """yaml.v3's merge key: a plain `<<` (or one tagged !!merge)."""
    return isinstance(node, ScalarNode) and node.value == "<<" and node.tag in (PLAIN, _YAML_TAG + "merge")


def to_value(node: Node, report: Report | None = None) -> Any:
    """The value a node reaches the program as (before its JSON); `report(path, line, message)` hears of what the
    CLI refuses: a key written twice, a tag the value does not fit, .inf and .nan, a key that is no scalar."""
    return _value(node, (), report or _ignore)


def _ignore(path: tuple, line: int, message: str) -> None:
    pass


def _name(node: Node) -> str | None:
    """A key as the program names it; None for one the CLI refuses (to_value reports it)."""
    try:
        return key_text(node) if isinstance(node, ScalarNode) else None
    except Unreadable:
        return None


def entries(node: MappingNode, report: Report = _ignore, path: tuple = ()) -> list[tuple[Node, Node]]:
    """A mapping's (key, value) nodes as yaml.v3 decodes them: its own, then those a `<<` merges in that it
    lacks, the first mapping listed first (decode.go `d.merge`)."""
    own = [(key, value) for key, value in node.value if not is_merge(key)]
    taken = {_name(key) for key, _ in own}
    merged = []
    for merge in [value for key, value in node.value if is_merge(key)][-1:]:  # a second `<<` is a repeated key
        for source in merge.value if isinstance(merge, SequenceNode) else [merge]:
            if not isinstance(source, MappingNode):
                report(path, merge.start_mark.line + 1, "merges (<<) something that is not a mapping, which the "
                                                        "Pulumi CLI refuses")
                continue
            _repeated(source, path, report)
            for key, value in entries(source, report, path):
                if _name(key) not in taken:
                    taken.add(_name(key))
                    merged.append((key, value))
    return own + merged


def _repeated(node: MappingNode, path: tuple, report: Report) -> None:
    """Keys written twice (yaml.v3 refuses the file), or two spellings of one name (Berth refuses them)."""
    seen: dict[str, int] = {}  # name -> line
    written: dict[str, int] = {}  # the key as written -> line
    for key_node, _ in node.value:
        name, line = _name(key_node), key_node.start_mark.line + 1
        if not isinstance(key_node, ScalarNode) or name is None:
            continue
        if key_node.value in written or name in seen:
            why = ("the Pulumi CLI refuses a file with a repeated key" if key_node.value in written
                   else f"Pulumi reads both as {name!r} and keeps the last")
            report(path + (name,), line, f"is set twice (first on line {seen.get(name, written.get(key_node.value))}); "
                                         + why)
        seen.setdefault(name, line)
        written.setdefault(key_node.value, line)


def _value(node: Node, path: tuple, report: Report) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, ScalarNode):
        try:
            value = node_value(node)
        except Unreadable as error:
            report(path, line, str(error))
            return node.value if error.value is None else error.value
        if isinstance(value, float) and not math.isfinite(value):
            report(path, line, f"{node.value} is a number JSON cannot carry, so the Pulumi CLI refuses the file; "
                               f'quote it: "{node.value}"')
        return value
    if isinstance(node, SequenceNode):
        return [_value(item, path + (i,), report) for i, item in enumerate(node.value)]
    if not isinstance(node, MappingNode):
        return None
    _repeated(node, path, report)
    out: dict[str, Any] = {}
    for key_node, value_node in entries(node, report, path):
        key_line = key_node.start_mark.line + 1
        if not isinstance(key_node, ScalarNode):
            report(path, key_line, "has a key that is a mapping or a list, which the Pulumi CLI refuses")
            continue
        try:
            key = key_text(key_node)
        except Unreadable as error:
            report(path, key_line, str(error))
            continue
        value = _value(value_node, path + (key,), report)
        # the last one wins, as in Go's map; NaN != NaN, so Go's map finds no value under it and writes null
        out[key] = None if key == "NaN" and key_node.tag == PLAIN else value
    return out
