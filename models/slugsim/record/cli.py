"""The command-line side of record and replay: ``slugsim run TOPO --record DIR`` and
``slugsim replay DIR``. Bad recordings and arguments end with a message naming the file and
exit code 2; a ``validate`` replay that differs exits 1."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
SHOWN_PATHS = 24


def add_replay_command(commands: Any) -> None:
    replay = commands.add_parser(
        "replay", help="replay a recording on the same or another topology (three modes)"
    )
    replay.add_argument("recording", type=Path, metavar="DIR", help="a directory from --record")
    replay.add_argument(
        "--mode", choices=("timing", "dependency", "validate"), default="dependency",
        help="timing: at recorded times; dependency: order and slots kept, time adapts "
        "(default); validate: must reproduce every trace byte for byte",
    )  # fmt: skip
    replay.add_argument("--topo", type=Path, metavar="TOPO", help="replay on this topology")
    replay.add_argument(
        "--map", action="append", default=[], metavar="OLD=NEW",
        help="replay the recorded endpoint OLD on NEW (repeat, or comma-separate)",
    )  # fmt: skip
    replay.add_argument(
        "--out", type=Path, default=Path("replay_out"), metavar="DIR",
        help="stats, replay.json/txt, paths.png and the replay's recording (default replay_out)",
    )  # fmt: skip
    replay.add_argument(
        "--salvage", action="store_true",
        help="replay the valid prefixes of damaged or missing traces and report what was lost",
    )  # fmt: skip
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")


def _bad(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_BAD_INPUT


def _usable_dir(path: Path, flag: str) -> str | None:
    """Why ``path`` cannot become an output directory, or None."""
    if path.exists() and not path.is_dir():
        return f"slugsim: {flag} {path} is a file\n  hint: name a directory (it is created)"
    return None


def run_recorded(args: argparse.Namespace, graph: Any) -> int:
    """``slugsim run TOPO --record DIR`` (the topology is loaded and valid)."""
    from ..emc.config import EmcConfig
    from ..kernel.errors import ConfigurationError
    from .recorder import MANIFEST, record_run

    record: Path = args.record
    if args.log_requests is not None:
        return _bad(
            "slugsim: --log-requests and --record cannot be combined yet\n"
            "  hint: run twice (the same seed gives the same run)"
        )
    if args.record_format is not None:
        config = graph.graph.get("emc") or EmcConfig()
        graph.graph["emc"] = dataclasses.replace(config, trace_format=args.record_format)
    problem = _usable_dir(record, "--record")
    if problem:
        return _bad(problem)
    if record.is_dir() and any(record.iterdir()) and not (record / MANIFEST).exists():
        return _bad(
            f"slugsim: --record {record} exists and is not a recording\n"
            "  hint: name a new directory (an old recording there is replaced)"
        )
    try:
        stats = record_run(
            graph, Path(args.topology), record, args.seed, not args.no_progress,
            stats_dir=args.out,
        )  # fmt: skip
    except ConfigurationError as exc:
        print(f"{args.topology}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_FAILED if stats["run"]["stop"] == "deadlock" else EXIT_OK


def replay_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..fabric.errors import TopologyError
    from ..kernel.errors import ConfigurationError
    from .recording import RecordingError, load_recording
    from .replay import format_report, parse_map, replay

    problem = _usable_dir(args.out, "--out")
    if problem:
        return _bad(problem)
    try:
        mapping = parse_map(args.map)
    except ValueError as exc:
        return _bad(f"slugsim: {exc}\n  hint: --map host0=hostA,mem0=memA")
    if args.topo is not None and not args.topo.is_file():
        return _bad(f"{args.topo}: no such topology file\n  hint: check the --topo path")
    console = Console()
    try:
        recording = load_recording(args.recording, salvage=args.salvage)
        for loss in recording.losses:
            print(f"salvage: {loss}", file=sys.stderr)
        result = replay(
            recording, args.mode, args.out, args.topo, mapping,
            progress=not args.no_progress, console=console,
        )  # fmt: skip
    except RecordingError as exc:
        return _bad(str(exc))
    except TopologyError as exc:
        for issue in exc.issues[:20]:
            print(issue, file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConfigurationError as exc:
        return _bad(f"{args.topo or args.recording}: {exc}")
    for note in result.notes:
        console.print(f"note: {note}")
    if result.paths and args.mode != "validate":
        sys.stdout.write(format_report(result, SHOWN_PATHS))
        sys.stdout.flush()
    if result.same_writes is not None:
        verdict = "the same" if result.same_writes else "DIFFERENT"
        console.print(f"per-address write order and final memory image: {verdict}")
    if result.coherence is not None:
        c = result.coherence
        same = c["same_grant_order"] and not c["load_errors"] and not c["final_values_wrong"]
        console.print(
            f"accelerators re-driven: {c['grants']:,} grants on {c['lines']} lines: per-line "
            f"grant order {'the same' if c['same_grant_order'] else 'DIFFERENT'}, "
            f"{c['loads_checked']:,} loads checked ({c['load_errors']} wrong), "
            f"{c['final_values_checked']} final values ({c['final_values_wrong']} wrong): "
            f"coherence outcomes {'the same' if same else 'DIFFERENT'}"
        )
    if result.losses:
        console.print(f"salvaged: {len(result.losses)} trace(s) incomplete; see replay.json")
    if args.mode == "validate":
        if result.mismatches:
            for name, diff in sorted(result.mismatches.items())[:10]:
                print(f"{args.recording}/emc/{name}.emc: {diff}", file=sys.stderr)
            print(
                f"validate: FAILED: {len(result.mismatches)} of "
                f"{len(recording.traces)} traces differ",
                file=sys.stderr,
            )
            return EXIT_FAILED
        console.print(
            f"validate: every one of {len(recording.traces)} traces reproduced byte for byte"
        )
    console.print(f"replay written to {args.out}/")
    return EXIT_OK
