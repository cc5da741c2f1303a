// tb_dcoh_bias: thin cocotb wrapper of dcoh_bias with an HDL clock (10 ns). Not
// synthesizable (it makes the clock).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_dcoh_bias #(
    parameter integer ADDR_WIDTH = 10,  // see dcoh_bias
    parameter integer PAGE_LINES_LOG2 = 2,  // see dcoh_bias
    parameter integer BIAS_SETS = 2,  // see dcoh_bias
    parameter integer BIAS_WAYS = 2,  // see dcoh_bias
    parameter integer SF_SETS = 2,  // see dcoh_bias
    parameter integer SF_WAYS = 2,  // see dcoh_bias
    parameter integer BI_TRACKERS = 4,  // see dcoh_bias
    parameter integer ID_WIDTH = 4,  // see dcoh_bias
    parameter integer TAG_WIDTH = 16,  // see dcoh_bias
    parameter integer SF_ISA = 0,  // see dcoh_bias
    parameter integer REPLAY_DEPTH = 0  // see dcoh_bias
) (
    input  wire                                      rst,
    input  wire                                      s_dev_valid,
    output wire                                      s_dev_ready,
    input  wire [ID_WIDTH-1:0]                       s_dev_id,
    input  wire [ADDR_WIDTH-1:0]                     s_dev_line,
    input  wire                                      s_dev_write,
    input  wire [1:0]                                s_dev_want,
    output wire                                      m_dev_rsp_valid,
    input  wire                                      m_dev_rsp_ready,
    output wire [ID_WIDTH-1:0]                       m_dev_rsp_id,
    output wire                                      m_dev_rsp_local,
    output wire                                      m_dev_rsp_snooped,
    input  wire                                      s_m2s_valid,
    output wire                                      s_m2s_ready,
    input  wire [3:0]                                s_m2s_opcode,
    input  wire [ADDR_WIDTH-1:0]                     s_m2s_line,
    input  wire [TAG_WIDTH-1:0]                      s_m2s_tag,
    input  wire [1:0]                                s_m2s_meta_value,
    output wire                                      m_m2s_go_valid,
    input  wire                                      m_m2s_go_ready,
    output wire [3:0]                                m_m2s_go_opcode,
    output wire [ADDR_WIDTH-1:0]                     m_m2s_go_line,
    output wire [TAG_WIDTH-1:0]                      m_m2s_go_tag,
    input  wire                                      s_rwd_valid,
    output wire                                      s_rwd_ready,
    input  wire [3:0]                                s_rwd_opcode,
    input  wire [ADDR_WIDTH-1:0]                     s_rwd_line,
    input  wire [TAG_WIDTH-1:0]                      s_rwd_tag,
    input  wire [1:0]                                s_rwd_meta_value,
    output wire                                      m_rwd_go_valid,
    input  wire                                      m_rwd_go_ready,
    output wire [3:0]                                m_rwd_go_opcode,
    output wire [ADDR_WIDTH-1:0]                     m_rwd_go_line,
    output wire [TAG_WIDTH-1:0]                      m_rwd_go_tag,
    output wire                                      m_bisnp_valid,
    input  wire                                      m_bisnp_ready,
    output wire [3:0]                                m_bisnp_opcode,
    output wire [11:0]                               m_bisnp_bitag,
    output wire [ADDR_WIDTH-1:0]                     m_bisnp_line,
    input  wire                                      s_cmp_valid,
    output wire                                      s_cmp_ready,
    input  wire [2:0]                                s_cmp_opcode,
    input  wire [TAG_WIDTH-1:0]                      s_cmp_tag,
    output wire                                      m_ndr_valid,
    input  wire                                      m_ndr_ready,
    output wire [2:0]                                m_ndr_opcode,
    output wire [TAG_WIDTH-1:0]                      m_ndr_tag,
    input  wire                                      s_birsp_valid,
    output wire                                      s_birsp_ready,
    input  wire [3:0]                                s_birsp_opcode,
    input  wire [11:0]                               s_birsp_bitag,
    input  wire                                      s_flip_valid,
    output wire                                      s_flip_ready,
    input  wire [ADDR_WIDTH-PAGE_LINES_LOG2-1:0]     s_flip_page,
    input  wire                                      s_flip_to_device,
    output wire                                      m_rdownnodata_valid,
    input  wire                                      m_rdownnodata_ready,
    output wire [ADDR_WIDTH-1:0]                     m_rdownnodata_line,
    input  wire                                      s_flip_cpl_valid,
    output wire                                      s_flip_cpl_ready,
    input  wire [ADDR_WIDTH-1:0]                     s_flip_cpl_line,
    input  wire                                      s_csr_valid,
    output wire                                      s_csr_ready,
    input  wire                                      s_csr_write,
    input  wire [7:0]                                s_csr_addr,
    input  wire [31:0]                               s_csr_wdata,
    output wire                                      m_csr_valid,
    input  wire                                      m_csr_ready,
    output wire [31:0]                               m_csr_rdata
);

reg clk = 1'b0;
/* verilator lint_off BLKSEQ */  // a clock generator, not sequential logic
always #5 clk = ~clk;
/* verilator lint_on BLKSEQ */

dcoh_bias #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .PAGE_LINES_LOG2(PAGE_LINES_LOG2),
    .BIAS_SETS(BIAS_SETS),
    .BIAS_WAYS(BIAS_WAYS),
    .SF_SETS(SF_SETS),
    .SF_WAYS(SF_WAYS),
    .BI_TRACKERS(BI_TRACKERS),
    .ID_WIDTH(ID_WIDTH),
    .TAG_WIDTH(TAG_WIDTH),
    .SF_ISA(SF_ISA),
    .REPLAY_DEPTH(REPLAY_DEPTH)
) dut (
    .clk(clk),
    .rst(rst),
    .s_dev_valid(s_dev_valid),
    .s_dev_ready(s_dev_ready),
    .s_dev_id(s_dev_id),
    .s_dev_line(s_dev_line),
    .s_dev_write(s_dev_write),
    .s_dev_want(s_dev_want),
    .m_dev_rsp_valid(m_dev_rsp_valid),
    .m_dev_rsp_ready(m_dev_rsp_ready),
    .m_dev_rsp_id(m_dev_rsp_id),
    .m_dev_rsp_local(m_dev_rsp_local),
    .m_dev_rsp_snooped(m_dev_rsp_snooped),
    .s_m2s_valid(s_m2s_valid),
    .s_m2s_ready(s_m2s_ready),
    .s_m2s_opcode(s_m2s_opcode),
    .s_m2s_line(s_m2s_line),
    .s_m2s_tag(s_m2s_tag),
    .s_m2s_meta_value(s_m2s_meta_value),
    .m_m2s_go_valid(m_m2s_go_valid),
    .m_m2s_go_ready(m_m2s_go_ready),
    .m_m2s_go_opcode(m_m2s_go_opcode),
    .m_m2s_go_line(m_m2s_go_line),
    .m_m2s_go_tag(m_m2s_go_tag),
    .s_rwd_valid(s_rwd_valid),
    .s_rwd_ready(s_rwd_ready),
    .s_rwd_opcode(s_rwd_opcode),
    .s_rwd_line(s_rwd_line),
    .s_rwd_tag(s_rwd_tag),
    .s_rwd_meta_value(s_rwd_meta_value),
    .m_rwd_go_valid(m_rwd_go_valid),
    .m_rwd_go_ready(m_rwd_go_ready),
    .m_rwd_go_opcode(m_rwd_go_opcode),
    .m_rwd_go_line(m_rwd_go_line),
    .m_rwd_go_tag(m_rwd_go_tag),
    .m_bisnp_valid(m_bisnp_valid),
    .m_bisnp_ready(m_bisnp_ready),
    .m_bisnp_opcode(m_bisnp_opcode),
    .m_bisnp_bitag(m_bisnp_bitag),
    .m_bisnp_line(m_bisnp_line),
    .s_cmp_valid(s_cmp_valid),
    .s_cmp_ready(s_cmp_ready),
    .s_cmp_opcode(s_cmp_opcode),
    .s_cmp_tag(s_cmp_tag),
    .m_ndr_valid(m_ndr_valid),
    .m_ndr_ready(m_ndr_ready),
    .m_ndr_opcode(m_ndr_opcode),
    .m_ndr_tag(m_ndr_tag),
    .s_birsp_valid(s_birsp_valid),
    .s_birsp_ready(s_birsp_ready),
    .s_birsp_opcode(s_birsp_opcode),
    .s_birsp_bitag(s_birsp_bitag),
    .s_flip_valid(s_flip_valid),
    .s_flip_ready(s_flip_ready),
    .s_flip_page(s_flip_page),
    .s_flip_to_device(s_flip_to_device),
    .m_rdownnodata_valid(m_rdownnodata_valid),
    .m_rdownnodata_ready(m_rdownnodata_ready),
    .m_rdownnodata_line(m_rdownnodata_line),
    .s_flip_cpl_valid(s_flip_cpl_valid),
    .s_flip_cpl_ready(s_flip_cpl_ready),
    .s_flip_cpl_line(s_flip_cpl_line),
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
