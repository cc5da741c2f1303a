// tb_rr_arbiter: thin cocotb wrapper of rr_arbiter with an HDL clock (10 ns).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_rr_arbiter #(
    parameter integer PORTS = 4  // see rr_arbiter
) (
    input  wire                     rst,
    input  wire [PORTS-1:0]         req,
    output wire                     m_grant_valid,
    input  wire                     m_grant_ready,
    output wire [PORTS-1:0]         m_grant_onehot,
    output wire [$clog2(PORTS)-1:0] m_grant_index
);

reg clk = 1'b0;
/* verilator lint_off BLKSEQ */  // a clock generator, not sequential logic
always #5 clk = ~clk;
/* verilator lint_on BLKSEQ */

rr_arbiter #(
    .PORTS(PORTS)
) dut (
    .clk(clk),
    .rst(rst),
    .req(req),
    .m_grant_valid(m_grant_valid),
    .m_grant_ready(m_grant_ready),
    .m_grant_onehot(m_grant_onehot),
    .m_grant_index(m_grant_index)
);

endmodule

`resetall
`default_nettype wire
