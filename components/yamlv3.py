"""YAML as the Pulumi CLI reads a stack file, so the offline plan and `pulumi up` see the same values.

The CLI parses `Pulumi.<stack>.yaml` with Go's gopkg.in/yaml.v3 into untyped values, then hands each
`namespace:key` to the program as text: strings as they are, numbers and booleans JSON-encoded, objects
as JSON (sdk/go/common/resource/config: `object.UnmarshalYAML`, `unmarshalObject`, `MarshalString`).
yaml.v3 resolves plain scalars by YAML 1.2's core schema with Go's number parsing, not PyYAML's YAML 1.1:
- only true/True/TRUE/false/False/FALSE are booleans: `on`, `off`, `yes`, `no` stay text;
- integers go through Go's `strconv.ParseInt(s, 0, 64)` after removing `_`: `0123456` is octal, `0x1F`
  hexadecimal;
- `[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?` is a float: `1.10` is 1.1, `12345e6` is 1.2345e10;
- timestamp-like scalars decoded into an untyped value stay text;
- a key defined twice in one mapping is an error.
docs/compatibility.md cites the sources.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULL = {"", "~", "null", "Null", "NULL"}
_SPECIAL_FLOATS = {".inf": math.inf, ".Inf": math.inf, ".INF": math.inf, "+.inf": math.inf, "+.Inf": math.inf,
                   "+.INF": math.inf, "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
                   ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan}
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d{1,2}:\d{1,2}(\.\d*)?(Z|[-+]\d{1,2}(:\d{2})?)?)?$")
INT64 = (-(2**63), 2**63 - 1)


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


def _go_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64) on text without underscores; None when it does not parse."""
    if not _GO_INT.match(text):
        return None
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    lowered = digits.lower()
    if lowered.startswith("0x"):
        value = int(digits[2:], 16)
    elif lowered.startswith("0o"):
        value = int(digits[2:], 8)
    elif lowered.startswith("0b"):
        value = int(digits[2:], 2)
    elif len(digits) > 1 and digits.startswith("0"):
        value = int(digits[1:], 8)  # base 0: a leading 0 means octal
    else:
        value = int(digits)
    value *= sign
    return value if INT64[0] <= value <= INT64[1] else None


def resolve(text: str) -> Any:
    """The untyped value yaml.v3 gives a plain (unquoted, untagged) scalar."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if not text or not (text[0].isdigit() or text[0] in "+-."):
        return text
    if text[0] == ".":
        return float(text) if _FLOAT.match(text) else text
    if _TIMESTAMP.match(text):
        return text  # decoded into an untyped value, a timestamp stays text
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return number
    if _FLOAT.match(plain):
        return float(plain)
    return text


PLAIN = "tag:berth,2026:plain"  # a plain (unquoted, untagged) scalar, resolved by `resolve`


def node_value(node: ScalarNode) -> Any:
    """A scalar's value: plain ones as yaml.v3 resolves them, quoted or `!!str` ones as text."""
    if node.tag == PLAIN:
        return resolve(node.value)
    explicit = {"tag:yaml.org,2002:int": lambda v: _go_int(v.replace("_", "")),
                "tag:yaml.org,2002:float": float, "tag:yaml.org,2002:bool": lambda v: _BOOL.get(v, v),
                "tag:yaml.org,2002:null": lambda v: None}
    return explicit.get(node.tag, lambda v: v)(node.value)


def go_float(value: float) -> str:
    """Go's encoding/json text for a float64: shortest digits, 'f' form below 1e21 and from 1e-6, else 'e'."""
    if value != value or value in (math.inf, -math.inf):
        raise ValueError("json: unsupported value")  # what Go's json.Marshal answers
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    shortest = Decimal(repr(value))
    if 1e-6 <= abs(value) < 1e21:
        text = format(shortest, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    sign, digits, exponent = shortest.normalize().as_tuple()
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    power = exponent + len(digits) - 1
    text = f"{'-' if sign else ''}{mantissa}e{'+' if power >= 0 else '-'}{abs(power):02d}"
    return text[:-2] + text[-1] if text[-4:-1] == "e-0" else text  # Go's json writes e-7, not e-07


def go_json(value: Any) -> str:
    """Go's json.Marshal of an untyped value: map keys sorted, HTML characters escaped, Go's floats."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{go_json(str(k))}:{go_json(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def engine_text(value: Any) -> str:
    """What the program receives for a top-level config value (config `object.MarshalString`). A value
    JSON cannot carry (.inf, .nan), which the CLI refuses, stays its YAML text, which validation refuses."""
    if isinstance(value, str):
        return value
    try:
        return go_json(value)
    except ValueError:
        return json.dumps(value) if not isinstance(value, (dict, list)) else json.dumps(value, default=str)


# --- parsing ------------------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """Composes nodes only, with no YAML 1.1 guessing: a plain scalar is tagged PLAIN and resolved above."""

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode and implicit[0]:
            return PLAIN
        return super().resolve(kind, value, implicit)


_Loader.yaml_implicit_resolvers = {}


def compose(text: str, file: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
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


@dataclass(frozen=True)
class Duplicate:
    key: str
    line: int
    first_line: int


def to_value(node: Node, on_duplicate=None) -> Any:
    """The untyped value yaml.v3 decodes a node into; `on_duplicate(path, Duplicate)` hears of repeated keys."""
    return _value(node, (), on_duplicate or (lambda path, dup: None))


def _value(node: Node, path: tuple, on_duplicate) -> Any:
    if isinstance(node, ScalarNode):
        return node_value(node)
    if isinstance(node, SequenceNode):
        return [_value(item, path + (i,), on_duplicate) for i, item in enumerate(node.value)]
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(node_value(key_node)) if isinstance(key_node, ScalarNode) else str(to_value(key_node))
            if key in seen:
                on_duplicate(path, Duplicate(key, key_node.start_mark.line + 1, seen[key]))
                continue
            seen[key] = key_node.start_mark.line + 1
            out[key] = _value(value_node, path + (key,), on_duplicate)
        return out
    return None
