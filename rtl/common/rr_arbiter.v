// rr_arbiter: round-robin arbiter with the grant as a valid/ready stream.
//
// req[i] asks for a grant for requester i. While any request is up, m_grant_valid is high and
// m_grant_onehot / m_grant_index name the first requester at or after the round-robin pointer
// (combinational, so the grant follows req in the same cycle). When the grant is taken
// (m_grant_valid && m_grant_ready) the pointer moves just past the granted requester, so a
// requester that keeps asking waits for at most PORTS-1 other grants (no starvation).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module rr_arbiter #(
    parameter integer PORTS = 4  // requesters, 2 ... 256
) (
    input  wire                       clk,
    input  wire                       rst,          // synchronous, active high: pointer to 0

    input  wire [PORTS-1:0]           req,

    output wire                       m_grant_valid,
    input  wire                       m_grant_ready,
    output wire [PORTS-1:0]           m_grant_onehot,
    output wire [$clog2(PORTS)-1:0]   m_grant_index
);

localparam integer INDEX_WIDTH = $clog2(PORTS);  // bits of a requester number

initial begin
    if (PORTS < 2 || PORTS > 256) begin
        $display("Error: rr_arbiter PORTS must be in 2..256 (%m)");
        $finish;
    end
end

// The pointer is kept as a mask of the requesters that have priority this round:
// all bits at or above the pointer.
reg [PORTS-1:0] mask_reg, mask_next;

reg [PORTS-1:0]       grant_onehot;
reg [INDEX_WIDTH-1:0] grant_index;
reg                   found;

wire [PORTS-1:0] req_masked = req & mask_reg;
wire [PORTS-1:0] candidates = (|req_masked) ? req_masked : req;

integer i;
always @* begin
    grant_onehot = {PORTS{1'b0}};
    grant_index = {INDEX_WIDTH{1'b0}};
    found = 1'b0;
    for (i = 0; i < PORTS; i = i + 1) begin
        if (candidates[i] && !found) begin
            found = 1'b1;
            grant_onehot[i] = 1'b1;
            grant_index = i[INDEX_WIDTH-1:0];
        end
    end
end

assign m_grant_valid = |req;
assign m_grant_onehot = grant_onehot;
assign m_grant_index = grant_index;

always @* begin
    mask_next = mask_reg;
    if (m_grant_valid && m_grant_ready) begin
        // priority to every requester strictly above the granted one; all again after the top
        mask_next = ~((grant_onehot << 1) - {{(PORTS - 1){1'b0}}, 1'b1});
        mask_next = (grant_onehot[PORTS-1]) ? {PORTS{1'b1}} : mask_next;
    end
end

always @(posedge clk) begin
    mask_reg <= mask_next;

    if (rst) begin
        mask_reg <= {PORTS{1'b1}};
    end
end

endmodule

`resetall
`default_nettype wire
