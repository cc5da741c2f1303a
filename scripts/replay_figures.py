#!/usr/bin/env python3
"""The replay figures of docs/record_replay.md, full size:

1. ``validate`` on every shipped topology (EMCs on every endpoint and every switch port):
   records compared, traces reproduced;
2. ``fat_tree_k4`` recorded, then replayed in ``dependency`` and ``timing`` mode onto the
   same hosts and devices on a spine-leaf fabric and on a three-level tree: mean latency
   recorded vs replayed, the run's length, and whether memory ends the same. The per-path
   reports and plots go to OUT (default replay_figures/).

Tables come last.  PYTHONPATH=models python scripts/replay_figures.py [OUT]
"""

from __future__ import annotations

import json
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import yaml
from slugsim.cli import main as slugsim

ROOT = Path(__file__).resolve().parent.parent / "topologies"
SHIPPED = sorted(p.stem for p in ROOT.glob("*.yaml"))
TARGETS = ["fat_tree_k4_spine_leaf", "fat_tree_k4_tree"]


def cli(*argv: str | Path) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = slugsim([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def with_every_emc(src: Path, dst: Path) -> Path:
    data = yaml.safe_load(src.read_text())
    data["emc"] = {"at": ["endpoints", "switch_ports"]}
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


def validate_all(work: Path) -> list[tuple[str, int, int, str]]:
    rows = []
    for name in SHIPPED:
        print(f"validate {name} ...", file=sys.stderr)
        topo = with_every_emc(ROOT / f"{name}.yaml", work / f"{name}.yaml")
        code, _, err = cli("run", topo, "--record", work / name, "--no-progress")
        assert code == 0, err
        manifest = json.loads((work / name / "manifest.json").read_text())
        records = sum(e["records"] for e in manifest["emcs"])
        code, _, err = cli(
            "replay", work / name, "--mode", "validate", "--out", work / f"{name}.val",
            "--no-progress",
        )  # fmt: skip
        if code == 0:
            verdict = "byte for byte"
        else:  # exit 2: replay refuses it (HDM-D hosts are not re-driven); 1: it differs
            verdict = f"{'refused' if code == 2 else 'FAILED'}: {err.strip().splitlines()[0]}"
        rows.append((name, len(manifest["emcs"]), records, verdict))
    return rows


def fat_tree(work: Path, out: Path) -> list[tuple[str, str, dict, bool | None, int, int]]:
    code, _, err = cli("run", ROOT / "fat_tree_k4.yaml", "--record", work / "ft", "--no-progress")
    assert code == 0, err
    recorded_end = json.loads((work / "ft" / "manifest.json").read_text())["run"]["sim_now_ps"]
    # (the recorded run stopped at its request budget; a replay runs until its last response)
    rows = []
    for target in TARGETS:
        for mode in ("dependency", "timing"):
            print(f"replay fat_tree_k4 on {target} ({mode}) ...", file=sys.stderr)
            dest = out / f"{target}.{mode}"
            code, _, err = cli(
                "replay", work / "ft", "--topo", ROOT / f"{target}.yaml", "--mode", mode,
                "--out", dest, "--no-progress",
            )  # fmt: skip
            assert code == 0, err
            report = json.loads((dest / "replay.json").read_text())
            end = json.loads((dest / "stats.json").read_text())["run"]
            rows.append(
                (target, mode, report["summary"], report["same_write_order"], recorded_end,
                 round(end["sim_time_ns"] * 1000))
            )  # fmt: skip
    return rows


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "replay_figures")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        validated = validate_all(Path(tmp))
        replays = fat_tree(Path(tmp), out)
    print(f"\nper-path reports and plots: {out}/*/replay.txt, paths.png\n")
    print("| topology | EMCs | records | validate |")
    print("|---|---:|---:|---|")
    for name, emcs, records, verdict in validated:
        print(f"| {name} | {emcs} | {records:,} | {verdict} |")
    print()
    print(
        "| fat_tree_k4 replayed on | mode | mean latency recorded ns | replayed ns | change | "
        "run length recorded us | replayed us | memory image and write order |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for target, mode, s, same, before, after in replays:
        same_text = "n/a (no writes)" if same is None else ("same" if same else "DIFFERENT")
        print(
            f"| {target} | {mode} | {s['recorded_mean_ns']:.1f} | {s['replayed_mean_ns']:.1f} | "
            f"{s['latency_change_pct']:+.1f} % | {before / 1e6:.1f} | {after / 1e6:.1f} | "
            f"{same_text} |"
        )


if __name__ == "__main__":
    main()
