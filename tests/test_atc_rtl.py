"""The ATC RTL's static side: CSR map and generated header, port list (pyverilog) bound by name
to the model's transaction types, and parameter rejection in Python and in Yosys."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from slugsim.ats import (
    AtcRequest,
    AtcResponse,
    InvalidateCompletion,
    InvalidateRequest,
    InvSize,
    Status,
    TranslationCompletion,
    TranslationRequest,
    header,
)
from slugsim.ats.csr import (
    ATC_ID,
    COUNTERS,
    RTL_NAMES,
    AtcCsr,
    AtcParams,
    csr_read,
    csr_write,
    place_field,
)
from slugsim.testbench import hdl
from slugsim.testbench.blocks import ATC
from slugsim.testbench.runner import ROOT

RTL = ROOT / "rtl" / "ats" / "atc.v"
SOURCES = [ROOT / "rtl" / "common" / "tree_plru.v", ROOT / "rtl" / "common" / "stream_fifo.v", RTL]


def test_generated_csr_header_is_fresh():
    assert header.HEADER_PATH.read_text() == header.render_csr_header(), (
        "rtl/ats/atc_csr.vh is stale: run `.venv/bin/python -m slugsim.ats.header`"
    )


def test_header_check_passes_as_make_lint_runs_it():
    result = subprocess.run(
        [sys.executable, "-m", "slugsim.ats.header", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_header_check_catches_a_stale_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    stale = tmp_path / "atc_csr.vh"
    stale.write_text("// an older CSR map\n")
    monkeypatch.setattr(header, "HEADER_PATH", stale)
    assert header.main(["--check"]) == 1
    assert header.main([]) == 0
    assert header.main(["--check"]) == 0


@pytest.mark.parametrize("name", list(ATC.param_sets))
def test_info_round_trips_every_parameter_set(name):
    params = AtcParams.from_rtl(ATC.params(name))
    assert AtcParams.from_info(params.info(), params.widths()) == params
    assert params.info() < 1 << 32 and params.widths() < 1 << 32


def test_csr_reads_follow_the_model():
    params = AtcParams(entries=8, ways=2)
    atc = params.model()
    atc.request(AtcRequest(1, 0x10))
    atc.complete(TranslationCompletion(0, 1, 0x20))
    atc.request(AtcRequest(2, 0x10, write=1))
    assert csr_read(atc, params, AtcCsr.ID) == ATC_ID
    assert csr_read(atc, params, AtcCsr.INFO | 2) == params.info()  # low address bits ignored
    assert csr_read(atc, params, AtcCsr.WIDTHS) == params.widths()
    assert csr_read(atc, params, AtcCsr.ENTRIES) == 1
    assert csr_read(atc, params, AtcCsr.HITS) == 1 and csr_read(atc, params, AtcCsr.MISSES) == 1
    assert csr_read(atc, params, AtcCsr.STATUS, busy=True) == 1
    assert csr_read(atc, params, 0x38) == 0 and csr_read(atc, params, 0xFC) == 0
    csr_write(atc, AtcCsr.LOOKUPS, 0)  # read-only: ignored
    assert atc.counters.lookups == 2
    csr_write(atc, AtcCsr.CTRL, place_field(1, "CTRL", "CLEAR"))
    assert [csr_read(atc, params, AtcCsr[c]) for c in COUNTERS] == [0] * len(COUNTERS)
    assert csr_read(atc, params, AtcCsr.ENTRIES) == 1  # CLEAR leaves the entries


def test_port_list_binds_to_the_model_types_by_name():
    (module,) = hdl.parse(RTL)
    assert module.name == "atc"
    assert hdl.check(module) == []
    assert set(RTL_NAMES) <= set(module.parameters)
    streams = {prefix: {p.name for p in ports} for prefix, ports in module.streams().items()}
    assert set(streams) == {
        "s_req",
        "m_rsp",
        "m_treq",
        "s_tcpl",
        "s_inv",
        "m_invcpl",
        "s_csr",
        "m_csr",
    }
    for prefix, payload in (
        ("s_req", AtcRequest),
        ("m_rsp", AtcResponse),
        ("m_treq", TranslationRequest),
        ("s_tcpl", TranslationCompletion),
        ("s_inv", InvalidateRequest),
        ("m_invcpl", InvalidateCompletion),
    ):
        assert {f"{prefix}_{f}" for f in payload._fields} == streams[prefix] - {
            f"{prefix}_valid",
            f"{prefix}_ready",
        }
    assert module.port("m_rsp_status").width == "[1:0]" and max(Status) == 3
    assert module.port("s_inv_size").width == "[1:0]" and max(InvSize) == 2
    assert module.port("s_inv_itag").width == "[4:0]"


ILLEGAL = [
    {"entries": 12},
    {"entries": 2048},
    {"ways": 3},
    {"entries": 4, "ways": 8},
    {"large_entries": 6},
    {"mshrs": 0},
    {"mshrs": 17},
    {"waiters": 17},
    {"inv_depth": 33},
    {"rsp_depth": 3},
    {"tag_width": 17},
    {"vpn_width": 9},
    {"entries": 1024, "ways": 1, "vpn_width": 10},
    {"ppn_width": 41},
]


def _ids(bad):
    return "-".join(f"{k}{v}" for k, v in bad.items())


@pytest.mark.parametrize("bad", ILLEGAL, ids=_ids)
def test_python_params_refuse_what_the_rtl_refuses(bad):
    with pytest.raises(ValueError):
        AtcParams(**bad)


@pytest.mark.skipif(not shutil.which("yosys"), reason="yosys missing: run `make setup`")
@pytest.mark.parametrize("bad", ILLEGAL, ids=_ids)
def test_illegal_parameters_stop_elaboration(bad):
    names = {v: k for k, v in RTL_NAMES.items()}
    chparams = " ".join(f"-chparam {names[k]} {v}" for k, v in bad.items())
    script = (
        f"read_verilog -I{ROOT}/rtl/ats {' '.join(map(str, SOURCES))}; "
        f"hierarchy -check -top atc {chparams}"
    )
    result = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)
    assert result.returncode != 0
    assert "$finish" in result.stdout + result.stderr
