"""The DCOH bias RTL's CSR map (``rtl/coherence/dcoh_bias.v``), the one source of truth:
``rtl/coherence/dcoh_bias_csr.vh`` is generated from it (``python -m slugsim.coherence.header``).

====== ================== ==== ============================================================
offset name               kind meaning
====== ================== ==== ============================================================
0x00   ID                 RO   0x44430001 ("DC", version 1)
0x08   CTRL               WO   [0] CLEAR: write 1 to zero every counter (reads 0)
0x10+4i counter i         RO   ``COUNTERS[i]``: the ``DcohCounters`` fields in order, then
                               M2S_BLOCKED_CYCLES (cycles an offered M2S Req waited for BI
                               state: its line pending, a Req waiting for its victim's BIRsp,
                               or no free BI tracker; timing, so not in the model)
====== ================== ==== ============================================================
"""

from __future__ import annotations

from dataclasses import fields

from ..csrmap import counter_values as csr_counter_values
from .dcoh_bias import DcohBias, DcohCounters

DCOH_ID = 0x44430001
CSR_ID = 0x00
CSR_CTRL = 0x08
CSR_COUNTER_BASE = 0x10
MODEL_COUNTERS = tuple(f.name.upper() for f in fields(DcohCounters))
COUNTERS = (*MODEL_COUNTERS, "M2S_BLOCKED_CYCLES")


def counter_addr(name: str) -> int:
    return CSR_COUNTER_BASE + 4 * COUNTERS.index(name)


def counter_values(dcoh: DcohBias) -> dict[str, int]:
    """The model's counters as the CSRs show them (modulo 2**32)."""
    return csr_counter_values(dcoh.counters, MODEL_COUNTERS)


def render_header() -> list[str]:
    out = [
        f"localparam [7:0] DCOH_CSR_ID = 8'h{CSR_ID:02X};",
        f"localparam [7:0] DCOH_CSR_CTRL = 8'h{CSR_CTRL:02X};",
        f"localparam [7:0] DCOH_CSR_COUNTER_BASE = 8'h{CSR_COUNTER_BASE:02X};",
        f"localparam [31:0] DCOH_ID_VALUE = 32'h{DCOH_ID:08X};",
        f"localparam integer DCOH_COUNTERS = {len(COUNTERS)};",
    ]
    out += [f"localparam integer DCOH_CNT_{name} = {i};" for i, name in enumerate(COUNTERS)]
    return out
