r"""EMC trace files: what one recording point saw, in a form that survives crashes and bit rot.

Layout (all integers little-endian)::

    header   magic "SLUGEMC1" | u16 version | u32 meta_len | meta (UTF-8 JSON)
             | u32 crc32(all of the header before it)
    chunk*   magic "CHNK"     | u32 count  | u64 first_index | u32 crc32(records) | count records
    end      magic "TEND"     | u64 total records | u32 crc32(magic + total)

``meta`` names the source endpoint, the time unit of the timestamps, the record layout (the
``EmcRecord`` fields with their bit positions) and free-form run metadata (topology, seed).

Version 4 (written now): each record is ``EmcRecord.pack()`` in ``EmcRecord.wire_bytes`` (16)
bytes followed by an 8-byte **extension** (``extension()``)::

    bits  0-11  SPID   \  PBR IDs, 12 bits each (CXL_REFERENCE.md §6.2); 0 where the
    bits 12-23  DPID   /  message has no such field
    bits 24-25  MetaField  \  the host's coherence hint (CXL_REFERENCE.md §2.3) on the channels
    bits 26-27  MetaValue   > that carry it: M2S Req and RwD (all three), S2M NDR and DRS
    bits 28-30  SnpType    /  (MetaField and MetaValue); 0 on every other channel
    bits 32-63  queued     an egress message's wait at the port, in timestamp units: from when
                           it was ready for the wire (sent, and through the port's pipeline)
                           to its first flit, behind other messages or for a credit; 0 on
                           ingress (saturates at 2**32 - 1)

The 128-bit ``EmcRecord`` is what the RTL monitor emits and is full, so the extension is what
the simulator's EMC adds rather than a wider RTL record (the RTL/model equivalence tests keep
comparing the 16-byte record). Without MetaValue a replay cannot tell a host's MemRd for a load
(MetaValue S) from one for a store (A); without ``queued`` it cannot tell when a message that
waited for the wire was sent (an RTL monitor at the port's transaction-layer input sees it as
the cycles between valid and ready). Older files still read: version 1 (16-byte records, no
extension), version 2 (a 3-byte extension, PIDs only); their missing fields read as 0 and
``Trace.has_meta`` is False.

Version 5 (written with ``encoding="compact"``, the ``emc: trace_format: compact`` option): the
same records and extensions in the delta/varint encoding of ``slugsim.emc.compact``, restarted at
every chunk so each chunk decodes alone; a chunk header then also gives its payload's size::

    chunk*   magic "CHNK"     | u32 count  | u64 first_index | u32 payload bytes
             | u32 crc32(payload) | payload

The header's ``record_bytes`` is 0 (records have no fixed size). Version 3 is the same encoding
with PID-only extensions (read, no longer written). The reader tells the versions
apart by the header; damage is handled alike (a cut-off chunk ends the valid prefix, a bad CRC
is reported by byte offset).

The writer appends whole chunks with one ``write`` each and writes the end marker only on
``close()``; nothing in the file ever claims records that are not there, so a cut-off file is a
valid prefix plus at most one partial chunk. The reader checks every chunk's CRC and its place
in the sequence; on truncation or corruption it stops, keeps the valid prefix and reports why.
"""

from __future__ import annotations

import json
import os
import struct
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from ..cxl import EmcRecord
from .compact import Encoder, decode

MAGIC = b"SLUGEMC1"
VERSION = 4  # fixed-size records (``encoding="raw"``)
COMPACT_VERSION = 5  # delta/varint records (``encoding="compact"``)
ENCODINGS = {"raw": VERSION, "compact": COMPACT_VERSION}
READABLE_VERSIONS = (1, 2, 3, 4, 5)
COMPACT_VERSIONS = (3, COMPACT_VERSION)
META_VERSIONS = (4, 5)  # versions whose extension carries MetaField / MetaValue / SnpType
CHUNK_MAGIC = b"CHNK"
END_MAGIC = b"TEND"
RTL_RECORD_BYTES = EmcRecord.wire_bytes  # the RTL monitor's 128-bit record
EXT_BYTES = 8  # the extension of a version-4 record (module docstring)
PID_BITS = 12  # a PBR ID (CXL_REFERENCE.md §6.2)
PID_MASK = (1 << PID_BITS) - 1
META_FIELD_LSB, META_VALUE_LSB, SNP_TYPE_LSB = 24, 26, 28  # 2, 2 and 3 bits (§2.3)
QUEUED_LSB = 32
QUEUED_MAX = (1 << 32) - 1
RECORD_BYTES = RTL_RECORD_BYTES + EXT_BYTES  # a version-4 record
_V2_RECORD_BYTES = RTL_RECORD_BYTES + 3  # version 2: a PID-only extension
DEFAULT_CHUNK_RECORDS = 4096
MAX_META_BYTES = 1 << 20  # a header bigger than this is corrupt, not ambitious

_PREFIX = struct.Struct("<8sHI")
_CHUNK = struct.Struct("<4sIQI")
_COMPACT_CHUNK = struct.Struct("<4sIQII")
_END = struct.Struct("<4sQI")
_CRC = struct.Struct("<I")


class TraceError(ValueError):
    """The file is not a readable trace at all (bad magic, version, header or layout)."""


class TraceWarning(UserWarning):
    """The trace was cut off or damaged; the records before the damage were returned."""


def record_layout(version: int = VERSION) -> list[dict[str, int | str]]:
    fields: list[dict[str, int | str]] = [
        {"name": f.name, "lsb": f.lsb, "width": f.width, "shift": f.shift} for f in EmcRecord.FIELDS
    ]
    lsb = RTL_RECORD_BYTES * 8
    if version >= 2:
        fields += [
            {"name": "spid", "lsb": lsb, "width": PID_BITS, "shift": 0},
            {"name": "dpid", "lsb": lsb + PID_BITS, "width": PID_BITS, "shift": 0},
        ]
    if version in META_VERSIONS:
        fields += [
            {"name": "meta_field", "lsb": lsb + META_FIELD_LSB, "width": 2, "shift": 0},
            {"name": "meta_value", "lsb": lsb + META_VALUE_LSB, "width": 2, "shift": 0},
            {"name": "snp_type", "lsb": lsb + SNP_TYPE_LSB, "width": 3, "shift": 0},
            {"name": "queued", "lsb": lsb + QUEUED_LSB, "width": 32, "shift": 0},
        ]
    return fields


def record_bytes_for(version: int) -> int:
    """Bytes per record in a trace of ``version`` (0: variable, the compact encoding)."""
    if version in COMPACT_VERSIONS:
        return 0
    return {1: RTL_RECORD_BYTES, 2: _V2_RECORD_BYTES}.get(version, RECORD_BYTES)


def extension(
    spid: int = 0,
    dpid: int = 0,
    meta_field: int = 0,
    meta_value: int = 0,
    snp_type: int = 0,
    queued: int = 0,
) -> int:
    """The packed extension of a version-4 record (module docstring)."""
    return (
        spid
        | dpid << PID_BITS
        | meta_field << META_FIELD_LSB
        | meta_value << META_VALUE_LSB
        | snp_type << SNP_TYPE_LSB
        | min(queued, QUEUED_MAX) << QUEUED_LSB
    )


def extension_of(msg: Any, queued: int = 0) -> int:
    """The extension of the record a monitor makes of ``msg`` (``queued``: its wait at the
    port, in timestamp units)."""
    ext = (getattr(msg, "spid", 0) or 0) | (getattr(msg, "dpid", 0) or 0) << PID_BITS
    meta_field = getattr(msg, "meta_field", None)
    if meta_field is not None:
        ext |= int(meta_field) << META_FIELD_LSB | int(msg.meta_value) << META_VALUE_LSB
        ext |= int(getattr(msg, "snp_type", 0)) << SNP_TYPE_LSB
    return ext | min(queued, QUEUED_MAX) << QUEUED_LSB


@dataclass(frozen=True)
class TraceHeader:
    source: str
    time_unit_ps: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)
    layout: list[dict[str, int | str]] = field(default_factory=record_layout)
    record_bytes: int = RECORD_BYTES
    version: int = VERSION

    def encode(self) -> bytes:
        meta = json.dumps(
            {
                "source": self.source,
                "time_unit_ps": self.time_unit_ps,
                "record_bytes": self.record_bytes,
                "layout": self.layout,
                "metadata": self.metadata,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        body = _PREFIX.pack(MAGIC, self.version, len(meta)) + meta
        return body + _CRC.pack(zlib.crc32(body))


class TraceWriter:
    """Appends EMC records to a trace file in CRC-protected chunks.

    Use as a context manager; ``close()`` flushes the last chunk and writes the end marker.
    ``sync=True`` also fsyncs each chunk, for recordings that must survive a power cut.
    """

    def __init__(
        self,
        path: str | Path,
        source: str,
        time_unit_ps: int = 1,
        metadata: dict[str, Any] | None = None,
        chunk_records: int = DEFAULT_CHUNK_RECORDS,
        sync: bool = False,
        encoding: str = "raw",
    ) -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be raw or compact, got {encoding!r}")
        if chunk_records <= 0:
            raise ValueError(f"chunk_records must be positive, got {chunk_records}")
        if time_unit_ps <= 0:
            raise ValueError(f"time_unit_ps must be positive, got {time_unit_ps}")
        self.path = Path(path)
        version = ENCODINGS[encoding]
        self.header = TraceHeader(
            source,
            time_unit_ps,
            dict(metadata or {}),
            record_layout(version),
            record_bytes_for(version),
            version,
        )
        self._chunk_records = chunk_records
        self._sync = sync
        self._pending: list[bytes] = []
        self._compact: Encoder | None = Encoder() if version == COMPACT_VERSION else None
        self._encoded = bytearray()  # compact: the pending chunk's payload
        self._count = 0  # compact: records in it
        self._written = 0
        self._file: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._write(self.header.encode())

    @property
    def records_written(self) -> int:
        """Records in complete chunks on disk (pending records are not counted)."""
        return self._written

    def write(self, record: EmcRecord | int, ext: int = 0) -> None:
        """Append one record; ``ext`` is its extension (``extension()``)."""
        if self._compact is not None:
            r = EmcRecord.unpack(record) if isinstance(record, int) else record
            self._compact.add(r, ext, self._encoded)
            self._count += 1
            if self._count >= self._chunk_records:
                self.flush()
            return
        word = record if isinstance(record, int) else record.pack()
        self._pending.append(
            word.to_bytes(RTL_RECORD_BYTES, "little") + ext.to_bytes(EXT_BYTES, "little")
        )
        if len(self._pending) >= self._chunk_records:
            self.flush()

    def write_all(self, records: Iterable[EmcRecord | int]) -> None:
        for record in records:
            self.write(record)

    def flush(self) -> None:
        """Write pending records as one chunk."""
        if self._compact is not None:
            if not self._count:
                return
            payload = bytes(self._encoded)
            head = _COMPACT_CHUNK.pack(
                CHUNK_MAGIC, self._count, self._written, len(payload), zlib.crc32(payload)
            )
            self._write(head + payload)
            self._written += self._count
            self._count = 0
            self._encoded.clear()
            self._compact = Encoder()  # each chunk decodes alone
            return
        if not self._pending:
            return
        payload = b"".join(self._pending)
        head = _CHUNK.pack(CHUNK_MAGIC, len(self._pending), self._written, zlib.crc32(payload))
        self._write(head + payload)
        self._written += len(self._pending)
        self._pending.clear()

    def close(self) -> None:
        if self._file is None:
            return
        self.flush()
        end = END_MAGIC + struct.pack("<Q", self._written)
        self._write(_END.pack(END_MAGIC, self._written, zlib.crc32(end)))
        self._file.close()
        self._file = None

    def _write(self, data: bytes) -> None:
        if self._file is None:
            raise ValueError(f"trace {self.path} is closed")
        self._file.write(data)
        self._file.flush()
        if self._sync:
            os.fsync(self._file.fileno())

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Every chunk on disk is complete even when the recording code raised, so closing
        # (end marker included) is right; only a dying process leaves a file without one.
        self.close()


@dataclass
class Trace:
    """A trace read back: its header, the valid records, and what (if anything) was wrong."""

    path: Path
    header: TraceHeader
    records: list[EmcRecord]
    complete: bool
    problems: list[str]
    ext: list[int] = field(default_factory=list)  # per record: its extension (v1: 0)

    @property
    def has_meta(self) -> bool:
        """The extensions carry MetaField / MetaValue / SnpType (format version 4 or 5)."""
        return self.header.version in META_VERSIONS

    def spid(self, index: int) -> int:
        return self.ext[index] & PID_MASK

    def dpid(self, index: int) -> int:
        return self.ext[index] >> PID_BITS & PID_MASK

    def meta_value(self, index: int) -> int:
        return self.ext[index] >> META_VALUE_LSB & 0b11

    def meta_field(self, index: int) -> int:
        return self.ext[index] >> META_FIELD_LSB & 0b11

    def snp_type(self, index: int) -> int:
        return self.ext[index] >> SNP_TYPE_LSB & 0b111

    def queued(self, index: int) -> int:
        """An egress message's wait at the port for the wire or a credit (timestamp units)."""
        return self.ext[index] >> QUEUED_LSB


def _fail(path: Path, offset: int, what: str, hint: str) -> TraceError:
    return TraceError(f"{path}: byte {offset}: {what}\nhint: {hint}")


def _read_header(path: Path, f: BinaryIO) -> TraceHeader:
    prefix = f.read(_PREFIX.size)
    if len(prefix) < _PREFIX.size or prefix[:8] != MAGIC:
        raise _fail(
            path, 0, "not an EMC trace (bad magic number)", "pass a file written by TraceWriter"
        )
    _, version, meta_len = _PREFIX.unpack(prefix)
    if version not in READABLE_VERSIONS:
        readable = ", ".join(str(v) for v in READABLE_VERSIONS)
        raise _fail(
            path,
            8,
            f"trace format version {version} is not supported (this slugsim reads {readable})",
            "read it with the slugsim version that wrote it",
        )
    if meta_len > MAX_META_BYTES:
        raise _fail(path, 10, f"header claims {meta_len} bytes of metadata", "the file is corrupt")
    meta = f.read(meta_len)
    crc = f.read(_CRC.size)
    if len(meta) < meta_len or len(crc) < _CRC.size:
        raise _fail(path, _PREFIX.size, "file ends inside its header", "the file is truncated")
    if _CRC.unpack(crc)[0] != zlib.crc32(prefix + meta):
        raise _fail(path, _PREFIX.size, "header CRC mismatch", "the header is corrupt")
    try:
        info = json.loads(meta)
        header = TraceHeader(
            source=info["source"],
            time_unit_ps=info["time_unit_ps"],
            metadata=info["metadata"],
            layout=info["layout"],
            record_bytes=info["record_bytes"],
            version=version,
        )
    except (ValueError, KeyError, TypeError) as err:
        raise _fail(path, _PREFIX.size, f"header metadata unreadable ({err})", "corrupt") from None
    if header.layout != record_layout(version) or header.record_bytes != record_bytes_for(version):
        raise _fail(
            path,
            _PREFIX.size,
            "record layout differs from this slugsim's EmcRecord",
            "read it with the slugsim version that wrote it",
        )
    return header


def iter_chunks(
    path: Path, f: BinaryIO, problems: list[str], record_bytes: int = RECORD_BYTES
) -> Iterator[bytes]:
    """Yield valid chunk payloads; on damage, note it in ``problems`` and stop.
    ``record_bytes`` 0: compact chunks (yielded as (count, payload) by ``_chunks``)."""
    for _, payload in _chunks(path, f, problems, record_bytes):
        yield payload


def _chunks(
    path: Path, f: BinaryIO, problems: list[str], record_bytes: int
) -> Iterator[tuple[int, bytes]]:
    compact = record_bytes == 0
    chunk = _COMPACT_CHUNK if compact else _CHUNK
    expected_index = 0
    while True:
        offset = f.tell()
        head = f.read(_CHUNK.size)  # the shorter of the two chunk headers
        if not head:
            problems.append(
                f"{path}: no end marker after {expected_index} records: the writer did not "
                "close the file (still recording, or it crashed)"
            )
            return
        if head[:4] == END_MAGIC:
            rest = head + f.read(max(0, _END.size - len(head)))
            if len(rest) < _END.size:
                problems.append(f"{path}: byte {offset}: end marker cut off")
                return
            _, total, crc = _END.unpack(rest[: _END.size])
            if crc != zlib.crc32(rest[:12]) or total != expected_index:
                problems.append(
                    f"{path}: byte {offset}: end marker says {total} records but "
                    f"{expected_index} were read (or its CRC is wrong)"
                )
            elif rest[_END.size :] or f.read(1):
                problems.append(f"{path}: byte {offset + _END.size}: data after the end marker")
            return
        if len(head) < chunk.size:
            head += f.read(chunk.size - len(head))
        if len(head) < chunk.size:
            problems.append(f"{path}: byte {offset}: truncated inside a chunk header")
            return
        if compact:
            magic, count, first_index, size, crc = chunk.unpack(head)
        else:
            magic, count, first_index, crc = chunk.unpack(head)
            size = count * record_bytes
        if magic != CHUNK_MAGIC or first_index != expected_index:
            problems.append(
                f"{path}: byte {offset}: chunk header is corrupt (expected chunk starting at "
                f"record {expected_index})"
            )
            return
        payload = f.read(size)
        if len(payload) < size:
            present = (
                f"{len(payload)} of its {size} bytes"
                if compact
                else f"{len(payload) // record_bytes}"
            )
            problems.append(
                f"{path}: byte {offset}: truncated: chunk claims {count} records but only "
                f"{present} are present"
            )
            return
        if zlib.crc32(payload) != crc:
            problems.append(f"{path}: byte {offset}: chunk of {count} records fails its CRC")
            return
        expected_index += count
        yield count, payload


def _decode_chunk(
    path: Path,
    payload: bytes,
    count: int,
    records: list[EmcRecord],
    exts: list[int],
    problems: list[str],
) -> bool:
    """Decode one compact chunk into ``records``/``exts``; False (and a problem) when a
    CRC-valid chunk does not decode to its count (a buggy writer)."""
    try:
        decoded = list(decode(payload))
    except (IndexError, ValueError) as err:
        problems.append(f"{path}: record {len(records)}: compact chunk does not decode ({err})")
        return False
    if len(decoded) != count:
        problems.append(
            f"{path}: record {len(records)}: compact chunk holds {len(decoded)} records, "
            f"its header says {count}"
        )
        return False
    for record, ext in decoded:
        records.append(record)
        exts.append(ext)
    return True


def read_trace(path: str | Path, warn: bool = True) -> Trace:
    """Read a trace. Damage after the header yields the valid prefix plus a ``TraceWarning``.

    Raises ``TraceError`` when the file is not a trace or its header is unusable.
    """
    path = Path(path)
    problems: list[str] = []
    records: list[EmcRecord] = []
    exts: list[int] = []
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as err:
        raise TraceError(f"{path}: cannot open: {err.strerror}") from None
    with f:
        header = _read_header(path, f)
        size = header.record_bytes
        for count, payload in _chunks(path, f, problems, size):
            if size == 0:
                if not _decode_chunk(path, payload, count, records, exts, problems):
                    break
                continue
            for i in range(0, len(payload), size):
                word = int.from_bytes(payload[i : i + RTL_RECORD_BYTES], "little")
                try:
                    records.append(EmcRecord.unpack(word))
                    exts.append(int.from_bytes(payload[i + RTL_RECORD_BYTES : i + size], "little"))
                except ValueError as err:
                    # A CRC-valid record that does not decode was written by a buggy writer.
                    problems.append(f"{path}: record {len(records)}: {err}")
                    break
            else:
                continue
            break
    if problems and warn:
        warnings.warn(
            f"{problems[0]}; returning the {len(records)} valid records before it",
            TraceWarning,
            stacklevel=2,
        )
    return Trace(path, header, records, complete=not problems, problems=problems, ext=exts)
