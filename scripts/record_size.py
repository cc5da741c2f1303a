#!/usr/bin/env python3
"""How big recordings are: bytes per recorded request per shipped workload, as the 16-byte
RTL record, as the raw trace file (24-byte records: the 8-byte extension added, plus headers
and chunk framing), as the compact trace file (``emc: trace_format: compact``, format version 5:
delta/varint per chunk, plus framing), the whole trace delta/varint-encoded in one stream
(``slugsim.emc.compact``) and that again through zlib (zstd is not installed here; zlib stands
in for a general-purpose compressor). EMCs on every endpoint.

A *recorded request* is a request message (M2S Req/RwD, D2H Req, H2D Req, S2M BISnp) seen
leaving its sender's EMC; its response and the receiver's view of both are recorded too, so
a request costs about four records. The table comes last.

    PYTHONPATH=models python scripts/record_size.py [TOPO ...]
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import zlib
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

from slugsim.config import load_topology
from slugsim.cxl import Channel, Direction
from slugsim.emc import read_trace
from slugsim.emc.compact import encode
from slugsim.emc.config import EmcConfig
from slugsim.emc.trace import RTL_RECORD_BYTES
from slugsim.record.recorder import record_run

SHIPPED = ["quickstart", "memory_pool", "vistara_interleaved", "fat_tree_k4", "coherent_accel"]
REQUESTS = {Channel.M2S_REQ, Channel.M2S_RWD, Channel.D2H_REQ, Channel.H2D_REQ, Channel.S2M_BISNP}


def measure(topo: Path, work: Path) -> dict[str, float]:
    graph = load_topology(topo)
    compact_dir = work / f"{topo.stem}.compact"
    with redirect_stdout(StringIO()):
        record_run(graph, topo, work / topo.stem, None, progress=False)
        config = graph.graph.get("emc") or EmcConfig()
        graph = load_topology(topo)
        graph.graph["emc"] = dataclasses.replace(config, trace_format="compact")
        record_run(graph, topo, compact_dir, None, progress=False)
    compact_file = sum(p.stat().st_size for p in (compact_dir / "emc").glob("*.emc"))
    requests = records = file_bytes = compact = zipped = 0
    for path in sorted((work / topo.stem / "emc").glob("*.emc")):
        trace = read_trace(path)
        records += len(trace.records)
        file_bytes += path.stat().st_size
        requests += sum(
            1 for r in trace.records if r.direction == Direction.EGRESS and r.channel in REQUESTS
        )
        data = encode(zip(trace.records, trace.ext, strict=True))
        compact += len(data)
        zipped += len(zlib.compress(data, 6))
    return {
        "requests": requests,
        "records": records,
        "raw": records * RTL_RECORD_BYTES / requests,
        "file": file_bytes / requests,
        "compact_file": compact_file / requests,
        "compact": compact / requests,
        "zlib": zipped / requests,
    }


def main() -> None:
    names = sys.argv[1:] or SHIPPED
    root = Path(__file__).resolve().parent.parent / "topologies"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            topo = Path(name) if name.endswith(".yaml") else root / f"{name}.yaml"
            print(f"recording {topo.name} ...", file=sys.stderr)
            rows.append((topo.stem, measure(topo, Path(tmp))))
    print()
    print(
        "| workload | requests | records/req | 16 B raw B/req | raw trace file B/req | "
        "compact trace file B/req | file: compact vs raw | "
        "delta+varint B/req | +zlib B/req | vs 16 B raw: varint | +zlib |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, m in rows:
        print(
            f"| {name} | {m['requests']:,} | {m['records'] / m['requests']:.2f} | "
            f"{m['raw']:.1f} | {m['file']:.1f} | {m['compact_file']:.1f} | "
            f"{m['file'] / m['compact_file']:.2f}x | {m['compact']:.1f} | {m['zlib']:.1f} | "
            f"{m['raw'] / m['compact']:.2f}x | {m['raw'] / m['zlib']:.2f}x |"
        )


if __name__ == "__main__":
    main()
