// skid_buffer: a full-throughput register slice on a valid/ready stream.
//
// Breaks every combinational path between the two sides: m_valid/m_data come from a register
// and s_ready is a register (low only while the skid register holds a beat). Passes one beat per
// cycle with a latency of one cycle; when the output stalls, one more beat lands in the skid
// register, so the upstream sees the stall a cycle later without losing data. Order is kept.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module skid_buffer #(
    parameter integer DATA_WIDTH = 8  // bits per beat, >= 1
) (
    input  wire                  clk,
    input  wire                  rst,      // synchronous, active high: drops both beats

    input  wire [DATA_WIDTH-1:0] s_data,
    input  wire                  s_valid,
    output wire                  s_ready,

    output wire [DATA_WIDTH-1:0] m_data,
    output wire                  m_valid,
    input  wire                  m_ready
);

initial begin
    if (DATA_WIDTH < 1) begin
        $display("Error: skid_buffer DATA_WIDTH must be >= 1 (%m)");
        $finish;
    end
end

reg [DATA_WIDTH-1:0] m_data_reg, m_data_next;
reg                  m_valid_reg, m_valid_next;
reg [DATA_WIDTH-1:0] skid_data_reg, skid_data_next;
reg                  skid_valid_reg, skid_valid_next;

assign s_ready = !skid_valid_reg;
assign m_data = m_data_reg;
assign m_valid = m_valid_reg;

always @* begin
    m_data_next = m_data_reg;
    m_valid_next = m_valid_reg;
    skid_data_next = skid_data_reg;
    skid_valid_next = skid_valid_reg;

    if (!m_valid_reg || m_ready) begin
        // the output register is free this edge: refill it, skid beat first
        if (skid_valid_reg) begin
            m_data_next = skid_data_reg;
            m_valid_next = 1'b1;
            skid_valid_next = 1'b0;
        end else begin
            m_data_next = s_data;
            m_valid_next = s_valid;
        end
    end else if (s_valid && !skid_valid_reg) begin
        // the output stalls and the input was accepted: park the beat in the skid register
        skid_data_next = s_data;
        skid_valid_next = 1'b1;
    end
end

always @(posedge clk) begin
    m_data_reg <= m_data_next;
    m_valid_reg <= m_valid_next;
    skid_data_reg <= skid_data_next;
    skid_valid_reg <= skid_valid_next;

    if (rst) begin
        m_valid_reg <= 1'b0;
        skid_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
`default_nettype wire
