"""Run an elaborated system to the end, with an optional progress bar, and write its outputs.

The simulation advances in fixed slices of simulated time so a progress bar can be refreshed
between slices; the slicing never changes the result (no callback runs between slices), and it is
the same with and without the bar, so ``stats.json`` does not depend on ``progress``.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ..kernel import US
from ..stats import RunInfo, collect, latency_histograms, plot_latency, write_json, write_text
from ..stats.breakdown import plot_breakdown
from .elaborate import System

SLICE = 20 * US  # simulated time between progress refreshes
SHOW_AFTER_S = 0.5  # only runs longer than this get a bar (short runs stay quiet)


@dataclass(frozen=True)
class Outcome:
    info: RunInfo
    wall_s: float


def simulate(system: System, progress: bool = False, console: Console | None = None) -> Outcome:
    sim = system.sim
    budget = system.budget
    stop_time = system.run.stop_time
    total = _expected_requests(system)
    started = time.perf_counter()
    events = 0
    bar: Progress | None = None
    task = None
    stop = "quiescent"
    # The system lives for the whole run: keep the cyclic collector from walking it over and
    # over (gc.freeze; the measurement is in docs/performance.md).
    gc.freeze()
    try:
        while True:
            until = sim.now + SLICE
            if stop_time is not None and until >= stop_time:
                until = stop_time
            events += sim.run(until=until)
            if budget.left == 0:
                stop = "requests"
                break
            if stop_time is not None and sim.now >= stop_time:
                stop = "stop_time"
                break
            if sim.peek() is None:
                break
            if progress and bar is None and time.perf_counter() - started > SHOW_AFTER_S:
                bar = Progress(
                    TextColumn("simulating"),
                    BarColumn(),
                    TextColumn("{task.completed:,}/{task.total:,} requests"),
                    TimeElapsedColumn(),
                    console=console or Console(stderr=True),
                    transient=True,
                )
                bar.start()
                task = bar.add_task("run", total=total)
            if bar is not None and task is not None:
                bar.update(task, completed=budget.completed)
    finally:
        gc.unfreeze()
        if bar is not None:
            bar.stop()
    if stop == "quiescent" and any(c.in_flight() for c in system.components.values()):
        # Nothing left to happen, yet requests are in flight: buffers wait on each other.
        stop = "deadlock"
    sim_time = budget.last_completion if stop == "quiescent" else sim.now
    info = RunInfo(seed=sim.seed, sim_time=sim_time, stop=stop, events=events)
    return Outcome(info, time.perf_counter() - started)


def _expected_requests(system: System) -> int:
    issued = sum(c.expected_requests() for c in system.components.values())
    limit = system.run.requests
    return issued if limit is None else min(issued, limit)


# -- outputs ----------------------------------------------------------------------------------


def write_outputs(
    out_dir: Path, stats: dict[str, Any], system: System, graph: nx.Graph
) -> list[str]:
    """Write every output into a temporary sibling directory, then swap it into place.

    Returns notes (e.g. a drawing that was skipped). On any failure the temporary directory is
    removed and an existing ``out_dir`` is left as it was.
    """
    notes: list[str] = []
    out_dir = Path(out_dir)
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    try:
        # mkdtemp makes the directory private (0700); give it the mode mkdir would have.
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        write_json(stats, tmp / "stats.json")
        write_text(stats, tmp / "stats.txt")
        plot_latency(latency_histograms(system), tmp / "latency.png")
        if "breakdown" in stats:
            plot_breakdown(stats["breakdown"], tmp / "breakdown.png")
        draw = _draw_fabric()
        if draw is None:
            notes.append("topology.png skipped: slugsim.fabric.draw_fabric is not available yet")
        else:
            draw(graph, tmp / "topology.png")
        _swap_in(tmp, out_dir.resolve())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return notes


def _draw_fabric() -> Callable[[nx.Graph, Path], object] | None:
    try:
        from ..fabric import draw_fabric  # type: ignore[attr-defined]
    except ImportError:
        return None
    return draw_fabric  # type: ignore[no-any-return]


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``tmp`` with renames only (atomic on one file system)."""
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
    os.rename(out_dir, old / "previous")
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        os.rename(old / "previous", out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def run_system(
    system: System, progress: bool = False, console: Console | None = None
) -> tuple[dict[str, Any], Outcome]:
    system.start()
    outcome = simulate(system, progress, console)
    return collect(system, outcome.info), outcome
