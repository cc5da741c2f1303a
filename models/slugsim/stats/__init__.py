"""Run statistics: collection, the stats.json schema, and the text/plot/table renderings.

``stats.json`` is documented by ``slugsim.stats.schema.stats_schema()`` (a JSON-Schema subset with a
description per field; ``describe()`` lists them and ``docs/stats.md`` prints that list).
"""

from .collect import RunInfo, collect, latency_histograms
from .histogram import RELATIVE_ERROR, LatencyHistogram
from .latency import nearest_rank, summarise
from .report import (
    plot_latency,
    print_summary,
    summary_tables,
    to_json,
    to_text,
    write_json,
    write_text,
)
from .schema import SCHEMA_ID, describe, stats_schema, validate

__all__ = [
    "RELATIVE_ERROR",
    "SCHEMA_ID",
    "LatencyHistogram",
    "RunInfo",
    "collect",
    "describe",
    "latency_histograms",
    "nearest_rank",
    "plot_latency",
    "print_summary",
    "stats_schema",
    "summarise",
    "summary_tables",
    "to_json",
    "to_text",
    "validate",
    "write_json",
    "write_text",
]
