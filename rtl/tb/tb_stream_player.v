// tb_stream_player: testbench helper that plays batches of beats loaded by Python onto a
// valid/ready stream, so that Python wakes once per batch instead of once per beat. Not meant
// for synthesis (the cocotb side writes the wide bank registers through VPI), but lint-clean.
//
// Loading: two banks, bank0_* and bank1_*, used in turn (bank 0 first after reset). Python
// writes the free bank's wide registers directly through VPI (hierarchical access, one write
// each): bank<b>_data_reg (beat i in [i*DATA_WIDTH +: DATA_WIDTH]) and bank<b>_gap_reg (idle
// cycles before beat i in [i*GAP_WIDTH +: GAP_WIDTH]); then it drives load_count (1..DEPTH)
// and toggles load_go, and the next rising edge hands the bank to the player. The bank
// registers are not ports on purpose: a wide port is copied on every evaluation by Verilator,
// which would cost more than the whole design (they are marked public_flat_rw for Verilator
// builds without cocotb's global --public-flat-rw). One bank plays while Python fills the other;
// load_free is the number of free banks; load_done counts the banks played out (it wraps), so
// Python sleeps on one value change of load_done per batch. Toggle load_go at most once per
// cycle, and only when a bank is free.
//
// Playing: before each beat the stream idles (m_valid = 0) for that beat's gap cycles, then
// holds m_valid with the beat until m_ready; beats of the next bank follow without a bubble
// when it was loaded in time. All outputs are registered.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_stream_player #(
    parameter integer DATA_WIDTH = 8,   // beat width
    parameter integer DEPTH = 16,       // beats per batch (per bank)
    parameter integer GAP_WIDTH = 16    // idle-cycle count width per beat
) (
    input  wire                        clk,
    input  wire                        rst,           // synchronous, active high

    input  wire [COUNT_WIDTH-1:0]      load_count,
    input  wire                        load_go,       // toggle: take the batch
    output wire [1:0]                  load_free,     // free banks, 0..2
    output wire [7:0]                  load_done,     // banks played out, wraps

    output wire [DATA_WIDTH-1:0]       m_data,
    output wire                        m_valid,
    input  wire                        m_ready
);

localparam integer COUNT_WIDTH = $clog2(DEPTH + 1);
localparam integer INDEX_WIDTH = $clog2(DEPTH) > 0 ? $clog2(DEPTH) : 1;

localparam [1:0] STATE_IDLE = 2'd0;   // no beat: waiting for a loaded bank
localparam [1:0] STATE_GAP = 2'd1;    // idling before the beat at index_reg
localparam [1:0] STATE_BEAT = 2'd2;   // m_valid high with the beat at index_reg

initial begin
    if (DATA_WIDTH < 1 || DEPTH < 1 || GAP_WIDTH < 1) begin
        $display("Error: tb_stream_player DATA_WIDTH, DEPTH and GAP_WIDTH must be >= 1 (%m)");
        $finish;
    end
end

// the two banks, written by the testbench through VPI only
/* verilator lint_off UNDRIVEN */
reg [DEPTH*DATA_WIDTH-1:0] bank0_data_reg /* verilator public_flat_rw */;
reg [DEPTH*DATA_WIDTH-1:0] bank1_data_reg /* verilator public_flat_rw */;
reg [DEPTH*GAP_WIDTH-1:0]  bank0_gap_reg /* verilator public_flat_rw */;
reg [DEPTH*GAP_WIDTH-1:0]  bank1_gap_reg /* verilator public_flat_rw */;
/* verilator lint_on UNDRIVEN */
reg [COUNT_WIDTH-1:0]      bank0_count_reg, bank1_count_reg;

reg [1:0]             full_reg, full_next;
reg                   wr_bank_reg, wr_bank_next;      // the bank the next load goes to
reg                   rd_bank_reg, rd_bank_next;      // the bank playing
reg                   go_seen_reg;                    // load_go at the last edge
reg [1:0]             state_reg, state_next;
reg [INDEX_WIDTH-1:0] index_reg, index_next;
reg [GAP_WIDTH-1:0]   gap_reg, gap_next;              // idle cycles left, STATE_GAP
reg [7:0]             done_reg, done_next;
reg                   valid_reg, valid_next;
reg [DATA_WIDTH-1:0]  data_reg, data_next;

wire load_take = load_go != go_seen_reg;
wire [COUNT_WIDTH-1:0] rd_count = rd_bank_reg ? bank1_count_reg : bank0_count_reg;

assign load_free = {1'b0, !full_reg[0]} + {1'b0, !full_reg[1]};
assign load_done = done_reg;
assign m_valid = valid_reg;
assign m_data = data_reg;

// the beat to present next, when `advance`: bank start_bank, index start_index
reg                   advance;
reg                   start_bank;
reg [INDEX_WIDTH-1:0] start_index;
reg [GAP_WIDTH-1:0]   start_gap;

always @* begin
    full_next = full_reg;
    wr_bank_next = wr_bank_reg;
    rd_bank_next = rd_bank_reg;
    state_next = state_reg;
    index_next = index_reg;
    gap_next = gap_reg;
    done_next = done_reg;
    valid_next = valid_reg;
    data_next = data_reg;
    advance = 1'b0;
    start_bank = rd_bank_reg;
    start_index = {INDEX_WIDTH{1'b0}};

    case (state_reg)
        STATE_IDLE: begin
            if (full_reg[rd_bank_reg]) begin
                advance = 1'b1;
            end
        end
        STATE_GAP: begin
            if (gap_reg == {{(GAP_WIDTH - 1){1'b0}}, 1'b1}) begin
                valid_next = 1'b1;
                data_next = rd_bank_reg ? bank1_data_reg[index_reg*DATA_WIDTH +: DATA_WIDTH]
                                        : bank0_data_reg[index_reg*DATA_WIDTH +: DATA_WIDTH];
                state_next = STATE_BEAT;
            end
            gap_next = gap_reg - {{(GAP_WIDTH - 1){1'b0}}, 1'b1};
        end
        STATE_BEAT: begin
            if (m_ready) begin
                valid_next = 1'b0;
                state_next = STATE_IDLE;
                if ({1'b0, index_reg} + 1 < {1'b0, rd_count}) begin
                    advance = 1'b1;
                    start_index = index_reg + {{(INDEX_WIDTH - 1){1'b0}}, 1'b1};
                end else begin
                    // bank played out: free it, go on with the other one if it is loaded
                    full_next[rd_bank_reg] = 1'b0;
                    done_next = done_reg + 8'd1;
                    rd_bank_next = !rd_bank_reg;
                    start_bank = !rd_bank_reg;
                    advance = full_reg[!rd_bank_reg];
                end
            end
        end
        default: state_next = STATE_IDLE;
    endcase

    start_gap = start_bank ? bank1_gap_reg[start_index*GAP_WIDTH +: GAP_WIDTH]
                           : bank0_gap_reg[start_index*GAP_WIDTH +: GAP_WIDTH];
    if (advance) begin
        index_next = start_index;
        if (start_gap == {GAP_WIDTH{1'b0}}) begin
            valid_next = 1'b1;
            data_next = start_bank ? bank1_data_reg[start_index*DATA_WIDTH +: DATA_WIDTH]
                                   : bank0_data_reg[start_index*DATA_WIDTH +: DATA_WIDTH];
            state_next = STATE_BEAT;
        end else begin
            valid_next = 1'b0;
            gap_next = start_gap;
            state_next = STATE_GAP;
        end
    end

    if (load_take) begin
        full_next[wr_bank_reg] = 1'b1;
        wr_bank_next = !wr_bank_reg;
    end
end

always @(posedge clk) begin
    if (load_take) begin
        if (wr_bank_reg) begin
            bank1_count_reg <= load_count;
        end else begin
            bank0_count_reg <= load_count;
        end
        if (full_reg[wr_bank_reg]) begin
            $display("Error: tb_stream_player loaded while no bank was free (%m)");
        end
    end
    go_seen_reg <= load_go;

    full_reg <= full_next;
    wr_bank_reg <= wr_bank_next;
    rd_bank_reg <= rd_bank_next;
    state_reg <= state_next;
    index_reg <= index_next;
    gap_reg <= gap_next;
    done_reg <= done_next;
    valid_reg <= valid_next;
    data_reg <= data_next;

    if (rst) begin
        full_reg <= 2'b00;
        wr_bank_reg <= 1'b0;
        rd_bank_reg <= 1'b0;
        state_reg <= STATE_IDLE;
        done_reg <= 8'd0;
        valid_reg <= 1'b0;
    end
end

endmodule

`resetall
`default_nettype wire
