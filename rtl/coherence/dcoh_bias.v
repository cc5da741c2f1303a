// dcoh_bias: the DCOH's bias and back-invalidation datapath, twin of
// slugsim.coherence.dcoh_bias.DcohBias (see its docstring and docs/coherence_rtl.md).
//
// Inputs (valid/ready streams): s_dev (device access: id, line, write, want 0 CUR 1 SHARED
// 2 OWN), s_m2s (host M2S Req: opcode, line, tag, meta_value), s_rwd (M2S RwD: opcode, line,
// tag, meta_value), s_birsp (BIRsp: opcode I/S/E, bitag), s_flip (page, to_device), s_flip_cpl
// (the MemRdFwd completing one RdOwnNoData: line), s_cmp (opcode, tag: an S2M NDR Cmp* from the
// device memory pipeline). Outputs: m_dev_rsp (id, local, snooped), m_bisnp (opcode
// Cur/Data/Inv, bitag, line), m_m2s_go and m_rwd_go (opcode, line, tag: released to the device
// memory pipeline), m_rdownnodata (line), m_ndr (opcode, tag: the S2M NDR channel, Cmp* and
// BIConflictAck in acceptance order), and a CSR port of event counters.
//
// BIConflict (S4 §3.5.1.3, CXL_REFERENCE.md §3.2): an RwD BIConflict is not written; it is
// answered on m_ndr with BIConflictAck and its Tag, behind every Cmp accepted before it (early
// conflict: the host's Req is still blocked here, so its Cmp follows the Ack; late: its Cmp went
// first). CONFLICTS counts those whose line has a BISnp pending, CONFLICTS_STRAY the others.
//
// Device SF states (SF_ISA): I/A, or I/S/A with one state bit per entry (1 = S: the host holds
// at most S). I/S/A, one host (as the HDM-DB protocol model dcoh_db.py): a grant allocates A,
// except a shared ask (MetaValue S, MemRdData) to an S line, which stays S; BIRspS to a device
// snoop makes the line S; a device read of an S line needs no BISnp, a write sends BISnpInv.
//
// One event FSM: IDLE takes at most one input (priority BIRsp, replay, flip completion, Cmp,
// RwD, Req, device access, flip), and only when everything the event may produce has room, so EXEC
// never waits: IDLE -> EXEC (-> ALLOC for a victim's BIRsp) -> IDLE, two or three cycles per
// event. Blocking rule (CXL_REFERENCE.md §3.2): with REPLAY_DEPTH = 0, s_m2s_ready is low while
// the offered Req's line has a BISnp pending (a BI tracker holds it) or an earlier Req waits for
// its victim's BIRsp (head-of-line: later Reqs wait too, as the protocol model dcoh_db.py
// stalls its Req channel). With REPLAY_DEPTH > 0 such a Req (or one to a line with a parked
// Req) is accepted into a replay queue instead and later Reqs to other lines pass it; the queue
// head replays, as a Req event with priority after BIRsp, once its line is no longer pending. A
// full queue, or a Req waiting for its victim, blocks the input again. s_dev_ready waits for the
// device access's line likewise. RwD and BIRsp need only their own output register: a stalled
// m_bisnp never blocks them.
// A host->device flip's RdOwnNoData go out from a separate counter, one line per cycle.
//
// Bias table: one flop per page (reset: host bias); bias cache: dcoh_tag_array of page tags
// (presence only, hits/misses counted). BIAS_IN_MEMORY = 1 (CXL_REFERENCE.md §3.1: the table in
// stolen device memory, cached in a bias cache): the cache holds the bias bit; a miss sends
// m_bias_rd (page) and waits (state BWAIT, nothing else is taken) for s_bias_data (bias), then
// allocates it; every bias change is written through on m_bias_wr (page, bias) and marked in the
// cache. A read or write is issued only when no earlier write waits on m_bias_wr, so memory sees
// them in order. The on-chip flops then go unused. Device SF: dcoh_tag_array of line tags.
//
// DCOH_PLANT_BUG (a define for the testbench's proof that its scoreboard has teeth):
// 1 = s_m2s_ready ignores pending BISnps (a Req released while a BISnp to its line is pending);
// 2 = a host->device flip turns the page to device bias one completion early;
// 3 = a BIConflict does not wait for a Cmp stalled on m_ndr (the Ack overwrites it);
// 4 = I/S/A: a device write to an S line skips its BISnpInv;
// 5 = the replay queue serves its head while the head's line still has a BISnp pending;
// 6 = BIAS_IN_MEMORY: a flip writes memory but leaves a cached copy of the bias stale.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module dcoh_bias #(
    parameter integer ADDR_WIDTH = 10,      // line address bits, up to 16
    parameter integer PAGE_LINES_LOG2 = 2,  // lines per bias page, log2 (0 ... 6)
    parameter integer BIAS_SETS = 2,        // bias cache sets, a power of two
    parameter integer BIAS_WAYS = 2,        // bias cache ways, a power of two
    parameter integer SF_SETS = 2,          // device snoop filter sets, a power of two
    parameter integer SF_WAYS = 2,          // device snoop filter ways, a power of two
    parameter integer BI_TRACKERS = 4,      // outstanding BISnps, 1 ... 16
    parameter integer ID_WIDTH = 4,         // device access id bits
    parameter integer TAG_WIDTH = 16,       // M2S tag bits
    parameter integer SF_ISA = 0,           // device SF states: 0 = I/A, 1 = I/S/A
    parameter integer REPLAY_DEPTH = 0,     // parked Reqs (0 = head-of-line blocking), 0 ... 8
    parameter integer BIAS_IN_MEMORY = 0    // 1: the bias table lives in device memory
) (
    input  wire                  clk,
    input  wire                  rst,

    input  wire                  s_dev_valid,
    output wire                  s_dev_ready,
    input  wire [ID_WIDTH-1:0]   s_dev_id,
    input  wire [ADDR_WIDTH-1:0] s_dev_line,
    input  wire                  s_dev_write,
    input  wire [1:0]            s_dev_want,

    output wire                  m_dev_rsp_valid,
    input  wire                  m_dev_rsp_ready,
    output wire [ID_WIDTH-1:0]   m_dev_rsp_id,
    output wire                  m_dev_rsp_local,
    output wire                  m_dev_rsp_snooped,

    input  wire                  s_m2s_valid,
    output wire                  s_m2s_ready,
    input  wire [3:0]            s_m2s_opcode,
    input  wire [ADDR_WIDTH-1:0] s_m2s_line,
    input  wire [TAG_WIDTH-1:0]  s_m2s_tag,
    input  wire [1:0]            s_m2s_meta_value,

    output wire                  m_m2s_go_valid,
    input  wire                  m_m2s_go_ready,
    output wire [3:0]            m_m2s_go_opcode,
    output wire [ADDR_WIDTH-1:0] m_m2s_go_line,
    output wire [TAG_WIDTH-1:0]  m_m2s_go_tag,

    input  wire                  s_rwd_valid,
    output wire                  s_rwd_ready,
    input  wire [3:0]            s_rwd_opcode,
    input  wire [ADDR_WIDTH-1:0] s_rwd_line,
    input  wire [TAG_WIDTH-1:0]  s_rwd_tag,
    input  wire [1:0]            s_rwd_meta_value,

    output wire                  m_rwd_go_valid,
    input  wire                  m_rwd_go_ready,
    output wire [3:0]            m_rwd_go_opcode,
    output wire [ADDR_WIDTH-1:0] m_rwd_go_line,
    output wire [TAG_WIDTH-1:0]  m_rwd_go_tag,

    output wire                  m_bisnp_valid,
    input  wire                  m_bisnp_ready,
    output wire [3:0]            m_bisnp_opcode,
    output wire [11:0]           m_bisnp_bitag,
    output wire [ADDR_WIDTH-1:0] m_bisnp_line,

    output wire                                  m_bias_rd_valid,
    input  wire                                  m_bias_rd_ready,
    output wire [ADDR_WIDTH-PAGE_LINES_LOG2-1:0] m_bias_rd_page,

    input  wire                  s_bias_data_valid,
    output wire                  s_bias_data_ready,
    input  wire                  s_bias_data_bias,

    output wire                                  m_bias_wr_valid,
    input  wire                                  m_bias_wr_ready,
    output wire [ADDR_WIDTH-PAGE_LINES_LOG2-1:0] m_bias_wr_page,
    output wire                                  m_bias_wr_bias,

    input  wire                  s_cmp_valid,
    output wire                  s_cmp_ready,
    input  wire [2:0]            s_cmp_opcode,
    input  wire [TAG_WIDTH-1:0]  s_cmp_tag,

    output wire                  m_ndr_valid,
    input  wire                  m_ndr_ready,
    output wire [2:0]            m_ndr_opcode,
    output wire [TAG_WIDTH-1:0]  m_ndr_tag,

    input  wire                  s_birsp_valid,
    output wire                  s_birsp_ready,
    input  wire [3:0]            s_birsp_opcode,
    input  wire [11:0]           s_birsp_bitag,

    input  wire                                  s_flip_valid,
    output wire                                  s_flip_ready,
    input  wire [ADDR_WIDTH-PAGE_LINES_LOG2-1:0] s_flip_page,
    input  wire                                  s_flip_to_device,

    output wire                  m_rdownnodata_valid,
    input  wire                  m_rdownnodata_ready,
    output wire [ADDR_WIDTH-1:0] m_rdownnodata_line,

    input  wire                  s_flip_cpl_valid,
    output wire                  s_flip_cpl_ready,
    input  wire [ADDR_WIDTH-1:0] s_flip_cpl_line,

    input  wire                  s_csr_valid,
    output wire                  s_csr_ready,
    input  wire                  s_csr_write,
    input  wire [7:0]            s_csr_addr,
    input  wire [31:0]           s_csr_wdata,

    output wire                  m_csr_valid,
    input  wire                  m_csr_ready,
    output wire [31:0]           m_csr_rdata
);

`include "dcoh_bias_csr.vh"

`ifdef DCOH_PLANT_BUG
localparam integer PLANT_BUG = `DCOH_PLANT_BUG;
`else
localparam integer PLANT_BUG = 0;
`endif

localparam integer PAGE_WIDTH = ADDR_WIDTH - PAGE_LINES_LOG2;
localparam integer PAGES = 1 << PAGE_WIDTH;
localparam integer PAGE_LINES = 1 << PAGE_LINES_LOG2;
localparam integer TRACKER_BITS = (BI_TRACKERS > 1) ? $clog2(BI_TRACKERS) : 1;
localparam integer COUNT_BITS = PAGE_LINES_LOG2 + 1;
localparam integer PARK_SLOTS = (REPLAY_DEPTH > 0) ? REPLAY_DEPTH : 1;
localparam [3:0] PARK_DEPTH = REPLAY_DEPTH[3:0];
localparam [3:0] PARK_ONE = 4'd1;
localparam [COUNT_BITS-1:0] ONE = 1;
localparam integer FLIP_CPLS_INT = (PLANT_BUG == 2) ? PAGE_LINES - 1 : PAGE_LINES;
localparam [COUNT_BITS-1:0] FLIP_CPLS = FLIP_CPLS_INT[COUNT_BITS-1:0];
localparam [COUNT_BITS-1:0] FLIP_LINES = PAGE_LINES[COUNT_BITS-1:0];

localparam [2:0] EV_BIRSP = 3'd0;
localparam [2:0] EV_CPL = 3'd1;
localparam [2:0] EV_RWD = 3'd2;
localparam [2:0] EV_M2S = 3'd3;
localparam [2:0] EV_DEV = 3'd4;
localparam [2:0] EV_FLIP = 3'd5;
localparam [2:0] EV_CMP = 3'd6;
localparam [2:0] EV_PARK = 3'd7;
localparam [2:0] NDR_BI_CONFLICT_ACK = 3'b100;  // S4 Tbl 3-50 (CXL_REFERENCE.md §2.2)

localparam [1:0] STATE_IDLE = 2'd0;
localparam [1:0] STATE_EXEC = 2'd1;
localparam [1:0] STATE_ALLOC = 2'd2;
localparam [1:0] STATE_BWAIT = 2'd3;  // a bias-cache miss waits for the table's word

localparam [3:0] REQ_MEM_INV = 4'b0000;
localparam [3:0] REQ_MEM_RD = 4'b0001;
localparam [3:0] REQ_MEM_RD_DATA = 4'b0010;
localparam [3:0] REQ_MEM_CLN_EVCT = 4'b1010;
localparam [3:0] RWD_BI_CONFLICT = 4'b0100;
localparam [1:0] META_I = 2'b00;
localparam [1:0] META_A = 2'b10;
localparam [1:0] META_S = 2'b11;
localparam [3:0] BISNP_CUR = 4'b0000;
localparam [3:0] BISNP_DATA = 4'b0001;
localparam [3:0] BISNP_INV = 4'b0010;
localparam [3:0] BIRSP_I = 4'b0000;
localparam [3:0] BIRSP_S = 4'b0001;
localparam [1:0] WANT_SHARED = 2'd1;
localparam [1:0] WANT_OWN = 2'd2;

initial begin
    if (ADDR_WIDTH > 16 || PAGE_LINES_LOG2 < 0 || PAGE_LINES_LOG2 > 6 || PAGE_WIDTH < 1) begin
        $display("Error: dcoh_bias needs ADDR_WIDTH <= 16, PAGE_LINES_LOG2 in 0..6 (%m)");
        $finish;
    end
    if (BI_TRACKERS < 1 || BI_TRACKERS > 16) begin
        $display("Error: dcoh_bias BI_TRACKERS must be in 1..16 (%m)");
        $finish;
    end
    if (ID_WIDTH < 1 || ID_WIDTH > 16 || TAG_WIDTH < 1 || TAG_WIDTH > 16) begin
        $display("Error: dcoh_bias ID_WIDTH and TAG_WIDTH must be in 1..16 (%m)");
        $finish;
    end
    if (BIAS_IN_MEMORY < 0 || BIAS_IN_MEMORY > 1) begin
        $display("Error: dcoh_bias BIAS_IN_MEMORY must be 0 or 1 (%m)");
        $finish;
    end
    if (REPLAY_DEPTH < 0 || REPLAY_DEPTH > 8) begin
        $display("Error: dcoh_bias REPLAY_DEPTH must be in 0..8 (%m)");
        $finish;
    end
    if (SF_ISA < 0 || SF_ISA > 1) begin
        $display("Error: dcoh_bias SF_ISA must be 0 (I/A) or 1 (I/S/A) (%m)");
        $finish;
    end
    if (PLANT_BUG < 0 || PLANT_BUG > 6) begin
        $display("Error: dcoh_bias DCOH_PLANT_BUG must be 1 ... 6 (%m)");
        $finish;
    end
end

// ---- state --------------------------------------------------------------------------------
reg [1:0]            state_reg, state_next;
reg [2:0]            ev_kind_reg;
reg [ADDR_WIDTH-1:0] ev_line_reg;
reg [3:0]            ev_opcode_reg;   // Req/RwD/BIRsp opcode
reg [TAG_WIDTH-1:0]  ev_tag_reg;
reg [1:0]            ev_meta_reg;
reg [ID_WIDTH-1:0]   ev_id_reg;
reg                  ev_write_reg;
reg [1:0]            ev_want_reg;
reg [TRACKER_BITS-1:0] ev_bitag_reg;
reg                  ev_to_device_reg;

reg [PAGES-1:0]      bias_reg, bias_next;  // 1 = device bias

reg [BI_TRACKERS-1:0]            trk_valid_reg, trk_valid_next;
reg [BI_TRACKERS-1:0]            trk_victim_reg;
reg [BI_TRACKERS*ADDR_WIDTH-1:0] trk_line_reg;
reg [BI_TRACKERS*ID_WIDTH-1:0]   trk_id_reg;

reg                  wait_valid_reg, wait_valid_next;  // a Req waiting for its victim's BIRsp
reg [3:0]            wait_opcode_reg;
reg [ADDR_WIDTH-1:0] wait_line_reg;
reg [TAG_WIDTH-1:0]  wait_tag_reg;

// the replay queue (REPLAY_DEPTH > 0): Reqs to a pending line (or behind a parked Req to the
// same line) wait here, in order, instead of at the s_m2s input; slot 0 is the head
reg [3:0]                     park_count_reg;
reg [PARK_SLOTS*4-1:0]          park_opcode_reg;
reg [PARK_SLOTS*ADDR_WIDTH-1:0] park_line_reg;
reg [PARK_SLOTS*TAG_WIDTH-1:0]  park_tag_reg;
reg [PARK_SLOTS*2-1:0]          park_meta_reg;

// bias table in device memory (BIAS_IN_MEMORY): one read per bias-cache miss, one write per
// bias change; the bias cache then holds the bias bit (its state bit)
reg                  bias_rd_valid_reg, bias_rd_valid_next;
reg [PAGE_WIDTH-1:0] bias_rd_page_reg, bias_rd_page_next;
reg                  bias_wr_valid_reg, bias_wr_valid_next;
reg [PAGE_WIDTH-1:0] bias_wr_page_reg, bias_wr_page_next;
reg                  bias_wr_bias_reg, bias_wr_bias_next;
reg                  loaded_reg, loaded_next;  // this device access's bias word has come
reg                  loaded_bias_reg, loaded_bias_next;

reg                  flip_active_reg, flip_active_next;
reg [PAGE_WIDTH-1:0] flip_page_reg;
reg [COUNT_BITS-1:0] flip_issued_reg, flip_issued_next;
reg [COUNT_BITS-1:0] flip_cpls_reg, flip_cpls_next;

// output registers
reg                  dev_rsp_valid_reg, dev_rsp_valid_next;
reg [ID_WIDTH-1:0]   dev_rsp_id_reg, dev_rsp_id_next;
reg                  dev_rsp_local_reg, dev_rsp_local_next;
reg                  dev_rsp_snooped_reg, dev_rsp_snooped_next;
reg                  m2s_go_valid_reg, m2s_go_valid_next;
reg [3:0]            m2s_go_opcode_reg, m2s_go_opcode_next;
reg [ADDR_WIDTH-1:0] m2s_go_line_reg, m2s_go_line_next;
reg [TAG_WIDTH-1:0]  m2s_go_tag_reg, m2s_go_tag_next;
reg                  rwd_go_valid_reg, rwd_go_valid_next;
reg [3:0]            rwd_go_opcode_reg, rwd_go_opcode_next;
reg [ADDR_WIDTH-1:0] rwd_go_line_reg, rwd_go_line_next;
reg [TAG_WIDTH-1:0]  rwd_go_tag_reg, rwd_go_tag_next;
reg                  bisnp_valid_reg, bisnp_valid_next;
reg [3:0]            bisnp_opcode_reg, bisnp_opcode_next;
reg [TRACKER_BITS-1:0] bisnp_bitag_reg, bisnp_bitag_next;
reg [ADDR_WIDTH-1:0] bisnp_line_reg, bisnp_line_next;
reg                  ndr_valid_reg, ndr_valid_next;
reg [2:0]            ndr_opcode_reg, ndr_opcode_next;
reg [TAG_WIDTH-1:0]  ndr_tag_reg, ndr_tag_next;

// event counters, in CSR order (dcoh_bias_csr.vh)
reg [DCOH_COUNTERS*32-1:0] counters_reg, counters_next;
reg                        csr_valid_reg;
reg [31:0]                 csr_rdata_reg;

// ---- pending-address match and the free tracker ---------------------------------------------
reg                    m2s_pending;
reg                    dev_pending;
reg                    ev_pending;  // the event's line is held by a BI tracker
reg                    head_pending;  // the parked head's line is held by a BI tracker
reg                    parked_match;  // the offered Req's line has a parked Req
integer                q;
reg                    trk_free;
reg [TRACKER_BITS-1:0] trk_free_index;  // the lowest free tracker
integer                t;

always @* begin
    m2s_pending = 1'b0;
    dev_pending = 1'b0;
    ev_pending = 1'b0;
    head_pending = 1'b0;
    parked_match = 1'b0;
    trk_free = 1'b0;
    trk_free_index = {TRACKER_BITS{1'b0}};
    for (t = BI_TRACKERS - 1; t >= 0; t = t - 1) begin
        if (trk_valid_reg[t] && trk_line_reg[t*ADDR_WIDTH +: ADDR_WIDTH] == s_m2s_line) begin
            m2s_pending = 1'b1;
        end
        if (trk_valid_reg[t] && trk_line_reg[t*ADDR_WIDTH +: ADDR_WIDTH] == s_dev_line) begin
            dev_pending = 1'b1;
        end
        if (trk_valid_reg[t] && trk_line_reg[t*ADDR_WIDTH +: ADDR_WIDTH] == ev_line_reg) begin
            ev_pending = 1'b1;
        end
        if (trk_valid_reg[t] &&
                trk_line_reg[t*ADDR_WIDTH +: ADDR_WIDTH] == park_line_reg[0 +: ADDR_WIDTH]) begin
            head_pending = 1'b1;
        end
        if (!trk_valid_reg[t]) begin
            trk_free = 1'b1;
            trk_free_index = t[TRACKER_BITS-1:0];
        end
    end
    for (q = 0; q < PARK_SLOTS; q = q + 1) begin
        if (q[3:0] < park_count_reg && park_line_reg[q*ADDR_WIDTH +: ADDR_WIDTH] == s_m2s_line) begin
            parked_match = 1'b1;
        end
    end
end

// ---- input selection (IDLE) -------------------------------------------------------------------
wire idle = state_reg == STATE_IDLE;
wire can_birsp = !dev_rsp_valid_reg && !m2s_go_valid_reg;
wire can_cmp = !ndr_valid_reg;
// a BIConflict needs only the NDR register (its Ack goes behind any Cmp already there: one
// register, filled in acceptance order); other RwD only rwd_go. Planted bug 3 lets a
// BIConflict overwrite a Cmp still waiting on NDR (the Ack passes it; the Cmp is lost).
wire rwd_conflict = s_rwd_opcode == RWD_BI_CONFLICT;
wire can_rwd = rwd_conflict ? (!ndr_valid_reg || PLANT_BUG == 3) : !rwd_go_valid_reg;
wire m2s_blocked = (m2s_pending && PLANT_BUG != 1) || wait_valid_reg;
wire can_m2s = !m2s_go_valid_reg && !bisnp_valid_reg && trk_free && !m2s_blocked;
// with a replay queue a Req to a pending (or parked) line is parked instead of refused
wire m2s_park = REPLAY_DEPTH != 0 && ((m2s_pending && PLANT_BUG != 1) || parked_match);
wire can_park = park_count_reg != PARK_DEPTH && !wait_valid_reg;
wire m2s_ok = m2s_park ? can_park : can_m2s;
// the head replays (as a Req event) once its line is no longer pending and a Req could go
wire can_replay = park_count_reg != 4'd0 && (!head_pending || PLANT_BUG == 5) &&
    !m2s_go_valid_reg && !bisnp_valid_reg && trk_free && !wait_valid_reg;
wire can_dev = !dev_rsp_valid_reg && !bisnp_valid_reg && trk_free && !dev_pending && wr_free;
// BIAS_IN_MEMORY: a bias write must have left before a later read (a miss) or write is issued
wire wr_free = BIAS_IN_MEMORY == 0 || !bias_wr_valid_reg;
wire can_flip = !flip_active_reg && wr_free;
wire can_cpl = wr_free;

wire take_birsp = idle && s_birsp_valid && can_birsp;
wire take_replay = idle && !take_birsp && can_replay;
wire busy = take_birsp || take_replay;
wire take_cpl = idle && !busy && s_flip_cpl_valid && can_cpl;
wire take_cmp = idle && !busy && !take_cpl && s_cmp_valid && can_cmp;
wire take_rwd = idle && !busy && !take_cpl && !take_cmp && s_rwd_valid && can_rwd;
wire take_m2s = idle && !busy && !take_cpl && !take_cmp && !take_rwd && s_m2s_valid && m2s_ok;
wire take_dev = idle && !busy && !take_cpl && !take_cmp && !take_rwd && !take_m2s &&
    s_dev_valid && can_dev;
wire take_flip = idle && !busy && !take_cpl && !take_cmp && !take_rwd && !take_m2s &&
    !take_dev && s_flip_valid && can_flip;

assign s_birsp_ready = take_birsp;
assign s_flip_cpl_ready = take_cpl;
assign s_cmp_ready = take_cmp;
assign s_rwd_ready = take_rwd;
assign s_m2s_ready = take_m2s;
assign s_dev_ready = take_dev;
assign s_flip_ready = take_flip;

// ---- EXEC: the event's tracker, bias and the two tag arrays -----------------------------------
wire [TRACKER_BITS-1:0] ev_trk = ev_bitag_reg;
wire                    trk_hit = trk_valid_reg[ev_trk];
wire                    trk_is_victim = trk_victim_reg[ev_trk];
wire [ADDR_WIDTH-1:0]   trk_line = trk_line_reg[ev_trk*ADDR_WIDTH +: ADDR_WIDTH];
wire [ID_WIDTH-1:0]     trk_id = trk_id_reg[ev_trk*ID_WIDTH +: ID_WIDTH];
wire                    exec = state_reg == STATE_EXEC;
wire [PAGE_WIDTH-1:0]   ev_page = ev_line_reg[ADDR_WIDTH-1:PAGE_LINES_LOG2];

wire                  bc_hit;
wire                  bc_full_unused;
wire                  bc_bit;  // BIAS_IN_MEMORY: the cached bias
wire [PAGE_WIDTH-1:0] bc_victim_unused;
wire                  bc_alloc;
wire                  bc_mark;
wire                  bc_st;

dcoh_tag_array #(.SETS(BIAS_SETS), .WAYS(BIAS_WAYS), .ADDR_WIDTH(PAGE_WIDTH)) bias_cache (
    .clk(clk),
    .rst(rst),
    .lk_line(ev_page),
    .lk_hit(bc_hit),
    .lk_full(bc_full_unused),
    .lk_victim_line(bc_victim_unused),
    .lk_bit(bc_bit),
    .op_touch(1'b0),
    .op_alloc(bc_alloc),
    .op_free(1'b0),
    .op_mark(bc_mark),
    .st_bit(bc_st)
);

wire grant = ((ev_opcode_reg == REQ_MEM_RD || ev_opcode_reg == REQ_MEM_INV) &&
    (ev_meta_reg == META_A || ev_meta_reg == META_S)) || ev_opcode_reg == REQ_MEM_RD_DATA;
wire drop = ev_opcode_reg == REQ_MEM_CLN_EVCT ||
    ((ev_opcode_reg == REQ_MEM_RD || ev_opcode_reg == REQ_MEM_INV) && ev_meta_reg == META_I);
// BIAS_IN_MEMORY: a miss goes to BWAIT for the table's word, then EXEC runs again with it
wire bias_miss_wait = BIAS_IN_MEMORY != 0 && ev_kind_reg == EV_DEV && !bc_hit && !loaded_reg;
wire dev_bias = BIAS_IN_MEMORY == 0 ? bias_reg[ev_page] : (bc_hit ? bc_bit : loaded_bias_reg);
wire flip_last = flip_active_reg && flip_cpls_reg + ONE == FLIP_CPLS;
assign bc_alloc = exec && ev_kind_reg == EV_DEV && !bias_miss_wait;
assign bc_mark = BIAS_IN_MEMORY != 0 && PLANT_BUG != 6 && exec &&
    ((ev_kind_reg == EV_FLIP && !ev_to_device_reg) || (ev_kind_reg == EV_CPL && flip_last));
assign bc_st = ev_kind_reg == EV_DEV ? dev_bias : ev_kind_reg == EV_CPL;
// a grant that asks for a shared copy (MetaValue S; MemRdData): an S line stays S (I/S/A)
wire shared_ask = ev_opcode_reg == REQ_MEM_RD_DATA || ev_meta_reg == META_S;
wire dev_needs_own = ev_write_reg || ev_want_reg == WANT_OWN;

reg [ADDR_WIDTH-1:0] sf_line;
reg                  sf_touch;
reg                  sf_alloc;
reg                  sf_free;
reg                  sf_mark;
reg                  sf_st;
wire                 sf_hit;
wire                 sf_shared;  // I/S/A: the host holds the line at most S
wire                 sf_full;
wire [ADDR_WIDTH-1:0] sf_victim;
wire                 sf_shared_bit;

dcoh_tag_array #(.SETS(SF_SETS), .WAYS(SF_WAYS), .ADDR_WIDTH(ADDR_WIDTH)) snoop_filter (
    .clk(clk),
    .rst(rst),
    .lk_line(sf_line),
    .lk_hit(sf_hit),
    .lk_full(sf_full),
    .lk_victim_line(sf_victim),
    .lk_bit(sf_shared_bit),
    .op_touch(sf_touch),
    .op_alloc(sf_alloc),
    .op_free(sf_free),
    .op_mark(sf_mark),
    .st_bit(sf_st)
);
assign sf_shared = SF_ISA != 0 && sf_shared_bit;
// I/S/A: a device read of an S line needs no snoop (the host holds at most S); planted bug 4
// lets a device write skip it too
wire dev_no_snoop = !sf_hit || (sf_shared && (!dev_needs_own || PLANT_BUG == 4));

always @* begin
    sf_line = ev_line_reg;
    sf_touch = 1'b0;
    sf_alloc = 1'b0;
    sf_free = 1'b0;
    sf_mark = 1'b0;
    sf_st = 1'b0;  // allocations are A unless said otherwise
    if (state_reg == STATE_ALLOC) begin
        sf_line = wait_line_reg;
        sf_alloc = 1'b1;
    end else if (exec) begin
        case (ev_kind_reg)
            EV_DEV: sf_touch = dev_bias && !bias_miss_wait;
            EV_M2S: begin
                sf_alloc = grant && !sf_full;
                sf_free = drop;
                sf_st = sf_shared && shared_ask;  // one host: every other grant is alone (A)
            end
            EV_RWD: sf_free = ev_opcode_reg != RWD_BI_CONFLICT && ev_meta_reg == META_I;
            EV_BIRSP: begin
                sf_line = trk_line;
                sf_free = trk_hit && (trk_is_victim || ev_opcode_reg == BIRSP_I);
                // BIRspS: the host kept at most S; BIRspE keeps the entry as it was
                sf_mark = SF_ISA != 0 && trk_hit && !trk_is_victim && ev_opcode_reg == BIRSP_S;
                sf_st = 1'b1;
            end
            default: ;
        endcase
    end
end

// BITag bits above the trackers' and CSR write data above CLEAR are ignored on purpose
wire unused_ok = &{1'b0, s_birsp_bitag, s_csr_wdata};

// ---- CSR read mux ---------------------------------------------------------------------------
wire csr_fire = s_csr_valid && s_csr_ready;
wire clear = csr_fire && s_csr_write && s_csr_addr == DCOH_CSR_CTRL && s_csr_wdata[0];
wire [5:0] csr_index = s_csr_addr[7:2] - DCOH_CSR_COUNTER_BASE[7:2];
reg [31:0] read_data;

always @* begin
    read_data = 32'd0;
    if (s_csr_addr == DCOH_CSR_ID) begin
        read_data = DCOH_ID_VALUE;
    end else if (s_csr_addr[1:0] == 2'b00 && s_csr_addr >= DCOH_CSR_COUNTER_BASE &&
                 csr_index < DCOH_COUNTERS[5:0]) begin
        read_data = counters_reg[csr_index*32 +: 32];
    end
end

// ---- next state -------------------------------------------------------------------------------
reg [DCOH_COUNTERS-1:0] bump;  // counters to increment at this edge
integer                 c;

always @* begin
    state_next = state_reg;
    bias_next = bias_reg;
    trk_valid_next = trk_valid_reg;
    wait_valid_next = wait_valid_reg;
    flip_active_next = flip_active_reg;
    flip_issued_next = flip_issued_reg;
    flip_cpls_next = flip_cpls_reg;
    dev_rsp_valid_next = dev_rsp_valid_reg && !m_dev_rsp_ready;
    dev_rsp_id_next = dev_rsp_id_reg;
    dev_rsp_local_next = dev_rsp_local_reg;
    dev_rsp_snooped_next = dev_rsp_snooped_reg;
    m2s_go_valid_next = m2s_go_valid_reg && !m_m2s_go_ready;
    m2s_go_opcode_next = m2s_go_opcode_reg;
    m2s_go_line_next = m2s_go_line_reg;
    m2s_go_tag_next = m2s_go_tag_reg;
    rwd_go_valid_next = rwd_go_valid_reg && !m_rwd_go_ready;
    bisnp_valid_next = bisnp_valid_reg && !m_bisnp_ready;
    bisnp_opcode_next = bisnp_opcode_reg;
    bisnp_bitag_next = bisnp_bitag_reg;
    bisnp_line_next = bisnp_line_reg;
    ndr_valid_next = ndr_valid_reg && !m_ndr_ready;
    bias_rd_valid_next = bias_rd_valid_reg && !m_bias_rd_ready;
    bias_rd_page_next = bias_rd_page_reg;
    bias_wr_valid_next = bias_wr_valid_reg && !m_bias_wr_ready;
    bias_wr_page_next = bias_wr_page_reg;
    bias_wr_bias_next = bias_wr_bias_reg;
    loaded_next = loaded_reg;
    loaded_bias_next = loaded_bias_reg;
    ndr_opcode_next = ndr_opcode_reg;
    ndr_tag_next = ndr_tag_reg;
    rwd_go_opcode_next = rwd_go_opcode_reg;
    rwd_go_line_next = rwd_go_line_reg;
    rwd_go_tag_next = rwd_go_tag_reg;
    bump = {DCOH_COUNTERS{1'b0}};

    if (m_rdownnodata_valid && m_rdownnodata_ready) begin
        flip_issued_next = flip_issued_reg + ONE;
        bump[DCOH_CNT_RDOWNNODATA] = 1'b1;
    end
    if (s_m2s_valid && (m2s_park ? !can_park : (m2s_pending || wait_valid_reg || !trk_free)))
            begin
        bump[DCOH_CNT_M2S_BLOCKED_CYCLES] = 1'b1;
    end
    bump[DCOH_CNT_M2S_PARKED] = take_m2s && m2s_park;

    case (state_reg)
        STATE_IDLE: begin
            if (take_birsp || take_replay || take_cpl || take_cmp || take_rwd || take_m2s ||
                    take_dev || take_flip) begin
                state_next = STATE_EXEC;
            end
        end
        STATE_BWAIT: begin
            if (s_bias_data_valid) begin
                state_next = STATE_EXEC;
                loaded_next = 1'b1;
                loaded_bias_next = s_bias_data_bias;
            end
        end
        STATE_EXEC: begin
            state_next = STATE_IDLE;
            case (ev_kind_reg)
                EV_DEV: if (bias_miss_wait) begin
                    state_next = STATE_BWAIT;
                    bias_rd_valid_next = 1'b1;
                    bias_rd_page_next = ev_page;
                end else begin
                    loaded_next = 1'b0;
                    bump[DCOH_CNT_BIAS_HITS] = bc_hit;
                    bump[DCOH_CNT_BIAS_MISSES] = !bc_hit;
                    if (!dev_bias) begin
                        bump[DCOH_CNT_DEV_VIA_HOST] = 1'b1;
                        dev_rsp_valid_next = 1'b1;
                        dev_rsp_id_next = ev_id_reg;
                        dev_rsp_local_next = 1'b0;
                        dev_rsp_snooped_next = 1'b0;
                    end else begin
                        bump[DCOH_CNT_DEV_LOCAL] = 1'b1;
                        if (dev_no_snoop) begin
                            dev_rsp_valid_next = 1'b1;
                            dev_rsp_id_next = ev_id_reg;
                            dev_rsp_local_next = 1'b1;
                            dev_rsp_snooped_next = 1'b0;
                        end else begin
                            bump[DCOH_CNT_BISNP_DEV] = 1'b1;
                            trk_valid_next[trk_free_index] = 1'b1;
                            bisnp_valid_next = 1'b1;
                            bisnp_bitag_next = trk_free_index;
                            bisnp_line_next = ev_line_reg;
                            if (dev_needs_own) begin
                                bisnp_opcode_next = BISNP_INV;
                                bump[DCOH_CNT_BISNP_INV] = 1'b1;
                            end else if (ev_want_reg == WANT_SHARED) begin
                                bisnp_opcode_next = BISNP_DATA;
                                bump[DCOH_CNT_BISNP_DATA] = 1'b1;
                            end else begin
                                bisnp_opcode_next = BISNP_CUR;
                                bump[DCOH_CNT_BISNP_CUR] = 1'b1;
                            end
                        end
                    end
                end
                EV_M2S: begin
                    if (grant && sf_full) begin
                        bump[DCOH_CNT_BISNP_VICTIM] = 1'b1;
                        bump[DCOH_CNT_BISNP_INV] = 1'b1;
                        trk_valid_next[trk_free_index] = 1'b1;
                        bisnp_valid_next = 1'b1;
                        bisnp_opcode_next = BISNP_INV;
                        bisnp_bitag_next = trk_free_index;
                        bisnp_line_next = sf_victim;
                        wait_valid_next = 1'b1;
                    end else begin
                        if (grant && !sf_hit) begin
                            bump[DCOH_CNT_SF_ALLOCATIONS] = 1'b1;
                        end
                        if (drop && sf_hit) begin
                            bump[DCOH_CNT_SF_FREES] = 1'b1;
                        end
                        m2s_go_valid_next = 1'b1;
                        m2s_go_opcode_next = ev_opcode_reg;
                        m2s_go_line_next = ev_line_reg;
                        m2s_go_tag_next = ev_tag_reg;
                    end
                end
                EV_RWD: begin
                    if (ev_opcode_reg == RWD_BI_CONFLICT) begin
                        // S4 §3.5.1.3: BIConflictAck with the conflict's Tag, behind every
                        // Cmp accepted before it; nothing goes to memory
                        bump[DCOH_CNT_CONFLICTS] = ev_pending;
                        bump[DCOH_CNT_CONFLICTS_STRAY] = !ev_pending;
                        ndr_valid_next = 1'b1;
                        ndr_opcode_next = NDR_BI_CONFLICT_ACK;
                        ndr_tag_next = ev_tag_reg;
                    end else begin
                        rwd_go_valid_next = 1'b1;
                        rwd_go_opcode_next = ev_opcode_reg;
                        rwd_go_line_next = ev_line_reg;
                        rwd_go_tag_next = ev_tag_reg;
                        if (sf_free && sf_hit) begin
                            bump[DCOH_CNT_SF_FREES] = 1'b1;
                        end
                    end
                end
                EV_CMP: begin
                    ndr_valid_next = 1'b1;
                    ndr_opcode_next = ev_opcode_reg[2:0];
                    ndr_tag_next = ev_tag_reg;
                end
                EV_BIRSP: begin
                    if (trk_hit) begin
                        trk_valid_next[ev_trk] = 1'b0;
                        if (sf_free && sf_hit) begin
                            bump[DCOH_CNT_SF_FREES] = 1'b1;
                        end
                        if (trk_is_victim) begin
                            state_next = STATE_ALLOC;
                        end else begin
                            dev_rsp_valid_next = 1'b1;
                            dev_rsp_id_next = trk_id;
                            dev_rsp_local_next = 1'b1;
                            dev_rsp_snooped_next = 1'b1;
                        end
                    end
                end
                EV_FLIP: begin
                    if (ev_to_device_reg) begin
                        flip_active_next = 1'b1;
                        flip_issued_next = {COUNT_BITS{1'b0}};
                        flip_cpls_next = {COUNT_BITS{1'b0}};
                    end else begin
                        bias_next[ev_page] = 1'b0;
                        bump[DCOH_CNT_FLIPS_TO_HOST] = 1'b1;
                        bias_wr_valid_next = BIAS_IN_MEMORY != 0;
                        bias_wr_page_next = ev_page;
                        bias_wr_bias_next = 1'b0;
                    end
                end
                EV_CPL: begin
                    flip_cpls_next = flip_cpls_reg + ONE;
                    if (flip_active_reg && flip_cpls_reg + ONE == FLIP_CPLS) begin
                        bias_next[flip_page_reg] = 1'b1;
                        bump[DCOH_CNT_FLIPS_TO_DEVICE] = 1'b1;
                        bias_wr_valid_next = BIAS_IN_MEMORY != 0;
                        bias_wr_page_next = flip_page_reg;
                        bias_wr_bias_next = 1'b1;
                    end
                    if (flip_active_reg && flip_cpls_reg + ONE == FLIP_LINES) begin
                        flip_active_next = 1'b0;
                    end
                end
                default: ;
            endcase
        end
        STATE_ALLOC: begin
            state_next = STATE_IDLE;
            bump[DCOH_CNT_SF_ALLOCATIONS] = 1'b1;
            wait_valid_next = 1'b0;
            m2s_go_valid_next = 1'b1;
            m2s_go_opcode_next = wait_opcode_reg;
            m2s_go_line_next = wait_line_reg;
            m2s_go_tag_next = wait_tag_reg;
        end
        default: state_next = STATE_IDLE;
    endcase

    for (c = 0; c < DCOH_COUNTERS; c = c + 1) begin
        counters_next[c*32 +: 32] = clear ? 32'd0 : counters_reg[c*32 +: 32] + {31'd0, bump[c]};
    end
end

// ---- outputs ----------------------------------------------------------------------------------
assign m_dev_rsp_valid = dev_rsp_valid_reg;
assign m_dev_rsp_id = dev_rsp_id_reg;
assign m_dev_rsp_local = dev_rsp_local_reg;
assign m_dev_rsp_snooped = dev_rsp_snooped_reg;
assign m_m2s_go_valid = m2s_go_valid_reg;
assign m_m2s_go_opcode = m2s_go_opcode_reg;
assign m_m2s_go_line = m2s_go_line_reg;
assign m_m2s_go_tag = m2s_go_tag_reg;
assign m_rwd_go_valid = rwd_go_valid_reg;
assign m_rwd_go_opcode = rwd_go_opcode_reg;
assign m_rwd_go_line = rwd_go_line_reg;
assign m_rwd_go_tag = rwd_go_tag_reg;
assign m_bias_rd_valid = bias_rd_valid_reg;
assign m_bias_rd_page = bias_rd_page_reg;
assign s_bias_data_ready = state_reg == STATE_BWAIT;
assign m_bias_wr_valid = bias_wr_valid_reg;
assign m_bias_wr_page = bias_wr_page_reg;
assign m_bias_wr_bias = bias_wr_bias_reg;
assign m_ndr_valid = ndr_valid_reg;
assign m_ndr_opcode = ndr_opcode_reg;
assign m_ndr_tag = ndr_tag_reg;
assign m_bisnp_valid = bisnp_valid_reg;
assign m_bisnp_opcode = bisnp_opcode_reg;
assign m_bisnp_bitag = {{(12 - TRACKER_BITS){1'b0}}, bisnp_bitag_reg};
assign m_bisnp_line = bisnp_line_reg;
assign m_rdownnodata_valid = flip_active_reg && flip_issued_reg != FLIP_LINES;
generate
    if (PAGE_LINES_LOG2 > 0) begin : g_page_lines
        assign m_rdownnodata_line = {flip_page_reg, flip_issued_reg[PAGE_LINES_LOG2-1:0]};
    end else begin : g_line_pages
        assign m_rdownnodata_line = flip_page_reg;
    end
endgenerate
assign s_csr_ready = !csr_valid_reg || m_csr_ready;
assign m_csr_valid = csr_valid_reg;
assign m_csr_rdata = csr_rdata_reg;

always @(posedge clk) begin
    state_reg <= state_next;
    bias_reg <= bias_next;
    trk_valid_reg <= trk_valid_next;
    wait_valid_reg <= wait_valid_next;
    flip_active_reg <= flip_active_next;
    flip_issued_reg <= flip_issued_next;
    flip_cpls_reg <= flip_cpls_next;
    dev_rsp_valid_reg <= dev_rsp_valid_next;
    dev_rsp_id_reg <= dev_rsp_id_next;
    dev_rsp_local_reg <= dev_rsp_local_next;
    dev_rsp_snooped_reg <= dev_rsp_snooped_next;
    m2s_go_valid_reg <= m2s_go_valid_next;
    m2s_go_opcode_reg <= m2s_go_opcode_next;
    m2s_go_line_reg <= m2s_go_line_next;
    m2s_go_tag_reg <= m2s_go_tag_next;
    rwd_go_valid_reg <= rwd_go_valid_next;
    rwd_go_opcode_reg <= rwd_go_opcode_next;
    rwd_go_line_reg <= rwd_go_line_next;
    rwd_go_tag_reg <= rwd_go_tag_next;
    bisnp_valid_reg <= bisnp_valid_next;
    bisnp_opcode_reg <= bisnp_opcode_next;
    bisnp_bitag_reg <= bisnp_bitag_next;
    bisnp_line_reg <= bisnp_line_next;
    ndr_valid_reg <= ndr_valid_next;
    bias_rd_valid_reg <= bias_rd_valid_next;
    bias_rd_page_reg <= bias_rd_page_next;
    bias_wr_valid_reg <= bias_wr_valid_next;
    bias_wr_page_reg <= bias_wr_page_next;
    bias_wr_bias_reg <= bias_wr_bias_next;
    loaded_reg <= loaded_next;
    loaded_bias_reg <= loaded_bias_next;
    ndr_opcode_reg <= ndr_opcode_next;
    ndr_tag_reg <= ndr_tag_next;
    counters_reg <= counters_next;

    if (take_birsp) begin
        ev_kind_reg <= EV_BIRSP;
        ev_opcode_reg <= s_birsp_opcode;
        ev_bitag_reg <= s_birsp_bitag[TRACKER_BITS-1:0];
    end
    if (take_cmp) begin
        ev_kind_reg <= EV_CMP;
        ev_opcode_reg <= {1'b0, s_cmp_opcode};
        ev_tag_reg <= s_cmp_tag;
    end
    if (take_cpl) begin
        ev_kind_reg <= EV_CPL;
        ev_line_reg <= s_flip_cpl_line;
    end
    if (take_rwd) begin
        ev_kind_reg <= EV_RWD;
        ev_opcode_reg <= s_rwd_opcode;
        ev_line_reg <= s_rwd_line;
        ev_tag_reg <= s_rwd_tag;
        ev_meta_reg <= s_rwd_meta_value;
    end
    if (take_replay) begin  // pop the head into the event registers: EXEC serves it as a Req
        ev_kind_reg <= EV_M2S;
        ev_opcode_reg <= park_opcode_reg[0 +: 4];
        ev_line_reg <= park_line_reg[0 +: ADDR_WIDTH];
        ev_tag_reg <= park_tag_reg[0 +: TAG_WIDTH];
        ev_meta_reg <= park_meta_reg[0 +: 2];
        park_count_reg <= park_count_reg - PARK_ONE;
        for (q = 0; q + 1 < PARK_SLOTS; q = q + 1) begin
            park_opcode_reg[q*4 +: 4] <= park_opcode_reg[(q+1)*4 +: 4];
            park_line_reg[q*ADDR_WIDTH +: ADDR_WIDTH] <=
                park_line_reg[(q+1)*ADDR_WIDTH +: ADDR_WIDTH];
            park_tag_reg[q*TAG_WIDTH +: TAG_WIDTH] <= park_tag_reg[(q+1)*TAG_WIDTH +: TAG_WIDTH];
            park_meta_reg[q*2 +: 2] <= park_meta_reg[(q+1)*2 +: 2];
        end
    end
    if (take_m2s && m2s_park) begin
        park_count_reg <= park_count_reg + PARK_ONE;
        for (q = 0; q < PARK_SLOTS; q = q + 1) begin
            if (q[3:0] == park_count_reg) begin
                park_opcode_reg[q*4 +: 4] <= s_m2s_opcode;
                park_line_reg[q*ADDR_WIDTH +: ADDR_WIDTH] <= s_m2s_line;
                park_tag_reg[q*TAG_WIDTH +: TAG_WIDTH] <= s_m2s_tag;
                park_meta_reg[q*2 +: 2] <= s_m2s_meta_value;
            end
        end
    end
    if (take_m2s) begin
        ev_kind_reg <= m2s_park ? EV_PARK : EV_M2S;
        ev_opcode_reg <= s_m2s_opcode;
        ev_line_reg <= s_m2s_line;
        ev_tag_reg <= s_m2s_tag;
        ev_meta_reg <= s_m2s_meta_value;
    end
    if (take_dev) begin
        ev_kind_reg <= EV_DEV;
        ev_id_reg <= s_dev_id;
        ev_line_reg <= s_dev_line;
        ev_write_reg <= s_dev_write;
        ev_want_reg <= s_dev_want;
    end
    if (take_flip) begin
        ev_kind_reg <= EV_FLIP;
        ev_line_reg <= {s_flip_page, {PAGE_LINES_LOG2{1'b0}}};
        ev_to_device_reg <= s_flip_to_device;
        if (s_flip_to_device) begin
            flip_page_reg <= s_flip_page;
        end
    end
    if (exec && ev_kind_reg == EV_DEV && dev_bias && !dev_no_snoop) begin
        trk_victim_reg[trk_free_index] <= 1'b0;
        trk_line_reg[trk_free_index*ADDR_WIDTH +: ADDR_WIDTH] <= ev_line_reg;
        trk_id_reg[trk_free_index*ID_WIDTH +: ID_WIDTH] <= ev_id_reg;
    end
    if (exec && ev_kind_reg == EV_M2S && grant && sf_full) begin
        trk_victim_reg[trk_free_index] <= 1'b1;
        trk_line_reg[trk_free_index*ADDR_WIDTH +: ADDR_WIDTH] <= sf_victim;
        wait_opcode_reg <= ev_opcode_reg;
        wait_line_reg <= ev_line_reg;
        wait_tag_reg <= ev_tag_reg;
    end
    csr_valid_reg <= s_csr_ready ? csr_fire : csr_valid_reg;
    if (csr_fire) begin
        csr_rdata_reg <= s_csr_write ? 32'd0 : read_data;
    end

    if (rst) begin
        state_reg <= STATE_IDLE;
        bias_reg <= {PAGES{1'b0}};
        trk_valid_reg <= {BI_TRACKERS{1'b0}};
        wait_valid_reg <= 1'b0;
        park_count_reg <= 4'd0;
        flip_active_reg <= 1'b0;
        dev_rsp_valid_reg <= 1'b0;
        m2s_go_valid_reg <= 1'b0;
        rwd_go_valid_reg <= 1'b0;
        bisnp_valid_reg <= 1'b0;
        ndr_valid_reg <= 1'b0;
        bias_rd_valid_reg <= 1'b0;
        bias_wr_valid_reg <= 1'b0;
        loaded_reg <= 1'b0;
        counters_reg <= {(DCOH_COUNTERS * 32){1'b0}};
        csr_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
`default_nettype wire
