// tb_emc_monitor: thin cocotb wrapper of emc_monitor. Not synthesizable (it makes the clock).
//
// The tapped link runs straight through: the Python source drives s_req_*, the Python sink
// (the "memory") takes m_req_* and owns the back-pressure; the monitor only watches the
// handshake between them. The clock is generated here (10 ns period) so that Python sleeps
// between transactions; define SLUGSIM_PY_CLOCK to make clk an input driven from Python instead
// (benchmark only).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_emc_monitor #(
    parameter integer CHANNEL = 6,      // see emc_monitor
    parameter integer DATA_WIDTH = 103,  // see emc_monitor
    parameter integer DIRECTION = 0,    // see emc_monitor
    parameter integer PORT = 0,         // see emc_monitor
    parameter integer TS_WIDTH = 48,    // see emc_monitor
    parameter integer FIFO_DEPTH = 16   // see emc_monitor
) (
`ifdef SLUGSIM_PY_CLOCK
    input  wire                  clk,
`endif
    input  wire                  rst,

    input  wire [DATA_WIDTH-1:0] s_req_data,
    input  wire                  s_req_valid,
    output wire                  s_req_ready,

    output wire [DATA_WIDTH-1:0] m_req_data,
    output wire                  m_req_valid,
    input  wire                  m_req_ready,

    output wire [127:0]          m_rec_data,
    output wire                  m_rec_valid,
    input  wire                  m_rec_ready,

    input  wire                  s_csr_valid,
    output wire                  s_csr_ready,
    input  wire                  s_csr_write,
    input  wire [7:0]            s_csr_addr,
    input  wire [31:0]           s_csr_wdata,

    output wire                  m_csr_valid,
    input  wire                  m_csr_ready,
    output wire [31:0]           m_csr_rdata
);

`ifndef SLUGSIM_PY_CLOCK
reg clk = 1'b0;
/* verilator lint_off BLKSEQ */  // a clock generator, not sequential logic
always #5 clk = ~clk;
/* verilator lint_on BLKSEQ */
`endif

assign m_req_data = s_req_data;
assign m_req_valid = s_req_valid;
assign s_req_ready = m_req_ready;

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
    .tap_valid(s_req_valid),
    .tap_ready(m_req_ready),
    .tap_data(s_req_data),
    .m_rec_data(m_rec_data),
    .m_rec_valid(m_rec_valid),
    .m_rec_ready(m_rec_ready),
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
