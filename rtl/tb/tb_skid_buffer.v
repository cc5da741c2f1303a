// tb_skid_buffer: thin cocotb wrapper of skid_buffer with an HDL clock (10 ns).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_skid_buffer #(
    parameter integer DATA_WIDTH = 16  // see skid_buffer
) (
    input  wire                  rst,
    input  wire [DATA_WIDTH-1:0] s_data,
    input  wire                  s_valid,
    output wire                  s_ready,
    output wire [DATA_WIDTH-1:0] m_data,
    output wire                  m_valid,
    input  wire                  m_ready
);

reg clk = 1'b0;
/* verilator lint_off BLKSEQ */  // a clock generator, not sequential logic
always #5 clk = ~clk;
/* verilator lint_on BLKSEQ */

skid_buffer #(
    .DATA_WIDTH(DATA_WIDTH)
) dut (
    .clk(clk),
    .rst(rst),
    .s_data(s_data),
    .s_valid(s_valid),
    .s_ready(s_ready),
    .m_data(m_data),
    .m_valid(m_valid),
    .m_ready(m_ready)
);

endmodule

`resetall
`default_nettype wire
