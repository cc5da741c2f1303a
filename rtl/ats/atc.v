// atc: a CXL device's ATS Address Translation Cache, twin of slugsim.ats.Atc.
//
// Untranslated 4 KiB page numbers come in on s_req with a tag, a read/write bit and the use
// (CXL.cache or CXL.io); each leaves once on m_rsp with its tag and either the host physical
// page or a fault. A miss sends a Translation Request on m_treq (tag = the MSHR holding it);
// the host's Translation Completion comes back on s_tcpl, fills an entry and answers every
// request waiting on the page. Invalidate Requests (s_inv) drop overlapping translations; each
// is answered on m_invcpl once every response produced before it has left on m_rsp.
//
// Semantics (the model's, slugsim/ats/atc.py; docs/ats_rtl.md):
//   arrays   4 KiB entries: ENTRIES, WAYS-way set-associative (index = the page's low
//            log2(ENTRIES/WAYS) bits); 2 MiB entries: LARGE_ENTRIES, fully associative; both
//            looked up at once, a 4 KiB hit wins. Per entry R, W and the CXL.io-only bit.
//            Replacement: the lowest invalid way, else tree pLRU (tree_plru); hits and fills
//            make the way most recently used.
//   request  hit: respond (hit=1, status OK / PERM / IO_ONLY, page 0 on a fault). Miss: join
//            the MSHR of the same page (merge), else take the lowest free MSHR and send one
//            Translation Request. A request is accepted only when it could not be refused: a
//            free MSHR and room in every MSHR's waiter list, counting the one ahead of it.
//   complete for a valid MSHR (others are ignored). Stale (an invalidation overlapping the
//            translation it carries, at that translation's own size, arrived while it was on
//            its way): drop it and ask again, same tag, waiters kept. Else
//            fill (ok) and answer every waiter in arrival order (hit=0; FAILED when !ok),
//            then free the MSHR.
//   inv      size 0: the 4 KiB page, 1: its 2 MiB region, 2: all. Drops every overlapping
//            entry of both arrays. An MSHR whose own page is in the range becomes stale (any
//            completion is dropped); one elsewhere in an invalidated page's 2 MiB region
//            becomes stale-if-large (only a 2 MiB completion, which would cover the invalidated
//            page, is dropped; a 4 KiB one is used), so unmaps of a region's other pages cannot
//            starve a miss. The completion waits until the
//            responses ahead of it in the m_rsp FIFO have been taken (a per-invalidation count
//            of them, decremented as m_rsp moves): every hit that used a dropped entry has left.
//
// Timing: one operation per clock from the three inputs into an op register (priority s_tcpl,
// then s_inv, then s_req; at most one of the three readys is high), decided the next cycle
// from flop arrays, so operation n+1 sees everything operation n did: the ATC is atomic in
// acceptance order, which is what lets the model score it. Unstalled, a hit is accepted at edge
// t, decided (pushed into the response FIFO) at t+1 and can be taken at t+2; one operation per
// cycle. A completion takes one cycle, then answers one waiter per cycle (DRAIN), during which
// no other operation is decided. The outputs are FIFOs (stream_fifo): RSP_DEPTH responses,
// one Translation Request per MSHR; INV_DEPTH invalidations may wait for their completion.
//
// CSR port (s_csr/m_csr as on the snoop filter), map generated from slugsim/ats/csr.py
// (atc_csr.vh): ID, INFO, WIDTHS, CTRL.CLEAR, STATUS.BUSY, ENTRIES and the event counters
// LOOKUPS HITS MISSES MERGED TREQS FILLS INVALIDATIONS FAULTS (32 bits, wrapping).
//
// ATC_PLANT_BUG (a define, for the testbench's proof that its scoreboard has teeth; never set in
// a real build): 1 = an Invalidate Completion goes out without waiting for the responses ahead
// of it; 2 = a completion answers one waiter too few when three or more wait (the last is lost).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module atc #(
    parameter integer ENTRIES = 16,       // 4 KiB entries, a power of two 1 ... 1024
    parameter integer WAYS = 4,           // their associativity, a power of two 1 ... min(64, ENTRIES)
    parameter integer LARGE_ENTRIES = 4,  // 2 MiB entries (fully associative), power of two 1 ... 64
    parameter integer MSHRS = 4,          // translations outstanding, 1 ... 16
    parameter integer WAITERS = 4,        // requests waiting on one translation, 1 ... 16
    parameter integer INV_DEPTH = 4,      // invalidations awaiting completion, 1 ... 32
    parameter integer RSP_DEPTH = 4,      // response FIFO entries, a power of two 2 ... 256
    parameter integer TAG_WIDTH = 8,      // request tag bits, 1 ... 16
    parameter integer VPN_WIDTH = 36,     // untranslated page number bits (address [VPN_WIDTH+11:12])
    parameter integer PPN_WIDTH = 40,     // host physical page number bits, 10 ... 40
    // Translation Request tag bits (an MSHR number): derived, do not set
    parameter integer MSHR_TAG_WIDTH = (MSHRS > 1) ? $clog2(MSHRS) : 1
) (
    input  wire                      clk,
    input  wire                      rst,             // synchronous, active high

    // requests to translate
    input  wire                      s_req_valid,
    output wire                      s_req_ready,
    input  wire [TAG_WIDTH-1:0]      s_req_tag,
    input  wire [VPN_WIDTH-1:0]      s_req_page,      // untranslated 4 KiB page number
    input  wire                      s_req_write,     // 1 write, 0 read
    input  wire                      s_req_cache,     // 1 CXL.cache use, 0 CXL.io

    // responses, one per request (in the order they are decided, not requested)
    output wire                      m_rsp_valid,
    input  wire                      m_rsp_ready,
    output wire [TAG_WIDTH-1:0]      m_rsp_tag,
    output wire [1:0]                m_rsp_status,    // 0 OK 1 PERM 2 IO_ONLY 3 FAILED
    output wire                      m_rsp_hit,       // served from the arrays (no wait)
    output wire [PPN_WIDTH-1:0]      m_rsp_page,      // host physical page, 0 unless OK

    // Translation Requests to the host
    output wire                      m_treq_valid,
    input  wire                      m_treq_ready,
    output wire [MSHR_TAG_WIDTH-1:0] m_treq_tag,      // the MSHR: the completion names it
    output wire [VPN_WIDTH-1:0]      m_treq_page,

    // Translation Completions from the host
    input  wire                      s_tcpl_valid,
    output wire                      s_tcpl_ready,
    input  wire [MSHR_TAG_WIDTH-1:0] s_tcpl_tag,
    input  wire                      s_tcpl_ok,       // 0: failed, nothing to cache
    input  wire [PPN_WIDTH-1:0]      s_tcpl_page,     // host page (low 9 bits ignored when large)
    input  wire                      s_tcpl_large,    // a 2 MiB translation
    input  wire                      s_tcpl_r,
    input  wire                      s_tcpl_w,
    input  wire                      s_tcpl_io,       // CXL.io only: no CXL.cache use

    // Invalidate Requests from the host
    input  wire                      s_inv_valid,
    output wire                      s_inv_ready,
    input  wire [4:0]                s_inv_itag,
    input  wire [VPN_WIDTH-1:0]      s_inv_page,
    input  wire [1:0]                s_inv_size,      // 0 4 KiB page, 1 its 2 MiB region, 2 all

    // Invalidate Completions
    output wire                      m_invcpl_valid,
    input  wire                      m_invcpl_ready,
    output wire [4:0]                m_invcpl_itag,

    // CSR requests
    input  wire                      s_csr_valid,
    output wire                      s_csr_ready,
    input  wire                      s_csr_write,
    input  wire [7:0]                s_csr_addr,      // byte address (ATC_CSR_ADDR_WIDTH)
    input  wire [31:0]               s_csr_wdata,

    // CSR responses
    output wire                      m_csr_valid,
    input  wire                      m_csr_ready,
    output wire [31:0]               m_csr_rdata
);

`include "atc_csr.vh"

`ifdef ATC_PLANT_BUG
localparam integer PLANT_BUG = `ATC_PLANT_BUG;
`else
localparam integer PLANT_BUG = 0;
`endif

localparam integer LB = 9;                                      // 4 KiB pages in 2 MiB: 2**9
localparam integer SETS = ENTRIES / WAYS;
localparam integer INDEX_WIDTH = $clog2(SETS);                  // set index bits (may be 0)
localparam integer INDEX_BITS = (INDEX_WIDTH > 0) ? INDEX_WIDTH : 1;
localparam integer STAG_WIDTH = VPN_WIDTH - INDEX_WIDTH;        // 4 KiB entry tag
localparam integer REGION_WIDTH = VPN_WIDTH - LB;               // 2 MiB entry tag
localparam integer LPPN_WIDTH = PPN_WIDTH - LB;                 // 2 MiB entry's host page
localparam integer LEVELS = $clog2(WAYS);
localparam integer WAY_BITS = (LEVELS > 0) ? LEVELS : 1;
localparam integer PLRU_BITS = (WAYS > 1) ? WAYS - 1 : 1;
localparam integer LLEVELS = $clog2(LARGE_ENTRIES);
localparam integer LWAY_BITS = (LLEVELS > 0) ? LLEVELS : 1;
localparam integer LPLRU_BITS = (LARGE_ENTRIES > 1) ? LARGE_ENTRIES - 1 : 1;
localparam integer MSHR_BITS = (MSHRS > 1) ? $clog2(MSHRS) : 1;
localparam integer CNT_WIDTH = $clog2(WAITERS + 1);             // a waiter count, 0 ... WAITERS
localparam integer WIDX_BITS = (WAITERS > 1) ? $clog2(WAITERS) : 1;
localparam integer WAITER_WIDTH = TAG_WIDTH + 2;                // {tag, write, cache}
localparam integer TREQ_DEPTH = (MSHRS > 2) ? (1 << $clog2(MSHRS)) : 2;
localparam integer RCNT_WIDTH = $clog2(RSP_DEPTH + 1);          // responses ahead, 0 ... RSP_DEPTH
localparam integer ICNT_WIDTH = $clog2(INV_DEPTH + 1);
localparam integer ECNT_WIDTH = $clog2(ENTRIES + LARGE_ENTRIES + 1);
localparam integer RSP_WIDTH = TAG_WIDTH + 3 + PPN_WIDTH;
localparam integer TREQ_WIDTH = MSHR_TAG_WIDTH + VPN_WIDTH;

localparam integer ENTRIES_LOG2 = $clog2(ENTRIES);
localparam integer RSP_LOG2 = $clog2(RSP_DEPTH);

localparam [1:0] OP_REQ = 2'd0;
localparam [1:0] OP_TCPL = 2'd1;
localparam [1:0] OP_INV = 2'd2;

localparam [1:0] ST_OK = 2'd0;
localparam [1:0] ST_PERM = 2'd1;
localparam [1:0] ST_IO_ONLY = 2'd2;
localparam [1:0] ST_FAILED = 2'd3;

localparam [1:0] INV_PAGE = 2'd0;
localparam [1:0] INV_LARGE = 2'd1;

localparam STATE_RUN = 1'b0;    // decide the op register's operation
localparam STATE_DRAIN = 1'b1;  // answer a completed translation's waiters, one per cycle

initial begin
    if (ENTRIES < 1 || ENTRIES > ATC_MAX_ENTRIES || (1 << $clog2(ENTRIES)) != ENTRIES) begin
        $display("Error: atc ENTRIES must be a power of two in 1..%0d (%m)", ATC_MAX_ENTRIES);
        $finish;
    end
    if (WAYS < 1 || WAYS > ATC_MAX_WAYS || WAYS > ENTRIES || (1 << LEVELS) != WAYS) begin
        $display("Error: atc WAYS must be a power of two in 1..min(%0d, ENTRIES) (%m)",
                 ATC_MAX_WAYS);
        $finish;
    end
    if (LARGE_ENTRIES < 1 || LARGE_ENTRIES > ATC_MAX_LARGE_ENTRIES ||
            (1 << LLEVELS) != LARGE_ENTRIES) begin
        $display("Error: atc LARGE_ENTRIES must be a power of two in 1..%0d (%m)",
                 ATC_MAX_LARGE_ENTRIES);
        $finish;
    end
    if (MSHRS < 1 || MSHRS > ATC_MAX_MSHRS || MSHR_TAG_WIDTH != MSHR_BITS) begin
        $display("Error: atc MSHRS must be in 1..%0d, MSHR_TAG_WIDTH left at its default (%m)",
                 ATC_MAX_MSHRS);
        $finish;
    end
    if (WAITERS < 1 || WAITERS > ATC_MAX_WAITERS) begin
        $display("Error: atc WAITERS must be in 1..%0d (%m)", ATC_MAX_WAITERS);
        $finish;
    end
    if (INV_DEPTH < 1 || INV_DEPTH > ATC_MAX_INV_DEPTH) begin
        $display("Error: atc INV_DEPTH must be in 1..%0d (%m)", ATC_MAX_INV_DEPTH);
        $finish;
    end
    if (RSP_DEPTH < 2 || RSP_DEPTH > ATC_MAX_RSP_DEPTH || (1 << $clog2(RSP_DEPTH)) != RSP_DEPTH)
            begin
        $display("Error: atc RSP_DEPTH must be a power of two in 2..%0d (%m)", ATC_MAX_RSP_DEPTH);
        $finish;
    end
    if (TAG_WIDTH < 1 || TAG_WIDTH > ATC_MAX_TAG_WIDTH) begin
        $display("Error: atc TAG_WIDTH must be in 1..%0d (%m)", ATC_MAX_TAG_WIDTH);
        $finish;
    end
    if (VPN_WIDTH < ATC_MIN_PAGE_WIDTH || VPN_WIDTH <= INDEX_WIDTH ||
            VPN_WIDTH > ATC_MAX_VPN_WIDTH) begin
        $display("Error: atc VPN_WIDTH must be in max(%0d, log2(sets)+1)..%0d (%m)",
                 ATC_MIN_PAGE_WIDTH, ATC_MAX_VPN_WIDTH);
        $finish;
    end
    if (PPN_WIDTH < ATC_MIN_PAGE_WIDTH || PPN_WIDTH > ATC_MAX_PPN_WIDTH) begin
        $display("Error: atc PPN_WIDTH must be in %0d..%0d (%m)", ATC_MIN_PAGE_WIDTH,
                 ATC_MAX_PPN_WIDTH);
        $finish;
    end
    if (PLANT_BUG < 0 || PLANT_BUG > 2) begin
        $display("Error: atc ATC_PLANT_BUG must be 1 or 2 (%m)");
        $finish;
    end
end

// ---- storage: control bits are flops with _next; payloads are written at fills only ---------
reg [ENTRIES-1:0]              small_valid_reg, small_valid_next;
reg [SETS*PLRU_BITS-1:0]       small_plru_reg, small_plru_next;
reg [ENTRIES*STAG_WIDTH-1:0]   small_tag_reg;       // entry e = set e/WAYS, way e%WAYS
reg [ENTRIES*PPN_WIDTH-1:0]    small_ppn_reg;
reg [ENTRIES*3-1:0]            small_perm_reg;      // {io, w, r}
reg [LARGE_ENTRIES-1:0]        large_valid_reg, large_valid_next;
reg [LPLRU_BITS-1:0]           large_plru_reg, large_plru_next;
reg [LARGE_ENTRIES*REGION_WIDTH-1:0] large_region_reg;
reg [LARGE_ENTRIES*LPPN_WIDTH-1:0]   large_ppn_reg;
reg [LARGE_ENTRIES*3-1:0]      large_perm_reg;

reg [MSHRS-1:0]                mshr_valid_reg, mshr_valid_next;
reg [MSHRS-1:0]                mshr_stale_reg, mshr_stale_next;              // drop any completion
reg [MSHRS-1:0]                mshr_stale_large_reg, mshr_stale_large_next;  // drop a 2 MiB one
reg [MSHRS*CNT_WIDTH-1:0]      mshr_count_reg, mshr_count_next;
reg [MSHRS*VPN_WIDTH-1:0]      mshr_page_reg;
reg [MSHRS*WAITERS*WAITER_WIDTH-1:0] mshr_waiter_reg;  // MSHR m's waiter i at m*WAITERS+i

// ---- the op register -------------------------------------------------------------------------
reg                      op_valid_reg, op_valid_next;
reg [1:0]                op_kind_reg;
reg [TAG_WIDTH-1:0]      req_tag_reg;
reg [VPN_WIDTH-1:0]      req_page_reg;
reg                      req_write_reg;
reg                      req_cache_reg;
reg [MSHR_TAG_WIDTH-1:0] cpl_tag_reg;
reg                      cpl_ok_reg;
reg [PPN_WIDTH-1:0]      cpl_page_reg;
reg                      cpl_large_reg;
reg [2:0]                cpl_perm_reg;          // {io, w, r}
reg [4:0]                inv_itag_reg;
reg [VPN_WIDTH-1:0]      inv_page_reg;
reg [1:0]                inv_size_reg;

// ---- DRAIN: the completed translation being handed to its waiters -----------------------------
reg                      state_reg, state_next;
reg [MSHR_BITS-1:0]      drain_mshr_reg, drain_mshr_next;
reg [WIDX_BITS-1:0]      drain_idx_reg, drain_idx_next;
reg                      drain_ok_reg, drain_ok_next;
reg [2:0]                drain_perm_reg, drain_perm_next;
reg [PPN_WIDTH-1:0]      drain_page_reg, drain_page_next;

// ---- invalidations waiting for their completion (a shift queue, head at 0) -------------------
reg [ICNT_WIDTH-1:0]     inv_count_reg, inv_count_next;
reg [INV_DEPTH*5-1:0]    inv_q_itag_reg, inv_q_itag_next;
reg [INV_DEPTH*RCNT_WIDTH-1:0] inv_q_left_reg, inv_q_left_next;  // responses still ahead of it

// ---- counters and CSR response ---------------------------------------------------------------
reg [31:0] lookups_reg, lookups_next;
reg [31:0] hits_reg, hits_next;
reg [31:0] misses_reg, misses_next;
reg [31:0] merged_reg, merged_next;
reg [31:0] treqs_reg, treqs_next;
reg [31:0] fills_reg, fills_next;
reg [31:0] invalidations_reg, invalidations_next;
reg [31:0] faults_reg, faults_next;
reg        csr_valid_reg, csr_valid_next;
reg [31:0] csr_rdata_reg, csr_rdata_next;

// ---- permission check: {io, w, r} against a use --------------------------------------------
function [1:0] check;
    input [2:0] perm;
    input       write;
    input       cache;
    begin
        if (cache && perm[2]) begin
            check = ST_IO_ONLY;
        end else if (!(write ? perm[1] : perm[0])) begin
            check = ST_PERM;
        end else begin
            check = ST_OK;
        end
    end
endfunction

// ---- lookup: the request's page, or a completion's MSHR page ---------------------------------
wire [MSHR_BITS-1:0] cpl_mshr = cpl_tag_reg[MSHR_BITS-1:0];
wire cpl_known = {{(32 - MSHR_TAG_WIDTH){1'b0}}, cpl_tag_reg} < MSHRS &&
    mshr_valid_reg[cpl_mshr];
wire [VPN_WIDTH-1:0] mshr_page_of_cpl = mshr_page_reg[cpl_mshr*VPN_WIDTH +: VPN_WIDTH];
wire [VPN_WIDTH-1:0] look_page = op_kind_reg == OP_TCPL ? mshr_page_of_cpl : req_page_reg;
wire [STAG_WIDTH-1:0] look_tag = look_page[VPN_WIDTH-1:INDEX_WIDTH];
wire [REGION_WIDTH-1:0] look_region = look_page[VPN_WIDTH-1:LB];
wire [INDEX_BITS-1:0] look_index;

generate
    if (INDEX_WIDTH > 0) begin : g_index
        assign look_index = look_page[INDEX_BITS-1:0];
    end else begin : g_one_set
        assign look_index = 1'b0;
    end
endgenerate

reg                 small_hit;
reg [WAY_BITS-1:0]  small_hit_way;
reg                 small_free;
reg [WAY_BITS-1:0]  small_free_way;
reg [PPN_WIDTH-1:0] small_hit_ppn;
reg [2:0]           small_hit_perm;
integer             w;

always @* begin
    small_hit = 1'b0;
    small_hit_way = {WAY_BITS{1'b0}};
    small_free = 1'b0;
    small_free_way = {WAY_BITS{1'b0}};
    small_hit_ppn = {PPN_WIDTH{1'b0}};
    small_hit_perm = 3'd0;
    for (w = WAYS - 1; w >= 0; w = w - 1) begin  // counting down: the lowest free way wins
        if (small_valid_reg[look_index*WAYS + w] &&
                small_tag_reg[(look_index*WAYS + w)*STAG_WIDTH +: STAG_WIDTH] == look_tag) begin
            small_hit = 1'b1;
            small_hit_way = w[WAY_BITS-1:0];
            small_hit_ppn = small_ppn_reg[(look_index*WAYS + w)*PPN_WIDTH +: PPN_WIDTH];
            small_hit_perm = small_perm_reg[(look_index*WAYS + w)*3 +: 3];
        end
        if (!small_valid_reg[look_index*WAYS + w]) begin
            small_free = 1'b1;
            small_free_way = w[WAY_BITS-1:0];
        end
    end
end

reg                  large_hit;
reg [LWAY_BITS-1:0]  large_hit_way;
reg                  large_free;
reg [LWAY_BITS-1:0]  large_free_way;
reg [LPPN_WIDTH-1:0] large_hit_ppn;
reg [2:0]            large_hit_perm;
integer              l;

always @* begin
    large_hit = 1'b0;
    large_hit_way = {LWAY_BITS{1'b0}};
    large_free = 1'b0;
    large_free_way = {LWAY_BITS{1'b0}};
    large_hit_ppn = {LPPN_WIDTH{1'b0}};
    large_hit_perm = 3'd0;
    for (l = LARGE_ENTRIES - 1; l >= 0; l = l - 1) begin
        if (large_valid_reg[l] && large_region_reg[l*REGION_WIDTH +: REGION_WIDTH] == look_region)
                begin
            large_hit = 1'b1;
            large_hit_way = l[LWAY_BITS-1:0];
            large_hit_ppn = large_ppn_reg[l*LPPN_WIDTH +: LPPN_WIDTH];
            large_hit_perm = large_perm_reg[l*3 +: 3];
        end
        if (!large_valid_reg[l]) begin
            large_free = 1'b1;
            large_free_way = l[LWAY_BITS-1:0];
        end
    end
end

// pLRU of the looked-up set and of the 2 MiB array: victims, and trees after the touch
wire [PLRU_BITS-1:0]  small_plru_set = small_plru_reg[look_index*PLRU_BITS +: PLRU_BITS];
wire [WAY_BITS-1:0]   small_victim;
wire [PLRU_BITS-1:0]  small_touched;
wire [LWAY_BITS-1:0]  large_victim;
wire [LPLRU_BITS-1:0] large_touched;
// the way a request hit, or a fill takes: the same key's way, else the lowest free, else pLRU
wire [WAY_BITS-1:0]   small_way = small_hit ? small_hit_way :
    (small_free ? small_free_way : small_victim);
wire [LWAY_BITS-1:0]  large_way = large_hit ? large_hit_way :
    (large_free ? large_free_way : large_victim);

wire [31:0]           small_way_i = {{(32 - WAY_BITS){1'b0}}, small_way};

tree_plru #(.WAYS(WAYS)) small_plru (
    .tree(small_plru_set),
    .touch_way(small_way),
    .victim(small_victim),
    .touched(small_touched)
);

tree_plru #(.WAYS(LARGE_ENTRIES)) large_plru (
    .tree(large_plru_reg),
    .touch_way(large_way),
    .victim(large_victim),
    .touched(large_touched)
);

// the request's hit: a 4 KiB entry wins over a 2 MiB one
wire                 req_hit = small_hit || large_hit;
wire [2:0]           hit_perm = small_hit ? small_hit_perm : large_hit_perm;
wire [PPN_WIDTH-1:0] hit_page = small_hit ? small_hit_ppn : {large_hit_ppn, req_page_reg[LB-1:0]};
wire [1:0]           hit_status = check(hit_perm, req_write_reg, req_cache_reg);

// ---- MSHRs: the request's page, a free one, room for one more request -------------------------
reg                  mshr_match;
reg [MSHR_BITS-1:0]  mshr_match_idx;
reg [MSHR_BITS-1:0]  mshr_free_idx;
reg [MSHR_BITS:0]    mshr_free_count;
reg                  waiters_room;   // every MSHR has room for one more (two with one pending)
integer              m;

wire req_pending = op_valid_reg && op_kind_reg == OP_REQ;  // may still take an MSHR or a slot

always @* begin
    mshr_match = 1'b0;
    mshr_match_idx = {MSHR_BITS{1'b0}};
    mshr_free_idx = {MSHR_BITS{1'b0}};
    mshr_free_count = {(MSHR_BITS + 1){1'b0}};
    waiters_room = 1'b1;
    for (m = MSHRS - 1; m >= 0; m = m - 1) begin
        if (mshr_valid_reg[m] && mshr_page_reg[m*VPN_WIDTH +: VPN_WIDTH] == req_page_reg) begin
            mshr_match = 1'b1;
            mshr_match_idx = m[MSHR_BITS-1:0];
        end
        if (!mshr_valid_reg[m]) begin
            mshr_free_idx = m[MSHR_BITS-1:0];
            mshr_free_count = mshr_free_count + 1'b1;
        end else if ({{(32 - CNT_WIDTH){1'b0}}, mshr_count_reg[m*CNT_WIDTH +: CNT_WIDTH]} +
                {31'd0, req_pending} >= WAITERS) begin
            waiters_room = 1'b0;
        end
    end
end

wire req_room = {{(31 - MSHR_BITS){1'b0}}, mshr_free_count} > {31'd0, req_pending} &&
    waiters_room;
wire [CNT_WIDTH-1:0] match_count = mshr_count_reg[mshr_match_idx*CNT_WIDTH +: CNT_WIDTH];

// ---- invalidation: which entries and MSHRs overlap the range ---------------------------------
wire [REGION_WIDTH-1:0] inv_region = inv_page_reg[VPN_WIDTH-1:LB];
wire                    inv_all = inv_size_reg != INV_PAGE && inv_size_reg != INV_LARGE;
wire [ENTRIES-1:0]       inv_small;
wire [LARGE_ENTRIES-1:0] inv_large;
wire [MSHRS-1:0]         inv_mshr;        // the MSHR's own page is in the range
wire [MSHRS-1:0]         inv_mshr_large;  // only its 2 MiB region overlaps the range

genvar ge;
generate
    for (ge = 0; ge < ENTRIES; ge = ge + 1) begin : g_inv_small
        wire [VPN_WIDTH-1:0] page;  // the entry's page: its tag above its set's index
        if (INDEX_WIDTH > 0) begin : g_indexed
            localparam integer SET = ge / WAYS;
            assign page = {small_tag_reg[ge*STAG_WIDTH +: STAG_WIDTH], SET[INDEX_BITS-1:0]};
        end else begin : g_one_set
            assign page = small_tag_reg[ge*STAG_WIDTH +: STAG_WIDTH];
        end
        assign inv_small[ge] = inv_all ||
            (inv_size_reg == INV_PAGE && page == inv_page_reg) ||
            (inv_size_reg == INV_LARGE && page[VPN_WIDTH-1:LB] == inv_region);
    end
    for (ge = 0; ge < LARGE_ENTRIES; ge = ge + 1) begin : g_inv_large
        assign inv_large[ge] = inv_all ||
            large_region_reg[ge*REGION_WIDTH +: REGION_WIDTH] == inv_region;
    end
    for (ge = 0; ge < MSHRS; ge = ge + 1) begin : g_inv_mshr
        wire in_region = mshr_page_reg[ge*VPN_WIDTH + LB +: REGION_WIDTH] == inv_region;
        wire own_page = mshr_page_reg[ge*VPN_WIDTH +: VPN_WIDTH] == inv_page_reg;
        assign inv_mshr[ge] = inv_all || (in_region && (inv_size_reg != INV_PAGE || own_page));
        assign inv_mshr_large[ge] = in_region;
    end
endgenerate

// ---- DRAIN: the waiter being answered -------------------------------------------------------
wire [WAITER_WIDTH-1:0] drain_waiter =
    mshr_waiter_reg[(drain_mshr_reg*WAITERS + {{(32 - WIDX_BITS){1'b0}}, drain_idx_reg})*WAITER_WIDTH +: WAITER_WIDTH];
wire [TAG_WIDTH-1:0] drain_tag = drain_waiter[WAITER_WIDTH-1:2];
wire [1:0] drain_status = drain_ok_reg ?
    check(drain_perm_reg, drain_waiter[1], drain_waiter[0]) : ST_FAILED;
wire [CNT_WIDTH-1:0] drain_count = mshr_count_reg[drain_mshr_reg*CNT_WIDTH +: CNT_WIDTH];
localparam [CNT_WIDTH-1:0] CNT_ONE = 1;
localparam integer TWO_IF_FITS = (CNT_WIDTH > 1) ? 2 : 0;
localparam [CNT_WIDTH-1:0] CNT_TWO = TWO_IF_FITS[CNT_WIDTH-1:0];
wire [CNT_WIDTH-1:0] drain_last =
    (PLANT_BUG == 2 && {{(32 - CNT_WIDTH){1'b0}}, drain_count} >= 32'd3) ?
    drain_count - CNT_TWO : drain_count - CNT_ONE;
wire drain_done = {{(CNT_WIDTH - WIDX_BITS){1'b0}}, drain_idx_reg} == drain_last;

// ---- output FIFOs ------------------------------------------------------------------------------
reg                  rsp_push;
reg [RSP_WIDTH-1:0]  rsp_data;
wire                 rsp_room;
wire [$clog2(RSP_DEPTH):0] rsp_count;
wire [RSP_WIDTH-1:0] rsp_out;
reg                  treq_push;
reg [TREQ_WIDTH-1:0] treq_data;
wire                 treq_room;
wire [TREQ_WIDTH-1:0] treq_out;
wire                 rsp_pop = m_rsp_valid && m_rsp_ready;

stream_fifo #(.DATA_WIDTH(RSP_WIDTH), .DEPTH(RSP_DEPTH)) rsp_fifo (
    .clk(clk),
    .rst(rst),
    .s_data(rsp_data),
    .s_valid(rsp_push),
    .s_ready(rsp_room),
    .m_data(rsp_out),
    .m_valid(m_rsp_valid),
    .m_ready(m_rsp_ready),
    .count(rsp_count)
);

/* verilator lint_off PINCONNECTEMPTY */
stream_fifo #(.DATA_WIDTH(TREQ_WIDTH), .DEPTH(TREQ_DEPTH)) treq_fifo (
    .clk(clk),
    .rst(rst),
    .s_data(treq_data),
    .s_valid(treq_push),
    .s_ready(treq_room),
    .m_data(treq_out),
    .m_valid(m_treq_valid),
    .m_ready(m_treq_ready),
    .count()
);
/* verilator lint_on PINCONNECTEMPTY */

assign {m_rsp_tag, m_rsp_status, m_rsp_hit, m_rsp_page} = rsp_out;
assign {m_treq_tag, m_treq_page} = treq_out;

wire inv_head_left = inv_q_left_reg[RCNT_WIDTH-1:0] != {RCNT_WIDTH{1'b0}};
assign m_invcpl_valid = inv_count_reg != {ICNT_WIDTH{1'b0}} && (!inv_head_left || PLANT_BUG == 1);
assign m_invcpl_itag = inv_q_itag_reg[4:0];
wire inv_pop = m_invcpl_valid && m_invcpl_ready;
wire inv_room = {{(32 - ICNT_WIDTH){1'b0}}, inv_count_reg} < INV_DEPTH;

// ---- decide: can the op register's operation finish this cycle? -------------------------------
wire cpl_stale = mshr_stale_reg[cpl_mshr] || (mshr_stale_large_reg[cpl_mshr] && cpl_large_reg);
reg  op_done;

always @* begin
    op_done = 1'b0;
    if (op_valid_reg && state_reg == STATE_RUN) begin
        case (op_kind_reg)
            OP_REQ:  op_done = req_hit ? rsp_room : (mshr_match || treq_room);
            OP_TCPL: op_done = !cpl_known || !cpl_stale || treq_room;
            OP_INV:  op_done = inv_room;
            default: op_done = 1'b1;
        endcase
    end
end

// ---- arbitration: one operation per cycle into the op register ------------------------------
wire op_take = !op_valid_reg || op_done;
assign s_tcpl_ready = op_take;
assign s_inv_ready = op_take && !s_tcpl_valid;
assign s_req_ready = op_take && !s_tcpl_valid && !s_inv_valid && req_room;
wire take_tcpl = s_tcpl_valid && s_tcpl_ready;
wire take_inv = s_inv_valid && s_inv_ready;
wire take_req = s_req_valid && s_req_ready;

// ---- CSR read mux ----------------------------------------------------------------------------
localparam [31:0] INFO_VALUE =
    ({28'd0, ENTRIES_LOG2[3:0]} << ATC_INFO_ENTRIES_LOG2_LSB) |
    ({28'd0, LEVELS[3:0]} << ATC_INFO_WAYS_LOG2_LSB) |
    ({28'd0, LLEVELS[3:0]} << ATC_INFO_LARGE_LOG2_LSB) |
    ({27'd0, MSHRS[4:0]} << ATC_INFO_MSHRS_LSB) |
    ({27'd0, WAITERS[4:0]} << ATC_INFO_WAITERS_LSB) |
    ({26'd0, INV_DEPTH[5:0]} << ATC_INFO_INV_DEPTH_LSB) |
    ({28'd0, RSP_LOG2[3:0]} << ATC_INFO_RSP_DEPTH_LOG2_LSB);
localparam [31:0] WIDTHS_VALUE =
    ({27'd0, TAG_WIDTH[4:0]} << ATC_WIDTHS_TAG_WIDTH_LSB) |
    ({26'd0, VPN_WIDTH[5:0]} << ATC_WIDTHS_VPN_WIDTH_LSB) |
    ({26'd0, PPN_WIDTH[5:0]} << ATC_WIDTHS_PPN_WIDTH_LSB);

reg [ECNT_WIDTH-1:0] entries_valid;
integer              c;

always @* begin
    entries_valid = {ECNT_WIDTH{1'b0}};
    for (c = 0; c < ENTRIES; c = c + 1) begin
        entries_valid = entries_valid + {{(ECNT_WIDTH - 1){1'b0}}, small_valid_reg[c]};
    end
    for (c = 0; c < LARGE_ENTRIES; c = c + 1) begin
        entries_valid = entries_valid + {{(ECNT_WIDTH - 1){1'b0}}, large_valid_reg[c]};
    end
end

wire busy = op_valid_reg || state_reg != STATE_RUN || mshr_valid_reg != {MSHRS{1'b0}} ||
    m_rsp_valid || m_treq_valid || inv_count_reg != {ICNT_WIDTH{1'b0}};

reg [31:0] read_data;
always @* begin
    read_data = 32'd0;
    case (s_csr_addr & 8'hFC)
        ATC_CSR_ID:            read_data = ATC_ID_VALUE;
        ATC_CSR_INFO:          read_data = INFO_VALUE;
        ATC_CSR_WIDTHS:        read_data = WIDTHS_VALUE;
        ATC_CSR_STATUS:        read_data[ATC_STATUS_BUSY_LSB] = busy;
        ATC_CSR_ENTRIES:       read_data[ECNT_WIDTH-1:0] = entries_valid;
        ATC_CSR_LOOKUPS:       read_data = lookups_reg;
        ATC_CSR_HITS:          read_data = hits_reg;
        ATC_CSR_MISSES:        read_data = misses_reg;
        ATC_CSR_MERGED:        read_data = merged_reg;
        ATC_CSR_TREQS:         read_data = treqs_reg;
        ATC_CSR_FILLS:         read_data = fills_reg;
        ATC_CSR_INVALIDATIONS: read_data = invalidations_reg;
        ATC_CSR_FAULTS:        read_data = faults_reg;
        default:               read_data = 32'd0;  // CTRL reads 0, unmapped addresses too
    endcase
end

wire csr_fire = s_csr_valid && s_csr_ready;
wire clear = csr_fire && s_csr_write && (s_csr_addr & 8'hFC) == ATC_CSR_CTRL &&
    s_csr_wdata[ATC_CTRL_CLEAR_LSB];

assign s_csr_ready = !csr_valid_reg || m_csr_ready;
assign m_csr_valid = csr_valid_reg;
assign m_csr_rdata = csr_rdata_reg;

// ---- next state ------------------------------------------------------------------------------
reg                   fill_small;    // write the looked-up set's small_way (completion, ok)
reg                   fill_large;    // write large_way
reg                   mshr_alloc;    // MSHR mshr_free_idx takes the request's page
reg                   waiter_write;  // the request joins waiter_mshr at waiter_slot
reg [MSHR_BITS-1:0]   waiter_mshr;
reg [CNT_WIDTH-1:0]   waiter_slot;
reg [ICNT_WIDTH-1:0]  inv_tail;
reg [RCNT_WIDTH-1:0]  left;
integer               q;
integer               f;
wire [31:0] fill_entry = look_index*WAYS + small_way_i;
wire [31:0] large_way_i = {{(32 - LWAY_BITS){1'b0}}, large_way};
wire [31:0] waiter_entry = waiter_mshr*WAITERS + {{(32 - CNT_WIDTH){1'b0}}, waiter_slot};

always @* begin
    state_next = state_reg;
    op_valid_next = op_valid_reg;
    small_valid_next = small_valid_reg;
    small_plru_next = small_plru_reg;
    large_valid_next = large_valid_reg;
    large_plru_next = large_plru_reg;
    mshr_valid_next = mshr_valid_reg;
    mshr_stale_next = mshr_stale_reg;
    mshr_stale_large_next = mshr_stale_large_reg;
    mshr_count_next = mshr_count_reg;
    drain_mshr_next = drain_mshr_reg;
    drain_idx_next = drain_idx_reg;
    drain_ok_next = drain_ok_reg;
    drain_perm_next = drain_perm_reg;
    drain_page_next = drain_page_reg;
    inv_count_next = inv_count_reg;
    inv_q_itag_next = inv_q_itag_reg;
    inv_q_left_next = inv_q_left_reg;
    lookups_next = lookups_reg;
    hits_next = hits_reg;
    misses_next = misses_reg;
    merged_next = merged_reg;
    treqs_next = treqs_reg;
    fills_next = fills_reg;
    invalidations_next = invalidations_reg;
    faults_next = faults_reg;
    csr_valid_next = csr_valid_reg;
    csr_rdata_next = csr_rdata_reg;
    rsp_push = 1'b0;
    rsp_data = {RSP_WIDTH{1'b0}};
    treq_push = 1'b0;
    treq_data = {TREQ_WIDTH{1'b0}};
    fill_small = 1'b0;
    fill_large = 1'b0;
    mshr_alloc = 1'b0;
    waiter_write = 1'b0;
    waiter_mshr = {MSHR_BITS{1'b0}};
    waiter_slot = {CNT_WIDTH{1'b0}};

    // invalidations: responses taken at this edge are no longer ahead; the head may go
    for (q = 0; q < INV_DEPTH; q = q + 1) begin
        left = inv_q_left_reg[q*RCNT_WIDTH +: RCNT_WIDTH];
        if (rsp_pop && left != {RCNT_WIDTH{1'b0}}) begin
            inv_q_left_next[q*RCNT_WIDTH +: RCNT_WIDTH] = left - 1'b1;
        end
    end
    if (inv_pop) begin
        inv_q_itag_next = inv_q_itag_next >> 5;
        inv_q_left_next = inv_q_left_next >> RCNT_WIDTH;
        inv_count_next = inv_count_reg - 1'b1;
    end
    inv_tail = inv_count_next;

    if (op_done) begin
        op_valid_next = 1'b0;
        case (op_kind_reg)
            OP_REQ: begin
                lookups_next = lookups_reg + 32'd1;
                if (req_hit) begin
                    hits_next = hits_reg + 32'd1;
                    faults_next = faults_reg + {31'd0, hit_status != ST_OK};
                    rsp_push = 1'b1;
                    rsp_data = {req_tag_reg, hit_status, 1'b1,
                                hit_status == ST_OK ? hit_page : {PPN_WIDTH{1'b0}}};
                    if (small_hit) begin
                        small_plru_next[look_index*PLRU_BITS +: PLRU_BITS] = small_touched;
                    end else begin
                        large_plru_next = large_touched;
                    end
                end else if (mshr_match) begin
                    misses_next = misses_reg + 32'd1;
                    merged_next = merged_reg + 32'd1;
                    waiter_write = 1'b1;
                    waiter_mshr = mshr_match_idx;
                    waiter_slot = match_count;
                    mshr_count_next[mshr_match_idx*CNT_WIDTH +: CNT_WIDTH] = match_count + 1'b1;
                end else begin
                    misses_next = misses_reg + 32'd1;
                    treqs_next = treqs_reg + 32'd1;
                    mshr_alloc = 1'b1;
                    waiter_write = 1'b1;
                    waiter_mshr = mshr_free_idx;
                    mshr_valid_next[mshr_free_idx] = 1'b1;
                    mshr_stale_next[mshr_free_idx] = 1'b0;
                    mshr_stale_large_next[mshr_free_idx] = 1'b0;
                    mshr_count_next[mshr_free_idx*CNT_WIDTH +: CNT_WIDTH] = 1;
                    treq_push = 1'b1;
                    treq_data = {{(MSHR_TAG_WIDTH - MSHR_BITS){1'b0}}, mshr_free_idx, req_page_reg};
                end
            end
            OP_TCPL: begin
                if (cpl_known && cpl_stale) begin  // invalidated on its way: ask again
                    mshr_stale_next[cpl_mshr] = 1'b0;
                    mshr_stale_large_next[cpl_mshr] = 1'b0;
                    treqs_next = treqs_reg + 32'd1;
                    treq_push = 1'b1;
                    treq_data = {cpl_tag_reg, mshr_page_of_cpl};
                end else if (cpl_known) begin
                    state_next = STATE_DRAIN;
                    drain_mshr_next = cpl_mshr;
                    drain_idx_next = {WIDX_BITS{1'b0}};
                    drain_ok_next = cpl_ok_reg;
                    drain_perm_next = cpl_perm_reg;
                    drain_page_next = cpl_large_reg ?
                        {cpl_page_reg[PPN_WIDTH-1:LB], mshr_page_of_cpl[LB-1:0]} : cpl_page_reg;
                    if (cpl_ok_reg) begin
                        fills_next = fills_reg + 32'd1;
                        if (cpl_large_reg) begin
                            fill_large = 1'b1;
                            large_valid_next[large_way] = 1'b1;
                            large_plru_next = large_touched;
                        end else begin
                            fill_small = 1'b1;
                            small_valid_next[look_index*WAYS + small_way_i] = 1'b1;
                            small_plru_next[look_index*PLRU_BITS +: PLRU_BITS] = small_touched;
                        end
                    end
                end
            end
            OP_INV: begin
                invalidations_next = invalidations_reg + 32'd1;
                small_valid_next = small_valid_reg & ~inv_small;
                large_valid_next = large_valid_reg & ~inv_large;
                mshr_stale_next = mshr_stale_reg | (mshr_valid_reg & inv_mshr);
                mshr_stale_large_next = mshr_stale_large_reg | (mshr_valid_reg & inv_mshr_large);
                inv_q_itag_next[inv_tail*5 +: 5] = inv_itag_reg;
                // the responses now in the FIFO, less the one leaving at this edge
                inv_q_left_next[inv_tail*RCNT_WIDTH +: RCNT_WIDTH] =
                    rsp_count[RCNT_WIDTH-1:0] - {{(RCNT_WIDTH - 1){1'b0}}, rsp_pop};
                inv_count_next = inv_count_next + 1'b1;
            end
            default: ;  // nothing else is ever taken
        endcase
    end

    if (state_reg == STATE_DRAIN && rsp_room) begin
        rsp_push = 1'b1;
        rsp_data = {drain_tag, drain_status, 1'b0,
                    drain_status == ST_OK ? drain_page_reg : {PPN_WIDTH{1'b0}}};
        faults_next = faults_reg + {31'd0, drain_status != ST_OK};
        drain_idx_next = drain_idx_reg + 1'b1;
        if (drain_done) begin
            state_next = STATE_RUN;
            mshr_valid_next[drain_mshr_reg] = 1'b0;
            mshr_count_next[drain_mshr_reg*CNT_WIDTH +: CNT_WIDTH] = {CNT_WIDTH{1'b0}};
        end
    end

    if (take_tcpl || take_inv || take_req) begin
        op_valid_next = 1'b1;
    end

    // CSR accesses: a CLEAR accepted at this edge wins over the counting above
    if (m_csr_ready) begin
        csr_valid_next = 1'b0;
    end
    if (csr_fire) begin
        csr_valid_next = 1'b1;
        csr_rdata_next = s_csr_write ? 32'd0 : read_data;
    end
    if (clear) begin
        lookups_next = 32'd0;
        hits_next = 32'd0;
        misses_next = 32'd0;
        merged_next = 32'd0;
        treqs_next = 32'd0;
        fills_next = 32'd0;
        invalidations_next = 32'd0;
        faults_next = 32'd0;
    end
end

always @(posedge clk) begin
    state_reg <= state_next;
    op_valid_reg <= op_valid_next;
    small_valid_reg <= small_valid_next;
    small_plru_reg <= small_plru_next;
    large_valid_reg <= large_valid_next;
    large_plru_reg <= large_plru_next;
    mshr_valid_reg <= mshr_valid_next;
    mshr_stale_reg <= mshr_stale_next;
    mshr_stale_large_reg <= mshr_stale_large_next;
    mshr_count_reg <= mshr_count_next;
    drain_mshr_reg <= drain_mshr_next;
    drain_idx_reg <= drain_idx_next;
    drain_ok_reg <= drain_ok_next;
    drain_perm_reg <= drain_perm_next;
    drain_page_reg <= drain_page_next;
    inv_count_reg <= inv_count_next;
    inv_q_itag_reg <= inv_q_itag_next;
    inv_q_left_reg <= inv_q_left_next;
    lookups_reg <= lookups_next;
    hits_reg <= hits_next;
    misses_reg <= misses_next;
    merged_reg <= merged_next;
    treqs_reg <= treqs_next;
    fills_reg <= fills_next;
    invalidations_reg <= invalidations_next;
    faults_reg <= faults_next;
    csr_valid_reg <= csr_valid_next;
    csr_rdata_reg <= csr_rdata_next;

    // the op register's payload: only the accepted stream's fields
    if (take_tcpl) begin
        op_kind_reg <= OP_TCPL;
        cpl_tag_reg <= s_tcpl_tag;
        cpl_ok_reg <= s_tcpl_ok;
        cpl_page_reg <= s_tcpl_page;
        cpl_large_reg <= s_tcpl_large;
        cpl_perm_reg <= {s_tcpl_io, s_tcpl_w, s_tcpl_r};
    end else if (take_inv) begin
        op_kind_reg <= OP_INV;
        inv_itag_reg <= s_inv_itag;
        inv_page_reg <= s_inv_page;
        inv_size_reg <= s_inv_size;
    end else if (take_req) begin
        op_kind_reg <= OP_REQ;
        req_tag_reg <= s_req_tag;
        req_page_reg <= s_req_page;
        req_write_reg <= s_req_write;
        req_cache_reg <= s_req_cache;
    end

    // payloads: entries at fills, MSHR pages and waiters at misses (not reset); one compare
    // per entry rather than a variable part-select (which synthesizes to wide shifters)
    for (f = 0; f < ENTRIES; f = f + 1) begin
        if (fill_small && f == fill_entry) begin
            small_tag_reg[f*STAG_WIDTH +: STAG_WIDTH] <= look_tag;
            small_ppn_reg[f*PPN_WIDTH +: PPN_WIDTH] <= cpl_page_reg;
            small_perm_reg[f*3 +: 3] <= cpl_perm_reg;
        end
    end
    for (f = 0; f < LARGE_ENTRIES; f = f + 1) begin
        if (fill_large && f == large_way_i) begin
            large_region_reg[f*REGION_WIDTH +: REGION_WIDTH] <= look_region;
            large_ppn_reg[f*LPPN_WIDTH +: LPPN_WIDTH] <= cpl_page_reg[PPN_WIDTH-1:LB];
            large_perm_reg[f*3 +: 3] <= cpl_perm_reg;
        end
    end
    for (f = 0; f < MSHRS; f = f + 1) begin
        if (mshr_alloc && f == {{(32 - MSHR_BITS){1'b0}}, mshr_free_idx}) begin
            mshr_page_reg[f*VPN_WIDTH +: VPN_WIDTH] <= req_page_reg;
        end
    end
    for (f = 0; f < MSHRS * WAITERS; f = f + 1) begin
        if (waiter_write && f == waiter_entry) begin
            mshr_waiter_reg[f*WAITER_WIDTH +: WAITER_WIDTH] <=
                {req_tag_reg, req_write_reg, req_cache_reg};
        end
    end

    if (rst) begin
        state_reg <= STATE_RUN;
        op_valid_reg <= 1'b0;
        small_valid_reg <= {ENTRIES{1'b0}};
        small_plru_reg <= {(SETS * PLRU_BITS){1'b0}};
        large_valid_reg <= {LARGE_ENTRIES{1'b0}};
        large_plru_reg <= {LPLRU_BITS{1'b0}};
        mshr_valid_reg <= {MSHRS{1'b0}};
        mshr_stale_reg <= {MSHRS{1'b0}};
        mshr_stale_large_reg <= {MSHRS{1'b0}};
        mshr_count_reg <= {(MSHRS * CNT_WIDTH){1'b0}};
        inv_count_reg <= {ICNT_WIDTH{1'b0}};
        inv_q_left_reg <= {(INV_DEPTH * RCNT_WIDTH){1'b0}};
        lookups_reg <= 32'd0;
        hits_reg <= 32'd0;
        misses_reg <= 32'd0;
        merged_reg <= 32'd0;
        treqs_reg <= 32'd0;
        fills_reg <= 32'd0;
        invalidations_reg <= 32'd0;
        faults_reg <= 32'd0;
        csr_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
`default_nettype wire
