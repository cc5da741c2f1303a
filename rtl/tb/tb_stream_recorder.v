// tb_stream_recorder: testbench helper that records every handshake of a valid/ready stream
// with the cycle it happened at, and hands them to Python a batch at a time, so that Python
// wakes once per batch instead of once per beat. Not meant for synthesis, but lint-clean.
//
// Observing: every edge with tap_valid && tap_ready appends {time_now, tap_data} to the batch
// being filled, in one of two buffers used in turn (buf0_reg first after reset; entry i in
// [i*ENTRY_WIDTH +: ENTRY_WIDTH], the time in its upper TIME_WIDTH bits). A batch closes one
// edge after its DEPTH-th entry, or at the edge after Python toggles flush (then possibly short
// or empty): batch_count takes its size, batch_seq increments (Python sleeps on it) and the
// next beats go to the other buffer. Python reads the closed buffer directly through VPI (one
// read; the buffers are not ports on purpose: Verilator copies a wide port on every
// evaluation; they are marked public_flat_rd for Verilator builds without cocotb's global
// --public-flat-rw); it holds still until the other buffer closes in turn, at least one cycle later
// (DEPTH cycles when the batch was full).
//
// Back-pressure (sink mode): bp_ready is a pattern a wrapper may use as the stream's ready: a
// 32-bit LFSR, loaded from bp_seed at reset and stepped every cycle, and bp_ready = 1 when its
// low byte is >= bp_thresh (bp_thresh 0: always ready, N: pause about N/256 of the cycles).
// In monitor mode the wrapper leaves bp_ready unconnected and taps someone else's ready.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_stream_recorder #(
    parameter integer DATA_WIDTH = 8,    // beat width
    parameter integer DEPTH = 16,        // entries per batch
    parameter integer TIME_WIDTH = 32    // width of the cycle stamp of each entry
) (
    input  wire                          clk,
    input  wire                          rst,          // synchronous, active high
    input  wire [TIME_WIDTH-1:0]         time_now,     // cycle number of the coming edge

    input  wire                          tap_valid,
    input  wire                          tap_ready,
    input  wire [DATA_WIDTH-1:0]         tap_data,

    input  wire [31:0]                   bp_seed,
    input  wire [7:0]                    bp_thresh,
    output wire                          bp_ready,

    input  wire                          flush,        // toggle: close the batch
    output wire [COUNT_WIDTH-1:0]        batch_count,
    output wire [15:0]                   batch_seq     // batches closed, wraps
);

localparam integer ENTRY_WIDTH = TIME_WIDTH + DATA_WIDTH;
localparam integer COUNT_WIDTH = $clog2(DEPTH + 1);
localparam integer INDEX_WIDTH = $clog2(DEPTH) > 0 ? $clog2(DEPTH) : 1;

initial begin
    if (DATA_WIDTH < 1 || DEPTH < 1 || TIME_WIDTH < 1) begin
        $display("Error: tb_stream_recorder DATA_WIDTH, DEPTH and TIME_WIDTH must be >= 1 (%m)");
        $finish;
    end
end

// the two buffers, read by the testbench through VPI only
/* verilator lint_off UNUSED */
reg [DEPTH*ENTRY_WIDTH-1:0] buf0_reg /* verilator public_flat_rd */;
reg [DEPTH*ENTRY_WIDTH-1:0] buf1_reg /* verilator public_flat_rd */;
/* verilator lint_on UNUSED */
reg                         buf_reg;                      // the buffer being filled
reg [COUNT_WIDTH-1:0]       count_reg;
reg                         flush_seen_reg;               // flush at the last edge
reg [COUNT_WIDTH-1:0]       batch_count_reg;
reg [15:0]                  batch_seq_reg;
reg [31:0]                  lfsr_reg;

wire fire = tap_valid && tap_ready;
wire close = count_reg == DEPTH[COUNT_WIDTH-1:0] || flush != flush_seen_reg;
wire [INDEX_WIDTH-1:0] index = close ? {INDEX_WIDTH{1'b0}} : count_reg[INDEX_WIDTH-1:0];

assign bp_ready = lfsr_reg[7:0] >= bp_thresh;
assign batch_count = batch_count_reg;
assign batch_seq = batch_seq_reg;

always @(posedge clk) begin
    // Galois LFSR, x^32 + x^22 + x^2 + x + 1
    lfsr_reg <= {1'b0, lfsr_reg[31:1]} ^ (lfsr_reg[0] ? 32'h8020_0003 : 32'd0);
    flush_seen_reg <= flush;

    if (fire) begin
        if (buf_reg ^ close) begin
            buf1_reg[index*ENTRY_WIDTH +: ENTRY_WIDTH] <= {time_now, tap_data};
        end else begin
            buf0_reg[index*ENTRY_WIDTH +: ENTRY_WIDTH] <= {time_now, tap_data};
        end
    end
    if (close) begin
        buf_reg <= !buf_reg;
        batch_count_reg <= count_reg;
        batch_seq_reg <= batch_seq_reg + 16'd1;
        count_reg <= fire ? {{(COUNT_WIDTH - 1){1'b0}}, 1'b1} : {COUNT_WIDTH{1'b0}};
    end else if (fire) begin
        count_reg <= count_reg + {{(COUNT_WIDTH - 1){1'b0}}, 1'b1};
    end

    if (rst) begin
        lfsr_reg <= bp_seed == 32'd0 ? 32'd1 : bp_seed;
        count_reg <= {COUNT_WIDTH{1'b0}};
        buf_reg <= 1'b0;
        batch_count_reg <= {COUNT_WIDTH{1'b0}};
        batch_seq_reg <= 16'd0;
    end
end

endmodule

`resetall
`default_nettype wire
