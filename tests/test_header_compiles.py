"""The generated header must be legal Verilog for every tool that reads our RTL."""

import shutil
import subprocess

import pytest
from slugsim.cxl import header

PROBE = """`timescale 1ns / 1ps
`default_nettype none
module probe (
    input  wire [CXL_M2S_REQ_WIDTH-1:0] req,
    output wire                         is_rd,
    output wire                         parity
);
`include "cxl_defs.vh"
assign is_rd = req[CXL_M2S_REQ_OPCODE_LSB +: CXL_M2S_REQ_OPCODE_WIDTH] == CXL_M2S_REQ_OP_MEMRD;
assign parity = ^req;
endmodule
`default_nettype wire
"""


@pytest.fixture
def probe(tmp_path):
    # Port widths need the header before the port list: a plain localparam copy suffices.
    from slugsim.cxl import M2SReq

    text = PROBE.replace("CXL_M2S_REQ_WIDTH-1", f"{M2SReq.WIDTH}-1")
    path = tmp_path / "probe.v"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "tool",
    [
        ["verilator", "--lint-only", "-Wall"],
        ["iverilog", "-g2005", "-o", "/dev/null"],
    ],
    ids=["verilator", "iverilog"],
)
def test_header_compiles(tool, probe):
    assert shutil.which(tool[0]), f"{tool[0]} is missing: run `make setup`"
    result = subprocess.run(
        [*tool, f"-I{header.HEADER_PATH.parent}", str(probe)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_probe_width_matches_message():
    from slugsim.cxl import M2SReq

    # opcode 4, snp_type 3, meta 2+2, tag 16, addr 46, ld_id 4, tc 2, spid/dpid 12+12
    assert M2SReq.WIDTH == 103
