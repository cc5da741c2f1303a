"""Every RTL block with a cocotb testbench: sources, test wrapper and parameter sets.

The parameter sets are the build matrix of the RTL regression: each one gets its own cached
build per simulator (``slugsim.testbench.runner``). The first set of a block is its default (used by
``make waves`` and the benchmark).
"""

from __future__ import annotations

import sys

from slugsim.cxl import S2MNDR, Channel, D2HReq, H2DRsp, M2SReq

from .runner import Block

COMMON = "rtl/common"
WIDE_VPI_WORDS = 4096  # 131072 bits: the widest signal Python reads in one VPI call

EMC_MONITOR = Block(
    name="emc_monitor",
    toplevel="tb_emc_monitor",
    sources=(f"{COMMON}/stream_fifo.v", "rtl/emc/emc_monitor.v", "rtl/tb/tb_emc_monitor.v"),
    test_dir="cocotb_tests/emc_monitor",
    dut="emc_monitor",
    param_sets={
        # M2S Req at a Type-3 device's memory interface, full 48-bit timestamps
        "m2s-d16-ts48": {
            "CHANNEL": int(Channel.M2S_REQ),
            "DATA_WIDTH": M2SReq.WIDTH,
            "DIRECTION": 0,
            "PORT": 3,
            "TS_WIDTH": 48,
            "FIFO_DEPTH": 16,
        },
        # D2H Req (12-bit CQID tag, 5-bit opcode), a tiny FIFO and a 10-bit timestamp that wraps
        "d2h-d4-ts10": {
            "CHANNEL": int(Channel.D2H_REQ),
            "DATA_WIDTH": D2HReq.WIDTH,
            "DIRECTION": 1,
            "PORT": 0xA5,
            "TS_WIDTH": 10,
            "FIFO_DEPTH": 4,
        },
        # S2M NDR (no address field), the smallest FIFO
        "ndr-d2-ts20": {
            "CHANNEL": int(Channel.S2M_NDR),
            "DATA_WIDTH": S2MNDR.WIDTH,
            "DIRECTION": 1,
            "PORT": 0xFF,
            "TS_WIDTH": 20,
            "FIFO_DEPTH": 2,
        },
        # H2D Rsp (4-bit opcode, 12-bit CQID, no address): a channel the monitor records since
        # its field selection is generated from the message roles (cxl_channel_fields.vh)
        "h2drsp-d8-ts32": {
            "CHANNEL": int(Channel.H2D_RSP),
            "DATA_WIDTH": H2DRsp.WIDTH,
            "DIRECTION": 0,
            "PORT": 0x5A,
            "TS_WIDTH": 32,
            "FIFO_DEPTH": 8,
        },
    },
    waves_test="random_traffic_004",
    wave_internals=(
        "dut.enable_reg",
        "dut.ts_reg",
        "dut.cap_valid_reg",
        "dut.push",
        "dut.fifo_count",
        "dut.seen_reg",
        "dut.recorded_reg",
        "dut.dropped_reg",
    ),
)

# The same DUT with batched bus models in the HDL (rtl/tb/tb_stream_player.v,
# tb_stream_recorder.v): Python wakes once per batch. BATCH_DEPTH is the wrapper's own.
EMC_MONITOR_BATCHED = Block(
    name="emc_monitor_batched",
    toplevel="tb_emc_monitor_batched",
    sources=(
        f"{COMMON}/stream_fifo.v",
        "rtl/emc/emc_monitor.v",
        "rtl/tb/tb_stream_player.v",
        "rtl/tb/tb_stream_recorder.v",
        "rtl/tb/tb_emc_monitor_batched.v",
    ),
    test_dir="cocotb_tests/emc_monitor",
    dut="emc_monitor",
    param_sets={
        "m2s-d16-ts48-b64": {**EMC_MONITOR.param_sets["m2s-d16-ts48"], "BATCH_DEPTH": 64},
        "d2h-d4-ts10-b8": {**EMC_MONITOR.param_sets["d2h-d4-ts10"], "BATCH_DEPTH": 8},
        "ndr-d2-ts20-b1": {**EMC_MONITOR.param_sets["ndr-d2-ts20"], "BATCH_DEPTH": 1},
    },
    waves_test="batched_random_traffic",
    wave_internals=("dut.enable_reg", "dut.push", "dut.fifo_count", "src.state_reg"),
    synth=False,
    # Verilator's VPI reads at most VL_VALUE_STRING_MAX_WORDS 32-bit words of a signal (64 by
    # default, 2048 bits) and truncates the rest: the batch vectors are wider
    verilator_args=("-CFLAGS", f"-DVL_VALUE_STRING_MAX_WORDS={WIDE_VPI_WORDS}"),
    # only what Python touches is VPI-visible (marked in the RTL): twice the model's speed
    public_flat_rw=False,
    # the model and Verilator's VPI/runtime at -O2 instead of Verilator's default -Os
    verilator_make_args=("OPT_FAST=-O2", "OPT_SLOW=-O1", "OPT_GLOBAL=-O2"),
)


# The host's inclusive snoop filter (scoreboard: slugsim.coherence.SnoopFilter). Small
# geometries so that sets fill, victims flow and the pLRU order matters within a short test.
SNOOP_FILTER = Block(
    name="snoop_filter",
    toplevel="tb_snoop_filter",
    sources=(f"{COMMON}/tree_plru.v", "rtl/coherence/snoop_filter.v", "rtl/tb/tb_snoop_filter.v"),
    test_dir="cocotb_tests/snoop_filter",
    dut="snoop_filter",
    param_sets={
        # 4 sets of 4 ways, 4 devices, full CXL line addresses (Addr[51:6])
        "s4-w4-v4": {"SETS": 4, "WAYS": 4, "SHARER_WIDTH": 4, "ADDR_WIDTH": 46},
        # 16 sets of 2 ways (a one-level pLRU tree), 2 devices
        "s16-w2-v2": {"SETS": 16, "WAYS": 2, "SHARER_WIDTH": 2, "ADDR_WIDTH": 46},
        # fully associative (no index bits), a three-level tree, 8 devices, 12-bit lines
        "s1-w8-v8-a12": {"SETS": 1, "WAYS": 8, "SHARER_WIDTH": 8, "ADDR_WIDTH": 12},
    },
    waves_test="random_traffic_004",
    wave_internals=(
        "dut.state_reg",
        "dut.req_op_reg",
        "dut.req_line_reg",
        "dut.set_valid_reg",
        "dut.set_plru_reg",
        "dut.hit",
        "dut.target_way",
        "dut.replaces",
        "dut.entries_reg",
    ),
)


# The device's ATS Address Translation Cache (scoreboard: slugsim.ats.Atc). Small arrays, few
# MSHRs and shallow queues so that sets replace, merges fill waiter lists, requests stall on
# resources and invalidations wait behind held responses within a short test.
ATC = Block(
    name="atc",
    toplevel="tb_atc",
    sources=(
        f"{COMMON}/stream_fifo.v",
        f"{COMMON}/tree_plru.v",
        "rtl/ats/atc.v",
        "rtl/tb/tb_atc.v",
    ),
    test_dir="cocotb_tests/atc",
    dut="atc",
    param_sets={
        # the default: 16 entries of 4 ways, 4 MSHRs of 4 waiters, 48-bit VA, 52-bit HPA
        "e16-w4": {
            "ENTRIES": 16,
            "WAYS": 4,
            "LARGE_ENTRIES": 4,
            "MSHRS": 4,
            "WAITERS": 4,
            "INV_DEPTH": 4,
            "RSP_DEPTH": 4,
            "TAG_WIDTH": 8,
            "VPN_WIDTH": 36,
            "PPN_WIDTH": 40,
        },
        # many sets of 2 ways (one-level tree), 3 MSHRs (tag width not a power of two's)
        "e64-w2": {
            "ENTRIES": 64,
            "WAYS": 2,
            "LARGE_ENTRIES": 2,
            "MSHRS": 3,
            "WAITERS": 3,
            "INV_DEPTH": 2,
            "RSP_DEPTH": 8,
            "TAG_WIDTH": 6,
            "VPN_WIDTH": 20,
            "PPN_WIDTH": 24,
        },
        # fully associative (one set of 8, no index bits), one 2 MiB entry, the smallest queues
        "e8-w8-fa": {
            "ENTRIES": 8,
            "WAYS": 8,
            "LARGE_ENTRIES": 1,
            "MSHRS": 2,
            "WAITERS": 6,
            "INV_DEPTH": 1,
            "RSP_DEPTH": 2,
            "TAG_WIDTH": 4,
            "VPN_WIDTH": 12,
            "PPN_WIDTH": 12,
        },
    },
    waves_test="invalidation_waits_for_hits_in_flight",
    wave_internals=(
        "dut.op_valid_reg",
        "dut.op_kind_reg",
        "dut.state_reg",
        "dut.req_hit",
        "dut.mshr_valid_reg",
        "dut.mshr_stale_reg",
        "dut.small_valid_reg",
        "dut.large_valid_reg",
        "dut.rsp_count",
        "dut.inv_count_reg",
        "dut.inv_q_left_reg",
    ),
)


# The DCOH bias / back-invalidation datapath (scoreboard: slugsim.coherence.DcohBias). Small
# tables and line pools so that SF sets fill, victims and device hits snoop, pages flip.
DCOH_BIAS = Block(
    name="dcoh_bias",
    toplevel="tb_dcoh_bias",
    sources=(
        f"{COMMON}/tree_plru.v",
        "rtl/coherence/dcoh_tag_array.v",
        "rtl/coherence/dcoh_bias.v",
        "rtl/tb/tb_dcoh_bias.v",
    ),
    test_dir="cocotb_tests/dcoh_bias",
    dut="dcoh_bias",
    param_sets={
        # 4-line pages, 2x2 bias cache, 2x2 I/S/A SF, 4 BI trackers, 2 parked Reqs
        "a10-p4-sf2x2-t4-isa-r2": {
            "ADDR_WIDTH": 10,
            "PAGE_LINES_LOG2": 2,
            "BIAS_SETS": 2,
            "BIAS_WAYS": 2,
            "SF_SETS": 2,
            "SF_WAYS": 2,
            "BI_TRACKERS": 4,
            "SF_ISA": 1,
            "REPLAY_DEPTH": 2,
        },
        # 8-line pages, fully associative bias cache, direct-mapped I/A SF, 2 trackers,
        # head-of-line blocking (as the protocol model), bias table in device memory
        "a12-p8-sf4x1-t2-bm": {
            "ADDR_WIDTH": 12,
            "PAGE_LINES_LOG2": 3,
            "BIAS_SETS": 1,
            "BIAS_WAYS": 4,
            "SF_SETS": 4,
            "SF_WAYS": 1,
            "BI_TRACKERS": 2,
            "BIAS_IN_MEMORY": 1,
        },
        # one-line pages, direct-mapped bias cache, fully associative I/S/A SF, one tracker,
        # 1 parked Req, bias table in device memory
        "a8-p1-sf1x4-t1-isa-r1-bm": {
            "ADDR_WIDTH": 8,
            "PAGE_LINES_LOG2": 0,
            "BIAS_SETS": 4,
            "BIAS_WAYS": 1,
            "SF_SETS": 1,
            "SF_WAYS": 4,
            "BI_TRACKERS": 1,
            "SF_ISA": 1,
            "REPLAY_DEPTH": 1,
            "BIAS_IN_MEMORY": 1,
        },
    },
    waves_test="random_traffic_004",
    wave_internals=(
        "dut.state_reg",
        "dut.ev_kind_reg",
        "dut.ev_line_reg",
        "dut.trk_valid_reg",
        "dut.wait_valid_reg",
        "dut.flip_active_reg",
        "dut.flip_cpls_reg",
        "dut.m2s_pending",
        "dut.park_count_reg",
        "dut.take_replay",
        "dut.ndr_valid_reg",
    ),
)


def _common_block(name: str, param_sets: dict[str, dict[str, int]], waves_test: str) -> Block:
    """A module of rtl/common/ tested on its own through rtl/tb/tb_<name>.v."""
    return Block(
        name=name,
        toplevel=f"tb_{name}",
        sources=(f"{COMMON}/{name}.v", f"rtl/tb/tb_{name}.v"),
        test_dir=f"cocotb_tests/{name}",
        dut=name,
        param_sets=param_sets,
        waves_test=waves_test,
    )


STREAM_FIFO = _common_block(
    "stream_fifo",
    {"w8-d4": {"DATA_WIDTH": 8, "DEPTH": 4}, "w33-d2": {"DATA_WIDTH": 33, "DEPTH": 2}},
    waves_test="random_data_004",
)
SKID_BUFFER = _common_block(
    "skid_buffer", {"w16": {"DATA_WIDTH": 16}}, waves_test="random_data_004"
)
RR_ARBITER = _common_block(
    "rr_arbiter", {"p4": {"PORTS": 4}, "p5": {"PORTS": 5}}, waves_test="random_requests"
)

BLOCKS: dict[str, Block] = {
    b.name: b
    for b in (
        EMC_MONITOR,
        EMC_MONITOR_BATCHED,
        STREAM_FIFO,
        SKID_BUFFER,
        RR_ARBITER,
        SNOOP_FILTER,
        ATC,
        DCOH_BIAS,
    )
}


def get_block(name: str) -> Block:
    try:
        return BLOCKS[name]
    except KeyError:
        raise ValueError(f"unknown RTL block {name!r}: one of {', '.join(BLOCKS)}") from None


def main(argv: list[str] | None = None) -> int:
    """``--synth-jobs``: one line per (DUT, parameter set): ``module -set NAME VALUE ...``."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["--synth-jobs"]:
        print("usage: python -m slugsim.testbench.blocks --synth-jobs", file=sys.stderr)
        return 2
    for block in BLOCKS.values():
        if not block.synth:
            continue
        for params in block.param_sets.values():
            sets = " ".join(f"-set {name} {value}" for name, value in params.items())
            print(f"{block.dut} {sets}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
