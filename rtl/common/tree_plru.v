// tree_plru: tree pseudo-LRU of one set, combinational: the victim way and the tree after a touch.
//
// WAYS-1 tree bits; node i's children are 2i+1 (lower half) and 2i+2 (upper half); a bit of 1
// sends the victim walk to the upper half. A touch of a way points every node on its path away
// from it. The one tree of the snoop filter, the DCOH tag arrays and the ATC (their models:
// slugsim.coherence.SnoopFilter, slugsim.ats.TreePlru).
//
// PLANT_SKIP_LEAF (for a testbench's proof that its scoreboard has teeth; 0 in every real
// build): 1 = a touch forgets the leaf level of the tree (wrong victims).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tree_plru #(
    parameter integer WAYS = 4,            // ways of the set, a power of two 1 ... 64
    parameter integer PLANT_SKIP_LEAF = 0  // 0; 1 only for a planted-bug test (above)
) (
    input  wire [((WAYS > 1) ? WAYS - 1 : 1)-1:0]     tree,       // the set's tree bits
    input  wire [((WAYS > 1) ? $clog2(WAYS) : 1)-1:0] touch_way,  // the way to make MRU
    output reg  [((WAYS > 1) ? $clog2(WAYS) : 1)-1:0] victim,     // the pseudo-LRU way
    output reg  [((WAYS > 1) ? WAYS - 1 : 1)-1:0]     touched     // tree after touching touch_way
);

localparam integer LEVELS = $clog2(WAYS);                 // tree depth (0 for one way)
localparam integer WAY_BITS = (WAYS > 1) ? LEVELS : 1;

initial begin
    if (WAYS < 1 || WAYS > 64 || (1 << LEVELS) != WAYS) begin
        $display("Error: tree_plru WAYS must be a power of two in 1..64 (%m)");
        $finish;
    end
end

integer level;
integer node;

always @* begin
    victim = {WAY_BITS{1'b0}};
    node = 0;
    for (level = 0; level < LEVELS; level = level + 1) begin
        victim = victim << 1;
        victim[0] = tree[node];
        node = tree[node] ? 2 * node + 2 : 2 * node + 1;
    end
end

integer touch_level;
integer touch_node;
reg     upper;

always @* begin
    touched = tree;
    touch_node = 0;
    upper = 1'b0;
    for (touch_level = 0; touch_level < LEVELS; touch_level = touch_level + 1) begin
        upper = touch_way[LEVELS - 1 - touch_level];
        if (PLANT_SKIP_LEAF != 1 || touch_level != LEVELS - 1) begin
            touched[touch_node] = !upper;
        end
        touch_node = upper ? 2 * touch_node + 2 : 2 * touch_node + 1;
    end
end

endmodule

`resetall
`default_nettype wire
