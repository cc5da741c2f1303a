"""A compact encoding of EMC records: deltas and LEB128 varints, for storage and shipping.

The trace file keeps fixed 20-byte records (``slugsim.emc.trace``) because a fixed size makes
a cut-off or damaged chunk easy to find and skip; this encoding is what a recording costs
when it is stored or shipped compactly (``scripts/record_size.py`` measures both). Records
are encoded in order, each against the previous one of the same stream:

    flags      1 byte: channel (4 bits) | direction << 4 | has address << 5
                       | same extension as the previous record << 6 | same port << 7
    opcode     1 byte: the opcode (5 bits) | has a wait at the port << 7
    time       zigzag varint: timestamp minus the previous record's (records are in crossing
               order, and an egress record is stamped when its first flit leaves, so a
               delta can be negative)
    tag        varint
    address    zigzag varint of the line-address delta against the previous record that had
               one (only when it has an address: responses carry none)
    port       varint, unless same as the previous record's
    extension  varint of the low 32 bits of the record's extension (PIDs and, on the CXL.mem
               channels that carry them, MetaField / MetaValue / SnpType:
               ``slugsim.emc.trace``), unless same as the previous record's
    queued     varint of the extension's high 32 bits (the wait at the port; egress records
               only), when not 0: it changes from one record to the next, so it is kept out of
               the extension's "same as the previous" test
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..cxl import Channel, Direction, EmcRecord

_LOW_BITS = 32  # the extension's high bits are the wait at the port (slugsim.emc.trace)
_LOW_MASK = (1 << _LOW_BITS) - 1


def _varint(value: int, out: bytearray) -> None:
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def _zigzag(value: int) -> int:
    return value << 1 if value >= 0 else (-value << 1) - 1


def _unzigzag(value: int) -> int:
    return value >> 1 if not value & 1 else -((value + 1) >> 1)


class Encoder:
    """Encodes one stream of records incrementally (each against the previous one)."""

    def __init__(self) -> None:
        self.time = self.line = self.port = self.ext = 0

    def add(self, record: EmcRecord, ext: int, out: bytearray) -> None:
        """Append ``record`` (with its extension ``ext``) to ``out``."""
        has_addr = record.addr != 0
        queued, ext = ext >> _LOW_BITS, ext & _LOW_MASK
        same_ext = ext == self.ext
        same_port = record.port == self.port
        out.append(
            int(record.channel)
            | int(record.direction) << 4
            | has_addr << 5
            | same_ext << 6
            | same_port << 7
        )
        out.append(record.opcode | (queued != 0) << 7)
        _varint(_zigzag(record.timestamp - self.time), out)
        _varint(record.tag, out)
        if has_addr:
            _varint(_zigzag((record.addr >> 6) - self.line), out)
            self.line = record.addr >> 6
        if not same_port:
            _varint(record.port, out)
        if not same_ext:
            _varint(ext, out)
        if queued:
            _varint(queued, out)
        self.time, self.port, self.ext = record.timestamp, record.port, ext


def encode(records: Iterable[tuple[EmcRecord, int]]) -> bytes:
    """(record, extension) pairs -> bytes."""
    out = bytearray()
    encoder = Encoder()
    for record, ext in records:
        encoder.add(record, ext, out)
    return bytes(out)


def decode(data: bytes) -> Iterator[tuple[EmcRecord, int]]:
    """The inverse of ``encode``."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    time = line = port = ext = 0
    while pos < len(data):
        flags, opcode = data[pos], data[pos + 1] & 0x7F
        waited = data[pos + 1] >> 7
        pos += 2
        time += _unzigzag(varint())
        tag = varint()
        addr = 0
        if flags >> 5 & 1:
            line += _unzigzag(varint())
            addr = line << 6
        if not flags >> 7 & 1:
            port = varint()
        if not flags >> 6 & 1:
            ext = varint()
        queued = varint() if waited else 0
        record = EmcRecord(
            timestamp=time,
            channel=Channel(flags & 0xF),
            opcode=opcode,
            direction=Direction(flags >> 4 & 1),
            tag=tag,
            addr=addr,
            port=port,
        )
        yield record, ext | queued << _LOW_BITS
