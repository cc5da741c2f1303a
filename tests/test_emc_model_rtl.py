"""The EMC RTL's static side: port list (pyverilog), naming checks, and parameter rejection."""

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from slugsim.cxl import S2MNDR, EmcRecord, M2SReq
from slugsim.testbench import hdl
from slugsim.testbench.blocks import BLOCKS, EMC_MONITOR
from slugsim.testbench.runner import ROOT

EMC = ROOT / "rtl" / "emc" / "emc_monitor.v"
SYNTH = [*sorted((ROOT / "rtl" / "common").glob("*.v")), EMC]


def test_emc_port_list_follows_the_conventions():
    (module,) = hdl.parse(EMC)
    assert module.name == "emc_monitor"
    assert set(module.streams()) == {"tap", "m_rec", "s_csr", "m_csr"}
    assert module.port("m_rec_data").width == "[127:0]"
    assert {"CHANNEL", "DATA_WIDTH", "TS_WIDTH", "FIFO_DEPTH"} <= set(module.parameters)
    assert hdl.check(module) == []
    assert EmcRecord.WIDTH == 128
    assert EMC_MONITOR.params("m2s-d16-ts48")["DATA_WIDTH"] == M2SReq.WIDTH


def test_parses_at_the_same_time_in_one_directory_do_not_mix(tmp_path, monkeypatch):
    """The RTL lint and these tests parse RTL at the same time under pytest -n, from the same
    working directory. pyverilog writes its preprocessed text to a file there by default, so
    parses running together read each other's text (or find it deleted): a flaky failure."""
    monkeypatch.chdir(tmp_path)
    files = [EMC, ROOT / "rtl" / "common" / "stream_fifo.v"] * 4
    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        names = list(pool.map(lambda f: [m.name for m in hdl.parse(f)], files))
    assert names == [[f.stem] for f in files]
    assert list(tmp_path.iterdir()) == []  # nothing left in the working directory


def test_naming_check_catches_a_bad_stream(tmp_path):
    bad = tmp_path / "bad.v"
    bad.write_text(
        "module bad(input wire s_x_valid, input wire s_x_ready, output wire m_y_valid);\n"
        "assign m_y_valid = s_x_valid & s_x_ready;\nendmodule\n"
    )
    problems = hdl.check(hdl.parse(bad)[0])
    assert any("opposite directions" in p for p in problems)
    assert any("no _ready" in p for p in problems)


def test_every_block_wrapper_parses_and_is_named_after_its_file():
    for block in BLOCKS.values():
        for source in block.sources:
            (module,) = hdl.parse(ROOT / source)
            assert module.name == (ROOT / source).stem
            assert hdl.check(module) == [], source


def _yosys(top: str, *chparams: str) -> subprocess.CompletedProcess[str]:
    files = " ".join(str(p) for p in SYNTH)
    script = (
        f"read_verilog -I{ROOT}/rtl/include -I{ROOT}/rtl/emc {files}; "
        f"hierarchy -check -top {top} {' '.join(chparams)}; synth -top {top}; check -assert"
    )
    return subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)


@pytest.mark.skipif(not shutil.which("yosys"), reason="yosys missing: run `make setup`")
@pytest.mark.parametrize(
    "bad",
    [
        "-chparam FIFO_DEPTH 3",
        "-chparam TS_WIDTH 0",
        "-chparam TS_WIDTH 49",
        f"-chparam DATA_WIDTH {M2SReq.WIDTH - 1}",
        "-chparam CHANNEL 12",
        "-chparam PORT 256",
    ],
)
def test_illegal_emc_parameters_stop_elaboration(bad):
    result = _yosys("emc_monitor", bad)
    assert result.returncode != 0
    assert "Error: emc_monitor" in result.stdout + result.stderr or "$finish" in result.stderr


@pytest.mark.skipif(not shutil.which("yosys"), reason="yosys missing: run `make setup`")
def test_legal_emc_parameters_synthesize():
    result = _yosys("emc_monitor", "-chparam CHANNEL 9", f"-chparam DATA_WIDTH {S2MNDR.WIDTH}")
    assert result.returncode == 0, result.stderr
