"""The schema of ``stats.json`` (JSON-Schema subset) and a validator for it.

This is the documentation of the file: each field carries a ``description``. A test validates
every run's output against it, so the description cannot drift from what is written. Times are
nanoseconds (float, picosecond precision), bandwidths GB/s (10^9 B/s), utilisations fractions of
the simulated time. Maps keyed by component name use ``additionalProperties``.
"""

from __future__ import annotations

from typing import Any

from ..contract import kinds

SCHEMA_ID = "slugsim.stats/1"

INT = {"type": "integer"}
NUM = {"type": "number"}
STRING = {"type": "string"}
_INT, _NUM = INT, NUM


def _obj(props: dict[str, Any], description: str = "", extra: Any = False) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": props,
        "required": sorted(props),
        "additionalProperties": extra,
    }


def _map(values: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {},
        "required": [],
        "additionalProperties": values,
    }


def _d(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {**schema, "description": description}


# The names a kind's module uses to describe its stats entry (``component(stats_schema=...)``).
obj, map_of, described = _obj, _map, _d


LATENCY_SUMMARY = {
    "type": "object",
    "description": "latency of completed requests, issue to data at the core (ns); count, "
    "mean and max exact; percentiles by nearest rank from an HdrHistogram (1 ps .. 1 s, 3 "
    "significant digits): at most 2^-10 (< 0.1 %) above the exact value, never below, exact "
    "under 2.048 ns; only 'count' when there were none",
    "properties": {
        "count": _d(_INT, "completed requests"),
        "mean": _d(_NUM, "mean latency (ns)"),
        "p50": _d(_NUM, "median (ns)"),
        "p90": _d(_NUM, "90th percentile (ns)"),
        "p99": _d(_NUM, "99th percentile (ns)"),
        "p999": _d(_NUM, "99.9th percentile (ns)"),
        "max": _d(_NUM, "largest latency seen (ns)"),
    },
    "required": ["count"],
    "additionalProperties": False,
}

CHANNEL = _obj(
    {
        "from": _d({"type": "string"}, "sending node"),
        "to": _d({"type": "string"}, "receiving node"),
        "messages": _d(_INT, "messages carried"),
        "bytes": _d(_INT, "slot bytes serialised (16 B slots, see components/links.py)"),
        "utilisation": _d(_NUM, "fraction of the simulated time the serialiser was busy"),
    },
    "one direction of a link",
)


def stats_schema() -> dict[str, Any]:
    """The schema of stats.json: the run-wide sections, then one per registered kind."""
    sections: dict[str, Any] = {}
    for spec in kinds().values():
        if not spec.modelled:
            continue  # listed under run.unmodelled, no stats of their own
        entry = dict(spec.entry_schema() or {"type": "object", "description": spec.doc})
        description = f"per {spec.kind}: {spec.doc}"
        if spec.section in sections:
            # Kinds share a section: an entry is any one's.
            before = sections[spec.section]
            options = before["additionalProperties"].get("anyOf")
            options = options or [before["additionalProperties"]]
            described = " / ".join(o.get("description", "") for o in [*options, entry])
            entry = {"anyOf": [*options, entry], "description": described}
            description = f"{before['description']}; {description}"
        sections[spec.section] = _map(entry, description)
    schema = _obj(_run_wide() | sections, "slugsim run statistics")
    schema["properties"]["breakdown"] = BREAKDOWN  # only with run.breakdown: not required
    from ..sim.migration import stats_schema as migration_schema

    schema["properties"]["migration"] = migration_schema()  # only with migrate: entries
    return schema


_STAGE = _obj(
    {
        "mean_ns": _d(_NUM, "mean time in this stage"),
        "fixed_ns": _d(
            _NUM,
            "the part of the mean fixed by the hardware: a link's flight, the "
            "pipeline of the port the stage ends on",
        ),
        "p99_ns": _d(
            _NUM,
            "99th percentile of the time in this stage, nearest rank from an HdrHistogram at 2 "
            "significant digits (at most 2^-7 above the exact value)",
        ),
        "max_ns": _d(_NUM, "longest time in this stage"),
    },
    "one stage: a node (from arrival to the first flit leaving) or a link a->b (first flit "
    "leaving a to arrival at b); a Type-3 device as '<dev> controller' (its request queue, "
    "its latency in and out), '<dev> DRAM queue' (reaching the DRAM to its first command; a "
    "write: to its acceptance) and '<dev> DRAM service' (first command to data ready)",
)
BREAKDOWN = _map(
    _obj(
        {
            "transactions": _d(_INT, "transactions that completed on this route"),
            "mean_ns": _d(_NUM, "mean latency, send to response at the requester"),
            "p99_ns": _d(_NUM, "99th percentile latency (as a stage's p99_ns)"),
            "stages": _map(_STAGE, "by stage, in the order crossed; their means add up to mean_ns"),
        },
        "one route",
    ),
    "per-hop breakdown (run.breakdown): by route of the request, 'host0>sw0>mem0'",
)


def _run_wide() -> dict[str, Any]:
    return {
        "schema": _d({"type": "string"}, f"format identifier, '{SCHEMA_ID}'"),
        "run": _obj(
            {
                "seed": _d(_INT, "run seed"),
                "sim_time_ns": _d(_NUM, "simulated time the statistics cover"),
                "stop": _d(
                    {"type": "string", "enum": ["quiescent", "requests", "stop_time", "deadlock"]},
                    "why the run ended: all workloads done, the request budget, stop_time, or "
                    "nothing left to happen with requests still in flight (deadlock)",
                ),
                "requests": _d(_INT, "completed requests: host cores and coherent devices"),
                "events": _d(_INT, "kernel callbacks executed"),
                "unmodelled": _d(
                    {"type": "array", "items": {"type": "string"}},
                    "graph nodes present but not simulated (nic)",
                ),
            },
            "run-wide facts",
        ),
        "latency": _map(
            _obj(
                {
                    "all": LATENCY_SUMMARY,
                    "paths": _map(LATENCY_SUMMARY, "by path: 'llc', 'local', 'cxl:<device>'"),
                },
                "one request class",
            ),
            "latency by request class ('read', 'write'; a store is its read-for-ownership)",
        ),
        "bandwidth": _obj(
            {
                "cxl_read_gbps": _d(_NUM, "completed CXL line reads (loads and RFOs), GB/s"),
                "cxl_write_gbps": _d(_NUM, "MemWr writebacks sent to CXL devices, GB/s"),
                "local_read_gbps": _d(_NUM, "completed local DRAM line reads, GB/s"),
            },
            "delivered bandwidth over the simulated time; cxl_read_gbps + cxl_write_gbps is "
            "the memory traffic Intel MLC reports for a read:write mix",
        ),
        "links": _map(
            _obj({"ab": CHANNEL, "ba": CHANNEL}, "one link, both directions"),
            "per link, named 'a<->b'",
        ),
    }


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
}


def validate(value: Any, schema: dict[str, Any] | None = None, where: str = "stats") -> None:
    """Raise ``ValueError`` naming the first place where ``value`` breaks ``schema`` (default:
    ``stats_schema()``)."""
    if schema is None:
        schema = stats_schema()
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                validate(value, option, where)
                return
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(" / ".join(errors))
    kind = schema.get("type")
    if kind is not None and (isinstance(value, bool) or not isinstance(value, _TYPES[kind])):
        raise ValueError(f"{where}: expected {kind}, got {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise ValueError(f"{where}: {value!r} is not one of {schema['enum']}")
    if kind == "array":
        for i, item in enumerate(value):
            validate(item, schema.get("items", {}), f"{where}[{i}]")
    if kind != "object":
        return
    props = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            raise ValueError(f"{where}: missing {name!r}")
    extra = schema.get("additionalProperties", False)
    for name, item in value.items():
        if name in props:
            validate(item, props[name], f"{where}.{name}")
        elif extra is False:
            raise ValueError(f"{where}: unexpected key {name!r}")
        else:
            validate(item, extra, f"{where}.{name}")


def describe(schema: dict[str, Any] | None = None, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted path, description) for every field, '*' standing for a map key."""
    if schema is None:
        schema = stats_schema()
    rows = [(prefix or "(root)", schema.get("description", ""))]
    if "anyOf" in schema:  # the fields of every option, each path once
        merged: dict[str, str] = {}
        for option in schema["anyOf"]:
            for path, text in describe(option, prefix)[1:]:
                merged.setdefault(path, text)
        return rows + sorted(merged.items())
    for name, sub in sorted(schema.get("properties", {}).items()):
        rows += describe(sub, f"{prefix}.{name}" if prefix else name)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        rows += describe(extra, f"{prefix}.*" if prefix else "*")
    return rows


def markdown() -> str:
    """docs/stats.md: the field list above as a table (regenerate with
    ``python -m slugsim.stats.schema > docs/stats.md``; a test keeps it current)."""
    lines = [
        "# stats.json",
        "",
        f"Written by `slugsim run` into OUT/stats.json, format `{SCHEMA_ID}`. Keys are sorted and",
        "floats rounded (ns to the picosecond, fractions to 6 digits), so the same topology and",
        "seed give a byte-identical file. `*` stands for a name: a request class, a path, a",
        "component, a port, a link (`a<->b`, `ab` is the direction from a to b) or an LD-ID.",
        "OUT/stats.txt holds the same values, one `name value # description` line each.",
        "This file is generated from `models/slugsim/stats/schema.py`.",
        "",
        "| field | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{path}` | {text} |" for path, text in describe()]
    lines += ["", *REQUEST_LOG_DOC]
    return "\n".join(lines) + "\n"


# The Parquet columns of ``slugsim run --log-requests FILE`` (stats/request_log.py), for
# docs/stats.md; tests/test_request_log.py checks them against the file written.
REQUEST_LOG_COLUMNS = (
    ("host", "dictionary<string>", "the requesting host"),
    ("tag", "uint16", "the request slot's CXL.mem tag (a core's slot)"),
    ("class", "dictionary<string>", "'read' or 'write' (a store's read-for-ownership)"),
    ("path", "dictionary<string>", "'llc', 'local' or 'cxl:<device>'"),
    ("address", "uint64", "host physical address"),
    ("issue_ps", "int64", "issue time at the core"),
    ("completion_ps", "int64", "data at the core"),
    ("latency_ps", "int64", "completion_ps - issue_ps: the value the latency histograms hold"),
    (
        "stages",
        "list<struct<stage: string, ps: int64>>",
        "only with run.breakdown: the request's stages in the order crossed, named as in "
        "`breakdown.*.stages` (host, each link a->b, each switch (req)/(rsp), "
        "'<dev> controller', '<dev> DRAM queue', '<dev> DRAM service'); their ps add up "
        "exactly to latency_ps; empty for 'llc' and 'local'",
    ),
)
REQUEST_LOG_DOC = (
    "## Request log",
    "",
    "`slugsim run TOPO --log-requests FILE` writes one Parquet row per completed request,",
    "streamed in row groups and moved into place when the run ends (a failed run leaves no",
    "file). Columns:",
    "",
    "| column | type | meaning |",
    "|---|---|---|",
    *(f"| `{name}` | {kind} | {text} |" for name, kind, text in REQUEST_LOG_COLUMNS),
)


if __name__ == "__main__":
    print(markdown(), end="")
