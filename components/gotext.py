"""Go's standard library as the Pulumi CLI applies it to a stack file's values: strconv's number parsing and
%g, time.Parse's zone and Time.String, encoding/json. Pure functions, each checked against the CLI itself
through yamlv3 (tests/e2e/test_stack_file_oracle.py)."""

from __future__ import annotations

import codecs
import json
import math
import re
import time
from decimal import Decimal
from typing import Any

INT64 = (-(2**63), 2**63 - 1)
UINT64_MAX = 2**64 - 1
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_FLOAT_CHARS = re.compile(r"[-+]?[0-9._]*([eE][-+]?[0-9_]*)?")
_REPLACE = "berth-go-replace"  # one U+FFFD per byte that is no UTF-8, as Go's utf8.DecodeRune reads them
codecs.register_error(_REPLACE, lambda error: ("\ufffd", error.start + 1))
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def parse_int(text: str, base: int = 0, signed: bool = True) -> int | None:
    """strconv.ParseInt(text, base, 64), or ParseUint when not signed; None when Go refuses it."""
    negative = signed and text[:1] == "-"
    if signed and text[:1] in ("+", "-"):
        text = text[1:]
    if not text:
        return None
    if base == 0:  # 0x, 0o, 0b prefixes; a bare leading 0 means octal
        prefix = text[1:2].lower()
        if text[0] != "0":
            base = 10
        elif len(text) >= 3 and prefix in ("b", "o", "x"):
            base, text = {"b": 2, "o": 8, "x": 16}[prefix], text[2:]
        else:
            base, text = 8, text[1:]
    value = 0
    for char in text:
        digit = _DIGITS.find(char.lower()) if char.isascii() else -1
        if not 0 <= digit < base:
            return None
        value = value * base + digit
    if not signed:
        return value if value <= UINT64_MAX else None
    value = -value if negative else value
    return value if INT64[0] <= value <= INT64[1] else None


def parse_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64) on decimal text; None when Go refuses it (overflow included)."""
    if not _FLOAT_CHARS.fullmatch(text):
        return None
    try:
        value = float(text)  # Python's grammar puts `_` where Go's underscoreOK does: between digits
    except ValueError:
        return None
    return None if math.isinf(value) else value


def format_g(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 64): how yaml.v3 writes a float back, and fmt's %v of one."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text, power = "".join(map(str, digits)), exponent + len(digits) - 1
    minus = "-" if sign else ""
    if power < -4 or power >= 6:  # the shortest form's %e threshold
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if power >= len(text) - 1:
        return minus + text + "0" * (power - len(text) + 1)
    if power >= 0:
        return f"{minus}{text[:power + 1]}.{text[power + 1:]}"
    return f"{minus}0.{'0' * (-power - 1)}{text}"


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date, year 0 included (datetime stops at year 1)."""
    year -= month <= 2
    era = year // 400
    of_era = year - era * 400
    of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719468


def time_string(year: int, month: int, day: int, hour: int, minute: int, second: int, nanos: int, offset: int) -> str:
    """Time.String() of a time time.Parse read with this offset (seconds east of UTC), once written back as
    RFC 3339 and read again: zero is UTC; another offset takes the local zone's name when the local zone has
    it at that instant (as libc, Go reads TZ and /etc/localtime), else it names itself (`-0500 -0500`)."""
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    zone = "+0000 UTC"
    if offset:
        numeric = f"{'-' if offset < 0 else '+'}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
        instant = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
        try:
            local = time.localtime(instant)
            name = local.tm_zone if local.tm_gmtoff == offset else numeric
        except (OverflowError, OSError, ValueError):
            name = numeric
        zone = f"{numeric} {name}"
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}{fraction} {zone}"


def days_in_month(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]


def text_of_bytes(data: bytes) -> str:
    """Bytes as Go's JSON shows them: UTF-8, each byte that is no UTF-8 a U+FFFD."""
    return data.decode("utf-8", errors=_REPLACE)


def json_float(value: float) -> str:
    """encoding/json's text for a float64: shortest digits, 'f' form below 1e21 and from 1e-6, else 'e'."""
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


def to_json(value: Any, nested: bool = False) -> str:
    """json.Marshal of a config value: map keys sorted, HTML characters and line separators escaped, Go's floats.
    Inside an object an integer beyond int64 is a float: the CLI reads an object's JSON back with
    json.Number.Int64, else Float64. Raises ValueError for .inf and .nan, as Go does."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{to_json(str(k))}:{to_json(v, True)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v, True) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return json_float(float(value)) if nested and not INT64[0] <= value <= INT64[1] else str(value)
    if isinstance(value, float):
        return json_float(value)
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m[0]], json.dumps(value, ensure_ascii=False))
