// dcoh_tag_array: a set-associative array of line (or page) tags with valid bits and a tree
// pseudo-LRU per set, the same structure and replacement as slugsim.coherence.SnoopFilter (an
// invalid way first, the lowest one; else the pLRU way; a touch points every node on the way's
// path away from it). Used by dcoh_bias for its bias cache (page tags) and its device snoop
// filter (line tags, I/A: valid = A).
//
// Lookup is combinational on lk_line; at most one operation per cycle acts on lk_line at the
// next edge:
//   op_touch  a hit makes its way most recently used (a miss changes nothing)
//   op_alloc  a hit is touched; a miss takes the lowest invalid way, else the pLRU way (the
//             caller must have dealt with lk_victim_line: it is overwritten), and is touched
//   op_free   a hit's entry becomes invalid (no touch)
//   op_mark   a hit's state bit takes st_bit (no touch); op_alloc writes st_bit too
// One state bit per entry (lk_bit: the hit's), for an I/S/A filter (1 = S); users with no
// state tie st_bit low and leave lk_bit open.
// Storage is flops (valid and pLRU bits reset to 0; tags and state bits are not reset).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module dcoh_tag_array #(
    parameter integer SETS = 2,        // sets, a power of two 1 ... 64
    parameter integer WAYS = 2,        // ways, a power of two 1 ... 64
    parameter integer ADDR_WIDTH = 10  // address bits of what is tagged, log2(SETS)+1 ... 16
) (
    input  wire                  clk,
    input  wire                  rst,              // synchronous, active high

    input  wire [ADDR_WIDTH-1:0] lk_line,
    output wire                  lk_hit,
    output wire                  lk_full,          // a miss and no invalid way in the set
    output wire [ADDR_WIDTH-1:0] lk_victim_line,   // the pLRU way's address (when lk_full)
    output wire                  lk_bit,           // the hit entry's state bit (0 on a miss)

    input  wire                  op_touch,
    input  wire                  op_alloc,
    input  wire                  op_free,
    input  wire                  op_mark,
    input  wire                  st_bit
);

localparam integer INDEX_WIDTH = $clog2(SETS);
localparam integer INDEX_BITS = (INDEX_WIDTH > 0) ? INDEX_WIDTH : 1;
localparam integer TAG_WIDTH = ADDR_WIDTH - INDEX_WIDTH;
localparam integer LEVELS = $clog2(WAYS);
localparam integer WAY_BITS = (LEVELS > 0) ? LEVELS : 1;
localparam integer PLRU_BITS = (WAYS > 1) ? WAYS - 1 : 1;

initial begin
    if (SETS < 1 || SETS > 64 || (1 << INDEX_WIDTH) != SETS) begin
        $display("Error: dcoh_tag_array SETS must be a power of two in 1..64 (%m)");
        $finish;
    end
    if (WAYS < 1 || WAYS > 64 || (1 << LEVELS) != WAYS) begin
        $display("Error: dcoh_tag_array WAYS must be a power of two in 1..64 (%m)");
        $finish;
    end
    if (ADDR_WIDTH <= INDEX_WIDTH || ADDR_WIDTH > 16) begin
        $display("Error: dcoh_tag_array ADDR_WIDTH must be in %0d..16 (%m)", INDEX_WIDTH + 1);
        $finish;
    end
end

reg [SETS*WAYS*TAG_WIDTH-1:0] tags_reg;
reg [SETS*WAYS-1:0]           valid_reg, valid_next;
reg [SETS*WAYS-1:0]           bits_reg;
reg [SETS*PLRU_BITS-1:0]      plru_reg, plru_next;

wire [INDEX_BITS-1:0] index;
wire [TAG_WIDTH-1:0]  tag = lk_line[ADDR_WIDTH-1:INDEX_WIDTH];

generate
    if (INDEX_WIDTH > 0) begin : g_index
        assign index = lk_line[INDEX_BITS-1:0];
    end else begin : g_one_set
        assign index = 1'b0;
    end
endgenerate

wire [WAYS*TAG_WIDTH-1:0] set_tags = tags_reg[index*WAYS*TAG_WIDTH +: WAYS*TAG_WIDTH];
wire [WAYS-1:0]           set_valid = valid_reg[index*WAYS +: WAYS];
wire [WAYS-1:0]           set_bits = bits_reg[index*WAYS +: WAYS];
wire [PLRU_BITS-1:0]      set_plru = plru_reg[index*PLRU_BITS +: PLRU_BITS];

reg                hit;
reg [WAY_BITS-1:0] hit_way;
reg                has_free;
reg [WAY_BITS-1:0] free_way;
integer            w;

always @* begin
    hit = 1'b0;
    hit_way = {WAY_BITS{1'b0}};
    has_free = 1'b0;
    free_way = {WAY_BITS{1'b0}};
    for (w = WAYS - 1; w >= 0; w = w - 1) begin  // counting down: the lowest free way wins
        if (set_valid[w] && set_tags[w*TAG_WIDTH +: TAG_WIDTH] == tag) begin
            hit = 1'b1;
            hit_way = w[WAY_BITS-1:0];
        end
        if (!set_valid[w]) begin
            has_free = 1'b1;
            free_way = w[WAY_BITS-1:0];
        end
    end
end

// the set's pLRU tree: its victim way, and the tree after touching the target way
wire [WAY_BITS-1:0]  plru_way;
wire [WAY_BITS-1:0]  target_way;
wire [PLRU_BITS-1:0] touched_plru;

tree_plru #(.WAYS(WAYS)) set_tree (
    .tree(set_plru),
    .touch_way(target_way),
    .victim(plru_way),
    .touched(touched_plru)
);

reg [TAG_WIDTH-1:0] victim_tag;
integer             v;

always @* begin
    victim_tag = {TAG_WIDTH{1'b0}};
    for (v = 0; v < WAYS; v = v + 1) begin
        if (v[WAY_BITS-1:0] == plru_way) begin
            victim_tag = set_tags[v*TAG_WIDTH +: TAG_WIDTH];
        end
    end
end

generate
    if (INDEX_WIDTH > 0) begin : g_victim
        assign lk_victim_line = {victim_tag, index};
    end else begin : g_victim_one_set
        assign lk_victim_line = victim_tag;
    end
endgenerate

assign lk_hit = hit;
assign lk_bit = hit && set_bits[hit_way];
assign lk_full = !hit && !has_free;

assign target_way = hit ? hit_way : (has_free ? free_way : plru_way);

wire touch = (op_touch && hit) || op_alloc;

reg [WAYS-1:0]           new_valid;
reg [WAYS-1:0]           new_bits;
reg [WAYS*TAG_WIDTH-1:0] new_tags;
integer                  u;

always @* begin
    new_valid = set_valid;
    new_bits = set_bits;
    new_tags = set_tags;
    for (u = 0; u < WAYS; u = u + 1) begin
        if (u[WAY_BITS-1:0] == target_way) begin
            if (op_alloc) begin
                new_valid[u] = 1'b1;
                new_bits[u] = st_bit;
                new_tags[u*TAG_WIDTH +: TAG_WIDTH] = tag;
            end
            if (op_mark && hit) begin
                new_bits[u] = st_bit;
            end
            if (op_free && hit) begin
                new_valid[u] = 1'b0;
            end
        end
    end
end

always @* begin
    valid_next = valid_reg;
    plru_next = plru_reg;
    if (touch) begin
        plru_next[index*PLRU_BITS +: PLRU_BITS] = touched_plru;
    end
    valid_next[index*WAYS +: WAYS] = new_valid;
end

always @(posedge clk) begin
    valid_reg <= valid_next;
    plru_reg <= plru_next;
    if (op_alloc) begin
        tags_reg[index*WAYS*TAG_WIDTH +: WAYS*TAG_WIDTH] <= new_tags;
    end
    if (op_alloc || op_mark) begin
        bits_reg[index*WAYS +: WAYS] <= new_bits;
    end
    if (rst) begin
        valid_reg <= {(SETS * WAYS){1'b0}};
        plru_reg <= {(SETS * PLRU_BITS){1'b0}};
    end
end

endmodule

`resetall
`default_nettype wire
