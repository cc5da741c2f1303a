"""The request log (``slugsim run --log-requests FILE``): one Parquet row per completed request.

Rows are kept in column arrays and written as a row group every ``ROW_GROUP`` rows, so memory
stays bounded however long the run. The file is written under a temporary name beside its
destination and renamed into place by ``close()``; ``abort()`` (a failed run) removes it, so a
reader never sees half a file.

Columns: ``host`` (string), ``tag`` (the request slot's CXL.mem tag: a core's slot), ``class``
(``read`` / ``write``), ``path`` (``llc``, ``local``, ``cxl:<device>``), ``address`` (host
physical), ``issue_ps``, ``completion_ps`` and ``latency_ps`` (completion - issue, the value the
latency histograms hold). With the per-hop breakdown on (``run: {breakdown: true}``) a column
``stages`` follows: the request's stages in the order crossed, a list of
``{stage: string, ps: int64}`` named as in stats.json's ``breakdown`` (``host0``,
``host0->sw0``, ``sw0 (req)``, ``mem0 controller``, ``mem0 DRAM queue``, ``mem0 DRAM service``
...), whose ``ps`` add up exactly to ``latency_ps``; empty for requests that did not cross the
fabric (``llc``, ``local``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from array import array
from pathlib import Path
from typing import Any

ROW_GROUP = 1 << 16
_CLASSES = ("read", "write")


def check_writable(path: Path) -> str | None:
    """Why ``path`` cannot take the log (None: it can)."""
    if path.is_dir():
        return f"{path} is a directory"
    parent = path.resolve().parent
    if not parent.is_dir():
        return f"directory {parent} does not exist"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {parent} is not writable"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} is not writable"
    return None


def _stage_type():  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.list_(pa.struct([("stage", pa.string()), ("ps", pa.int64())]))


def _schema(stages: bool = False):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    text = pa.dictionary(pa.int32(), pa.string())
    return pa.schema(
        [
            ("host", text),
            ("tag", pa.uint16()),
            ("class", text),
            ("path", text),
            ("address", pa.uint64()),
            ("issue_ps", pa.int64()),
            ("completion_ps", pa.int64()),
            ("latency_ps", pa.int64()),
            *((("stages", _stage_type()),) if stages else ()),
        ]
    )


class RequestLog:
    """Streams completed requests to a Parquet file (temporary until ``close``). With
    ``breakdown`` (the run's ``HopBreakdown``) each row also carries its stages."""

    def __init__(self, path: Path, breakdown: Any = None) -> None:
        import pyarrow.parquet as pq

        self.breakdown = breakdown
        self.path = Path(path)
        self.rows = 0
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.resolve().parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._schema = _schema(stages=breakdown is not None)
        self._writer = pq.ParquetWriter(str(self._tmp), self._schema)
        self._clear()

    def _clear(self) -> None:
        self._host: list[str] = []
        self._tag = array("H")
        self._class: list[str] = []
        self._path: list[str] = []
        self._address = array("Q")
        self._issue = array("q")
        self._done = array("q")
        self._stages: list[list[dict[str, Any]]] = []

    def row(
        self, host: str, tag: int, write: bool, path: str, addr: int, issued: int, done: int
    ) -> None:
        """One completed request (``write``: a store, else a load)."""
        self._host.append(host)
        self._tag.append(tag)
        self._class.append(_CLASSES[write])
        self._path.append(path)
        self._address.append(addr)
        self._issue.append(issued)
        self._done.append(done)
        breakdown = self.breakdown
        if breakdown is not None:
            # The breakdown closed this request's transaction just now, as its response was
            # delivered (probes run before the handler that logs it).
            last = breakdown.last
            if last is not None and last[0] == tag and last[1] == done:
                self._stages.append([{"stage": s, "ps": d} for s, d, _ in last[2]])
            else:
                self._stages.append([])
        if len(self._done) >= ROW_GROUP:
            self._write_group()

    def _write_group(self) -> None:
        import numpy as np
        import pyarrow as pa

        if not self._done:
            return
        issue = np.frombuffer(self._issue, dtype=np.int64).copy()
        done = np.frombuffer(self._done, dtype=np.int64).copy()
        columns = [
            pa.array(self._host).dictionary_encode(),
            pa.array(np.frombuffer(self._tag, dtype=np.uint16).copy()),
            pa.array(self._class).dictionary_encode(),
            pa.array(self._path).dictionary_encode(),
            pa.array(np.frombuffer(self._address, dtype=np.uint64).copy()),
            pa.array(issue),
            pa.array(done),
            pa.array(done - issue),
        ]
        if self.breakdown is not None:
            columns.append(pa.array(self._stages, type=_stage_type()))
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self._schema))
        self.rows += len(done)
        self._clear()

    def close(self) -> None:
        """Write what is left and move the file into place."""
        try:
            self._write_group()
            self._writer.close()
        except BaseException:
            self.abort()
            raise
        self._tmp.chmod(0o666 & ~_umask())
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop the file (the run failed): nothing is left at ``path`` or beside it."""
        with contextlib.suppress(Exception):  # the writer may be what failed
            self._writer.close()
        self._tmp.unlink(missing_ok=True)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
