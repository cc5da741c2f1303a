// tb_emc_monitor_batched: cocotb wrapper of emc_monitor with batched bus models in the HDL, so
// that Python wakes once per batch of transactions. Not synthesizable (it makes the clock).
//
// The tapped link: a tb_stream_player ("src", loaded by Python) drives the request stream, a
// tb_stream_recorder in sink mode ("mem", the memory) takes it with its back-pressure pattern
// and records every delivered message with its cycle; the monitor taps that handshake. The
// record stream goes to a second recorder in sink mode ("rec"). The CSR port stays a plain
// per-beat stream (rare accesses). Each helper instance is named like the prefix of its
// control ports (src_*, mem_*, rec_*): the Python models reach its wide batch registers
// through the instance (slugsim.testbench.batched). cycle counts rising edges since time 0 (never reset): an
// entry stamped k was accepted at the k-th edge (0-based) of the 10 ns clock made here.
// batch_wake concatenates the helpers' batch counters, so that the Python models all sleep on
// one value-change callback (each callback costs the simulator loop time on every cycle).
// Only the signals Python touches are VPI-visible under Verilator (public_flat_* metacomments;
// the build leaves out cocotb's global --public-flat-rw, which halves Verilator's speed).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_emc_monitor_batched #(
    parameter integer CHANNEL = 6,       // see emc_monitor
    parameter integer DATA_WIDTH = 103,   // see emc_monitor
    parameter integer DIRECTION = 0,     // see emc_monitor
    parameter integer PORT = 0,          // see emc_monitor
    parameter integer TS_WIDTH = 48,     // see emc_monitor
    parameter integer FIFO_DEPTH = 16,   // see emc_monitor
    parameter integer BATCH_DEPTH = 64,  // beats per batch of the player and the recorders
    parameter integer GAP_WIDTH = 16,    // idle-cycle count width of the player
    parameter integer TIME_WIDTH = 32    // cycle stamp width of the recorders
) (
    input  wire                                 rst /* verilator public_flat_rw */,
    output wire [TIME_WIDTH-1:0]                cycle /* verilator public_flat_rd */,
    // every batch counter below at once: changes whenever one of them does (see header)
    output wire [39:0]                          batch_wake /* verilator public_flat_rd */,

    // the request source (tb_stream_player)
    input  wire [$clog2(BATCH_DEPTH+1)-1:0]     src_load_count /* verilator public_flat_rw */,
    input  wire                                 src_load_go /* verilator public_flat_rw */,
    output wire [1:0]                           src_load_free /* verilator public_flat_rd */,
    output wire [7:0]                           src_load_done /* verilator public_flat_rd */,

    // the memory: sink of the tapped link (tb_stream_recorder)
    input  wire [31:0]                          mem_bp_seed /* verilator public_flat_rw */,
    input  wire [7:0]                           mem_bp_thresh /* verilator public_flat_rw */,
    input  wire                                 mem_flush /* verilator public_flat_rw */,
    output wire [$clog2(BATCH_DEPTH+1)-1:0]     mem_batch_count /* verilator public_flat_rd */,
    output wire [15:0]                          mem_batch_seq /* verilator public_flat_rd */,

    // the record stream's sink (tb_stream_recorder)
    input  wire [31:0]                          rec_bp_seed /* verilator public_flat_rw */,
    input  wire [7:0]                           rec_bp_thresh /* verilator public_flat_rw */,
    input  wire                                 rec_flush /* verilator public_flat_rw */,
    output wire [$clog2(BATCH_DEPTH+1)-1:0]     rec_batch_count /* verilator public_flat_rd */,
    output wire [15:0]                          rec_batch_seq /* verilator public_flat_rd */,

    input  wire                                 s_csr_valid /* verilator public_flat_rw */,
    output wire                                 s_csr_ready /* verilator public_flat_rd */,
    input  wire                                 s_csr_write /* verilator public_flat_rw */,
    input  wire [7:0]                           s_csr_addr /* verilator public_flat_rw */,
    input  wire [31:0]                          s_csr_wdata /* verilator public_flat_rw */,

    output wire                                 m_csr_valid /* verilator public_flat_rd */,
    input  wire                                 m_csr_ready /* verilator public_flat_rw */,
    output wire [31:0]                          m_csr_rdata /* verilator public_flat_rd */
);

reg clk /* verilator public_flat_rd */ = 1'b0;
/* verilator lint_off BLKSEQ */  // a clock generator, not sequential logic
always #5 clk = ~clk;
/* verilator lint_on BLKSEQ */

reg [TIME_WIDTH-1:0] cycle_reg = {TIME_WIDTH{1'b0}};
always @(posedge clk) begin
    cycle_reg <= cycle_reg + {{(TIME_WIDTH - 1){1'b0}}, 1'b1};
end
assign cycle = cycle_reg;
assign batch_wake = {src_load_done, mem_batch_seq, rec_batch_seq};

wire [DATA_WIDTH-1:0] req_data;
wire                  req_valid;
wire                  req_ready;
wire [127:0]          rec_data;
wire                  rec_valid;
wire                  rec_ready;

tb_stream_player #(
    .DATA_WIDTH(DATA_WIDTH),
    .DEPTH(BATCH_DEPTH),
    .GAP_WIDTH(GAP_WIDTH)
) src (
    .clk(clk),
    .rst(rst),
    .load_count(src_load_count),
    .load_go(src_load_go),
    .load_free(src_load_free),
    .load_done(src_load_done),
    .m_data(req_data),
    .m_valid(req_valid),
    .m_ready(req_ready)
);

tb_stream_recorder #(
    .DATA_WIDTH(DATA_WIDTH),
    .DEPTH(BATCH_DEPTH),
    .TIME_WIDTH(TIME_WIDTH)
) mem (
    .clk(clk),
    .rst(rst),
    .time_now(cycle_reg),
    .tap_valid(req_valid),
    .tap_ready(req_ready),
    .tap_data(req_data),
    .bp_seed(mem_bp_seed),
    .bp_thresh(mem_bp_thresh),
    .bp_ready(req_ready),
    .flush(mem_flush),
    .batch_count(mem_batch_count),
    .batch_seq(mem_batch_seq)
);

emc_monitor #(
    .CHANNEL(CHANNEL),
    .DATA_WIDTH(DATA_WIDTH),
    .DIRECTION(DIRECTION),
    .PORT(PORT),
    .TS_WIDTH(TS_WIDTH),
    .FIFO_DEPTH(FIFO_DEPTH)
) dut (
    .clk(clk),
    .rst(rst),
    .tap_valid(req_valid),
    .tap_ready(req_ready),
    .tap_data(req_data),
    .m_rec_data(rec_data),
    .m_rec_valid(rec_valid),
    .m_rec_ready(rec_ready),
    .s_csr_valid(s_csr_valid),
    .s_csr_ready(s_csr_ready),
    .s_csr_write(s_csr_write),
    .s_csr_addr(s_csr_addr),
    .s_csr_wdata(s_csr_wdata),
    .m_csr_valid(m_csr_valid),
    .m_csr_ready(m_csr_ready),
    .m_csr_rdata(m_csr_rdata)
);

tb_stream_recorder #(
    .DATA_WIDTH(128),
    .DEPTH(BATCH_DEPTH),
    .TIME_WIDTH(TIME_WIDTH)
) rec (
    .clk(clk),
    .rst(rst),
    .time_now(cycle_reg),
    .tap_valid(rec_valid),
    .tap_ready(rec_ready),
    .tap_data(rec_data),
    .bp_seed(rec_bp_seed),
    .bp_thresh(rec_bp_thresh),
    .bp_ready(rec_ready),
    .flush(rec_flush),
    .batch_count(rec_batch_count),
    .batch_seq(rec_batch_seq)
);

endmodule

`resetall
`default_nettype wire
