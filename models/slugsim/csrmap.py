"""Field access for a block's CSR map, shared by every RTL block's Python twin.

Each block declares its register fields as ``{register: {field: (lsb, width)}}`` (rendered into
its generated Verilog header); the accessors below read and place fields of that map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Fields = dict[str, dict[str, tuple[int, int]]]


def field_accessors(
    fields: Fields,
) -> tuple[Callable[[int, str, str], int], Callable[[int, str, str], int]]:
    """``(field_value, place_field)`` for the map ``fields``."""

    def field_value(register_value: int, reg: str, name: str) -> int:
        """Field ``name`` of register ``reg`` extracted from the register's value."""
        lsb, width = fields[reg][name]
        return (register_value >> lsb) & ((1 << width) - 1)

    def place_field(value: int, reg: str, name: str) -> int:
        """``value`` shifted into field ``name`` of register ``reg`` (ValueError if it does
        not fit)."""
        lsb, width = fields[reg][name]
        if not 0 <= value < 1 << width:
            raise ValueError(f"{reg}.{name}={value} does not fit in {width} bits")
        return value << lsb

    return field_value, place_field


def counter_values(counters: object, names: Iterable[str], width: int = 32) -> dict[str, int]:
    """Event counters as the CSRs show them: CSR name -> the counters' field of that name
    (lower case), modulo 2**width."""
    mask = (1 << width) - 1
    return {name: getattr(counters, name.lower()) & mask for name in names}
