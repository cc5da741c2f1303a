"""The snoop-filter RTL's static side: CSR map and generated header, port list (pyverilog) bound
by name to the model's transaction types, and parameter rejection in Python and in Yosys."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from slugsim.coherence import header
from slugsim.coherence.csr import (
    COUNTERS,
    SF_ID,
    SfCsr,
    SfParams,
    csr_read,
    csr_write,
    place_field,
)
from slugsim.coherence.snoop_filter import SfCounters, SfOp, SfRequest, Victim
from slugsim.testbench import hdl
from slugsim.testbench.blocks import SNOOP_FILTER
from slugsim.testbench.runner import ROOT

RTL = ROOT / "rtl" / "coherence" / "snoop_filter.v"


# -- CSR map and header ---------------------------------------------------------------------------


def test_generated_csr_header_is_fresh():
    assert header.HEADER_PATH.read_text() == header.render_csr_header(), (
        "rtl/coherence/snoop_filter_csr.vh is stale: run `.venv/bin/python -m "
        "slugsim.coherence.header`"
    )


def test_header_check_passes_as_make_lint_runs_it():
    result = subprocess.run(
        [sys.executable, "-m", "slugsim.coherence.header", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_header_check_catches_a_stale_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    stale = tmp_path / "snoop_filter_csr.vh"
    stale.write_text("// an older CSR map\n")
    monkeypatch.setattr(header, "HEADER_PATH", stale)
    assert header.main(["--check"]) == 1
    assert header.main([]) == 0
    assert header.main(["--check"]) == 0


@pytest.mark.parametrize("name", list(SNOOP_FILTER.param_sets))
def test_info_round_trips_every_parameter_set(name):
    params = SfParams.from_rtl(SNOOP_FILTER.params(name))
    assert SfParams.from_info(params.info()) == params
    assert params.info() < 1 << 32


def test_csr_reads_follow_the_model():
    params = SfParams(sets=4, ways=2, sharer_width=3)
    sf = params.model()
    sf.allocate(1, 0b011)
    sf.allocate(5, 0b100)
    sf.lookup(1)
    sf.lookup(2)
    assert csr_read(sf, params, SfCsr.ID) == SF_ID
    assert csr_read(sf, params, SfCsr.INFO | 2) == params.info()  # low address bits ignored
    assert csr_read(sf, params, SfCsr.ENTRIES) == 2
    assert csr_read(sf, params, SfCsr.HITS) == 1 and csr_read(sf, params, SfCsr.MISSES) == 1
    assert csr_read(sf, params, SfCsr.STATUS, busy=True) == 1
    assert csr_read(sf, params, 0x2C) == 0 and csr_read(sf, params, 0xFC) == 0
    csr_write(sf, SfCsr.LOOKUPS, 0)  # read-only: ignored
    assert sf.counters.lookups == 2
    csr_write(sf, SfCsr.CTRL, place_field(1, "CTRL", "CLEAR"))
    assert sf.counters == SfCounters()
    assert csr_read(sf, params, SfCsr.ENTRIES) == 2  # CLEAR leaves the entries
    assert [csr_read(sf, params, SfCsr[c]) for c in COUNTERS] == [0] * len(COUNTERS)


# -- port list ------------------------------------------------------------------------------------


def test_port_list_binds_to_the_model_types_by_name():
    (module,) = hdl.parse(RTL)
    assert module.name == "snoop_filter"
    assert hdl.check(module) == []
    assert {"SETS", "WAYS", "SHARER_WIDTH", "ADDR_WIDTH"} <= set(module.parameters)
    streams = {prefix: {p.name for p in ports} for prefix, ports in module.streams().items()}
    assert set(streams) == {"s_req", "m_rsp", "m_victim", "s_csr", "m_csr"}
    for prefix, fields in (("s_req", SfRequest._fields), ("m_victim", Victim._fields)):
        assert {f"{prefix}_{f}" for f in fields} <= streams[prefix]
    assert {"m_rsp_hit", "m_rsp_sharers", "m_rsp_victim"} <= streams["m_rsp"]
    assert module.port("s_req_op").width == "[1:0]"
    assert max(SfOp) == 3


# -- illegal parameters -------------------------------------------------------------------------

ILLEGAL = [
    {"sets": 6},
    {"sets": 1 << 17},
    {"ways": 3},
    {"ways": 128},
    {"sharer_width": 0},
    {"sharer_width": 65},
    {"sets": 16, "addr_width": 4},
    {"addr_width": 65},
]
RTL_NAMES = {
    "sets": "SETS",
    "ways": "WAYS",
    "sharer_width": "SHARER_WIDTH",
    "addr_width": "ADDR_WIDTH",
}


@pytest.mark.parametrize("bad", ILLEGAL, ids=lambda b: "-".join(f"{k}{v}" for k, v in b.items()))
def test_python_params_refuse_what_the_rtl_refuses(bad):
    with pytest.raises(ValueError):
        SfParams(**bad)


@pytest.mark.skipif(not shutil.which("yosys"), reason="yosys missing: run `make setup`")
@pytest.mark.parametrize("bad", ILLEGAL, ids=lambda b: "-".join(f"{k}{v}" for k, v in b.items()))
def test_illegal_parameters_stop_elaboration(bad):
    chparams = " ".join(f"-chparam {RTL_NAMES[k]} {v}" for k, v in bad.items())
    script = (
        f"read_verilog -I{ROOT}/rtl/coherence {ROOT}/rtl/common/tree_plru.v {RTL}; "
        f"hierarchy -check -top snoop_filter {chparams}; synth -top snoop_filter"
    )
    result = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)
    assert result.returncode != 0
    assert "$finish" in result.stdout + result.stderr
