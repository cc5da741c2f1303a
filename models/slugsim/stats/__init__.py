"""Run statistics: collection, the stats.json schema, and the text/plot/table renderings.

``stats.json`` is documented by ``slugsim.stats.schema.SCHEMA`` (a JSON-Schema subset with a
description per field; ``describe()`` lists them and ``docs/stats.md`` prints that list).
"""

from .collect import RunInfo, collect, latency_samples
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
from .schema import SCHEMA, SCHEMA_ID, describe, validate

__all__ = [
    "SCHEMA",
    "SCHEMA_ID",
    "RunInfo",
    "collect",
    "describe",
    "latency_samples",
    "nearest_rank",
    "plot_latency",
    "print_summary",
    "summarise",
    "summary_tables",
    "to_json",
    "to_text",
    "validate",
    "write_json",
    "write_text",
]
