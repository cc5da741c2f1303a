"""The DCOH bias RTL's static side: generated CSR header, port list (pyverilog) bound by name to
the model's transaction types, and parameter rejection in Python and in Yosys."""

import shutil
import subprocess

import pytest
from slugsim.coherence import header
from slugsim.coherence.dcoh_bias import (
    BiasData,
    BiasRd,
    BiasWr,
    BIRsp,
    BISnp,
    DcohParams,
    DevAccess,
    DevRsp,
    Flip,
    FlipCpl,
    M2SGo,
    M2SReq,
    M2SRwd,
    Ndr,
    RdOwnNoData,
)
from slugsim.coherence.dcoh_csr import COUNTERS, MODEL_COUNTERS, counter_addr
from slugsim.testbench import hdl
from slugsim.testbench.blocks import DCOH_BIAS
from slugsim.testbench.runner import ROOT

RTL = ROOT / "rtl" / "coherence" / "dcoh_bias.v"
STREAMS = {
    "s_dev": DevAccess,
    "m_dev_rsp": DevRsp,
    "s_m2s": M2SReq,
    "m_m2s_go": M2SGo,
    "s_rwd": M2SRwd,
    "m_rwd_go": M2SGo,
    "m_bisnp": BISnp,
    "s_birsp": BIRsp,
    "s_flip": Flip,
    "m_rdownnodata": RdOwnNoData,
    "s_flip_cpl": FlipCpl,
    "s_cmp": Ndr,
    "m_ndr": Ndr,
    "m_bias_rd": BiasRd,
    "s_bias_data": BiasData,
    "m_bias_wr": BiasWr,
}


def test_generated_dcoh_header_is_fresh():
    assert header.DCOH_HEADER_PATH.read_text() == header.render_dcoh_header()


def test_counter_map():
    assert COUNTERS[-1] == "M2S_BLOCKED_CYCLES" and COUNTERS[:-1] == MODEL_COUNTERS
    assert counter_addr(COUNTERS[0]) == 0x10 and counter_addr(COUNTERS[-1]) < 0x100


def test_port_list_binds_to_the_model_types_by_name():
    (module,) = hdl.parse(RTL)
    assert module.name == "dcoh_bias"
    assert hdl.check(module) == []
    streams = {prefix: {p.name for p in ports} for prefix, ports in module.streams().items()}
    assert set(streams) == {*STREAMS, "s_csr", "m_csr"}
    for prefix, payload in STREAMS.items():
        assert {f"{prefix}_{f}" for f in payload._fields} <= streams[prefix], prefix


@pytest.mark.parametrize("name", list(DCOH_BIAS.param_sets))
def test_parameter_sets_are_legal_models(name):
    params = DcohParams.from_rtl(DCOH_BIAS.params(name))
    assert params.model().params == params


ILLEGAL = [
    {"BI_TRACKERS": 17},
    {"ADDR_WIDTH": 17},
    {"SF_WAYS": 3},
    {"BIAS_SETS": 6},
    {"SF_ISA": 2},
    {"REPLAY_DEPTH": 9},
    {"BIAS_IN_MEMORY": 2},
]


@pytest.mark.parametrize("bad", ILLEGAL, ids=lambda b: "-".join(f"{k}{v}" for k, v in b.items()))
def test_python_params_refuse_what_the_rtl_refuses(bad):
    with pytest.raises(ValueError):
        DcohParams.from_rtl(bad)


@pytest.mark.skipif(not shutil.which("yosys"), reason="yosys missing: run `make setup`")
@pytest.mark.parametrize("bad", ILLEGAL, ids=lambda b: "-".join(f"{k}{v}" for k, v in b.items()))
def test_illegal_parameters_stop_elaboration(bad):
    chparams = " ".join(f"-chparam {k} {v}" for k, v in bad.items())
    script = (
        f"read_verilog -I{ROOT}/rtl/coherence {ROOT}/rtl/common/tree_plru.v "
        f"{ROOT}/rtl/coherence/dcoh_tag_array.v {RTL}; "
        f"hierarchy -check -top dcoh_bias {chparams}"
    )
    result = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)
    assert result.returncode != 0
    assert "$finish" in result.stdout + result.stderr
