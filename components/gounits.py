"""Sizes as Docker reads them: github.com/docker/go-units `RAMInBytes` (binary: k is 1024) and
`FromHumanSize` (decimal: k is 1000), copied rule for rule from size.go at v0.5.0 (`parseSize`; v0.5.0 is
go-units' latest release, the one Docker's modules require), so that `memory: 1.5g`, `500MiB` or `4GB` mean
here exactly what `docker run --memory` makes of them (docker/cli opts.MemBytes calls RAMInBytes).
docs/compatibility.md has the row; tests/test_gounits.py pins each rule."""

from __future__ import annotations

import math
import re

DECIMAL = {"k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4, "p": 1000**5}
BINARY = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
# The decimal forms of Go's strconv.ParseFloat ("5", "5.", ".5", "1e3", "+2"); its hex floats need a `p` exponent
# and its `_` separators a base prefix, which no size has; inf and nan are refused below (see `_parse_float`).
_GO_FLOAT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


class SizeError(ValueError):
    """What go-units answers for a size it cannot read."""


def _parse_float(text: str) -> float:
    """strconv.ParseFloat for the decimal forms a size takes. Go also reads "inf", "infinity" and "nan" (only
    before a space, since without one the number must end in a digit or '.'), whose int64() is undefined: Berth
    refuses them, as it refuses a number too large for a float64 (Go: "value out of range")."""
    if not _GO_FLOAT.match(text):
        raise SizeError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
    value = float(text)
    if math.isinf(value):
        raise SizeError(f'strconv.ParseFloat: parsing "{text}": value out of range')
    return value


def parse_size(text: str, units: dict[str, int]) -> int:
    """go-units v0.5.0 `parseSize` (the release docker/cli v28 vendors): the text splits at its last digit, '.'
    or space (`strings.LastIndexAny(sizeStr, "01234567890. ")`; a space there is dropped), the number goes to
    ParseFloat and the suffix is empty, `b`, a unit letter, the letter and `b`, or the letter and `ib`, in any
    case. The result is truncated to an integer, as Go's int64() conversion does."""
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep == -1:
        raise SizeError(f"invalid size: '{text}'")
    number, suffix = (text[:sep], text[sep + 1:]) if text[sep] == " " else (text[:sep + 1], text[sep + 1:])
    size = _parse_float(number)
    if size < 0:
        raise SizeError(f"invalid size: '{text}'")
    if not suffix:
        return int(size)
    lowered = suffix.lower()
    if len(suffix.encode()) > 3:  # Go counts bytes
        raise SizeError(f"invalid suffix: '{suffix}'")
    if lowered[0] == "b":
        if len(lowered) > 1:
            raise SizeError(f"invalid suffix: '{lowered}'")
        return int(size)
    if lowered[0] not in units or (len(lowered) == 2 and lowered[1] != "b") or (
            len(lowered) == 3 and lowered[1:] != "ib"):
        raise SizeError(f"invalid suffix: '{lowered}'")
    return int(size * units[lowered[0]])


def ram_in_bytes(text: str) -> int:
    """`RAMInBytes`: what Docker makes of `--memory` and other memory options (k, m, g... are powers of 1024)."""
    return parse_size(text, BINARY)


def from_human_size(text: str) -> int:
    """`FromHumanSize`: decimal sizes (k is 1000), as Docker reads disk sizes such as `--storage-opt size=`."""
    return parse_size(text, DECIMAL)
