"""The ``slugsim`` command: run, validate, draw, schema, calibrate.

Every command that reads a topology builds and validates the whole system first; bad input ends
with ``file:line: what is wrong`` and a hint on stderr, exit code 2, no traceback, and nothing
written (``run`` creates its output directory only after validation passed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from pathlib import Path
from typing import NoReturn

import networkx as nx

from .fabric.errors import TopologyError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
MAX_SHOWN = 20  # issues printed; a broken generated file can produce thousands


class _Parser(argparse.ArgumentParser):
    """argparse with a hint line; it already exits 2 on bad arguments, as we want."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(
            f"{self.prog}: error: {message}\n  hint: '{self.prog} --help' lists the options\n"
        )
        sys.exit(EXIT_BAD_INPUT)


def _seed(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"a seed is between 0 and 2^63-1, got {value}")
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="slugsim",
        description="slugsim: a gem5-style simulator of CXL fabrics.",
        epilog="Topology files: topologies/README.md. Example: slugsim run "
        "topologies/quickstart.yaml --out out",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="simulate a topology; write stats and plots to --out")
    run.add_argument("topology", metavar="TOPO", help="topology YAML file")
    run.add_argument("--out", type=Path, metavar="DIR", help="write stats.json, stats.txt, PNGs")
    run.add_argument("--seed", type=_seed, metavar="N", help="override run.seed of the file")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument(
        "--log-requests", type=Path, metavar="FILE",
        help="write one row per completed request to FILE (Parquet)",
    )  # fmt: skip
    run.add_argument(
        "--migrate", action="append", default=[], metavar="NAME=TARGET@TIME[:warm]",
        help="move endpoint NAME's work onto spare TARGET at TIME (repeatable; docs/migration.md)",
    )  # fmt: skip
    run.add_argument(
        "--record", type=Path, metavar="DIR",
        help="record the run with the topology's emc: monitors into DIR (docs/record_replay.md)",
    )  # fmt: skip
    run.add_argument(
        "--record-format", choices=("raw", "compact"), default=None,
        help="trace files of --record: raw (20 B records) or compact (delta/varint); "
        "default: the emc: section's trace_format",
    )  # fmt: skip

    validate = commands.add_parser("validate", help="check topology files and summarise them")
    validate.add_argument("topologies", nargs="+", metavar="TOPO", help="topology YAML file(s)")

    draw = commands.add_parser("draw", help="draw a topology as a PNG")
    draw.add_argument("topology", metavar="TOPO", help="topology YAML file")
    draw.add_argument(
        "-o", "--output", type=Path, default=Path("fabric.png"), metavar="PNG",
        help="output file (default: fabric.png)",
    )  # fmt: skip

    schema = commands.add_parser("schema", help="print the JSON Schema of topology files")
    schema.add_argument("-o", "--output", type=Path, metavar="FILE", help="write it to FILE")

    commands.add_parser("calibrate", help="compare model latencies with published measurements")
    commands.add_parser("kinds", help="list the component kinds, their ports and parameters")
    _add_sweep_commands(commands)
    from .record.cli import add_replay_command

    add_replay_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    handler = {
        "run": _run,
        "validate": _validate,
        "draw": _draw,
        "schema": _schema,
        "calibrate": _calibrate,
        "kinds": _kinds,
        "sweep": _sweep,
        "curve": _curve,
        "replay": _replay,
    }[args.command]
    try:
        return handler(args)
    except TopologyError as exc:
        _report(exc)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("slugsim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _report(exc: TopologyError) -> None:
    for issue in exc.issues[:MAX_SHOWN]:
        print(issue, file=sys.stderr)
    if len(exc.issues) > MAX_SHOWN:
        print(f"... and {len(exc.issues) - MAX_SHOWN} more problems", file=sys.stderr)


def _load(path: str) -> nx.Graph:
    from .config import load_topology  # pydantic and yaml load only for commands that read files

    return load_topology(path)


def _bad_output(message: str, hint: str) -> int:
    print(f"slugsim: {message}\n  hint: {hint}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _run(args: argparse.Namespace) -> int:
    out: Path | None = args.out
    if out is not None and out.exists() and not out.is_dir():
        return _bad_output(f"--out {out} is a file", "name a directory (it is created)")
    log: Path | None = args.log_requests
    if log is not None:
        from .stats.request_log import check_writable

        problem = check_writable(log)
        if problem is not None:
            return _bad_output(
                f"--log-requests {log}: {problem}", "name a file in a writable directory"
            )
    graph = _load(args.topology)
    if args.seed is not None:
        graph.graph["run"] = dataclasses.replace(graph.graph["run"], seed=args.seed)
    if args.migrate:
        from .sim.migration import attach, parse_cli

        attach(graph, [parse_cli(text) for text in args.migrate])
    try:
        from .sim import run_topology
    except ImportError as exc:
        if exc.name != f"{__package__}.sim":
            raise
        print(
            "slugsim: the simulation models are not available in this build "
            f"(slugsim.sim.run_topology: {exc})\n"
            "  hint: 'slugsim validate' and 'slugsim draw' work without them",
            file=sys.stderr,
        )
        return EXIT_FAILED
    from .kernel.errors import ConfigurationError

    if args.record_format is not None and args.record is None:
        print(
            "slugsim: --record-format applies to --record\n  hint: add --record DIR",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if args.record is not None:
        from .record.cli import run_recorded

        return run_recorded(args, graph)
    try:
        extra = {} if log is None else {"log_requests": log}
        stats = run_topology(graph, out, args.seed, not args.no_progress, **extra)
    except ConfigurationError as exc:  # the models refused a parameter the schema allowed
        print(f"{args.topology}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if stats["run"]["stop"] == "deadlock":
        print(
            f"{args.topology}: the simulation deadlocked at {stats['run']['sim_time_ns']:,.1f} ns "
            f"after {stats['run']['requests']:,} requests: requests are in flight but nothing "
            "can move\n  hint: switches with hold_ingress on a cyclic fabric (ring) can wait on "
            "each other's buffers; use deeper queue_depth, fewer outstanding requests, or "
            "hold_ingress: false",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    from .record.cli import replay_command

    return replay_command(args)


def _validate(args: argparse.Namespace) -> int:
    failed = False
    for path in args.topologies:
        try:
            graph = _load(path)
        except TopologyError as exc:
            _report(exc)
            failed = True
            continue
        print(summary(path, graph))
    return EXIT_BAD_INPUT if failed else EXIT_OK


def summary(path: str, graph: nx.Graph) -> str:
    """A few lines that say what a validated topology contains."""
    from .fabric.routing import route_path

    kinds = Counter(kind for _, kind in graph.nodes(data="kind"))
    parts = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
    longest = 0
    for name, data in graph.nodes(data=True):
        if data["kind"] == "host":
            for window in data["params"].hdm:
                for target in window.targets:
                    path_nodes = route_path(graph, name, target) or []
                    longest = max(longest, len(path_nodes) - 1)
    run = graph.graph["run"]
    stop = [f"seed {run.seed}"]
    if run.requests is not None:
        stop.append(f"stop after {run.requests} requests")
    if run.stop_time is not None:
        from .kernel.units import format_time

        stop.append(f"stop at {format_time(run.stop_time)}")
    return (
        f"{path}: ok\n"
        f"  components: {parts}\n"
        f"  links: {graph.number_of_edges()}; longest host-to-memory route: {longest} links\n"
        f"  run: {', '.join(stop)}"
    )


def _draw(args: argparse.Namespace) -> int:
    output: Path = args.output
    if output.suffix.lower() != ".png":
        return _bad_output(f"cannot draw to {output}", "the picture is a PNG: -o fabric.png")
    if not output.parent.is_dir():
        return _bad_output(f"directory {output.parent} does not exist", "create it first")
    graph = _load(args.topology)
    from .fabric import draw_fabric

    draw_fabric(graph, output)
    print(f"{args.topology}: drew {graph.number_of_nodes()} components to {output}")
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from .config import topology_schema

    text = json.dumps(topology_schema(), indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        if not args.output.parent.is_dir():
            return _bad_output(f"directory {args.output.parent} does not exist", "create it")
        args.output.write_text(text)
    return EXIT_OK


def _kinds(args: argparse.Namespace) -> int:
    from .contract import kinds

    for kind, spec in kinds().items():
        state = "" if spec.modelled else " (not simulated yet)"
        print(f"{kind}{state}: {spec.doc}")
        for group in spec.ports:
            print(f"  port {group.describe()}")
        params = ", ".join(f.name for f in dataclasses.fields(spec.params))
        where = f"stats under '{spec.section}'" if spec.modelled else "listed in run.unmodelled"
        print(f"  params: {params}; {where}")
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    try:
        from .sim import calibrate
    except ImportError as exc:
        if exc.name != f"{__package__}.sim":
            raise
        print(
            f"slugsim: calibration needs the simulation models (slugsim.sim.calibrate: {exc})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return calibrate()


# -- sweeps -----------------------------------------------------------------------------------


_SCHEDULER_HINT = "start one ('dask scheduler', then 'dask worker tcp://HOST:PORT') or drop it"


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"workers is 0 (this process) to 1024, got {value}")
    return value


def _add_sweep_commands(commands: argparse._SubParsersAction) -> None:
    sweep = commands.add_parser("sweep", help="run a sweep file's points on Dask; table + plot")
    sweep.add_argument("sweep", metavar="SWEEP", help="sweep YAML file (docs/sweeps.md)")
    curve = commands.add_parser("curve", help="MLC-style loaded latency: latency vs bandwidth")
    curve.add_argument("topology", metavar="TOPO", help="topology YAML file")
    curve.add_argument("--host", metavar="NAME", help="the host whose latency is measured")
    curve.add_argument(
        "--delays", default="0,100,200,1000,20000", metavar="LIST",
        help="injection delays (think_time), comma-separated; bare numbers are ns",
    )  # fmt: skip
    curve.add_argument("--requests", type=int, metavar="N", help="override run.requests")
    for command, default in ((sweep, "sweep_out"), (curve, "curve_out")):
        command.add_argument(
            "--out", type=Path, default=Path(default), metavar="DIR",
            help=f"results, plot and cache/ (default: {default})",
        )  # fmt: skip
        command.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="an existing cluster")
        command.add_argument(
            "--workers", type=_workers, default=2, metavar="N",
            help="LocalCluster workers (default 2); 0 runs the points here, one by one",
        )  # fmt: skip
        command.add_argument("--no-progress", action="store_true", help="no progress bar")


def _sweep(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and not out.is_dir():
        return _bad_output(f"--out {out} is a file", "name a directory (it is created)")
    from .sim.sweep import load_sweep
    from .sim.sweep_run import ClusterUnavailable, execute
    from .sim.sweep_table import plot, print_table, rows, write_tables

    sweep = load_sweep(args.sweep)
    try:
        outcome = execute(
            sweep, out, workers=args.workers, scheduler=args.scheduler,
            progress=not args.no_progress,
        )  # fmt: skip
    except ClusterUnavailable as exc:
        return _bad_output(str(exc), _SCHEDULER_HINT)
    table = rows(outcome)
    csv_path, parquet_path = write_tables(table, out)
    plot(table, sweep.swept, out / "sweep.png")
    from rich.console import Console

    print_table(table, sweep.swept, Console())
    ran = sum(1 for r in outcome.results if not r.cached and r.error is None)
    cached = sum(1 for r in outcome.results if r.cached)
    print(
        f"{len(table)} points ({ran} run, {cached} cached, {len(outcome.failed)} failed) in "
        f"{outcome.wall_s:.1f} s: {csv_path}, {parquet_path}, {out / 'sweep.png'}"
    )
    for r in outcome.failed:
        print(f"{args.sweep}: {r.point.label()} failed: {r.error}", file=sys.stderr)
    return EXIT_FAILED if outcome.failed else EXIT_OK


def _curve(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and not out.is_dir():
        return _bad_output(f"--out {out} is a file", "name a directory (it is created)")
    if args.requests is not None and args.requests < 1:
        return _bad_output(f"--requests {args.requests}", "a positive number of requests")
    from .sim.curve import format_table, loaded_latency, parse_delays, plot_curve

    try:
        delays = parse_delays(args.delays)
    except ValueError as exc:
        return _bad_output(f"--delays {args.delays!r}: {exc}", "e.g. --delays 0,100,1000,20us")
    from .sim.sweep_run import ClusterUnavailable

    try:
        curve = loaded_latency(
            args.topology, delays, out, host=args.host, requests=args.requests,
            workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress,
        )  # fmt: skip
    except ClusterUnavailable as exc:
        return _bad_output(str(exc), _SCHEDULER_HINT)
    print(format_table(curve), end="")
    plot_curve(curve, out / "curve.png")
    for failure in curve.failed:
        print(f"{args.topology}: {failure}", file=sys.stderr)
    return EXIT_FAILED if curve.failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
