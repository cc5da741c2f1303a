#!/usr/bin/env python3
"""Accelerator replay figures of docs/record_replay.md ("Accelerators"), full size:

``coherent_accel.yaml`` (EMCs on every endpoint and switch port) recorded, then replayed with
its Type-1/Type-2 devices re-driven from their traces (``slugsim.record.device_player``):
``validate`` and ``dependency`` on the recorded topology, ``dependency`` and ``timing`` on the
same system with both accelerators behind a second switch (one more switch and link each way).
Per replay: program requests re-issued, mean D2H request-to-last-response latency per device,
the last response, and the coherence outcomes checked against the recording.

Table last.  PYTHONPATH=models python scripts/replay_accel.py
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
from slugsim.record.device_player import device_requests_of
from slugsim.record.recording import load_recording

ROOT = Path(__file__).resolve().parent.parent / "topologies"
DEVICES = ("acc0", "acc1")


def cli(*argv: str | Path) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = slugsim([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def topologies(work: Path) -> tuple[Path, Path]:
    """coherent_accel with every EMC, and the same with the accelerators behind sw1."""
    data = yaml.safe_load((ROOT / "coherent_accel.yaml").read_text())
    data["emc"] = {"at": ["endpoints", "switch_ports"]}
    here = work / "coherent_accel.yaml"
    here.write_text(yaml.safe_dump(data, sort_keys=False))
    data["components"].append({"name": "sw1", "kind": "switch", "params": {"ports": 8}})
    for link in data["links"]:
        if link["between"][1] in DEVICES:
            link["between"][0] = "sw1"
    data["links"].append({"between": ["sw0", "sw1"], "rate": "32GT/s", "width": "x16"})
    further = work / "coherent_accel_further.yaml"
    further.write_text(yaml.safe_dump(data, sort_keys=False))
    return here, further


def device_figures(recording: Path) -> dict[str, tuple[int, float, float]]:
    """Per device: requests, mean request-to-last-response latency (ns), last response (us)."""
    rec = load_recording(recording)
    out = {}
    for name in DEVICES:
        found = [r for r in device_requests_of(rec.traces[name], rec.cycle_ps) if r.response]
        mean = sum(r.response - r.time for r in found) / len(found) / 1000
        out[name] = (len(found), mean, max(r.response for r in found) / 1e6)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        here, further = topologies(work)
        code, _, err = cli("run", here, "--record", work / "rec", "--no-progress")
        assert code == 0, err
        rows = [("recorded run", device_figures(work / "rec"), None)]
        for label, mode, topo in (
            ("validate (same topology)", "validate", None),
            ("dependency, same topology", "dependency", None),
            ("dependency, one switch further", "dependency", further),
            ("timing, one switch further", "timing", further),
        ):
            print(f"replay: {label} ...", file=sys.stderr)
            out = work / label.replace(" ", "_").replace(",", "")
            extra = ["--topo", topo] if topo is not None else []
            code, _, err = cli(
                "replay", work / "rec", "--mode", mode, "--out", out, "--no-progress", *extra
            )
            assert code == 0, err
            report = json.loads((out / "replay.json").read_text())
            if mode == "validate":
                assert report["validate"]["passed"], report["validate"]
            rows.append((label, device_figures(out / "recording"), report["coherence"]))
    print()
    print(
        "| replay | acc0 requests | acc0 mean ns | acc1 mean ns | last response us | "
        "grant order | loads checked (wrong) | final values (wrong) |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for label, figures, c in rows:
        last = max(f[2] for f in figures.values())
        checks = (
            "— | — | —"
            if c is None
            else f"{'same' if c['same_grant_order'] else 'DIFFERENT'} | "
            f"{c['loads_checked']:,} ({c['load_errors']}) | "
            f"{c['final_values_checked']} ({c['final_values_wrong']})"
        )
        print(
            f"| {label} | {figures['acc0'][0]:,} | {figures['acc0'][1]:.1f} | "
            f"{figures['acc1'][1]:.1f} | {last:.1f} | {checks} |"
        )


if __name__ == "__main__":
    main()
