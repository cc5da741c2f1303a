// emc_monitor: the External Memory Controller monitor of Slug Architecture.
//
// Sits beside a valid/ready stream at an endpoint's memory interface and records the messages
// that cross it, like PEBS does for a core. The tapped stream is observed only: every tap_*
// port is an input, so the monitor cannot stall or alter the tapped path.
//
// Per handshake (tap_valid && tap_ready) at clock edge t, with CSR values as written at edges
// <= t (the tap is registered once, then decided at edge t+1):
//   1. ignored while CTRL.ENABLE = 0; otherwise SEEN += 1;
//   2. filtered out (FILTERED += 1) unless ADDR_BASE <= line address <= ADDR_LIMIT (64-byte
//      line granularity; channels without an address use address 0) and OPCODE_MASK[opcode];
//   3. sampled 1-in-N: the sampling phase starts at 0; a passing message is recorded when the
//      phase is 0 (phase reloads to SAMPLE_PERIOD-1), else skipped (SKIPPED += 1, phase -= 1);
//      SAMPLE_PERIOD 0 behaves as 1; writing SAMPLE_PERIOD or CTRL.CLEAR zeroes the phase;
//   4. the 128-bit EmcRecord is pushed into the record FIFO at edge t+1 (RECORDED += 1), or,
//      when the FIFO is full, counted as dropped (DROPPED += 1) - never lost silently.
// Hence SEEN = RECORDED + DROPPED + FILTERED + SKIPPED at all times (counters wrap at 2^32).
//
// Record (layout CXL_EMC_RECORD_* from slugsim.cxl.EmcRecord): timestamp = free-running
// TS_WIDTH-bit cycle counter (0 in the cycle after reset, +1 per cycle, wraps) zero-extended to
// 48 bits, sampled at the handshake edge; channel = CHANNEL; opcode, tag and line address from
// the tapped message (zero-extended; 0 when the channel has none); direction = DIRECTION;
// port = PORT.
//
// CSR port: a request stream (s_csr_*: write, byte address, write data) and a response stream
// (m_csr_*: read data, 0 for writes), one response per request, one cycle after it. The map is
// generated from slugsim/emc/csr.py (emc_monitor_csr.vh), the one source of truth:
//   0x00 ID            RO 0x454D4301
//   0x04 INFO          RO [3:0] CHANNEL [4] DIRECTION [15:8] PORT [21:16] TS_WIDTH
//                         [26:22] log2(FIFO_DEPTH)
//   0x08 CTRL          RW [0] ENABLE (reset 0), [1] CLEAR (write 1: counters + phase to 0)
//   0x0C STATUS        RO [15:0] FIFO occupancy [16] FIFO full [17] enabled
//   0x10 ADDR_BASE_LO  RW base[31:6] in [31:6]      0x14 ADDR_BASE_HI  RW base[51:32] in [19:0]
//   0x18 ADDR_LIMIT_LO RW limit[31:6] in [31:6]     0x1C ADDR_LIMIT_HI RW limit[51:32] in [19:0]
//        (window resets to the whole 52-bit space)
//   0x20 OPCODE_MASK   RW bit i passes opcode i (reset all ones)
//   0x24 SAMPLE_PERIOD RW N of 1-in-N sampling (reset 1)
//   0x28 SEEN 0x2C RECORDED 0x30 DROPPED 0x34 FILTERED 0x38 SKIPPED   RO counters
//   0x3C TIME_LO       RO timestamp[31:0]           0x40 TIME_HI       RO timestamp[47:32]
// Unmapped addresses read 0; writes to read-only registers are ignored.
//
// Supported CHANNELs (the message layout of tap_data): M2S_REQ, M2S_RWD, M2S_BIRSP, S2M_NDR,
// S2M_DRS, S2M_BISNP, D2H_REQ, H2D_REQ.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module emc_monitor #(
    parameter integer CHANNEL = 6,        // Channel encoding of the tapped stream (6 = M2S_REQ)
    parameter integer DATA_WIDTH = 103,    // tap_data width: CXL_<CHANNEL>_WIDTH (checked)
    parameter integer DIRECTION = 0,      // stamped into records: 0 ingress, 1 egress
    parameter integer PORT = 0,           // endpoint port number stamped into records, 0..255
    parameter integer TS_WIDTH = 48,      // timestamp counter bits, 1 ... 48
    parameter integer FIFO_DEPTH = 16     // record FIFO entries, a power of two 2 ... 32768
) (
    input  wire                  clk,
    input  wire                  rst,            // synchronous, active high

    // the tapped stream (observed, never driven)
    input  wire                  tap_valid,
    input  wire                  tap_ready,
    input  wire [DATA_WIDTH-1:0] tap_data,       // packed message, layout CXL_<CHANNEL>_*

    // records (CXL_EMC_RECORD_WIDTH = 128 bits)
    output wire [127:0]          m_rec_data,
    output wire                  m_rec_valid,
    input  wire                  m_rec_ready,

    // CSR requests
    input  wire                  s_csr_valid,
    output wire                  s_csr_ready,
    input  wire                  s_csr_write,
    input  wire [7:0]            s_csr_addr,     // byte address (EMC_CSR_ADDR_WIDTH)
    input  wire [31:0]           s_csr_wdata,

    // CSR responses
    output wire                  m_csr_valid,
    input  wire                  m_csr_ready,
    output wire [31:0]           m_csr_rdata
);

`include "cxl_defs.vh"
`include "emc_monitor_csr.vh"

// ---- layout of the tapped message, from the generated header ----------------------------
localparam [3:0] CH = CHANNEL[3:0];
// MSG_WIDTH, OPC_LSB/WIDTH, TAG_LSB/WIDTH, ADDR_LSB/WIDTH of channel CH (generated from the
// message roles in models/slugsim/cxl/messages.py; MSG_WIDTH 0: a channel it cannot record)
`include "cxl_channel_fields.vh"

localparam integer REC_OPC_WIDTH = CXL_EMC_RECORD_OPCODE_WIDTH;    // 5
localparam integer REC_TAG_WIDTH = CXL_EMC_RECORD_TAG_WIDTH;       // 16
localparam integer REC_ADDR_WIDTH = CXL_EMC_RECORD_ADDR_WIDTH;     // 46: line address
localparam integer REC_TS_WIDTH = CXL_EMC_RECORD_TIMESTAMP_WIDTH;  // 48
localparam integer FIFO_COUNT_WIDTH = $clog2(FIFO_DEPTH) + 1;
localparam integer WINDOW_HI_WIDTH = REC_ADDR_WIDTH - 26;          // base/limit bits [51:32]

initial begin
    if (CHANNEL < 0 || CHANNEL > 15 || DIRECTION < 0 || DIRECTION > 1 || PORT < 0 ||
            PORT > 255) begin
        $display("Error: emc_monitor CHANNEL, DIRECTION or PORT out of range (%m)");
        $finish;
    end
    if (MSG_WIDTH == 0) begin
        $display("Error: emc_monitor CHANNEL %0d is not supported (%m)", CHANNEL);
        $finish;
    end
    if (DATA_WIDTH != MSG_WIDTH) begin
        $display("Error: emc_monitor DATA_WIDTH %0d must be %0d for CHANNEL %0d (%m)",
                 DATA_WIDTH, MSG_WIDTH, CHANNEL);
        $finish;
    end
    if (OPC_WIDTH > REC_OPC_WIDTH || TAG_WIDTH > REC_TAG_WIDTH ||
            (ADDR_WIDTH != 0 && ADDR_WIDTH != REC_ADDR_WIDTH)) begin
        $display("Error: emc_monitor tapped fields do not fit the EMC record (%m)");
        $finish;
    end
    if (TS_WIDTH < 1 || TS_WIDTH > REC_TS_WIDTH) begin
        $display("Error: emc_monitor TS_WIDTH must be in 1..%0d (%m)", REC_TS_WIDTH);
        $finish;
    end
    if (FIFO_DEPTH < 2 || FIFO_DEPTH > 32768 || (1 << $clog2(FIFO_DEPTH)) != FIFO_DEPTH) begin
        $display("Error: emc_monitor FIFO_DEPTH must be a power of two in 2..32768 (%m)");
        $finish;
    end
    if (CXL_EMC_RECORD_WIDTH != 128 || EMC_CSR_ADDR_WIDTH != 8 || EMC_CSR_DATA_WIDTH != 32 ||
            EMC_COUNTER_WIDTH != 32 || WINDOW_HI_WIDTH != 20) begin
        $display("Error: emc_monitor port widths disagree with the generated headers (%m)");
        $finish;
    end
end

// ---- stage 0: fields of the tapped message --------------------------------------------
reg [REC_OPC_WIDTH-1:0]  tap_opcode;
reg [REC_TAG_WIDTH-1:0]  tap_tag;
wire [REC_ADDR_WIDTH-1:0] tap_addr;

generate
    if (ADDR_WIDTH != 0) begin : g_addr
        assign tap_addr = tap_data[ADDR_LSB +: REC_ADDR_WIDTH];
    end else begin : g_no_addr
        assign tap_addr = {REC_ADDR_WIDTH{1'b0}};
    end
endgenerate

always @* begin
    tap_opcode = {REC_OPC_WIDTH{1'b0}};
    tap_opcode[OPC_WIDTH-1:0] = tap_data[OPC_LSB +: OPC_WIDTH];
    tap_tag = {REC_TAG_WIDTH{1'b0}};
    tap_tag[TAG_WIDTH-1:0] = tap_data[TAG_LSB +: TAG_WIDTH];
end

// Other message fields (snoop type, metadata, data ...) are not recorded on purpose.
wire unused_tap_data = ^tap_data;

// ---- registers ---------------------------------------------------------------------------
reg [TS_WIDTH-1:0]       ts_reg;                          // free-running timestamp counter

reg                      cap_valid_reg;                   // stage 1: a captured handshake
reg [TS_WIDTH-1:0]       cap_ts_reg;
reg [REC_OPC_WIDTH-1:0]  cap_opcode_reg;
reg [REC_TAG_WIDTH-1:0]  cap_tag_reg;
reg [REC_ADDR_WIDTH-1:0] cap_addr_reg;

reg                      enable_reg, enable_next;
reg [REC_ADDR_WIDTH-1:0] base_reg, base_next;             // window, line addresses
reg [REC_ADDR_WIDTH-1:0] limit_reg, limit_next;
reg [31:0]               opcode_mask_reg, opcode_mask_next;
reg [31:0]               period_reg, period_next;
reg [31:0]               phase_reg, phase_next;

reg [31:0]               seen_reg, seen_next;
reg [31:0]               recorded_reg, recorded_next;
reg [31:0]               dropped_reg, dropped_next;
reg [31:0]               filtered_reg, filtered_next;
reg [31:0]               skipped_reg, skipped_next;

reg                      rsp_valid_reg, rsp_valid_next;
reg [31:0]               rsp_data_reg, rsp_data_next;

// ---- stage 1: decide ----------------------------------------------------------------------
wire [REC_OPC_WIDTH-1:0] opcode_idx = cap_opcode_reg;
wire in_window = cap_addr_reg >= base_reg && cap_addr_reg <= limit_reg;
wire opcode_ok = opcode_mask_reg[opcode_idx];
wire event_valid = cap_valid_reg && enable_reg;
wire passes = in_window && opcode_ok;
wire sample_hit = phase_reg == 32'd0;
wire push = event_valid && passes && sample_hit;

wire                        fifo_s_ready;
wire [FIFO_COUNT_WIDTH-1:0] fifo_count;

reg [127:0] record;
always @* begin
    record = 128'd0;
    record[CXL_EMC_RECORD_TIMESTAMP_LSB +: TS_WIDTH] = cap_ts_reg;
    record[CXL_EMC_RECORD_CHANNEL_LSB +: CXL_EMC_RECORD_CHANNEL_WIDTH] = CH;
    record[CXL_EMC_RECORD_OPCODE_LSB +: REC_OPC_WIDTH] = cap_opcode_reg;
    record[CXL_EMC_RECORD_DIRECTION_LSB +: CXL_EMC_RECORD_DIRECTION_WIDTH] = DIRECTION[0];
    record[CXL_EMC_RECORD_TAG_LSB +: REC_TAG_WIDTH] = cap_tag_reg;
    record[CXL_EMC_RECORD_ADDR_LSB +: REC_ADDR_WIDTH] = cap_addr_reg;
    record[CXL_EMC_RECORD_PORT_LSB +: CXL_EMC_RECORD_PORT_WIDTH] = PORT[7:0];
end

stream_fifo #(
    .DATA_WIDTH(128),
    .DEPTH(FIFO_DEPTH)
) record_fifo (
    .clk(clk),
    .rst(rst),
    .s_data(record),
    .s_valid(push),
    .s_ready(fifo_s_ready),
    .m_data(m_rec_data),
    .m_valid(m_rec_valid),
    .m_ready(m_rec_ready),
    .count(fifo_count)
);

// ---- CSR read mux --------------------------------------------------------------------------
localparam integer FIFO_DEPTH_LOG2 = $clog2(FIFO_DEPTH);

// constant: the parameters, for software and testbenches (an always @* without inputs would
// never run in an event-driven simulator, hence shifts of explicitly sized constants)
localparam [31:0] INFO_VALUE =
    ({28'd0, CH} << EMC_INFO_CHANNEL_LSB) |
    ({31'd0, DIRECTION[0]} << EMC_INFO_DIRECTION_LSB) |
    ({24'd0, PORT[7:0]} << EMC_INFO_PORT_LSB) |
    ({26'd0, TS_WIDTH[5:0]} << EMC_INFO_TS_WIDTH_LSB) |
    ({27'd0, FIFO_DEPTH_LOG2[4:0]} << EMC_INFO_FIFO_DEPTH_LOG2_LSB);

reg [REC_TS_WIDTH-1:0] time_now;
always @* begin
    time_now = {REC_TS_WIDTH{1'b0}};
    time_now[TS_WIDTH-1:0] = ts_reg;
end
wire fifo_full = !fifo_s_ready;

reg [31:0] read_data;
always @* begin
    read_data = 32'd0;
    case (s_csr_addr & 8'hFC)
        EMC_CSR_ID:            read_data = EMC_ID_VALUE;
        EMC_CSR_INFO:          read_data = INFO_VALUE;
        EMC_CSR_CTRL:          read_data[EMC_CTRL_ENABLE_LSB] = enable_reg;
        EMC_CSR_STATUS: begin
            read_data[EMC_STATUS_FIFO_COUNT_LSB +: FIFO_COUNT_WIDTH] = fifo_count;
            read_data[EMC_STATUS_FIFO_FULL_LSB] = fifo_full;
            read_data[EMC_STATUS_ENABLED_LSB] = enable_reg;
        end
        EMC_CSR_ADDR_BASE_LO:  read_data = {base_reg[25:0], 6'd0};
        EMC_CSR_ADDR_BASE_HI:  read_data[WINDOW_HI_WIDTH-1:0] = base_reg[REC_ADDR_WIDTH-1:26];
        EMC_CSR_ADDR_LIMIT_LO: read_data = {limit_reg[25:0], 6'd0};
        EMC_CSR_ADDR_LIMIT_HI: read_data[WINDOW_HI_WIDTH-1:0] = limit_reg[REC_ADDR_WIDTH-1:26];
        EMC_CSR_OPCODE_MASK:   read_data = opcode_mask_reg;
        EMC_CSR_SAMPLE_PERIOD: read_data = period_reg;
        EMC_CSR_SEEN:          read_data = seen_reg;
        EMC_CSR_RECORDED:      read_data = recorded_reg;
        EMC_CSR_DROPPED:       read_data = dropped_reg;
        EMC_CSR_FILTERED:      read_data = filtered_reg;
        EMC_CSR_SKIPPED:       read_data = skipped_reg;
        EMC_CSR_TIME_LO:       read_data = time_now[31:0];
        EMC_CSR_TIME_HI:       read_data[REC_TS_WIDTH-33:0] = time_now[REC_TS_WIDTH-1:32];
        default:               read_data = 32'd0;
    endcase
end

// ---- next state ------------------------------------------------------------------------------
assign s_csr_ready = !rsp_valid_reg || m_csr_ready;
assign m_csr_valid = rsp_valid_reg;
assign m_csr_rdata = rsp_data_reg;

wire csr_fire = s_csr_valid && s_csr_ready;
wire csr_wr = csr_fire && s_csr_write;
wire [7:0] csr_word = s_csr_addr & 8'hFC;
wire clear = csr_wr && csr_word == EMC_CSR_CTRL && s_csr_wdata[EMC_CTRL_CLEAR_LSB];

always @* begin
    enable_next = enable_reg;
    base_next = base_reg;
    limit_next = limit_reg;
    opcode_mask_next = opcode_mask_reg;
    period_next = period_reg;
    phase_next = phase_reg;
    seen_next = seen_reg;
    recorded_next = recorded_reg;
    dropped_next = dropped_reg;
    filtered_next = filtered_reg;
    skipped_next = skipped_reg;
    rsp_valid_next = rsp_valid_reg;
    rsp_data_next = rsp_data_reg;

    // the decision for the handshake captured at the previous edge
    if (event_valid) begin
        seen_next = seen_reg + 32'd1;
        if (!passes) begin
            filtered_next = filtered_reg + 32'd1;
        end else if (!sample_hit) begin
            skipped_next = skipped_reg + 32'd1;
            phase_next = phase_reg - 32'd1;
        end else begin
            phase_next = (period_reg == 32'd0) ? 32'd0 : period_reg - 32'd1;
            if (fifo_s_ready) begin
                recorded_next = recorded_reg + 32'd1;
            end else begin
                dropped_next = dropped_reg + 32'd1;
            end
        end
    end

    // CSR accesses: a write accepted at this edge wins over the decision above
    if (m_csr_ready) begin
        rsp_valid_next = 1'b0;
    end
    if (csr_fire) begin
        rsp_valid_next = 1'b1;
        rsp_data_next = s_csr_write ? 32'd0 : read_data;
    end
    if (csr_wr) begin
        case (csr_word)
            EMC_CSR_CTRL:          enable_next = s_csr_wdata[EMC_CTRL_ENABLE_LSB];
            EMC_CSR_ADDR_BASE_LO:  base_next[25:0] = s_csr_wdata[31:6];
            EMC_CSR_ADDR_BASE_HI:  base_next[REC_ADDR_WIDTH-1:26] = s_csr_wdata[19:0];
            EMC_CSR_ADDR_LIMIT_LO: limit_next[25:0] = s_csr_wdata[31:6];
            EMC_CSR_ADDR_LIMIT_HI: limit_next[REC_ADDR_WIDTH-1:26] = s_csr_wdata[19:0];
            EMC_CSR_OPCODE_MASK:   opcode_mask_next = s_csr_wdata;
            EMC_CSR_SAMPLE_PERIOD: begin
                period_next = s_csr_wdata;
                phase_next = 32'd0;
            end
            default: ;
        endcase
    end
    if (clear) begin
        phase_next = 32'd0;
        seen_next = 32'd0;
        recorded_next = 32'd0;
        dropped_next = 32'd0;
        filtered_next = 32'd0;
        skipped_next = 32'd0;
    end
end

always @(posedge clk) begin
    ts_reg <= ts_reg + {{(TS_WIDTH - 1){1'b0}}, 1'b1};

    cap_valid_reg <= tap_valid && tap_ready;
    cap_ts_reg <= ts_reg;
    cap_opcode_reg <= tap_opcode;
    cap_tag_reg <= tap_tag;
    cap_addr_reg <= tap_addr;

    enable_reg <= enable_next;
    base_reg <= base_next;
    limit_reg <= limit_next;
    opcode_mask_reg <= opcode_mask_next;
    period_reg <= period_next;
    phase_reg <= phase_next;
    seen_reg <= seen_next;
    recorded_reg <= recorded_next;
    dropped_reg <= dropped_next;
    filtered_reg <= filtered_next;
    skipped_reg <= skipped_next;
    rsp_valid_reg <= rsp_valid_next;
    rsp_data_reg <= rsp_data_next;

    if (rst) begin
        ts_reg <= {TS_WIDTH{1'b0}};
        cap_valid_reg <= 1'b0;
        enable_reg <= 1'b0;
        base_reg <= {REC_ADDR_WIDTH{1'b0}};
        limit_reg <= {REC_ADDR_WIDTH{1'b1}};
        opcode_mask_reg <= 32'hFFFF_FFFF;
        period_reg <= 32'd1;
        phase_reg <= 32'd0;
        seen_reg <= 32'd0;
        recorded_reg <= 32'd0;
        dropped_reg <= 32'd0;
        filtered_reg <= 32'd0;
        skipped_reg <= 32'd0;
        rsp_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
`default_nettype wire
