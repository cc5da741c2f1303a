import pytest
from slugsim.kernel import (
    format_time,
    link_bandwidth,
    ns,
    parse_bandwidth,
    parse_rate,
    parse_size,
    parse_time,
    parse_width,
    us,
)


def test_time_helpers_are_integer_picoseconds():
    assert ns(70) == 70_000
    assert us(1.5) == 1_500_000
    assert ns(0.5) == 500
    with pytest.raises(ValueError, match="whole number"):
        ns(0.0001)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("70ns", 70_000), ("1.5 us", 1_500_000), ("250ps", 250), (12, 12), ("2ms", 2 * 10**9)],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_size, "64GiB", 64 * 2**30),
        (parse_size, "4KB", 4000),
        (parse_rate, "32GT/s", 32 * 10**9),
        (parse_rate, 64, 64 * 10**9),
        (parse_bandwidth, "64GB/s", 64 * 10**9),
        (parse_width, "x16", 16),
        (parse_width, 8, 8),
    ],
)
def test_parse_quantities(parse, text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_time, "70 furlongs", "expected a time"),
        (parse_time, "-5ns", "cannot be negative"),
        (parse_time, True, "expected a time"),
        (parse_size, "64GiBs", "expected a size"),
        (parse_rate, "32GB/s", "expected a transfer rate"),
        (parse_width, "x3", "x1, x2, x4, x8 or x16"),
    ],
)
def test_bad_quantities_say_what_was_expected(parse, text, message):
    with pytest.raises(ValueError, match=message):
        parse(text)


def test_link_bandwidth_matches_spec_table():
    # CXL_REFERENCE.md §6.1: 32 GT/s x16 = 64 GB/s each direction.
    assert link_bandwidth(parse_rate("32GT/s"), parse_width("x16")) == 64 * 10**9


def test_format_time():
    assert format_time(ns(70)) == "70ns"
    assert format_time(1500) == "1.5ns"
    assert format_time(12) == "12ps"
