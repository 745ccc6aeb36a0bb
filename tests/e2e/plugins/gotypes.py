"""Go's own text for the values the Docker provider reads back: `cpus` through the provider's
`nanoInt64ToDecimalString` (big.Rat), health-check intervals through time.Duration, and their parsers.
"""

from __future__ import annotations

from fractions import Fraction

from .server import Failed


def nano_cpus_text(nano: int) -> str:
    """helpers.go `nanoInt64ToDecimalString`, as the provider reads `cpus` back: 1 -> "1.0", 10 -> "10.",
    0.05 -> "0.1" (nine zeros in the 9-decimal form means "one decimal"; otherwise trailing zeros go)."""
    if nano == 0:
        return "0"
    ratio = Fraction(nano, 10**9)
    nine = _float_string(ratio, 9)
    if nine.count("0") == 9:
        return _float_string(ratio, 1)
    return nine.rstrip("0")


def _float_string(ratio: Fraction, decimals: int) -> str:
    """Go's big.Rat.FloatString: rounded half away from zero to `decimals` places."""
    scaled = ratio * 10**decimals
    rounded = int(scaled) + (1 if scaled - int(scaled) >= Fraction(1, 2) else 0)
    whole, fraction = divmod(rounded, 10**decimals)
    return f"{whole}.{fraction:0{decimals}d}" if decimals else str(whole)


def parse_cpus(text: str) -> int:
    """docker/cli opts.ParseCPUs: a decimal number of CPUs to NanoCPUs."""
    try:
        nano = Fraction(text) * 10**9
    except (ValueError, ZeroDivisionError):
        raise Failed(f"Error setting cpus: failed to parse {text} as a rational number") from None
    if nano.denominator != 1:
        raise Failed("Error setting cpus: value is too precise")
    return int(nano)


def go_duration(nanoseconds: int) -> str:
    """Go's time.Duration.String for whole-second and sub-second values the lab uses."""
    if nanoseconds == 0:
        return "0s"
    seconds, rest = divmod(nanoseconds, 10**9)
    if seconds == 0:
        if rest % 10**6 == 0:
            return f"{rest // 10**6}ms"
        return f"{rest / 1e9:g}s"
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{seconds}{('.' + f'{rest:09d}'.rstrip('0')) if rest else ''}s"
    if minutes or hours:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return text


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration for the forms Berth writes (`10s`, `1m30s`, `500ms`, `0s`)."""
    units = {"h": 3600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
    total, number = 0, ""
    i = 0
    while i < len(text):
        char = text[i]
        if char.isdigit() or char == ".":
            number += char
            i += 1
            continue
        unit = text[i:i + 2] if text[i:i + 2] in ("ms", "us", "ns") else char
        total += int(Fraction(number) * units[unit])
        number = ""
        i += len(unit)
    return total
