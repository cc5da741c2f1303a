"""Per-hop latency breakdown: where a CXL.mem request's time goes, stage by stage.

``HopBreakdown`` is a probe on every port of a system (``attach``). It follows each transaction
by its requester and tag (a request carries the host's PID as SPID, its response the same PID as
DPID, and a tag is in flight once per host), and cuts the time from the request's send to its
response's arrival at every port crossing:

- ``<host>``: from the core's send to the request's first flit on the host's link: the host's
  miss path (its port's pipeline: LLC and home agent) and any wait for the wire or a credit;
- ``<a>-><b>``: a link, from the first flit leaving ``a`` to the message arriving at ``b``: its
  serialisation and its flight (the link's latency);
- ``<switch> (req)`` / ``(rsp)``: from arrival to the first flit leaving: the port-to-port
  pipeline plus the wait for the egress wire or credits;
- ``<device>``: from the request's arrival to the response's first flit, in three stages
  where the device reports its DRAM's times (a Type-3's ``stage_probe``):
  ``<device> controller`` (its request queue, the controller's way in and its way out to the
  first flit), ``<device> DRAM queue`` (reaching the DRAM to its first command; a write: to
  its acceptance) and ``<device> DRAM service`` (first command to data; a posted write: 0).

Consecutive stages share their end points, so a transaction's stages add up exactly to its
latency (``tests/test_breakdown.py``). Stages are kept per route (``host0>sw0>mem0``), as a
count, a total, a maximum and a histogram per stage (for p99), so memory does not grow with the
run: each histogram is an HdrHistogram at 2 significant digits (``STAGE_DIGITS``: about 35 KiB
of counts, an eighth of the 3-digit latency histograms, as a large fabric has thousands of
route x stage pairs; a percentile is at most 2**-7 above the exact one). Probes never change
timing, so a run with a breakdown gives the same stats.json as one without.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..kernel import Crossing
from .histogram import LatencyHistogram

STAGE_DIGITS = 2  # significant digits of a stage's histogram (see the module docstring)


def _stage_histogram() -> LatencyHistogram:
    return LatencyHistogram(digits=STAGE_DIGITS)


@dataclass
class StageTotals:
    count: int = 0
    total_ps: int = 0
    max_ps: int = 0
    # Parts of the stage that are fixed by the hardware (a link's flight, a switch's pipeline):
    # summed so that the mean splits into fixed time and waiting / serialisation.
    fixed_ps: int = 0
    histogram: LatencyHistogram = field(default_factory=_stage_histogram)

    def add(self, duration: int, fixed: int) -> None:
        self.histogram.record(duration)
        self.count += 1
        self.total_ps += duration
        self.fixed_ps += fixed
        if duration > self.max_ps:
            self.max_ps = duration


@dataclass
class RouteTotals:
    transactions: int = 0
    total_ps: int = 0
    stages: dict[str, StageTotals] = field(default_factory=dict)
    histogram: LatencyHistogram = field(default_factory=_stage_histogram)


@dataclass
class _InFlight:
    """One transaction on its way: the nodes it crossed, its stages so far and when the last one
    ended; ``there`` is its route to the node that answered, once known."""

    started: int
    last: int
    nodes: list[str]
    stages: list[tuple[str, int, int]]  # (stage, duration, fixed part)
    there: str = ""
    # The answering device's DRAM times (reached the DRAM, first command, ready), if reported.
    dram: tuple[int, int, int] | None = None


class HopBreakdown:
    def __init__(self, keep_transactions: bool = False) -> None:
        """``keep_transactions``: also keep every finished transaction's (latency, stages), for
        tests; off in runs, where memory must not grow with the number of requests."""
        self.kept: list[tuple[int, list[tuple[str, int, int]]]] | None = (
            [] if keep_transactions else None
        )
        self.routes: dict[str, RouteTotals] = {}
        self._open: dict[tuple[int, int], _InFlight] = {}
        self._forwarding: set[str] = set()
        self.unmatched = 0  # crossings of messages this breakdown does not follow
        # The transaction closed last: (tag, completion time, stages), for the request log.
        self.last: tuple[int, int, list[tuple[str, int, int]]] | None = None

    def attach(self, system: Any) -> None:
        """A probe on every port of every component of ``system``."""
        from ..contract import kinds

        specs = kinds()
        self._forwarding = {
            name for name, kind in system.graph.nodes(data="kind") if specs[kind].forwards
        }
        for component in system.components.values():
            for port in component.ports.values():
                port.add_probe(self)
            if hasattr(component, "stage_probe"):
                component.stage_probe = self.dram_times

    def dram_times(self, response: Any, arrive: int, start: int, ready: int) -> None:
        """A device's DRAM has timed the request ``response`` answers: it reached the DRAM at
        ``arrive``, its first command went at ``start``, its response is ready at ``ready``."""
        flight = self._open.get((response.dpid, response.tag))
        if flight is not None:
            flight.dram = (arrive, start, ready)

    def __call__(self, port: Any, msg: Any, direction: Crossing, time: int) -> None:
        request = hasattr(msg, "spid")
        requester = msg.spid if request else getattr(msg, "dpid", None)
        tag = getattr(msg, "tag", None)
        if requester is None or tag is None:
            self.unmatched += 1
            return
        key = (requester, tag)
        flight = self._open.get(key)
        node = port.owner.name
        if direction is Crossing.IN:
            if flight is None:
                self.unmatched += 1
                return
            flight.stages.append(
                (f"{flight.nodes[-1]}->{node}", time - flight.last, port.rx.latency)
            )
            flight.last = time
            flight.nodes.append(node)
            if node == flight.nodes[0]:  # back at the requester: done
                del self._open[key]
                self._close(flight)
                self.last = (tag, time, flight.stages)
            return
        if flight is None:
            if not request:
                self.unmatched += 1
                return
            # A new request: the probe runs inside the send, so it was sent now; its first flit
            # leaves at ``time``.
            sent = port.owner.sim.now
            self._open[key] = _InFlight(sent, time, [node], [(node, time - sent, port.pipeline)])
            return
        if node in self._forwarding:
            name = f"{node} ({'req' if request else 'rsp'})"
        else:
            flight.there = ">".join(flight.nodes)  # the node that answered
            dram = flight.dram
            if dram is not None:
                # Split at the DRAM's times; the controller keeps the rest: its way in (its
                # request queue, then its latency to the DRAM) and its way out.
                arrive, start, ready = dram
                controller = arrive - flight.last + time - ready
                fixed = 2 * port.pipeline  # the controller's latency each way
                flight.stages.append((f"{node} controller", controller, fixed))
                flight.stages.append((f"{node} DRAM queue", start - arrive, 0))
                flight.stages.append((f"{node} DRAM service", ready - start, 0))
                flight.last = time
                return
            name = node
        flight.stages.append((name, time - flight.last, port.pipeline))
        flight.last = time

    def _close(self, flight: _InFlight) -> None:
        route = flight.there or ">".join(flight.nodes)
        totals = self.routes.get(route)
        if totals is None:
            totals = self.routes[route] = RouteTotals()
        totals.transactions += 1
        totals.total_ps += flight.last - flight.started
        totals.histogram.record(flight.last - flight.started)
        if self.kept is not None:
            self.kept.append((flight.last - flight.started, flight.stages))
        for name, duration, fixed in flight.stages:
            stage = totals.stages.get(name)
            if stage is None:
                stage = totals.stages[name] = StageTotals()
            stage.add(duration, fixed)

    def summary(self) -> dict[str, Any]:
        """stats.json's ``breakdown``: per route, the mean and p99 latency and each stage's
        mean, the fixed part of that mean (a link's flight, a sender's pipeline), its p99 and
        its maximum, in ns."""
        out: dict[str, Any] = {}
        for route, totals in sorted(self.routes.items()):
            n = totals.transactions
            out[route] = {
                "transactions": n,
                "mean_ns": _ns(totals.total_ps / n),
                "p99_ns": _ns(totals.histogram.percentiles()["p99"]),
                "stages": {
                    name: {
                        "mean_ns": _ns(stage.total_ps / stage.count),
                        "fixed_ns": _ns(stage.fixed_ps / stage.count),
                        "p99_ns": _ns(stage.histogram.percentiles()["p99"]),
                        "max_ns": _ns(stage.max_ps),
                    }
                    for name, stage in totals.stages.items()
                },
            }
        return out


def _ns(ps: float) -> float:
    return round(ps / 1000, 3)


MAX_PLOTTED_ROUTES = 12  # the busiest routes; a large fabric has thousands


def plot_breakdown(summary: dict[str, Any], path: Any) -> None:
    """A stacked bar per route (the busiest ones): the mean time in each stage, nodes in one
    colour family and links in another, so where the time goes reads at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    routes = sorted(summary, key=lambda r: (-summary[r]["transactions"], r))[:MAX_PLOTTED_ROUTES]
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.6 * max(len(routes), 1)))
    for row, route in enumerate(routes):
        left = 0.0
        for name, stage in summary[route]["stages"].items():
            link = "->" in name
            colour = "tab:blue" if link else "tab:orange"
            width = stage["mean_ns"]
            ax.barh(row, width, left=left, color=colour, edgecolor="white", alpha=0.85)
            if width > 0.06 * summary[route]["mean_ns"]:
                ax.text(left + width / 2, row, name, ha="center", va="center", fontsize=6)
            left += width
    ax.set_yticks(range(len(routes)), routes, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("mean latency (ns): nodes (orange) and links (blue), in the order crossed")
    ax.set_title("per-hop breakdown")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
