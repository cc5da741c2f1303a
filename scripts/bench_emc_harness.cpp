// Verilator-only limit for scripts/bench_cosim.py: the EMC test wrapper (built with
// SLUGSIM_PY_CLOCK, so clk is an input) clocked from C++ with the same traffic as the cocotb
// modes: one M2S Req every GAP cycles, the EMC enabled, every output always ready.
// Usage: bench_emc_harness CYCLES GAP   -> prints "cycles=<n> seconds=<s> records=<r>"
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "Vtb_emc_monitor.h"
#include "verilated.h"

static void tick(Vtb_emc_monitor& top) {
    top.clk = 1;
    top.eval();
    top.clk = 0;
    top.eval();
}

int main(int argc, char** argv) {
    const uint64_t cycles = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000000ULL;
    const uint64_t gap = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20;
    auto context = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vtb_emc_monitor>(context.get());
    top->m_req_ready = 1;
    top->m_rec_ready = 1;
    top->m_csr_ready = 1;
    top->rst = 1;
    for (int i = 0; i < 4; ++i) tick(*top);
    top->rst = 0;
    // CTRL (0x08) <- ENABLE
    top->s_csr_valid = 1;
    top->s_csr_write = 1;
    top->s_csr_addr = 0x08;
    top->s_csr_wdata = 1;
    tick(*top);
    top->s_csr_valid = 0;
    tick(*top);

    uint64_t records = 0;
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t cycle = 0; cycle < cycles; ++cycle) {
        const bool send = gap && cycle % gap == 0;
        top->s_req_valid = send;
        if (send) {
            // opcode MEMRD (1) in bits [3:0], tag in [26:11], line address from bit 27
            const uint64_t tag = cycle & 0xFFFF;
            top->s_req_data[0] = 1u | static_cast<uint32_t>(tag << 11) | (static_cast<uint32_t>(tag) << 27);
            top->s_req_data[1] = static_cast<uint32_t>(tag >> 5);
            top->s_req_data[2] = 0;
        }
        records += top->m_rec_valid;  // m_rec_ready is 1: every valid cycle is a record
        tick(*top);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("cycles=%llu seconds=%.6f records=%llu\n", static_cast<unsigned long long>(cycles),
                seconds, static_cast<unsigned long long>(records));
    top->final();
    return 0;
}
