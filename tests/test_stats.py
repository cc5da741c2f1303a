"""Latency summaries, the stats.json schema and its renderings."""

import json

import pytest
from slugsim.stats import (
    RELATIVE_ERROR,
    describe,
    nearest_rank,
    summarise,
    to_json,
    to_text,
    validate,
)


def test_nearest_rank_percentiles():
    samples = list(range(1, 101))  # 1..100
    assert nearest_rank(samples, 50) == 50
    assert nearest_rank(samples, 90) == 90
    assert nearest_rank(samples, 99) == 99
    assert nearest_rank([7], 99) == 7
    assert nearest_rank([1, 2, 3, 4], 50) == 2
    with pytest.raises(ValueError):
        nearest_rank([], 50)


def test_summary_is_in_ns_with_picosecond_precision():
    s = summarise([1000, 2500, 1_000_001])  # ps
    # count, mean and max are exact; percentiles come from the histogram: the exact nearest-rank
    # value (2500 ps) or up to RELATIVE_ERROR above it (2500 ps sits in a 2 ps wide bucket).
    p50 = s.pop("p50")
    assert 2.5 <= p50 <= 2.5 * (1 + RELATIVE_ERROR) and p50 == 2.501
    assert s == {
        "count": 3,
        "mean": 334.5,
        "max": 1000.001,
        "p90": 1000.001,  # capped at the exact maximum
        "p99": 1000.001,
        "p999": 1000.001,
    }
    assert summarise([]) == {"count": 0}
    assert summarise([1000, 2047])["p50"] == 1.0  # below 2048 ps every value is its own bucket


def _minimal() -> dict:
    lat = {"count": 1, "mean": 1.0, "p50": 1.0, "p90": 1.0, "p99": 1.0, "p999": 1.0, "max": 1.0}
    chan = {"from": "a", "to": "b", "messages": 1, "bytes": 16, "utilisation": 0.5}
    return {
        "schema": "slugsim.stats/1",
        "run": {
            "seed": 1,
            "sim_time_ns": 1.0,
            "stop": "quiescent",
            "requests": 1,
            "events": 3,
            "unmodelled": [],
        },
        "latency": {"read": {"all": lat, "paths": {"cxl:m": lat}}},
        "bandwidth": {"cxl_read_gbps": 1.0, "cxl_write_gbps": 0.0, "local_read_gbps": 0.0},
        "hosts": {},
        "devices": {},
        "switches": {
            "s": {
                "ports": {
                    "p0": {
                        "neighbour": "a",
                        "received": 1,
                        "sent": 1,
                        "queued": 0,
                        "mean_queue_ns": 0.0,
                        "max_queue_ns": 0.0,
                        "credit_stalls": 0,
                        "max_backlog": 0,
                    }
                }
            }
        },
        "links": {"a<->b": {"ab": chan, "ba": dict(chan)}},
    }


def test_schema_accepts_a_valid_document_and_names_the_first_problem():
    validate(_minimal())
    bad = _minimal()
    bad["run"]["stop"] = "tired"
    with pytest.raises(ValueError, match=r"stats.run.stop"):
        validate(bad)
    bad = _minimal()
    del bad["links"]["a<->b"]["ba"]["utilisation"]
    with pytest.raises(ValueError, match=r"links.a<->b.ba: missing 'utilisation'"):
        validate(bad)
    bad = _minimal()
    bad["hosts"]["h"] = {"issued": "many"}
    with pytest.raises(ValueError, match=r"stats\.hosts\.h"):
        validate(bad)


def test_every_field_is_described():
    rows = describe()
    assert all(text for _, text in rows), [path for path, text in rows if not text]
    assert ("switches.*.ports.*.mean_queue_ns", "mean egress wait over all sent") in rows


def test_json_is_sorted_and_text_is_gem5_like():
    stats = _minimal()
    text = to_json(stats)
    assert json.loads(text) == stats
    assert list(json.loads(text)) == sorted(stats)
    assert to_json(json.loads(text)) == text
    txt = to_text(stats)
    assert txt.startswith("---------- Begin Simulation Statistics ----------")
    line = next(ln for ln in txt.splitlines() if ln.startswith("latency.read.paths.cxl:m.p99"))
    assert "1.000000" in line and "# 99th percentile (ns)" in line


def test_docs_stats_md_is_generated_from_the_schema():
    from pathlib import Path

    from slugsim.stats.schema import markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "stats.md"
    assert doc.read_text() == markdown(), "run: python -m slugsim.stats.schema > docs/stats.md"
