// tb_atc: thin cocotb wrapper of atc with an HDL clock (10 ns). Not synthesizable (it makes
// the clock).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_atc #(
    parameter integer ENTRIES = 16,       // see atc
    parameter integer WAYS = 4,           // see atc
    parameter integer LARGE_ENTRIES = 4,  // see atc
    parameter integer MSHRS = 4,          // see atc
    parameter integer WAITERS = 4,        // see atc
    parameter integer INV_DEPTH = 4,      // see atc
    parameter integer RSP_DEPTH = 4,      // see atc
    parameter integer TAG_WIDTH = 8,      // see atc
    parameter integer VPN_WIDTH = 36,     // see atc
    parameter integer PPN_WIDTH = 40,     // see atc
    parameter integer MSHR_TAG_WIDTH = (MSHRS > 1) ? $clog2(MSHRS) : 1  // derived, see atc
) (
    input  wire                            rst,

    input  wire                            s_req_valid,
    output wire                            s_req_ready,
    input  wire [TAG_WIDTH-1:0]            s_req_tag,
    input  wire [VPN_WIDTH-1:0]            s_req_page,
    input  wire                            s_req_write,
    input  wire                            s_req_cache,

    output wire                            m_rsp_valid,
    input  wire                            m_rsp_ready,
    output wire [TAG_WIDTH-1:0]            m_rsp_tag,
    output wire [1:0]                      m_rsp_status,
    output wire                            m_rsp_hit,
    output wire [PPN_WIDTH-1:0]            m_rsp_page,

    output wire                            m_treq_valid,
    input  wire                            m_treq_ready,
    output wire [MSHR_TAG_WIDTH-1:0]       m_treq_tag,
    output wire [VPN_WIDTH-1:0]            m_treq_page,

    input  wire                            s_tcpl_valid,
    output wire                            s_tcpl_ready,
    input  wire [MSHR_TAG_WIDTH-1:0]       s_tcpl_tag,
    input  wire                            s_tcpl_ok,
    input  wire [PPN_WIDTH-1:0]            s_tcpl_page,
    input  wire                            s_tcpl_large,
    input  wire                            s_tcpl_r,
    input  wire                            s_tcpl_w,
    input  wire                            s_tcpl_io,

    input  wire                            s_inv_valid,
    output wire                            s_inv_ready,
    input  wire [4:0]                      s_inv_itag,
    input  wire [VPN_WIDTH-1:0]            s_inv_page,
    input  wire [1:0]                      s_inv_size,

    output wire                            m_invcpl_valid,
    input  wire                            m_invcpl_ready,
    output wire [4:0]                      m_invcpl_itag,

    input  wire                            s_csr_valid,
    output wire                            s_csr_ready,
    input  wire                            s_csr_write,
    input  wire [7:0]                      s_csr_addr,
    input  wire [31:0]                     s_csr_wdata,

    output wire                            m_csr_valid,
    input  wire                            m_csr_ready,
    output wire [31:0]                     m_csr_rdata
);

reg clk = 1'b0;
/* verilator lint_off BLKSEQ */  // a clock generator, not sequential logic
always #5 clk = ~clk;
/* verilator lint_on BLKSEQ */

atc #(
    .ENTRIES(ENTRIES),
    .WAYS(WAYS),
    .LARGE_ENTRIES(LARGE_ENTRIES),
    .MSHRS(MSHRS),
    .WAITERS(WAITERS),
    .INV_DEPTH(INV_DEPTH),
    .RSP_DEPTH(RSP_DEPTH),
    .TAG_WIDTH(TAG_WIDTH),
    .VPN_WIDTH(VPN_WIDTH),
    .PPN_WIDTH(PPN_WIDTH),
    .MSHR_TAG_WIDTH(MSHR_TAG_WIDTH)
) dut (
    .clk(clk),
    .rst(rst),
    .s_req_valid(s_req_valid),
    .s_req_ready(s_req_ready),
    .s_req_tag(s_req_tag),
    .s_req_page(s_req_page),
    .s_req_write(s_req_write),
    .s_req_cache(s_req_cache),
    .m_rsp_valid(m_rsp_valid),
    .m_rsp_ready(m_rsp_ready),
    .m_rsp_tag(m_rsp_tag),
    .m_rsp_status(m_rsp_status),
    .m_rsp_hit(m_rsp_hit),
    .m_rsp_page(m_rsp_page),
    .m_treq_valid(m_treq_valid),
    .m_treq_ready(m_treq_ready),
    .m_treq_tag(m_treq_tag),
    .m_treq_page(m_treq_page),
    .s_tcpl_valid(s_tcpl_valid),
    .s_tcpl_ready(s_tcpl_ready),
    .s_tcpl_tag(s_tcpl_tag),
    .s_tcpl_ok(s_tcpl_ok),
    .s_tcpl_page(s_tcpl_page),
    .s_tcpl_large(s_tcpl_large),
    .s_tcpl_r(s_tcpl_r),
    .s_tcpl_w(s_tcpl_w),
    .s_tcpl_io(s_tcpl_io),
    .s_inv_valid(s_inv_valid),
    .s_inv_ready(s_inv_ready),
    .s_inv_itag(s_inv_itag),
    .s_inv_page(s_inv_page),
    .s_inv_size(s_inv_size),
    .m_invcpl_valid(m_invcpl_valid),
    .m_invcpl_ready(m_invcpl_ready),
    .m_invcpl_itag(m_invcpl_itag),
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
