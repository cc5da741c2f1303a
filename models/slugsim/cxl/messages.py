"""Every message slugsim models, each with its bit layout (LSB first, in declaration order).

CXL.cache and CXL.mem layouts follow the spec's 256B-flit field lists (CXL_REFERENCE.md §1.2 and
§2.1, S4 Tbl 3-13…3-52) with these deliberate differences, which make the layout **our own**:

- the Valid bit is dropped (the valid/ready handshake carries it) and so are reserved bits;
- PBR routing IDs are the PBR flit's 12-bit SPID/DPID (CXL_REFERENCE.md §1.2, §2.1, §6.2): a
  request carries both, a response or data message only its DPID, as the PBR flit does; they sit
  after the header fields, before any data. TEE fields (CKID) are left out until TEE is modelled;
- data messages carry their 64-byte line in a trailing 512-bit ``data`` field, not in separate
  data slots; Addr[5] (68B flit only) is left out.

ATS messages are our own compact layouts of the PCIe ATS TLPs (CXL_REFERENCE.md §4); the EMC
record is slugsim's trace record (fixed 128 bits).
"""

from __future__ import annotations

from typing import Annotated

from .layout import MESSAGE_TYPES, Bits, Message, message
from .opcodes import (
    AtsStatus,
    Channel,
    D2HReqOpcode,
    D2HRspOpcode,
    Direction,
    H2DReqOpcode,
    H2DRspOpcode,
    M2SBIRspOpcode,
    M2SReqOpcode,
    M2SRwDOpcode,
    MetaField,
    MetaValue,
    RspPre,
    S2MBISnpOpcode,
    S2MDRSOpcode,
    S2MNDROpcode,
    SnpType,
)

LINE = Bits(46, shift=6)  # Addr[51:6]: a 64-byte line address in a 52-bit physical space
PID = Bits(12)  # PBR SPID/DPID: up to 4096 port IDs per fabric (CXL_REFERENCE.md §6.2)
PAGE = Bits(52, shift=12)  # Addr[63:12]: a 4 KB page address (ATS)
DATA = Bits(512)  # one 64-byte cache line

# -- CXL.cache ------------------------------------------------------------------------------


@message(Channel.D2H_REQ, "S4 Tbl 3-13 (256B flit)", tag="cqid", addr="addr")
class D2HReq(Message):
    opcode: Annotated[D2HReqOpcode, Bits(5)]
    cqid: Annotated[int, Bits(12)] = 0
    nt: Annotated[int, Bits(1)] = 0
    cache_id: Annotated[int, Bits(4)] = 0
    addr: Annotated[int, LINE] = 0
    spid: Annotated[int, PID] = 0
    dpid: Annotated[int, PID] = 0


@message(Channel.D2H_RSP, "S4 Tbl 3-15 (256B flit)", tag="uqid")
class D2HRsp(Message):
    opcode: Annotated[D2HRspOpcode, Bits(5)]
    uqid: Annotated[int, Bits(12)] = 0
    dpid: Annotated[int, PID] = 0


@message(Channel.D2H_DATA, "S4 Tbl 3-16 (256B flit)", tag="uqid", opcode=None)
class D2HData(Message):
    uqid: Annotated[int, Bits(12)] = 0
    bogus: Annotated[int, Bits(1)] = 0
    poison: Annotated[int, Bits(1)] = 0
    bep: Annotated[int, Bits(1)] = 0
    dpid: Annotated[int, PID] = 0
    data: Annotated[int, DATA] = 0


@message(Channel.H2D_REQ, "S4 Tbl 3-17 (256B flit)", tag="uqid", addr="addr")
class H2DReq(Message):
    opcode: Annotated[H2DReqOpcode, Bits(3)]
    addr: Annotated[int, LINE] = 0
    uqid: Annotated[int, Bits(12)] = 0
    cache_id: Annotated[int, Bits(4)] = 0
    spid: Annotated[int, PID] = 0
    dpid: Annotated[int, PID] = 0


@message(Channel.H2D_RSP, "S4 Tbl 3-18 (256B flit)", tag="cqid")
class H2DRsp(Message):
    """``rsp_data`` holds a GOState in bits [3:0] for GO, else the UQID (S4 Tbl 3-27)."""

    opcode: Annotated[H2DRspOpcode, Bits(4)]
    rsp_data: Annotated[int, Bits(12)] = 0
    rsp_pre: Annotated[RspPre, Bits(2)] = RspPre.LOCAL_MISS
    cqid: Annotated[int, Bits(12)] = 0
    cache_id: Annotated[int, Bits(4)] = 0
    dpid: Annotated[int, PID] = 0


@message(Channel.H2D_DATA, "S4 §3.2.3.6 (256B flit)", tag="cqid", opcode=None)
class H2DData(Message):
    cqid: Annotated[int, Bits(12)] = 0
    poison: Annotated[int, Bits(1)] = 0
    go_err: Annotated[int, Bits(1)] = 0
    cache_id: Annotated[int, Bits(4)] = 0
    dpid: Annotated[int, PID] = 0
    data: Annotated[int, DATA] = 0


# -- CXL.mem --------------------------------------------------------------------------------


@message(Channel.M2S_REQ, "S4 Tbl 3-34 (256B flit, no CKID)", tag="tag", addr="addr")
class M2SReq(Message):
    opcode: Annotated[M2SReqOpcode, Bits(4)]
    snp_type: Annotated[SnpType, Bits(3)] = SnpType.NO_OP
    meta_field: Annotated[MetaField, Bits(2)] = MetaField.NO_OP
    meta_value: Annotated[MetaValue, Bits(2)] = MetaValue.I
    tag: Annotated[int, Bits(16)] = 0
    addr: Annotated[int, LINE] = 0
    ld_id: Annotated[int, Bits(4)] = 0
    tc: Annotated[int, Bits(2)] = 0
    spid: Annotated[int, PID] = 0
    dpid: Annotated[int, PID] = 0


@message(Channel.M2S_RWD, "S4 Tbl 3-40 (256B flit, no CKID)", tag="tag", addr="addr")
class M2SRwD(Message):
    opcode: Annotated[M2SRwDOpcode, Bits(4)]
    snp_type: Annotated[SnpType, Bits(3)] = SnpType.NO_OP
    meta_field: Annotated[MetaField, Bits(2)] = MetaField.NO_OP
    meta_value: Annotated[MetaValue, Bits(2)] = MetaValue.I
    tag: Annotated[int, Bits(16)] = 0
    addr: Annotated[int, LINE] = 0
    ld_id: Annotated[int, Bits(4)] = 0
    tc: Annotated[int, Bits(2)] = 0
    poison: Annotated[int, Bits(1)] = 0
    trp: Annotated[int, Bits(1)] = 0
    spid: Annotated[int, PID] = 0
    dpid: Annotated[int, PID] = 0
    data: Annotated[int, DATA] = 0


@message(Channel.M2S_BIRSP, "S4 Tbl 3-44 (256B flit)", tag="bi_tag")
class M2SBIRsp(Message):
    opcode: Annotated[M2SBIRspOpcode, Bits(4)]
    bi_id: Annotated[int, Bits(12)] = 0
    bi_tag: Annotated[int, Bits(12)] = 0
    low_addr: Annotated[int, Bits(2)] = 0
    spid: Annotated[int, PID] = 0
    dpid: Annotated[int, PID] = 0


@message(Channel.S2M_BISNP, "S4 Tbl 3-46 (256B flit)", tag="bi_tag", addr="addr")
class S2MBISnp(Message):
    opcode: Annotated[S2MBISnpOpcode, Bits(4)]
    bi_id: Annotated[int, Bits(12)] = 0
    bi_tag: Annotated[int, Bits(12)] = 0
    addr: Annotated[int, LINE] = 0
    spid: Annotated[int, PID] = 0
    dpid: Annotated[int, PID] = 0


@message(Channel.S2M_NDR, "S4 §3.3.9 (256B flit)", tag="tag")
class S2MNDR(Message):
    opcode: Annotated[S2MNDROpcode, Bits(3)]
    meta_field: Annotated[MetaField, Bits(2)] = MetaField.NO_OP
    meta_value: Annotated[MetaValue, Bits(2)] = MetaValue.I
    tag: Annotated[int, Bits(16)] = 0
    ld_id: Annotated[int, Bits(4)] = 0
    dev_load: Annotated[int, Bits(2)] = 0
    dpid: Annotated[int, PID] = 0


@message(Channel.S2M_DRS, "S4 Tbl 3-52 (256B flit)", tag="tag")
class S2MDRS(Message):
    opcode: Annotated[S2MDRSOpcode, Bits(3)]
    meta_field: Annotated[MetaField, Bits(2)] = MetaField.NO_OP
    meta_value: Annotated[MetaValue, Bits(2)] = MetaValue.I
    tag: Annotated[int, Bits(16)] = 0
    poison: Annotated[int, Bits(1)] = 0
    ld_id: Annotated[int, Bits(4)] = 0
    dev_load: Annotated[int, Bits(2)] = 0
    trp: Annotated[int, Bits(1)] = 0
    dpid: Annotated[int, PID] = 0
    data: Annotated[int, DATA] = 0


# -- ATS (CXL.io); our own layouts of the PCIe ATS TLPs ---------------------------------------


@message(
    Channel.ATS_TRANSLATION_REQ,
    "slugsim (PCIe ATS Translation Request)",
    tag="tag",
    addr="addr",
    opcode=None,
)
class AtsTranslationReq(Message):
    """Untranslated page ``addr``; ``cxl_src`` is set by every CXL function (S4 §3.1.6)."""

    requester_id: Annotated[int, Bits(16)] = 0
    tag: Annotated[int, Bits(8)] = 0
    addr: Annotated[int, PAGE] = 0
    no_write: Annotated[int, Bits(1)] = 0
    cxl_src: Annotated[int, Bits(1)] = 1
    dpid: Annotated[int, PID] = 0  # PBR destination (switches route on it)


@message(
    Channel.ATS_TRANSLATION_CPL,
    "slugsim (PCIe ATS Translation Completion)",
    tag="tag",
    addr="addr",
    opcode=None,
)
class AtsTranslationCpl(Message):
    """``page_shift`` replaces the spec's S-bit size encoding (12 = 4 KB, 21 = 2 MB);
    ``cxl_io`` = 1 forbids CXL.cache on the page (S4 §3.1.6)."""

    requester_id: Annotated[int, Bits(16)] = 0
    tag: Annotated[int, Bits(8)] = 0
    status: Annotated[AtsStatus, Bits(3)] = AtsStatus.SUCCESS
    addr: Annotated[int, PAGE] = 0
    read: Annotated[int, Bits(1)] = 1
    write: Annotated[int, Bits(1)] = 1
    page_shift: Annotated[int, Bits(6)] = 12
    cxl_io: Annotated[int, Bits(1)] = 0
    dpid: Annotated[int, PID] = 0  # PBR destination (switches route on it)


@message(
    Channel.ATS_INVALIDATION_REQ,
    "slugsim (PCIe ATS Invalidate Request, MsgD 0x01)",
    tag="itag",
    addr="addr",
    opcode=None,
)
class AtsInvalidationReq(Message):
    """``itag`` is 5 bits: up to 32 invalidations in flight (ATS Invalidate Queue Depth)."""

    requester_id: Annotated[int, Bits(16)] = 0
    itag: Annotated[int, Bits(5)] = 0
    addr: Annotated[int, PAGE] = 0
    page_shift: Annotated[int, Bits(6)] = 12
    global_: Annotated[int, Bits(1)] = 0
    dpid: Annotated[int, PID] = 0  # PBR destination (switches route on it)


@message(
    Channel.ATS_INVALIDATION_CPL, "slugsim (PCIe ATS Invalidate Completion, Msg 0x02)", opcode=None
)
class AtsInvalidationCpl(Message):
    """``itag_vector`` bit N completes the request with ITag N; ``cc`` counts completions."""

    requester_id: Annotated[int, Bits(16)] = 0
    itag_vector: Annotated[int, Bits(32)] = 0
    cc: Annotated[int, Bits(3)] = 0
    dpid: Annotated[int, PID] = 0  # PBR destination (switches route on it)


@message(
    None, "slugsim (PCIe PRI Page Request, Msg 0x04)", tag="prg_index", addr="addr", opcode=None
)
class AtsPageReq(Message):
    """A Page Request (PRI, CXL_REFERENCE.md §4): make the untranslated page ``addr`` resident
    with ``read``/``write`` access; ``last`` closes the Page Request Group ``prg_index``.
    No EMC record channel: the record's 4-bit channel field is full (``Channel``)."""

    requester_id: Annotated[int, Bits(16)] = 0
    prg_index: Annotated[int, Bits(9)] = 0
    addr: Annotated[int, PAGE] = 0
    read: Annotated[int, Bits(1)] = 1
    write: Annotated[int, Bits(1)] = 0
    last: Annotated[int, Bits(1)] = 1
    dpid: Annotated[int, PID] = 0  # PBR destination (switches route on it)


@message(None, "slugsim (PCIe PRI PRG Response, Msg 0x05)", tag="prg_index", opcode=None)
class AtsPrgRsp(Message):
    """The answer to a Page Request Group: ``code`` is a ``PrgResponseCode`` (CXL_REFERENCE.md
    §4: 0000 Success, 0001 Invalid Request, 1111 Response Failure; others mean failure)."""

    requester_id: Annotated[int, Bits(16)] = 0
    prg_index: Annotated[int, Bits(9)] = 0
    code: Annotated[int, Bits(4)] = 0
    dpid: Annotated[int, PID] = 0  # PBR destination (switches route on it)


# -- EMC record ------------------------------------------------------------------------------


@message(None, "slugsim EMC trace record (128 bits)", opcode=None)
class EmcRecord(Message):
    """What an EMC monitor records about one message crossing its endpoint.

    ``channel`` names the message class and ``opcode`` is that class's raw opcode (0 when it has
    none); ``addr`` is the line address (0 when the message has none); ``port`` numbers the
    endpoint port that saw it. ``timestamp`` is in the monitor's time unit (trace header).
    """

    timestamp: Annotated[int, Bits(48)] = 0
    channel: Annotated[Channel, Bits(4)] = Channel.D2H_REQ
    opcode: Annotated[int, Bits(5)] = 0
    direction: Annotated[Direction, Bits(1)] = Direction.INGRESS
    tag: Annotated[int, Bits(16)] = 0
    addr: Annotated[int, LINE] = 0
    port: Annotated[int, Bits(8)] = 0

    @classmethod
    def of(
        cls, msg: Message, timestamp: int, direction: Direction = Direction.INGRESS, port: int = 0
    ) -> EmcRecord:
        """The record an EMC makes of ``msg`` (tag and address truncated to the record's width)."""
        tag = getattr(msg, msg.TAG_FIELD) if msg.TAG_FIELD else 0
        addr = getattr(msg, msg.ADDR_FIELD) if msg.ADDR_FIELD else 0
        opcode = int(getattr(msg, msg.OPCODE_FIELD)) if msg.OPCODE_FIELD else 0
        return cls(
            timestamp=timestamp,
            channel=msg.CHANNEL,
            opcode=opcode,
            direction=direction,
            tag=tag & 0xFFFF,
            addr=addr & ((1 << 52) - 1) & ~0x3F,
            port=port,
        )


def recordable_types() -> list[type[Message]]:
    """The message types an EMC monitor can record, in the RTL as in the model: an opcode and
    a tag that fit the record's fields, and no address or a line address as wide as the
    record's. (The data channels have no opcode; ATS carries page addresses.)"""
    record = {s.name: s for s in EmcRecord.FIELDS}
    kept = []
    for cls in MESSAGE_TYPES:
        opcode, tag = cls.field_spec(cls.OPCODE_FIELD), cls.field_spec(cls.TAG_FIELD)
        addr = cls.field_spec(cls.ADDR_FIELD)
        if cls.CHANNEL is None or opcode is None or tag is None:
            continue
        if opcode.width > record["opcode"].width or tag.width > record["tag"].width:
            continue
        if addr is not None and (addr.width, addr.shift) != (
            record["addr"].width,
            record["addr"].shift,
        ):
            continue
        kept.append(cls)
    return kept
