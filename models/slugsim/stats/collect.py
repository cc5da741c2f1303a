"""Gather the counters of an elaborated, simulated system into the ``stats.json`` dict.

Everything here is deterministic for a given seed and topology (no wall-clock time), and floats
are rounded (ns to the picosecond, fractions to 6 digits) so the JSON is byte-identical run to run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..contract import kinds
from .histogram import LatencyHistogram
from .latency import ns, summarise
from .schema import SCHEMA_ID

_LINE = 64


@dataclass(frozen=True)
class RunInfo:
    seed: int
    sim_time: int  # ps the statistics cover
    stop: str  # "quiescent" | "requests" | "stop_time" | "deadlock"
    events: int


def _frac(value: float) -> float:
    return round(value, 6)


def _gbps(lines: int, elapsed_ps: int) -> float:
    # bytes per ps * 1000 = GB/s (10^9 B/s)
    return round(lines * _LINE * 1000 / elapsed_ps, 3) if elapsed_ps > 0 else 0.0


def latency_histograms(system: Any) -> dict[str, dict[str, LatencyHistogram]]:
    """class -> path -> latency histogram merged over components (in name order)."""
    merged: dict[str, dict[str, LatencyHistogram]] = {}
    for name in sorted(system.components):
        for (cls, path), histogram in system.components[name].latency_histograms().items():
            if histogram:
                paths = merged.setdefault(cls, {})
                paths.setdefault(path, LatencyHistogram()).add(histogram)
    return merged


def collect(system: Any, info: RunInfo) -> dict[str, Any]:
    """stats.json: run facts, latency and bandwidth summed over components, then one section
    per kind (its ``section`` in the registry), each component's own ``stats``."""
    elapsed = info.sim_time
    latency: dict[str, Any] = {}
    for cls, paths in sorted(latency_histograms(system).items()):
        latency[cls] = {
            "all": summarise(LatencyHistogram.merged(paths.values())),
            "paths": {path: summarise(h) for path, h in sorted(paths.items())},
        }
    traffic: Counter[str] = Counter()
    completed = 0
    for component in system.components.values():
        traffic.update(component.traffic())
        completed += sum(h.count for h in component.latency_histograms().values())

    specs = kinds()
    sections: dict[str, dict[str, Any]] = {s.section: {} for s in specs.values() if s.modelled}
    for name, component in sorted(system.components.items()):
        spec = specs[system.graph.nodes[name]["kind"]]
        if spec.modelled:
            sections[spec.section][name] = component.stats(elapsed)

    links: dict[str, Any] = {}
    for name, link in sorted(system.links.items()):
        links[name] = {
            "ab": _channel(link.ab, elapsed),
            "ba": _channel(link.ba, elapsed),
        }

    breakdown = system.breakdown.summary() if system.breakdown is not None else None
    migration = None
    if getattr(system, "migrations", None):
        from ..sim.migration import summary

        migration = summary(system.migrations)
    return {
        **({"breakdown": breakdown} if breakdown is not None else {}),
        **({"migration": migration} if migration is not None else {}),
        "schema": SCHEMA_ID,
        "run": {
            "seed": info.seed,
            "sim_time_ns": ns(elapsed),
            "stop": info.stop,
            "requests": completed,
            "events": info.events,
            "unmodelled": system.unmodelled,
        },
        "latency": latency,
        "bandwidth": {
            "cxl_read_gbps": _gbps(traffic["cxl_read"], elapsed),
            "cxl_write_gbps": _gbps(traffic["cxl_write"], elapsed),
            "local_read_gbps": _gbps(traffic["local_read"], elapsed),
        },
        **sections,
        "links": links,
    }


def _channel(channel: Any, elapsed: int) -> dict[str, Any]:
    return {
        "from": channel.src.owner.name,
        "to": channel.dst.owner.name,
        "messages": channel.messages,
        "bytes": channel.flits * channel.flit_bytes,
        "utilisation": _frac(channel.busy_ps / elapsed) if elapsed else 0.0,
    }
