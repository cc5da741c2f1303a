// tb_snoop_filter: thin cocotb wrapper of snoop_filter with an HDL clock (10 ns). Not
// synthesizable (it makes the clock).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_snoop_filter #(
    parameter integer SETS = 4,          // see snoop_filter
    parameter integer WAYS = 4,          // see snoop_filter
    parameter integer SHARER_WIDTH = 4,  // see snoop_filter
    parameter integer ADDR_WIDTH = 46    // see snoop_filter
) (
    input  wire                    rst,

    input  wire                    s_req_valid,
    output wire                    s_req_ready,
    input  wire [1:0]              s_req_op,
    input  wire [ADDR_WIDTH-1:0]   s_req_line,
    input  wire [SHARER_WIDTH-1:0] s_req_sharers,

    output wire                    m_rsp_valid,
    input  wire                    m_rsp_ready,
    output wire                    m_rsp_hit,
    output wire [SHARER_WIDTH-1:0] m_rsp_sharers,
    output wire                    m_rsp_victim,

    output wire                    m_victim_valid,
    input  wire                    m_victim_ready,
    output wire [ADDR_WIDTH-1:0]   m_victim_line,
    output wire [SHARER_WIDTH-1:0] m_victim_sharers,

    input  wire                    s_csr_valid,
    output wire                    s_csr_ready,
    input  wire                    s_csr_write,
    input  wire [7:0]              s_csr_addr,
    input  wire [31:0]             s_csr_wdata,

    output wire                    m_csr_valid,
    input  wire                    m_csr_ready,
    output wire [31:0]             m_csr_rdata
);

reg clk = 1'b0;
/* verilator lint_off BLKSEQ */  // a clock generator, not sequential logic
always #5 clk = ~clk;
/* verilator lint_on BLKSEQ */

snoop_filter #(
    .SETS(SETS),
    .WAYS(WAYS),
    .SHARER_WIDTH(SHARER_WIDTH),
    .ADDR_WIDTH(ADDR_WIDTH)
) dut (
    .clk(clk),
    .rst(rst),
    .s_req_valid(s_req_valid),
    .s_req_ready(s_req_ready),
    .s_req_op(s_req_op),
    .s_req_line(s_req_line),
    .s_req_sharers(s_req_sharers),
    .m_rsp_valid(m_rsp_valid),
    .m_rsp_ready(m_rsp_ready),
    .m_rsp_hit(m_rsp_hit),
    .m_rsp_sharers(m_rsp_sharers),
    .m_rsp_victim(m_rsp_victim),
    .m_victim_valid(m_victim_valid),
    .m_victim_ready(m_victim_ready),
    .m_victim_line(m_victim_line),
    .m_victim_sharers(m_victim_sharers),
    .s_csr_valid(s_csr_valid),
    .s_csr_ready(s_csr_ready),
    .s_csr_write(s_csr_write),
    .s_csr_addr(s_csr_addr),
    .s_csr_wdata(s_csr_wdata),
    .m_csr_valid(m_csr_valid),
    .m_csr_ready(m_csr_ready),
    .m_csr_rdata(m_csr_rdata)
);

endmodule

`resetall
`default_nettype wire
