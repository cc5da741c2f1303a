"""Units: simulated time is an integer number of picoseconds everywhere in slugsim.

Helpers turn human quantities ("70ns", "32GT/s", "64GiB", "x16", "64GB/s") into integers, and
raise ``ValueError`` with a message that says what was expected, so the config layer can turn it
into a ``file:line`` error.
"""

from __future__ import annotations

import re

PS = 1
NS = 1_000
US = 1_000_000
MS = 1_000_000_000
S = 1_000_000_000_000


def ps(value: float) -> int:
    return _whole(value * PS, "ps")


def ns(value: float) -> int:
    return _whole(value * NS, "ns")


def us(value: float) -> int:
    return _whole(value * US, "us")


def ms(value: float) -> int:
    return _whole(value * MS, "ms")


def _whole(value: float, unit: str) -> int:
    result = round(value)
    if abs(result - value) > 1e-6:
        raise ValueError(f"{value} {unit} is not a whole number of picoseconds")
    return int(result)


_NUMBER = r"(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"

_TIME_UNITS = {"ps": PS, "ns": NS, "us": US, "µs": US, "ms": MS, "s": S}
_SIZE_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}
_RATE_UNITS = {"T/s": 1, "KT/s": 10**3, "MT/s": 10**6, "GT/s": 10**9}
_BW_UNITS = {"B/s": 1, "KB/s": 10**3, "MB/s": 10**6, "GB/s": 10**9, "TB/s": 10**12}
_FREQ_UNITS = {"Hz": 1, "kHz": 10**3, "KHz": 10**3, "MHz": 10**6, "GHz": 10**9}


def _parse(text: str | int | float, units: dict[str, int], what: str, default_unit: str) -> float:
    if isinstance(text, bool):
        raise ValueError(f"expected a {what} such as '{_example(units)}', got {text!r}")
    if isinstance(text, int | float):
        return float(text) * units[default_unit]
    match = re.fullmatch(_NUMBER + r"\s*(?P<unit>[A-Za-zµ/]+)", str(text).strip())
    if not match or match["unit"] not in units:
        raise ValueError(
            f"expected a {what} such as '{_example(units)}' "
            f"(units: {', '.join(units)}), got {text!r}"
        )
    return float(match["num"]) * units[match["unit"]]


def _example(units: dict[str, int]) -> str:
    return {"ps": "70ns", "B": "64GiB", "T/s": "32GT/s", "B/s": "64GB/s", "Hz": "2GHz"}[
        next(iter(units))
    ]


def _non_negative_int(value: float, text: object, what: str) -> int:
    if value < 0:
        raise ValueError(f"a {what} cannot be negative, got {text!r}")
    result = round(value)
    if abs(result - value) > 1e-6 * max(1.0, abs(value)):
        raise ValueError(f"{text!r} is not a whole number of {what} base units")
    return int(result)


def parse_time(text: str | int | float) -> int:
    """'70ns' -> 70000 (ps). A bare number is taken as picoseconds."""
    return _non_negative_int(_parse(text, _TIME_UNITS, "time", "ps"), text, "time")


def parse_size(text: str | int | float) -> int:
    """'64GiB' -> bytes. A bare number is taken as bytes."""
    return _non_negative_int(_parse(text, _SIZE_UNITS, "size", "B"), text, "size")


def parse_rate(text: str | int | float) -> int:
    """'32GT/s' -> transfers per second. A bare number is taken as GT/s, as in the CXL spec."""
    return _non_negative_int(_parse(text, _RATE_UNITS, "transfer rate", "GT/s"), text, "rate")


def parse_bandwidth(text: str | int | float) -> int:
    """'64GB/s' -> bytes per second. A bare number is taken as bytes per second."""
    return _non_negative_int(_parse(text, _BW_UNITS, "bandwidth", "B/s"), text, "bandwidth")


def parse_frequency(text: str | int | float) -> int:
    """'2GHz' -> Hz."""
    return _non_negative_int(_parse(text, _FREQ_UNITS, "frequency", "Hz"), text, "frequency")


def parse_width(text: str | int) -> int:
    """'x16' -> 16 lanes; CXL allows x1, x2, x4, x8, x16 (CXL_REFERENCE.md §6.1)."""
    if isinstance(text, bool):
        raise ValueError(f"expected a link width such as 'x16', got {text!r}")
    match = re.fullmatch(r"x?(\d+)", str(text).strip())
    lanes = int(match[1]) if match else -1
    if lanes not in (1, 2, 4, 8, 16):
        raise ValueError(f"expected a link width x1, x2, x4, x8 or x16, got {text!r}")
    return lanes


def link_bandwidth(rate_tps: int, lanes: int) -> int:
    """Raw bytes per second per direction: one bit per transfer per lane.

    32 GT/s x16 gives 64 GB/s each direction (CXL_REFERENCE.md §6.1, S32 Tbl 13-1).
    """
    return rate_tps * lanes // 8


def format_time(t_ps: int) -> str:
    for unit, scale in (("s", S), ("ms", MS), ("us", US), ("ns", NS)):
        if abs(t_ps) >= scale:
            return f"{t_ps / scale:g}{unit}"
    return f"{t_ps}ps"
