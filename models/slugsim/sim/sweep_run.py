"""Run a sweep's points: in this process, on a Dask ``LocalCluster`` or on an existing cluster.

Each point is a separate seeded run (the topology loader on the point's document, then
``elaborate`` and ``run_system``), so a point's stats are exactly those of ``slugsim run`` on
that document. Results are cached per point in ``OUT/cache/<key>.json``, ``key`` the content
hash of (resolved document, seed, slugsim version); the client writes each one atomically as
soon as it arrives, so an interrupted sweep loses no finished point and a rerun skips them.
A point that raises is reported with its parameters while the others go on.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .sweep import Point, Sweep

CACHE_SCHEMA = "slugsim.sweep-point/1"
CONNECT_TIMEOUT_S = 10


class ClusterUnavailable(RuntimeError):
    """``--scheduler`` names no reachable Dask scheduler."""


PointRunner = Callable[[Any, str], dict[str, Any]]


def run_point(document: Any, source: str) -> dict[str, Any]:
    """Simulate one point's topology document; the stats dict and each component's read
    latency (all its paths; ``curve`` reads the measuring host's). Runs on a worker."""
    from ..config import Document
    from ..config.document import build_graph
    from ..stats import summarise
    from ..stats.histogram import LatencyHistogram
    from .elaborate import elaborate
    from .runner import run_system

    started = time.perf_counter()
    graph = build_graph(Document(document, source, {}))
    system = elaborate(graph)
    stats, _ = run_system(system)
    reads: dict[str, Any] = {}
    for name, component in sorted(system.components.items()):
        found = sorted(component.latency_histograms().items())
        histograms = [h for (cls, _), h in found if cls == "read"]
        if histograms:
            reads[name] = summarise(LatencyHistogram.merged(histograms))
    return {"stats": stats, "read_latency": reads, "wall_s": time.perf_counter() - started}


@dataclass
class PointResult:
    point: Point
    result: dict[str, Any] | None  # run_point's dict; None when the point failed
    error: str | None = None
    cached: bool = False


@dataclass
class SweepOutcome:
    sweep: Sweep
    results: list[PointResult]
    wall_s: float

    @property
    def failed(self) -> list[PointResult]:
        return [r for r in self.results if r.error is not None]


def cache_path(out: Path, point: Point) -> Path:
    return out / "cache" / f"{point.key}.json"


def read_cached(out: Path, point: Point) -> dict[str, Any] | None:
    try:
        entry = json.loads(cache_path(out, point).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != point.key:
        return None
    if entry.get("schema") != CACHE_SCHEMA or not isinstance(entry.get("result"), dict):
        return None
    return entry["result"]  # type: ignore[no-any-return]


def write_cached(out: Path, point: Point, result: dict[str, Any]) -> None:
    """Write ``OUT/cache/<key>.json`` atomically (a temporary file renamed into place)."""
    path = cache_path(out, point)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"schema": CACHE_SCHEMA, "key": point.key, "params": point.params, "result": result}
    text = json.dumps(entry, sort_keys=True, default=str)
    handle, tmp = tempfile.mkstemp(prefix=f".{point.key[:16]}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def execute(
    sweep: Sweep,
    out: Path,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    processes: bool = True,
    progress: bool = True,
    console: Console | None = None,
    runner: PointRunner | None = None,
) -> SweepOutcome:
    """Run every point not already in ``out/cache``. ``workers=0`` runs them one after another
    in this process (no Dask); otherwise on ``scheduler`` (``tcp://host:port``) or on a new
    ``LocalCluster`` of ``workers`` single-threaded workers (``processes=False``: threads).
    ``runner`` (default ``run_point``) runs one point's document."""
    started = time.perf_counter()
    runner = runner or run_point
    console = console or Console(stderr=True)
    results: dict[int, PointResult] = {}
    todo: dict[str, list[Point]] = {}  # key -> points (equal documents run once)
    for point in sweep.points:
        cached = read_cached(out, point)
        if cached is not None:
            results[point.index] = PointResult(point, cached, cached=True)
        else:
            todo.setdefault(point.key, []).append(point)
    bar = Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("points"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not progress,
    )
    with bar:
        task = bar.add_task("points", total=len(sweep.points), completed=len(results))
        finished = _serial(todo, sweep, runner) if workers == 0 else None
        if finished is None:
            finished = _dask(todo, sweep, runner, workers, scheduler, processes)
        try:
            for key, result, error in finished:
                for point in todo[key]:
                    if error is None:
                        assert result is not None
                        if point is todo[key][0]:
                            write_cached(out, point, result)
                        results[point.index] = PointResult(point, result)
                    else:
                        results[point.index] = PointResult(point, None, error)
                        bar.console.print(f"{sweep.source}: {point.label()} failed: {error}")
                    bar.advance(task)
        finally:
            finished.close()  # an interrupted sweep shuts its cluster down here
    ordered = [results[p.index] for p in sweep.points]
    return SweepOutcome(sweep, ordered, time.perf_counter() - started)


Finished = Generator[tuple[str, dict[str, Any] | None, str | None], None, None]


def _serial(todo: dict[str, list[Point]], sweep: Sweep, runner: PointRunner) -> Finished:
    for key, points in todo.items():
        try:
            yield key, runner(points[0].document, sweep.topology), None
        except Exception as exc:  # a failing point is reported; the others go on
            yield key, None, _describe(exc)


def _dask(
    todo: dict[str, list[Point]],
    sweep: Sweep,
    runner: PointRunner,
    workers: int,
    scheduler: str | None,
    processes: bool,
) -> Finished:
    from distributed import Client, LocalCluster, as_completed

    if not todo:
        return
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",  # any free port: two sweeps at once must not collide
            silence_logs=logging.ERROR,
        )
    try:
        client = Client(cluster if cluster is not None else scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError) as exc:  # no scheduler there, or not an address
        if cluster is not None:
            cluster.close()
        raise ClusterUnavailable(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    try:
        futures = {
            client.submit(
                runner, points[0].document, sweep.topology, key=f"slugsim-point-{key}", pure=False
            ): key
            for key, points in todo.items()
        }
        for future in as_completed(futures):
            key = futures[future]
            if future.status == "error":
                yield key, None, _describe(future.exception())
            else:
                yield key, future.result(), None
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _describe(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}"
