// stream_fifo: synchronous first-in first-out queue on valid/ready streams.
//
// Holds exactly DEPTH entries. s_ready is low only when the FIFO is full; m_valid is low only
// when it is empty. A push into a full FIFO waits even if the same cycle pops (no combinational
// path from m_ready to s_ready). m_data is read combinationally from the storage array
// (distributed RAM), so a pushed entry is visible on m_data one cycle after its push.
// count is the occupancy before the next clock edge (0..DEPTH).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module stream_fifo #(
    parameter integer DATA_WIDTH = 8,  // bits per entry, >= 1
    parameter integer DEPTH = 16       // entries; a power of two, 2 ... 32768
) (
    input  wire                    clk,
    input  wire                    rst,      // synchronous, active high: empties the FIFO

    input  wire [DATA_WIDTH-1:0]   s_data,
    input  wire                    s_valid,
    output wire                    s_ready,

    output wire [DATA_WIDTH-1:0]   m_data,
    output wire                    m_valid,
    input  wire                    m_ready,

    output wire [$clog2(DEPTH):0]  count     // entries held
);

localparam integer ADDR_WIDTH = $clog2(DEPTH);  // index bits; pointers carry one wrap bit more

initial begin
    if (DATA_WIDTH < 1) begin
        $display("Error: stream_fifo DATA_WIDTH must be >= 1 (%m)");
        $finish;
    end
    if (DEPTH < 2 || DEPTH > 32768 || (1 << ADDR_WIDTH) != DEPTH) begin
        $display("Error: stream_fifo DEPTH must be a power of two in 2..32768 (%m)");
        $finish;
    end
end

reg [DATA_WIDTH-1:0] mem_reg [0:DEPTH-1];
reg [ADDR_WIDTH:0] wr_ptr_reg, wr_ptr_next;
reg [ADDR_WIDTH:0] rd_ptr_reg, rd_ptr_next;

localparam [ADDR_WIDTH:0] PTR_ONE = {{ADDR_WIDTH{1'b0}}, 1'b1};

wire full = wr_ptr_reg == (rd_ptr_reg ^ {1'b1, {ADDR_WIDTH{1'b0}}});
wire empty = wr_ptr_reg == rd_ptr_reg;
wire push = s_valid && !full;
wire pop = m_ready && !empty;

assign s_ready = !full;
assign m_valid = !empty;
assign m_data = mem_reg[rd_ptr_reg[ADDR_WIDTH-1:0]];
assign count = wr_ptr_reg - rd_ptr_reg;

always @* begin
    wr_ptr_next = wr_ptr_reg;
    rd_ptr_next = rd_ptr_reg;
    if (push) begin
        wr_ptr_next = wr_ptr_reg + PTR_ONE;
    end
    if (pop) begin
        rd_ptr_next = rd_ptr_reg + PTR_ONE;
    end
end

always @(posedge clk) begin
    wr_ptr_reg <= wr_ptr_next;
    rd_ptr_reg <= rd_ptr_next;
    if (push) begin
        mem_reg[wr_ptr_reg[ADDR_WIDTH-1:0]] <= s_data;
    end

    if (rst) begin
        wr_ptr_reg <= {(ADDR_WIDTH + 1){1'b0}};
        rd_ptr_reg <= {(ADDR_WIDTH + 1){1'b0}};
    end
end

endmodule

`resetall
`default_nettype wire
