// snoop_filter: the host's inclusive snoop filter, twin of slugsim.coherence.SnoopFilter.
//
// A set-associative array of line tags with a sharer vector per entry: which devices (or cache
// IDs) may hold each line (CXL_REFERENCE.md §5). It is inclusive: a line a device may hold always
// has an entry, so an ALLOCATE into a full set replaces an entry and hands it out on the victim
// stream, whose sharers the home agent must back-invalidate (SnpInv).
//
// Requests (s_req: op, line address, sharer vector), one at a time, in order; one response
// (m_rsp: hit, the entry's sharers after the request, 0 when absent or freed; victim: 1 when
// this request sent a victim) per request, in order:
//   LOOKUP     0  the line's sharers; a hit makes the way most recently used. LOOKUPS += 1 and
//                 HITS or MISSES += 1.
//   ALLOCATE   1  add sharers to a line. Hit: sharers |= s_req_sharers, way touched. Miss
//                 (ALLOCATIONS += 1): take the lowest invalid way, else the pseudo-LRU way,
//                 whose entry goes out on m_victim (VICTIMS += 1); the new entry holds
//                 s_req_sharers and is touched.
//   UPDATE     2  replace the sharers of a present line and touch it; an all-zero vector frees
//                 the entry instead (DEALLOCATIONS += 1). Miss: nothing changes.
//   DEALLOCATE 3  free the line's entry if present (DEALLOCATIONS += 1), no touch.
// LOOKUP and DEALLOCATE ignore s_req_sharers. Replacement is a tree pseudo-LRU per set (WAYS-1
// bits, node i's children 2i+1 and 2i+2; a bit of 1 sends the victim walk to the upper half);
// a touch points every node on the way's path away from it.
//
// Timing: a three-state FSM, IDLE (s_req_ready = 1; the request is registered) -> READ (the
// set's tags, sharers, valid and pLRU bits are read into registers, as from a synchronous
// SRAM) -> DECIDE (compare, choose, write the set back, load the response and victim output
// registers) -> IDLE. A request accepted at edge t is read at t+1 and decided at t+2; its
// response (and victim) are valid from t+2 and taken at t+3 at the earliest, when the next
// request can be accepted: one request every 3 cycles unstalled. DECIDE waits while the
// response register still holds an untaken response or, for an ALLOCATE that replaces an
// entry, while the victim register holds an untaken victim: nothing is dropped or duplicated
// under back-pressure, and a stalled victim stream blocks only the next replacement.
//
// Storage: tags and sharers are two memories of SETS words of one set each (not reset: an
// invalid entry's contents are never used), valid and pLRU bits are flops (reset to 0). At the
// sizes tested (up to 64 entries) everything maps to flops; a large filter would map the two
// memories onto single-port SRAMs (one read in READ, one write in DECIDE, never together).
//
// CSR port: a request stream (s_csr_*: write, byte address, write data) and a response stream
// (m_csr_*: read data, 0 for writes), one response per request, one cycle after it. The map is
// generated from slugsim/coherence/csr.py (snoop_filter_csr.vh), the one source of truth:
//   0x00 ID RO 0x53460001   0x04 INFO RO [4:0] log2(SETS) [10:8] log2(WAYS) [22:16]
//   SHARER_WIDTH [30:24] ADDR_WIDTH   0x08 CTRL [0] CLEAR (write 1: event counters to 0)
//   0x0C STATUS RO [0] BUSY   0x10 ENTRIES RO valid entries   0x14 LOOKUPS 0x18 HITS
//   0x1C MISSES 0x20 ALLOCATIONS 0x24 VICTIMS 0x28 DEALLOCATIONS  RO event counters (wrap)
// A CLEAR accepted at the edge an event is counted wins. Unmapped addresses read 0.
//
// SF_PLANT_BUG (a define, for the testbench's proof that its scoreboard has teeth; never set
// in a real build): 1 = a touch forgets the leaf level of the pLRU tree (wrong victims);
// 2 = a victim offered while m_victim_ready is low is dropped after one cycle.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module snoop_filter #(
    parameter integer SETS = 4,          // sets, a power of two 1 ... 65536
    parameter integer WAYS = 4,          // ways per set, a power of two 1 ... 64
    parameter integer SHARER_WIDTH = 4,  // sharer vector bits (devices or cache IDs), 1 ... 64
    parameter integer ADDR_WIDTH = 46    // line address bits (Addr[51:6]), log2(SETS)+1 ... 64
) (
    input  wire                    clk,
    input  wire                    rst,              // synchronous, active high

    // requests
    input  wire                    s_req_valid,
    output wire                    s_req_ready,
    input  wire [1:0]              s_req_op,         // 0 LOOKUP 1 ALLOCATE 2 UPDATE 3 DEALLOCATE
    input  wire [ADDR_WIDTH-1:0]   s_req_line,       // line address
    input  wire [SHARER_WIDTH-1:0] s_req_sharers,    // ALLOCATE, UPDATE; ignored otherwise

    // responses, one per request, in order
    output wire                    m_rsp_valid,
    input  wire                    m_rsp_ready,
    output wire                    m_rsp_hit,        // the line was present
    output wire [SHARER_WIDTH-1:0] m_rsp_sharers,    // its sharers after the request
    output wire                    m_rsp_victim,     // this request sent a victim on m_victim

    // victims: entries replaced by ALLOCATE, to back-invalidate
    output wire                    m_victim_valid,
    input  wire                    m_victim_ready,
    output wire [ADDR_WIDTH-1:0]   m_victim_line,
    output wire [SHARER_WIDTH-1:0] m_victim_sharers,

    // CSR requests
    input  wire                    s_csr_valid,
    output wire                    s_csr_ready,
    input  wire                    s_csr_write,
    input  wire [7:0]              s_csr_addr,       // byte address (SF_CSR_ADDR_WIDTH)
    input  wire [31:0]             s_csr_wdata,

    // CSR responses
    output wire                    m_csr_valid,
    input  wire                    m_csr_ready,
    output wire [31:0]             m_csr_rdata
);

`include "snoop_filter_csr.vh"

`ifdef SF_PLANT_BUG
localparam integer PLANT_BUG = `SF_PLANT_BUG;
`else
localparam integer PLANT_BUG = 0;
`endif

localparam integer INDEX_WIDTH = $clog2(SETS);                       // set index bits (may be 0)
localparam integer INDEX_BITS = (INDEX_WIDTH > 0) ? INDEX_WIDTH : 1;  // ... as a vector
localparam integer TAG_WIDTH = ADDR_WIDTH - INDEX_WIDTH;
localparam integer LEVELS = $clog2(WAYS);                            // pLRU tree depth (may be 0)
localparam integer WAY_BITS = (LEVELS > 0) ? LEVELS : 1;             // a way number
localparam integer PLRU_BITS = (WAYS > 1) ? WAYS - 1 : 1;            // tree bits per set
localparam integer ENTRIES = SETS * WAYS;
localparam integer ENTRY_COUNT_WIDTH = $clog2(ENTRIES + 1);
localparam [ENTRY_COUNT_WIDTH-1:0] ONE_ENTRY = 1;

localparam [1:0] OP_LOOKUP = 2'd0;
localparam [1:0] OP_ALLOCATE = 2'd1;
localparam [1:0] OP_UPDATE = 2'd2;
localparam [1:0] OP_DEALLOCATE = 2'd3;

localparam [1:0] STATE_IDLE = 2'd0;    // ready for a request
localparam [1:0] STATE_READ = 2'd1;    // read the request's set
localparam [1:0] STATE_DECIDE = 2'd2;  // compare, write back, respond

initial begin
    if (SETS < 1 || SETS > SF_MAX_SETS || (1 << INDEX_WIDTH) != SETS) begin
        $display("Error: snoop_filter SETS must be a power of two in 1..%0d (%m)", SF_MAX_SETS);
        $finish;
    end
    if (WAYS < 1 || WAYS > SF_MAX_WAYS || (1 << LEVELS) != WAYS) begin
        $display("Error: snoop_filter WAYS must be a power of two in 1..%0d (%m)", SF_MAX_WAYS);
        $finish;
    end
    if (SHARER_WIDTH < 1 || SHARER_WIDTH > SF_MAX_SHARER_WIDTH) begin
        $display("Error: snoop_filter SHARER_WIDTH must be in 1..%0d (%m)", SF_MAX_SHARER_WIDTH);
        $finish;
    end
    if (ADDR_WIDTH <= INDEX_WIDTH || ADDR_WIDTH > SF_MAX_ADDR_WIDTH) begin
        $display("Error: snoop_filter ADDR_WIDTH must be in %0d..%0d (%m)", INDEX_WIDTH + 1,
                 SF_MAX_ADDR_WIDTH);
        $finish;
    end
    if (PLANT_BUG < 0 || PLANT_BUG > 2) begin
        $display("Error: snoop_filter SF_PLANT_BUG must be 1 or 2 (%m)");
        $finish;
    end
end

// ---- storage -----------------------------------------------------------------------------
reg [WAYS*TAG_WIDTH-1:0]    tag_mem [0:SETS-1];     // per set: way w's tag at w*TAG_WIDTH
reg [WAYS*SHARER_WIDTH-1:0] sharer_mem [0:SETS-1];  // per set: way w's sharers
reg [ENTRIES-1:0]           valid_reg, valid_next;  // set s, way w at s*WAYS+w
reg [SETS*PLRU_BITS-1:0]    plru_reg, plru_next;    // set s's tree at s*PLRU_BITS

// ---- the request in flight and its set ---------------------------------------------------
reg [1:0]                   state_reg, state_next;
reg [1:0]                   req_op_reg;
reg [ADDR_WIDTH-1:0]        req_line_reg;
reg [SHARER_WIDTH-1:0]      req_sharers_reg;

reg [WAYS*TAG_WIDTH-1:0]    set_tags_reg;
reg [WAYS*SHARER_WIDTH-1:0] set_sharers_reg;
reg [WAYS-1:0]              set_valid_reg;
reg [PLRU_BITS-1:0]         set_plru_reg;

// ---- outputs and counters ----------------------------------------------------------------
reg                         rsp_valid_reg, rsp_valid_next;
reg                         rsp_hit_reg, rsp_hit_next;
reg [SHARER_WIDTH-1:0]      rsp_sharers_reg, rsp_sharers_next;
reg                         rsp_victim_reg, rsp_victim_next;
reg                         victim_valid_reg, victim_valid_next;
reg [ADDR_WIDTH-1:0]        victim_line_reg, victim_line_next;
reg [SHARER_WIDTH-1:0]      victim_sharers_reg, victim_sharers_next;

reg [ENTRY_COUNT_WIDTH-1:0] entries_reg, entries_next;
reg [31:0]                  lookups_reg, lookups_next;
reg [31:0]                  hits_reg, hits_next;
reg [31:0]                  misses_reg, misses_next;
reg [31:0]                  allocations_reg, allocations_next;
reg [31:0]                  victims_reg, victims_next;
reg [31:0]                  deallocations_reg, deallocations_next;

reg                         csr_valid_reg, csr_valid_next;
reg [31:0]                  csr_rdata_reg, csr_rdata_next;

// ---- index and tag -------------------------------------------------------------------------
wire [INDEX_BITS-1:0] req_index;
wire [TAG_WIDTH-1:0]  req_tag = req_line_reg[ADDR_WIDTH-1:INDEX_WIDTH];

generate
    if (INDEX_WIDTH > 0) begin : g_index
        assign req_index = req_line_reg[INDEX_BITS-1:0];
    end else begin : g_one_set
        assign req_index = 1'b0;
    end
endgenerate

// ---- DECIDE: compare the set -----------------------------------------------------------------
reg [WAYS-1:0]         hit_ways;     // at most one: the tags of a set's valid entries differ
reg                    hit;
reg [WAY_BITS-1:0]     hit_way;
reg [SHARER_WIDTH-1:0] hit_sharers;  // 0 on a miss
reg                    has_free;
reg [WAY_BITS-1:0]     free_way;     // the lowest invalid way
integer                w;

always @* begin
    hit_ways = {WAYS{1'b0}};
    hit_way = {WAY_BITS{1'b0}};
    hit_sharers = {SHARER_WIDTH{1'b0}};
    free_way = {WAY_BITS{1'b0}};
    has_free = 1'b0;
    for (w = WAYS - 1; w >= 0; w = w - 1) begin  // counting down: the lowest free way wins
        hit_ways[w] = set_valid_reg[w] && set_tags_reg[w*TAG_WIDTH +: TAG_WIDTH] == req_tag;
        if (hit_ways[w]) begin
            hit_way = w[WAY_BITS-1:0];
            hit_sharers = set_sharers_reg[w*SHARER_WIDTH +: SHARER_WIDTH];
        end
        if (!set_valid_reg[w]) begin
            has_free = 1'b1;
            free_way = w[WAY_BITS-1:0];
        end
    end
    hit = |hit_ways;
end

// the set's pLRU tree: its victim way, and the tree after touching the request's way
wire [WAY_BITS-1:0]  plru_way;
wire [WAY_BITS-1:0]  target_way;
wire [PLRU_BITS-1:0] touched_plru;

tree_plru #(.WAYS(WAYS), .PLANT_SKIP_LEAF(PLANT_BUG == 1 ? 1 : 0)) set_plru (
    .tree(set_plru_reg),
    .touch_way(target_way),
    .victim(plru_way),
    .touched(touched_plru)
);

// the entry an ALLOCATE miss replaces when the set is full: the pLRU way's
reg [TAG_WIDTH-1:0]    old_tag;
reg [SHARER_WIDTH-1:0] old_sharers;
integer                v;

always @* begin
    old_tag = {TAG_WIDTH{1'b0}};
    old_sharers = {SHARER_WIDTH{1'b0}};
    for (v = 0; v < WAYS; v = v + 1) begin
        if (v[WAY_BITS-1:0] == plru_way) begin
            old_tag = set_tags_reg[v*TAG_WIDTH +: TAG_WIDTH];
            old_sharers = set_sharers_reg[v*SHARER_WIDTH +: SHARER_WIDTH];
        end
    end
end

wire [ADDR_WIDTH-1:0] old_line;

generate
    if (INDEX_WIDTH > 0) begin : g_victim_line
        assign old_line = {old_tag, req_index};
    end else begin : g_victim_line_one_set
        assign old_line = old_tag;
    end
endgenerate

// the way the request works on: the hit way, else (ALLOCATE) the lowest free or the pLRU way
assign target_way = hit ? hit_way : (has_free ? free_way : plru_way);

// what the request does to its entry
reg                    touch;          // make target_way most recently used
reg                    write_tag;      // target_way takes the request's tag (ALLOCATE miss)
reg                    write_sharers;  // target_way takes entry_sharers
reg                    make_valid;
reg                    make_free;
reg [SHARER_WIDTH-1:0] entry_sharers;  // the entry's sharers after the request (the response's)

always @* begin
    touch = 1'b0;
    write_tag = 1'b0;
    write_sharers = 1'b0;
    make_valid = 1'b0;
    make_free = 1'b0;
    entry_sharers = {SHARER_WIDTH{1'b0}};
    case (req_op_reg)
        OP_LOOKUP: begin
            touch = hit;
            entry_sharers = hit_sharers;
        end
        OP_ALLOCATE: begin
            touch = 1'b1;
            write_tag = !hit;
            write_sharers = 1'b1;
            make_valid = !hit;
            entry_sharers = hit_sharers | req_sharers_reg;
        end
        OP_UPDATE: begin
            if (hit && req_sharers_reg != {SHARER_WIDTH{1'b0}}) begin
                touch = 1'b1;
                write_sharers = 1'b1;
                entry_sharers = req_sharers_reg;
            end else begin
                make_free = hit;  // an empty vector frees the entry
            end
        end
        OP_DEALLOCATE: begin
            make_free = hit;
        end
        default: ;  // the four opcodes are all of s_req_op's values
    endcase
end

// the set as DECIDE writes it back (a freed entry's sharers are zeroed, as in the model)
reg [WAYS*TAG_WIDTH-1:0]    new_tags;
reg [WAYS*SHARER_WIDTH-1:0] new_sharers;
reg [WAYS-1:0]              new_valid;
wire [PLRU_BITS-1:0]        new_plru = touch ? touched_plru : set_plru_reg;
integer                     u;

always @* begin
    new_tags = set_tags_reg;
    new_sharers = set_sharers_reg;
    new_valid = set_valid_reg;
    for (u = 0; u < WAYS; u = u + 1) begin
        if (u[WAY_BITS-1:0] == target_way) begin
            if (write_tag) begin
                new_tags[u*TAG_WIDTH +: TAG_WIDTH] = req_tag;
            end
            if (write_sharers || make_free) begin
                new_sharers[u*SHARER_WIDTH +: SHARER_WIDTH] = entry_sharers;
            end
            if (make_valid) begin
                new_valid[u] = 1'b1;
            end
            if (make_free) begin
                new_valid[u] = 1'b0;
            end
        end
    end
end

// ---- DECIDE: may it finish this cycle? -------------------------------------------------------
wire replaces = req_op_reg == OP_ALLOCATE && !hit && !has_free;
wire rsp_free = !rsp_valid_reg || m_rsp_ready;
wire victim_free = !victim_valid_reg || m_victim_ready;
wire decide = state_reg == STATE_DECIDE && rsp_free && (victim_free || !replaces);

// ---- CSR read mux --------------------------------------------------------------------------
localparam [31:0] INFO_VALUE =
    ({27'd0, INDEX_WIDTH[4:0]} << SF_INFO_SETS_LOG2_LSB) |
    ({29'd0, LEVELS[2:0]} << SF_INFO_WAYS_LOG2_LSB) |
    ({25'd0, SHARER_WIDTH[6:0]} << SF_INFO_SHARER_WIDTH_LSB) |
    ({25'd0, ADDR_WIDTH[6:0]} << SF_INFO_ADDR_WIDTH_LSB);

wire busy = state_reg != STATE_IDLE || rsp_valid_reg || victim_valid_reg;

reg [31:0] read_data;
always @* begin
    read_data = 32'd0;
    case (s_csr_addr & 8'hFC)
        SF_CSR_ID:            read_data = SF_ID_VALUE;
        SF_CSR_INFO:          read_data = INFO_VALUE;
        SF_CSR_STATUS:        read_data[SF_STATUS_BUSY_LSB] = busy;
        SF_CSR_ENTRIES:       read_data[ENTRY_COUNT_WIDTH-1:0] = entries_reg;
        SF_CSR_LOOKUPS:       read_data = lookups_reg;
        SF_CSR_HITS:          read_data = hits_reg;
        SF_CSR_MISSES:        read_data = misses_reg;
        SF_CSR_ALLOCATIONS:   read_data = allocations_reg;
        SF_CSR_VICTIMS:       read_data = victims_reg;
        SF_CSR_DEALLOCATIONS: read_data = deallocations_reg;
        default:              read_data = 32'd0;  // CTRL reads 0, unmapped addresses too
    endcase
end

wire csr_fire = s_csr_valid && s_csr_ready;
wire clear = csr_fire && s_csr_write && (s_csr_addr & 8'hFC) == SF_CSR_CTRL &&
    s_csr_wdata[SF_CTRL_CLEAR_LSB];

// ---- next state ------------------------------------------------------------------------------
assign s_req_ready = state_reg == STATE_IDLE;
assign m_rsp_valid = rsp_valid_reg;
assign m_rsp_hit = rsp_hit_reg;
assign m_rsp_sharers = rsp_sharers_reg;
assign m_rsp_victim = rsp_victim_reg;
assign m_victim_valid = victim_valid_reg;
assign m_victim_line = victim_line_reg;
assign m_victim_sharers = victim_sharers_reg;
assign s_csr_ready = !csr_valid_reg || m_csr_ready;
assign m_csr_valid = csr_valid_reg;
assign m_csr_rdata = csr_rdata_reg;

always @* begin
    state_next = state_reg;
    valid_next = valid_reg;
    plru_next = plru_reg;
    rsp_valid_next = rsp_valid_reg;
    rsp_hit_next = rsp_hit_reg;
    rsp_sharers_next = rsp_sharers_reg;
    rsp_victim_next = rsp_victim_reg;
    victim_valid_next = victim_valid_reg;
    victim_line_next = victim_line_reg;
    victim_sharers_next = victim_sharers_reg;
    entries_next = entries_reg;
    lookups_next = lookups_reg;
    hits_next = hits_reg;
    misses_next = misses_reg;
    allocations_next = allocations_reg;
    victims_next = victims_reg;
    deallocations_next = deallocations_reg;
    csr_valid_next = csr_valid_reg;
    csr_rdata_next = csr_rdata_reg;

    // outputs taken at this edge
    if (m_rsp_ready) begin
        rsp_valid_next = 1'b0;
    end
    if (m_victim_ready || PLANT_BUG == 2) begin
        victim_valid_next = 1'b0;
    end

    case (state_reg)
        STATE_IDLE: begin
            if (s_req_valid) begin
                state_next = STATE_READ;
            end
        end
        STATE_READ: begin
            state_next = STATE_DECIDE;
        end
        STATE_DECIDE: begin
            if (decide) begin
                state_next = STATE_IDLE;
                rsp_valid_next = 1'b1;
                rsp_hit_next = hit;
                rsp_sharers_next = entry_sharers;
                rsp_victim_next = replaces;
                if (req_op_reg == OP_LOOKUP) begin
                    lookups_next = lookups_reg + 32'd1;
                    hits_next = hits_reg + {31'd0, hit};
                    misses_next = misses_reg + {31'd0, !hit};
                end
                if (make_valid) begin
                    allocations_next = allocations_reg + 32'd1;
                end
                if (replaces) begin
                    victims_next = victims_reg + 32'd1;
                    victim_valid_next = 1'b1;
                    victim_line_next = old_line;
                    victim_sharers_next = old_sharers;
                end
                if (make_free) begin
                    deallocations_next = deallocations_reg + 32'd1;
                end
                if (make_valid && !replaces) begin
                    entries_next = entries_reg + ONE_ENTRY;
                end else if (make_free) begin
                    entries_next = entries_reg - ONE_ENTRY;
                end
                valid_next[req_index*WAYS +: WAYS] = new_valid;
                plru_next[req_index*PLRU_BITS +: PLRU_BITS] = new_plru;
            end
        end
        default: begin
            state_next = STATE_IDLE;
        end
    endcase

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
        allocations_next = 32'd0;
        victims_next = 32'd0;
        deallocations_next = 32'd0;
    end
end

always @(posedge clk) begin
    state_reg <= state_next;
    valid_reg <= valid_next;
    plru_reg <= plru_next;
    rsp_valid_reg <= rsp_valid_next;
    rsp_hit_reg <= rsp_hit_next;
    rsp_sharers_reg <= rsp_sharers_next;
    rsp_victim_reg <= rsp_victim_next;
    victim_valid_reg <= victim_valid_next;
    victim_line_reg <= victim_line_next;
    victim_sharers_reg <= victim_sharers_next;
    entries_reg <= entries_next;
    lookups_reg <= lookups_next;
    hits_reg <= hits_next;
    misses_reg <= misses_next;
    allocations_reg <= allocations_next;
    victims_reg <= victims_next;
    deallocations_reg <= deallocations_next;
    csr_valid_reg <= csr_valid_next;
    csr_rdata_reg <= csr_rdata_next;

    if (state_reg == STATE_IDLE && s_req_valid) begin
        req_op_reg <= s_req_op;
        req_line_reg <= s_req_line;
        req_sharers_reg <= s_req_sharers;
    end
    if (state_reg == STATE_READ) begin
        set_tags_reg <= tag_mem[req_index];
        set_sharers_reg <= sharer_mem[req_index];
        set_valid_reg <= valid_reg[req_index*WAYS +: WAYS];
        set_plru_reg <= plru_reg[req_index*PLRU_BITS +: PLRU_BITS];
    end
    if (decide) begin
        tag_mem[req_index] <= new_tags;
        sharer_mem[req_index] <= new_sharers;
    end

    if (rst) begin
        state_reg <= STATE_IDLE;
        valid_reg <= {ENTRIES{1'b0}};
        plru_reg <= {(SETS * PLRU_BITS){1'b0}};
        rsp_valid_reg <= 1'b0;
        victim_valid_reg <= 1'b0;
        entries_reg <= {ENTRY_COUNT_WIDTH{1'b0}};
        lookups_reg <= 32'd0;
        hits_reg <= 32'd0;
        misses_reg <= 32'd0;
        allocations_reg <= 32'd0;
        victims_reg <= 32'd0;
        deallocations_reg <= 32'd0;
        csr_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
`default_nettype wire
