"""EMC trace files: what one recording point saw, in a form that survives crashes and bit rot.

Layout (all integers little-endian)::

    header   magic "SLUGEMC1" | u16 version | u32 meta_len | meta (UTF-8 JSON)
             | u32 crc32(all of the header before it)
    chunk*   magic "CHNK"     | u32 count  | u64 first_index | u32 crc32(records) | count records
    end      magic "TEND"     | u64 total records | u32 crc32(magic + total)

``meta`` names the source endpoint, the time unit of the timestamps, the record layout (the
``EmcRecord`` fields with their bit positions) and free-form run metadata (topology, seed).

Version 2 (written now): each record is ``EmcRecord.pack()`` in ``EmcRecord.wire_bytes`` (16)
bytes followed by 3 bytes of PBR IDs, ``spid | dpid << 12`` (12 bits each, CXL_REFERENCE.md
§6.2; 0 where the message has no such field). The 128-bit ``EmcRecord`` is what the RTL monitor
emits and is full, so the PIDs are a software extension the simulator's EMC adds rather than a
wider RTL record (the RTL/model equivalence tests keep comparing the 16-byte record).
Version 1 files (16-byte records, no PIDs) are still read; their PIDs read as 0.

Version 3 (written with ``encoding="compact"``, the ``emc: trace_format: compact`` option): the
same records and PIDs in the delta/varint encoding of ``slugsim.emc.compact``, restarted at
every chunk so each chunk decodes alone; a chunk header then also gives its payload's size::

    chunk*   magic "CHNK"     | u32 count  | u64 first_index | u32 payload bytes
             | u32 crc32(payload) | payload

The header's ``record_bytes`` is 0 (records have no fixed size). The reader tells the versions
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
VERSION = 2  # fixed-size records (``encoding="raw"``)
COMPACT_VERSION = 3  # delta/varint records (``encoding="compact"``)
ENCODINGS = {"raw": VERSION, "compact": COMPACT_VERSION}
READABLE_VERSIONS = (1, 2, 3)
CHUNK_MAGIC = b"CHNK"
END_MAGIC = b"TEND"
RTL_RECORD_BYTES = EmcRecord.wire_bytes  # the RTL monitor's 128-bit record
PID_BYTES = 3  # spid | dpid << 12: two 12-bit PBR IDs (CXL_REFERENCE.md §6.2)
PID_BITS = 12
RECORD_BYTES = RTL_RECORD_BYTES + PID_BYTES  # a version-2 record
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
    if version >= 2:
        lsb = RTL_RECORD_BYTES * 8
        fields += [
            {"name": "spid", "lsb": lsb, "width": PID_BITS, "shift": 0},
            {"name": "dpid", "lsb": lsb + PID_BITS, "width": PID_BITS, "shift": 0},
        ]
    return fields


def record_bytes_for(version: int) -> int:
    """Bytes per record in a trace of ``version`` (0: variable, the compact encoding)."""
    return {1: RTL_RECORD_BYTES, COMPACT_VERSION: 0}.get(version, RECORD_BYTES)


def pids_of(spid: int, dpid: int) -> int:
    """The packed PID extension of a version-2 record."""
    return spid | dpid << PID_BITS


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

    def write(self, record: EmcRecord | int, pids: int = 0) -> None:
        """Append one record; ``pids`` is its PID extension (``pids_of(spid, dpid)``)."""
        if self._compact is not None:
            r = EmcRecord.unpack(record) if isinstance(record, int) else record
            self._compact.add(r, pids, self._encoded)
            self._count += 1
            if self._count >= self._chunk_records:
                self.flush()
            return
        word = record if isinstance(record, int) else record.pack()
        self._pending.append(
            word.to_bytes(RTL_RECORD_BYTES, "little") + pids.to_bytes(PID_BYTES, "little")
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
    pids: list[int] = field(default_factory=list)  # per record: spid | dpid << 12 (v1: 0)

    def spid(self, index: int) -> int:
        return self.pids[index] & ((1 << PID_BITS) - 1)

    def dpid(self, index: int) -> int:
        return self.pids[index] >> PID_BITS


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
    pids: list[int],
    problems: list[str],
) -> bool:
    """Decode one compact chunk into ``records``/``pids``; False (and a problem) when a
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
    for record, pid in decoded:
        records.append(record)
        pids.append(pid)
    return True


def read_trace(path: str | Path, warn: bool = True) -> Trace:
    """Read a trace. Damage after the header yields the valid prefix plus a ``TraceWarning``.

    Raises ``TraceError`` when the file is not a trace or its header is unusable.
    """
    path = Path(path)
    problems: list[str] = []
    records: list[EmcRecord] = []
    pids: list[int] = []
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as err:
        raise TraceError(f"{path}: cannot open: {err.strerror}") from None
    with f:
        header = _read_header(path, f)
        size = header.record_bytes
        for count, payload in _chunks(path, f, problems, size):
            if size == 0:
                if not _decode_chunk(path, payload, count, records, pids, problems):
                    break
                continue
            for i in range(0, len(payload), size):
                word = int.from_bytes(payload[i : i + RTL_RECORD_BYTES], "little")
                try:
                    records.append(EmcRecord.unpack(word))
                    pids.append(int.from_bytes(payload[i + RTL_RECORD_BYTES : i + size], "little"))
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
    return Trace(path, header, records, complete=not problems, problems=problems, pids=pids)
