"""Sizes as Docker reads them (components/gounits.py): every case of go-units v0.5.0's own size_test.go
(TestFromHumanSize, TestRAMInBytes), and properties of the rules for any number and suffix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.gounits import BINARY, DECIMAL, SizeError, from_human_size, ram_in_bytes

# Transcribed from github.com/docker/go-units size_test.go at v0.5.0 (KB = 1000, KiB = 1024; Go's int64() truncates).
OK_CASES = [
    (from_human_size, '0', 0),
    (from_human_size, '0b', 0),
    (from_human_size, '0B', 0),
    (from_human_size, '0 B', 0),
    (from_human_size, '32', 32),
    (from_human_size, '32b', 32),
    (from_human_size, '32B', 32),
    (from_human_size, '32k', int(32*1000)),
    (from_human_size, '32K', int(32*1000)),
    (from_human_size, '32kb', int(32*1000)),
    (from_human_size, '32Kb', int(32*1000)),
    (from_human_size, '32Mb', int(32*1000000)),
    (from_human_size, '32Gb', int(32*1000000000)),
    (from_human_size, '32Tb', int(32*1000000000000)),
    (from_human_size, '32Pb', int(32*1000000000000000)),
    (from_human_size, '32.5kB', int(32.5 * 1000)),
    (from_human_size, '32.5 kB', int(32.5 * 1000)),
    (from_human_size, '32.5 B', 32),
    (from_human_size, '0.3 K', 300),
    (from_human_size, '.3kB', 300),
    (from_human_size, '0.', 0),
    (from_human_size, '0. ', 0),
    (from_human_size, '0.b', 0),
    (from_human_size, '0.B', 0),
    (from_human_size, '-0', 0),
    (from_human_size, '-0b', 0),
    (from_human_size, '-0B', 0),
    (from_human_size, '-0 b', 0),
    (from_human_size, '-0 B', 0),
    (from_human_size, '32.', 32),
    (from_human_size, '32.b', 32),
    (from_human_size, '32.B', 32),
    (from_human_size, '32. b', 32),
    (from_human_size, '32. B', 32),
    (from_human_size, '0 ', 0),
    (ram_in_bytes, '32', 32),
    (ram_in_bytes, '32b', 32),
    (ram_in_bytes, '32B', 32),
    (ram_in_bytes, '32k', int(32*1024)),
    (ram_in_bytes, '32K', int(32*1024)),
    (ram_in_bytes, '32kb', int(32*1024)),
    (ram_in_bytes, '32Kb', int(32*1024)),
    (ram_in_bytes, '32Kib', int(32*1024)),
    (ram_in_bytes, '32KIB', int(32*1024)),
    (ram_in_bytes, '32Mb', int(32*1048576)),
    (ram_in_bytes, '32Gb', int(32*1073741824)),
    (ram_in_bytes, '32Tb', int(32*1099511627776)),
    (ram_in_bytes, '32Pb', int(32*1125899906842624)),
    (ram_in_bytes, '32PB', int(32*1125899906842624)),
    (ram_in_bytes, '32P', int(32*1125899906842624)),
    (ram_in_bytes, '32.3', 32),
    (ram_in_bytes, '32.3 mb', int(32.3 * 1024**2)),
    (ram_in_bytes, '0.3MB', int(0.3 * 1024**2)),
]
ERROR_CASES = [
    (from_human_size, ' 0'),
    (from_human_size, ' 0b'),
    (from_human_size, ' 0B'),
    (from_human_size, ' 0 B'),
    (from_human_size, '0b '),
    (from_human_size, '0B '),
    (from_human_size, '0 B '),
    (from_human_size, ''),
    (from_human_size, 'hello'),
    (from_human_size, '.'),
    (from_human_size, '. '),
    (from_human_size, ' '),
    (from_human_size, '  '),
    (from_human_size, ' .'),
    (from_human_size, ' . '),
    (from_human_size, '-32'),
    (from_human_size, '-32b'),
    (from_human_size, '-32B'),
    (from_human_size, '-32 b'),
    (from_human_size, '-32 B'),
    (from_human_size, '32b.'),
    (from_human_size, '32B.'),
    (from_human_size, '32 b.'),
    (from_human_size, '32 B.'),
    (from_human_size, '32 bb'),
    (from_human_size, '32 BB'),
    (from_human_size, '32 b b'),
    (from_human_size, '32 B B'),
    (from_human_size, '32  b'),
    (from_human_size, '32  B'),
    (from_human_size, ' 32 '),
    (from_human_size, '32m b'),
    (from_human_size, '32bm'),
    (ram_in_bytes, ''),
    (ram_in_bytes, 'hello'),
    (ram_in_bytes, '-32'),
    (ram_in_bytes, ' 32 '),
    (ram_in_bytes, '32m b'),
    (ram_in_bytes, '32bm'),
]


@pytest.mark.parametrize("parse, text, expected", OK_CASES)
def test_go_units_own_cases_parse(parse, text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("parse, text", ERROR_CASES)
def test_go_units_own_cases_are_refused(parse, text):
    with pytest.raises(SizeError):
        parse(text)


@given(st.integers(min_value=0, max_value=4000), st.sampled_from(sorted(BINARY)),
       st.sampled_from(["", "b", "ib"]), st.booleans(), st.booleans())
def test_a_unit_is_a_letter_with_an_optional_b_or_ib_in_any_case(number, unit, tail, upper, spaced):
    suffix = unit + tail
    text = f"{number}{' ' if spaced else ''}{suffix.upper() if upper else suffix}"
    # Go multiplies in float64 and truncates (int64(size)); 4000 PiB still fits an int64
    assert ram_in_bytes(text) == int(float(number) * BINARY[unit])  # binary whatever the spelling: 4GB is 4 GiB
    assert from_human_size(text) == int(float(number) * DECIMAL[unit])


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False), st.sampled_from(sorted(BINARY)))
def test_a_fraction_is_multiplied_then_truncated(number, unit):
    assert ram_in_bytes(f"{number!r}{unit}") == int(number * BINARY[unit])


@given(st.text(alphabet="0123456789.kmgtpbiKMGTPBI x-", max_size=8))
def test_any_text_parses_or_is_refused_never_raises_anything_else(text):
    try:
        assert ram_in_bytes(text) >= 0
    except SizeError:
        pass
