// tb_stream_fifo: thin cocotb wrapper of stream_fifo with an HDL clock (10 ns).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_stream_fifo #(
    parameter integer DATA_WIDTH = 8,  // see stream_fifo
    parameter integer DEPTH = 4        // see stream_fifo
) (
    input  wire                   rst,
    input  wire [DATA_WIDTH-1:0]  s_data,
    input  wire                   s_valid,
    output wire                   s_ready,
    output wire [DATA_WIDTH-1:0]  m_data,
    output wire                   m_valid,
    input  wire                   m_ready,
    output wire [$clog2(DEPTH):0] count
);

reg clk = 1'b0;
/* verilator lint_off BLKSEQ */  // a clock generator, not sequential logic
always #5 clk = ~clk;
/* verilator lint_on BLKSEQ */

stream_fifo #(
    .DATA_WIDTH(DATA_WIDTH),
    .DEPTH(DEPTH)
) dut (
    .clk(clk),
    .rst(rst),
    .s_data(s_data),
    .s_valid(s_valid),
    .s_ready(s_ready),
    .m_data(m_data),
    .m_valid(m_valid),
    .m_ready(m_ready),
    .count(count)
);

endmodule

`resetall
`default_nettype wire
