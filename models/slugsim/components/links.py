"""Kernel links built from ``LinkParams``: flit format, rate and width -> slot bandwidth.

Both CXL flit formats are made of 16-byte slots (CXL_REFERENCE.md §6.1: a 68B flit is 4 x 16 B
slots + 2 B CRC + 2 B ARB/MUX; a 256B flit is a 14 B H-slot + 14 x 16 B G-slots + 2 B CRD, with
16 B of HDR/CRC/FEC owned by the physical layer). Messages from different requests share a flit
slot by slot, so a link is modelled as a stream of 16 B slots:

- each message occupies ``ceil(wire_bytes / 16)`` slots (a 64 B read response with its header,
  68 B, takes 5 slots; a request header 1 slot);
- the slot stream runs at the raw lane bandwidth times the flit's payload fraction
  (240/256 for 256B flits, 64/68 for 68B flits).

This puts the all-reads efficiency of the response direction at 64 / (5 x 16) x 15/16 = 75 % of
raw for 256B flits: within the 60-90 % the spec leads to expect on CXL.mem (§6.1, [INTB]) and the
source of the calibrated 48 GB/s peak of two Gen5 x8 expanders (§7b). Header slots are not shared
between messages (the spec's G15 format packs three DRS headers in one slot), which is why the
model sits below the ideal packing (~86 %); the margin stands for flits spent on credits/acks.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..fabric.params import LinkParams
from ..kernel import ConfigurationError, Link, Port, Simulator

SLOT_BYTES = 16  # CXL_REFERENCE.md §6.1: both flit formats are built of 16 B slots

# Link-layer payload bytes per flit (CXL_REFERENCE.md §6.1).
PAYLOAD_BYTES = {68: 64, 256: 240}


def slot_bandwidth(params: LinkParams) -> int:
    """Bytes/s of slot payload per direction: raw lane bandwidth times the flit payload share."""
    try:
        payload = PAYLOAD_BYTES[params.flit_bytes]
    except KeyError:
        raise ConfigurationError(
            f"flit size must be 68 or 256 bytes (CXL_REFERENCE.md §6.1), got {params.flit_bytes}"
        ) from None
    return params.bandwidth * payload // params.flit_bytes


def connect(
    sim: Simulator,
    a: Port,
    b: Port,
    params: LinkParams,
    credits: int | Mapping[int, int] | None = None,
    name: str | None = None,
) -> Link:
    """A kernel ``Link`` with the slot model above; ``credits`` (one count for every message
    class, or a count per class) overrides ``params.credits``."""
    return Link(
        sim,
        a,
        b,
        latency=params.latency,
        bandwidth=slot_bandwidth(params),
        flit_bytes=SLOT_BYTES,
        credits=params.credits if credits is None else credits,
        name=name,
    )
