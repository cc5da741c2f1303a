"""What CXL.cache allows, as data: the spec tables the checkers hold the controllers to.

Kept apart from the controllers on purpose: the controllers *choose* a response, these tables
say which responses are *legal*, and the legality monitor (``monitor.py``) compares the two on
every message. Sources are CXL_REFERENCE.md §1.3 (D2H opcodes, legal H2D responses, buried
state, S4 Tbl 3-23/3-28), §1.4 (H2D responses) and §1.5 (snoops and their legal responses,
S4 Tbl 3-26). GO-Err / GO_ERR_WritePull are legal everywhere the spec lists them; the home
agent sends them for a request its translation check refused.
"""

from __future__ import annotations

from slugsim.cxl import D2HReqOpcode as Req
from slugsim.cxl import D2HRspOpcode as Rsp
from slugsim.cxl import GOState
from slugsim.cxl import H2DReqOpcode as Snp
from slugsim.cxl import H2DRspOpcode as H2DRsp

LINE_BYTES = 64

# GO states legal in a GO answering each opcode (§1.3 "Legal H2D responses").
LEGAL_GO_STATES: dict[Req, frozenset[GOState]] = {
    Req.RDCURR: frozenset(),  # data only, never a GO
    Req.RDOWN: frozenset({GOState.E, GOState.M, GOState.I, GOState.ERR}),
    Req.RDSHARED: frozenset({GOState.S, GOState.I, GOState.ERR}),
    Req.RDANY: frozenset({GOState.S, GOState.E, GOState.M, GOState.I, GOState.ERR}),
    Req.RDOWNNODATA: frozenset({GOState.E, GOState.ERR}),
    Req.CLFLUSH: frozenset({GOState.I, GOState.ERR}),
    Req.CLEANEVICTNODATA: frozenset({GOState.I}),
    Req.WRINV: frozenset({GOState.I, GOState.ERR}),  # the GO-I after the WritePull
    Req.CACHEFLUSHED: frozenset({GOState.I}),
}

# H2D response opcodes legal for each request (§1.3, §1.4).
LEGAL_RESPONSES: dict[Req, frozenset[H2DRsp]] = {
    Req.RDCURR: frozenset(),
    Req.RDOWN: frozenset({H2DRsp.GO}),
    Req.RDSHARED: frozenset({H2DRsp.GO}),
    Req.RDANY: frozenset({H2DRsp.GO}),
    Req.RDOWNNODATA: frozenset({H2DRsp.GO}),
    Req.ITOMWR: frozenset({H2DRsp.GO_WRITEPULL, H2DRsp.GO_ERR_WRITEPULL}),
    Req.WRCUR: frozenset({H2DRsp.GO_WRITEPULL, H2DRsp.GO_ERR_WRITEPULL}),
    Req.CLFLUSH: frozenset({H2DRsp.GO}),
    Req.CLEANEVICT: frozenset({H2DRsp.GO_WRITEPULL, H2DRsp.GO_WRITEPULL_DROP}),
    Req.DIRTYEVICT: frozenset({H2DRsp.GO_WRITEPULL, H2DRsp.GO_ERR_WRITEPULL}),
    Req.CLEANEVICTNODATA: frozenset({H2DRsp.GO}),
    Req.WOWRINV: frozenset({H2DRsp.FAST_GO_WRITEPULL, H2DRsp.EXTCMP, H2DRsp.GO_ERR_WRITEPULL}),
    Req.WOWRINVF: frozenset({H2DRsp.FAST_GO_WRITEPULL, H2DRsp.EXTCMP, H2DRsp.GO_ERR_WRITEPULL}),
    Req.WRINV: frozenset({H2DRsp.WRITEPULL, H2DRsp.GO}),
    Req.CACHEFLUSHED: frozenset({H2DRsp.GO}),
}

# The responses that end a request, and the one that must precede them where there are two
# (WrInv: WritePull, then GO-I; WOWrInv: Fast_GO_WritePull, then ExtCmp — §1.3 semantics).
FINAL_RESPONSE: dict[Req, H2DRsp] = {
    Req.WRINV: H2DRsp.GO,
    Req.WOWRINV: H2DRsp.EXTCMP,
    Req.WOWRINVF: H2DRsp.EXTCMP,
}
FIRST_RESPONSE: dict[Req, H2DRsp] = {
    Req.WRINV: H2DRsp.WRITEPULL,
    Req.WOWRINV: H2DRsp.FAST_GO_WRITEPULL,
    Req.WOWRINVF: H2DRsp.FAST_GO_WRITEPULL,
}

# Requests answered with 64 B of H2D data (§1.3 "Read" semantics).
DATA_REQUESTS: frozenset[Req] = frozenset({Req.RDCURR, Req.RDOWN, Req.RDSHARED, Req.RDANY})

# Responses that pull write data from the device (the data comes back with the UQID).
PULLS: frozenset[H2DRsp] = frozenset(
    {H2DRsp.WRITEPULL, H2DRsp.GO_WRITEPULL, H2DRsp.FAST_GO_WRITEPULL, H2DRsp.GO_ERR_WRITEPULL}
)

# The device's state for the line when it issues each request (§1.3 "Legal buried state").
LEGAL_BURIED_STATE: dict[Req, frozenset[str]] = {
    Req.RDCURR: frozenset("I"),
    Req.RDOWN: frozenset("I"),
    Req.RDSHARED: frozenset("I"),
    Req.RDANY: frozenset("I"),
    Req.RDOWNNODATA: frozenset("IS"),
    Req.ITOMWR: frozenset("I"),
    Req.WRCUR: frozenset("I"),
    Req.CLFLUSH: frozenset("I"),
    Req.CLEANEVICT: frozenset("E"),
    Req.DIRTYEVICT: frozenset("M"),
    Req.CLEANEVICTNODATA: frozenset("ES"),
    Req.WOWRINV: frozenset("I"),
    Req.WOWRINVF: frozenset("I"),
    Req.WRINV: frozenset("I"),
    Req.CACHEFLUSHED: frozenset("I"),
}

# Legal D2H responses to each snoop (§1.5, S4 Tbl 3-26; RspIHitSE to SnpData as noted there).
LEGAL_SNOOP_RESPONSES: dict[Snp, frozenset[Rsp]] = {
    Snp.SNPDATA: frozenset(
        {Rsp.RSPIHITI, Rsp.RSPSHITSE, Rsp.RSPSFWDM, Rsp.RSPIFWDM, Rsp.RSPIHITSE}
    ),
    Snp.SNPINV: frozenset({Rsp.RSPIHITI, Rsp.RSPIHITSE, Rsp.RSPIFWDM}),
    Snp.SNPCUR: frozenset(
        {Rsp.RSPIHITI, Rsp.RSPVHITV, Rsp.RSPSHITSE, Rsp.RSPSFWDM, Rsp.RSPIFWDM, Rsp.RSPVFWDV}
    ),
}

# Snoop responses followed by 64 B of D2H data to the same UQID (§1.5).
FORWARDING_RESPONSES: frozenset[Rsp] = frozenset({Rsp.RSPSFWDM, Rsp.RSPIFWDM, Rsp.RSPVFWDV})
# ... and the state each response leaves the device's copy in ("V": unchanged).
RESPONSE_LEAVES: dict[Rsp, str] = {
    Rsp.RSPIHITI: "I",
    Rsp.RSPIHITSE: "I",
    Rsp.RSPIFWDM: "I",
    Rsp.RSPSHITSE: "S",
    Rsp.RSPSFWDM: "S",
    Rsp.RSPVHITV: "V",
    Rsp.RSPVFWDV: "V",
}


def line_addr(line: int) -> int:
    """The byte address of line number ``line`` (messages carry Addr[51:6])."""
    return line * LINE_BYTES
