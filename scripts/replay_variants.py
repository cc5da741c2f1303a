#!/usr/bin/env python3
"""``validate`` on variants of ``pooled_hdmdb.yaml`` (docs/record_replay.md, "HDM-DB replay").

Each variant changes one thing the HDM-DB replay's inferences depend on: the seed (which
requests collide), the link width (how long messages wait for the wire), a second switch,
the store share (how many MemRd ask for ownership), a small device snoop filter (victim
BISnps), a small host cache (capacity evictions). EMCs sit on every endpoint and switch port;
each variant runs its full 2,000 requests per core, is recorded and replayed in ``validate``
mode. Prints one row per variant: records compared, and byte for byte or the first
difference.  PYTHONPATH=models python scripts/replay_variants.py [NAME ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

import yaml
from slugsim.cli import main as slugsim

TOPOLOGY = Path(__file__).resolve().parent.parent / "topologies" / "pooled_hdmdb.yaml"
Variant = Callable[[dict[str, Any]], None]


def cli(*argv: str | Path) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = slugsim([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def params_with(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [c["params"] for c in data["components"] if key in (c.get("params") or {})]


def seed(n: int) -> Variant:
    def change(data: dict[str, Any]) -> None:
        data["run"]["seed"] = n

    return change


def width(lanes: str) -> Variant:
    def change(data: dict[str, Any]) -> None:
        for link in data["links"]:
            link["width"] = lanes

    return change


def farther(data: dict[str, Any]) -> None:
    data["components"].insert(2, {"name": "sw1", "kind": "switch", "params": {"ports": 8}})
    data["links"][0]["between"] = ["host", "sw1"]
    data["links"].append({"between": ["sw1", "sw0"], "rate": "32GT/s", "width": "x16"})


def stores(data: dict[str, Any]) -> None:
    for params in params_with(data, "workload"):
        params["workload"]["read_ratio"] = 0.3


def small_filter(data: dict[str, Any]) -> None:
    for params in params_with(data, "sf_sets"):
        params["sf_sets"] = 16


def small_cache(data: dict[str, Any]) -> None:
    for params in params_with(data, "devmem_cache"):
        params["devmem_cache"] = "4KiB"


def combined(data: dict[str, Any]) -> None:
    stores(data)
    small_filter(data)
    seed(7)(data)


VARIANTS: dict[str, tuple[str, Variant]] = {
    "shipped": ("as shipped (seed 1)", lambda data: None),
    "seed2": ("seed 2", seed(2)),
    "seed3": ("seed 3", seed(3)),
    "seed4": ("seed 4", seed(4)),
    "seed5": ("seed 5", seed(5)),
    "x8": ("x8 links", width("x8")),
    "x4": ("x4 links", width("x4")),
    "farther": ("hosts behind a second switch", farther),
    "stores": ("read_ratio 0.3", stores),
    "small_sf": ("snoop filter 16 x 16", small_filter),
    "small_cache": ("host cache 4 KiB", small_cache),
    "combined": ("read_ratio 0.3, filter 16 x 16, seed 7", combined),
}


def validate(work: Path, name: str, change: Variant) -> tuple[int, str]:
    data = yaml.safe_load(TOPOLOGY.read_text())
    change(data)
    data["emc"] = {"at": ["endpoints", "switch_ports"]}
    topo = work / f"{name}.yaml"
    topo.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = cli("run", topo, "--record", work / name, "--no-progress")
    if code != 0:
        raise SystemExit(f"{name}: the recorded run failed:\n{err}")
    manifest = json.loads((work / name / "manifest.json").read_text())
    records = sum(e["records"] for e in manifest["emcs"])
    code, out, err = cli(
        "replay", work / name, "--mode", "validate", "--out", work / f"{name}.out",
        "--no-progress",
    )  # fmt: skip
    if code == 0:
        return records, "byte for byte"
    differs = [line for line in (out + err).splitlines() if "differs" in line]
    if not differs:
        return records, "FAILED: " + (out + err).strip().splitlines()[-1]
    earliest = min(differs, key=lambda line: int(line.split("[t=")[1].split()[0]))
    return records, "DIFFERS: " + earliest.split("/emc/")[-1]


def main() -> None:
    chosen = sys.argv[1:] or list(VARIANTS)
    unknown = [n for n in chosen if n not in VARIANTS]
    if unknown:
        print(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
        raise SystemExit(2)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            what, change = VARIANTS[name]
            print(f"{name} ...", file=sys.stderr)
            rows.append((name, what, *validate(Path(tmp), name, change)))
    passed = sum(verdict == "byte for byte" for *_, verdict in rows)
    print("| variant | change | records | validate |")
    print("|---|---|---:|---|")
    for name, what, records, verdict in rows:
        print(f"| {name} | {what} | {records:,} | {verdict} |")
    print(f"\n{passed} of {len(rows)} variants reproduced byte for byte")


if __name__ == "__main__":
    main()
