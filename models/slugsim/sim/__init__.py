"""Whole-system runs: elaborate a fabric graph, simulate it, report, and calibrate the models.

``run_topology`` and ``calibrate`` are what ``slugsim run`` and ``slugsim calibrate`` call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
from rich.console import Console

from ..stats import print_summary
from .calibration import calibrate
from .elaborate import ElaborationError, System, elaborate
from .runner import Outcome, run_system, simulate, write_outputs


def run_topology(
    graph: nx.Graph,
    out_dir: Path | None,
    seed: int | None,
    progress: bool,
    console: Console | None = None,
    log_requests: Path | None = None,
) -> dict[str, Any]:
    """Simulate ``graph`` and return the stats dict (the content of stats.json).

    ``seed`` overrides ``graph.graph["run"].seed``. With ``out_dir`` the outputs (stats.json,
    stats.txt, latency.png, topology.png) are written atomically. A rich summary table goes to
    ``console`` (stdout by default); ``progress`` shows a bar on runs longer than half a second.
    With ``log_requests`` every completed request is a row of that Parquet file
    (``slugsim.stats.request_log``), written atomically: a failed run leaves no file.
    """
    console = console or Console()
    system = elaborate(graph, seed)
    log = None
    if log_requests is not None:
        from ..stats.request_log import RequestLog

        log = RequestLog(Path(log_requests), system.breakdown)
        for component in system.components.values():
            component.log_requests(log)
    try:
        stats, _ = run_system(system, progress, Console(stderr=True) if progress else None)
        if log is not None:
            log.close()
    except BaseException:
        if log is not None:
            log.abort()
        raise
    notes: list[str] = []
    if out_dir is not None:
        notes = write_outputs(Path(out_dir), stats, system, graph)
    print_summary(stats, console)
    for note in notes:
        console.print(f"note: {note}")
    if out_dir is not None:
        console.print(f"outputs written to {out_dir}/")
    return stats


__all__ = [
    "ElaborationError",
    "Outcome",
    "System",
    "calibrate",
    "elaborate",
    "run_system",
    "run_topology",
    "simulate",
    "write_outputs",
]
