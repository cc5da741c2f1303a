"""Default latency of every table action, for the timed wrapper.

``ACTION_LATENCY_PS[kind][action]`` is the time (ps) a controller of ``kind`` ("home",
"device"; for device memory "host_mem", "dcoh_sf", "dcoh_bias") spends on ``action`` when a
rule fires; :func:`rule_latency_ps` adds up a rule's actions (the default is serial; a
wrapper may overlap them). Link and switch latency is not
here: messages cross the fabric's links, which the timed simulator times.

Each figure cites CXL_REFERENCE.md §7 (S32 Tbl 13-2: the CXL 3.2 spec's idle, pin-to-pin
latency *targets*) or is marked as an assumption. Bookkeeping (trackers, recording a response,
choosing a state) is taken as free: it overlaps the lookup that fired the rule, and the lookup
itself is charged once per rule (``RULE_LOOKUP_PS``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from slugsim.coherence.table import Rule


class Latency(NamedTuple):
    ps: int
    source: str


_FREE = Latency(0, "bookkeeping, overlapped with the rule's lookup (assumption)")
_SEND = Latency(0, "a message put on the link; the link and fabric are timed by the simulator")
_SNOOP = Latency(
    90_000,
    "S32 Tbl 13-2: Type 1/2 snoop miss -> snoop response, 90-150 ns target (lower end; the "
    "dedicated-SF case)",
)
_PULL = Latency(65_000, "S32 Tbl 13-2: WritePull -> D2H Data, 65 ns target (data buffered)")
_MEM_READ = Latency(
    80_000,
    "assumption: a host DRAM read, taken equal to S32 Tbl 13-2's 80 ns MemRd -> MemData "
    "target; the timed wrapper may substitute its DRAM model",
)
_MEM_WRITE = Latency(
    40_000,
    "assumption: a host memory write, taken equal to S32 Tbl 13-2's 40 ns MemWr -> Cmp target",
)
_SF = Latency(
    5_000,
    "assumption: a snoop-filter tag lookup/update; no public figure (CXL_REFERENCE.md §7b: "
    "derive such constants from end-to-end targets)",
)
_CORE = Latency(0, "host-internal core coherence is not timed here (assumption)")

RULE_LOOKUP_PS = {
    "home": 0,
    "device": 0,
    "host_mem": 0,
    "dcoh_sf": 0,
    "dcoh_bias": 0,
}  # a table lookup per rule: folded into the actions

HOME_ACTION_LATENCY: dict[str, Latency] = {
    "allocate_tbe": _FREE,
    "free_tbe": _FREE,
    "defer_request": _FREE,
    "park_for_sf_way": _SF,
    "allocate_sf": _SF,
    "remove_requester": _SF,
    "remove_flushed_device": _SF,
    "flush_device_from_sf": _SF,
    "set_owner": _FREE,
    "snoop_owner_data": _SEND,
    "snoop_owner_cur": _SEND,
    "snoop_sharers_inv": _SEND,
    "record_snoop_response": _FREE,
    "record_snoop_data": _FREE,
    "write_back_snoop_data": _MEM_WRITE,
    "downgrade_core_owner": _CORE,
    "invalidate_cores": _CORE,
    "invalidate_other_cores": _CORE,
    "take_core_dirty": _CORE,
    "grant_core_e": _CORE,
    "grant_core_f": _CORE,
    "grant_core_m": _CORE,
    "complete_core_load": _CORE,
    "complete_core_store": _CORE,
    "evict_core": _CORE,
    "send_go_s": _SEND,
    "send_go_e": _SEND,
    "send_go_m": _SEND,
    "send_go_i": _SEND,
    "send_data": _MEM_READ,
    "send_go_writepull": _SEND,
    "send_go_writepull_drop": _SEND,
    "send_writepull": _SEND,
    "send_fast_go_writepull": _SEND,
    "send_extcmp": _SEND,
    "write_memory": _MEM_WRITE,
    "drop_bogus_data": _FREE,
    "count_refused": _FREE,
    "send_go_err": _SEND,
    "send_error_data": Latency(0, "all ones, no memory read: the request is refused (assumption)"),
    "send_go_err_writepull": _SEND,
    "drop_error_data": _FREE,
}

DEVICE_ACTION_LATENCY: dict[str, Latency] = {
    **{
        name: _SEND
        for name in (
            "send_rdshared",
            "send_rdany",
            "send_rdcurr",
            "send_rdown",
            "send_rdownnodata",
            "send_itomwr",
            "send_wrcur",
            "send_wrinv",
            "send_wowrinv",
            "send_wowrinvf",
            "send_clflush",
            "send_dirtyevict",
            "send_cleanevict",
            "send_cleanevictnodata",
            "send_cacheflushed",
        )
    },
    **{
        name: _SNOOP
        for name in (
            "send_rsp_ihiti",
            "send_rsp_ihitse",
            "send_rsp_shitse",
            "send_rsp_vhitv",
            "send_rsp_sfwdm",
            "send_rsp_ifwdm",
            "send_rsp_vfwdv",
        )
    },
    "send_snoop_data": Latency(0, "leaves with its snoop response (inside the 90 ns above)"),
    "send_write_data": _PULL,
    "send_evict_data": _PULL,
    "send_bogus_data": _PULL,
    "record_data": _FREE,
    "fill_line": _FREE,
    "drop_line": _FREE,
    "drop_shared_lines": _FREE,
    "complete_load_hit": _FREE,
    "complete_load": _FREE,
    "complete_load_uncached": _FREE,
    "complete_store_hit": _FREE,
    "complete_store": _FREE,
    "complete_op_on_fill": _FREE,
    "complete_op": _FREE,
    "fail_op": _FREE,
    "free_tbe": _FREE,
}

# --- device-attached memory (devmem_host.py, dcoh.py) -----------------------------------------

_BISNP = Latency(
    90_000,
    "S32 Tbl 13-2: host BISnp -> BIRsp target <= 90 ns (line not cached in the host); charged "
    "on the host's snoop lookup, whatever it answers",
)
_DEV_MEM_READ = Latency(
    80_000,
    "S32 Tbl 13-2: MemRd -> MemData 80 ns target, taken as the device memory read; the timed "
    "wrapper may substitute its device DRAM model",
)
_DEV_MEM_WRITE = Latency(40_000, "S32 Tbl 13-2: MemWr -> Cmp 40 ns target")
_BIAS = Latency(
    5_000,
    "assumption: a bias-cache lookup, taken equal to the snoop-filter lookup (no public "
    "figure); a bias-cache miss would add a device memory read",
)

HOST_MEM_ACTION_LATENCY: dict[str, Latency] = {
    **{
        name: _SEND
        for name in (
            "send_rd_shared",
            "send_rd_own",
            "send_cln_evct",
            "send_evict_data",
            "answer_early",
            "answer_after_writeback",
            "forward_after_writeback",
        )
    },
    **{
        name: _BISNP
        for name in (
            "send_birsp_i",
            "send_birsp_s",
            "send_birsp_e",
            "send_conflict",
            "writeback_for_inv",
            "writeback_for_data",
            "writeback_for_cur",
        )
    },
    **{
        name: _SF
        for name in (
            "send_rd_fwd",
            "send_wr_fwd",
            "send_flip_fwd",
            "writeback_for_rd_fwd",
            "writeback_for_flip",
        )
    },
    **{name: _CORE for name in ("load_hit", "store_hit", "complete_op", "drop_copy", "fill_done")},
    "record_grant": _FREE,
    "record_data": _FREE,
    "replay_snoop": _FREE,
}

DCOH_SF_ACTION_LATENCY: dict[str, Latency] = {
    **{
        name: _DEV_MEM_READ
        for name in (
            "grant_alone",
            "grant_shared",
            "grant_kept",
            "grant_kept_alone",
            "device_access",
        )
    },
    **{
        name: _SF
        for name in (
            "snoop_others_inv",
            "snoop_others_data",
            "snoop_sharers_inv",
            "snoop_sharers_data",
            "snoop_sharers_cur",
            "snoop_sharers_victim",
            "evict_victim",
            "free_victim",
            "remove_requester",
            "remove_writer",
        )
    },
    "write_memory": _DEV_MEM_WRITE,
    "device_evict": _DEV_MEM_WRITE,
    "send_cmp": _SEND,
    "send_conflict_ack": _SEND,
    "keep_request": _FREE,
    "keep_access": _FREE,
    "record_birsp_i": _FREE,
    "record_birsp_s": _FREE,
    "record_birsp_e": _FREE,
}

DCOH_BIAS_ACTION_LATENCY: dict[str, Latency] = {
    "send_rd_curr": _BIAS,
    "send_wowrinv": _BIAS,
    "start_flip": _BIAS,
    "local_load": _DEV_MEM_READ,
    "local_store": _BIAS,
    "serve_read": _DEV_MEM_READ,
    "complete_rd_fwd": _DEV_MEM_READ,
    "serve_write": _DEV_MEM_WRITE,
    "complete_wr_fwd": _DEV_MEM_WRITE,
    "flush_page": _DEV_MEM_WRITE,
    "predict": _FREE,
    "complete_op": _FREE,
    "record_flip_cpl": _FREE,
    "finish_flip": _FREE,
    "fail_flip": _FREE,
}

ACTION_LATENCIES: dict[str, dict[str, Latency]] = {
    "home": HOME_ACTION_LATENCY,
    "device": DEVICE_ACTION_LATENCY,
    "host_mem": HOST_MEM_ACTION_LATENCY,
    "dcoh_sf": DCOH_SF_ACTION_LATENCY,
    "dcoh_bias": DCOH_BIAS_ACTION_LATENCY,
}
ACTION_LATENCY_PS: dict[str, dict[str, int]] = {
    kind: {action: latency.ps for action, latency in table.items()}
    for kind, table in ACTION_LATENCIES.items()
}


def rule_latency_ps(kind: str, rule: Rule[Any]) -> int:
    """The default time a ``kind`` controller takes to fire ``rule`` (actions in series)."""
    table = ACTION_LATENCY_PS[kind]
    return RULE_LOOKUP_PS[kind] + sum(table[action] for action in rule.actions)
