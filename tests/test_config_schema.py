"""Parameters from YAML: units, defaults and docs taken from params.py, errors, JSON Schema."""

from __future__ import annotations

import dataclasses
import json

import pytest
from slugsim.components import HostParams, Type3Params
from slugsim.config import parse_yaml, topology_schema
from slugsim.config.schema import model_for, validate_params
from slugsim.fabric import FAMILIES, PARAMS_BY_KIND, LinkParams, SwitchParams
from slugsim.fabric.params import HdmWindow, RunOptions, WorkloadParams
from slugsim.kernel import format_time

ALL_PARAMS = sorted(
    {
        *PARAMS_BY_KIND.values(),
        LinkParams,
        RunOptions,
        HdmWindow,
        WorkloadParams,
        *FAMILIES.values(),
    },
    key=lambda c: c.__name__,
)


def params(cls, text: str):
    doc = parse_yaml(text, "t.yaml")
    return validate_params(cls, doc.data, doc, (), cls.__name__)


def test_units_become_integers():
    host, issues = params(
        HostParams,
        "llc_latency: 30ns\ndram_size: 128GiB\ndram_bandwidth: 200GB/s\n"
        "hdm: [{base: 128GiB, size: 1TiB, targets: [m0, m1], granularity: 4KiB}]\n"
        "workload: {kind: stream, think_time: 1us}\n",
    )
    assert issues == []
    assert host.llc_latency == 30_000 and host.dram_size == 128 << 30
    assert host.dram_bandwidth == 200 * 10**9
    assert host.hdm == (
        HdmWindow(base=128 << 30, size=1 << 40, targets=("m0", "m1"), granularity=4096),
    )
    assert host.workload == WorkloadParams(kind="stream", think_time=1_000_000)
    link, _ = params(LinkParams, "rate: 64GT/s\nwidth: x4\nlatency: 2.5ns\n")
    assert (link.rate, link.width, link.latency) == (64 * 10**9, 4, 2500)


@pytest.mark.parametrize("cls", ALL_PARAMS, ids=lambda c: c.__name__)
def test_defaults_and_docs_come_from_the_dataclasses(cls):
    model = model_for(cls)
    for f in dataclasses.fields(cls):
        info = model.model_fields[f.name]
        assert info.description == f.metadata["doc"], f"{cls.__name__}.{f.name} has no doc"
        if f.default is not dataclasses.MISSING:
            assert info.default == f.default
    required = [f.name for f in dataclasses.fields(cls) if f.default is f.default_factory]
    if not required:  # an empty mapping gives exactly the dataclass defaults
        value, issues = validate_params(cls, {}, parse_yaml("{}"), (), "x")
        assert issues == [] and value == cls()


@pytest.mark.parametrize(
    ("cls", "text", "line", "words"),
    [
        (SwitchParams, "ports: 8\nlatncy: 3ns\n", 2, "unknown field 'latncy'"),
        (SwitchParams, "latency: 25nm\n", 1, "expected a time such as '70ns'"),
        (SwitchParams, "latency: .inf\n", 1, "expected a time"),
        (SwitchParams, "latency: 1.0e+300\n", 1, "too large"),
        (SwitchParams, "ports: 0\n", 1, "greater than or equal to 1"),
        (SwitchParams, "ports: '8'\n", 1, "valid integer"),
        (SwitchParams, "ports: true\n", 1, "valid integer"),
        (Type3Params, "capacity: -64GiB\n", 1, "cannot be negative"),
        (Type3Params, "lds: [{ld_id: 16, host: h, size: 1GiB}]\n", 1, "less than or equal to 15"),
        (Type3Params, "lds:\n  - {ld_id: 1, host: h}\n", 2, "needs 'lds.0.size'"),
        (HostParams, "hdm: [{base: 0, size: 1GiB, targets: mem0}]\n", 1, "write a list"),
        (HostParams, "workload: {kind: zigzag}\n", 1, "'random', 'stream' or 'pointer_chase'"),
        (HostParams, "workload: {read_ratio: 1.5}\n", 1, "less than or equal to 1"),
        (LinkParams, "width: x3\n", 1, "x1, x2, x4, x8 or x16"),
        (LinkParams, "flit_bytes: 128\n", 1, "68 or 256"),
        (RunOptions, "seed: -1\n", 1, "greater than or equal to 0"),
    ],
)
def test_bad_values_are_located_and_explained(cls, text, line, words):
    value, issues = params(cls, text)
    assert value is None
    assert any(words in str(i) and i.where.line == line for i in issues), issues
    assert all(i.hint for i in issues)


def test_unknown_field_suggests_the_closest():
    _, issues = params(SwitchParams, "latncy: 3ns\n")
    assert "did you mean 'latency'" in issues[0].hint


def test_params_must_be_a_mapping():
    _, issues = params(SwitchParams, "[1, 2]\n")
    assert "must be a mapping" in issues[0].message


def test_json_schema_covers_every_kind_field_and_family():
    schema = topology_schema()
    json.dumps(schema)  # serialisable
    assert schema["additionalProperties"] is False
    kinds = {
        v["properties"]["kind"]["const"]
        for v in schema["properties"]["components"]["items"]["oneOf"]
    }
    assert kinds == set(PARAMS_BY_KIND)
    families = {v["properties"]["family"]["const"] for v in schema["properties"]["fabric"]["oneOf"]}
    assert families == set(FAMILIES)
    for cls in {*PARAMS_BY_KIND.values(), LinkParams, HdmWindow, WorkloadParams}:
        props = schema["$defs"][cls.__name__]["properties"]
        for f in dataclasses.fields(cls):
            assert props[f.name]["description"] == f.metadata["doc"]
    latency = schema["$defs"]["SwitchParams"]["properties"]["latency"]
    # defaults read the way a user writes them
    assert latency["default"] == format_time(SwitchParams().latency)
    assert {"type": "string"}.items() <= latency["anyOf"][1].items()
    link = schema["properties"]["links"]["items"]
    assert link["required"] == ["between"] and "rate" in link["properties"]
