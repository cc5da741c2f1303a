"""Opcode and field encodings of CXL.cache, CXL.mem, ATS and the EMC record.

Values are the CXL Specification Rev 4.0 encodings as collected in shared/CXL_REFERENCE.md
(section given per enum). ATS and EMC encodings are slugsim's own where noted.
"""

from __future__ import annotations

from enum import IntEnum


class D2HReqOpcode(IntEnum):
    """D2H request opcodes, 5 bits (CXL_REFERENCE.md §1.3, S4 §3.2.4.2)."""

    RDCURR = 0b00001
    RDOWN = 0b00010
    RDSHARED = 0b00011
    RDANY = 0b00100
    RDOWNNODATA = 0b00101
    ITOMWR = 0b00110
    WRCUR = 0b00111
    CLFLUSH = 0b01000
    CLEANEVICT = 0b01001
    DIRTYEVICT = 0b01010
    CLEANEVICTNODATA = 0b01011
    WOWRINV = 0b01100
    WOWRINVF = 0b01101
    WRINV = 0b01110
    CACHEFLUSHED = 0b10000


class D2HRspOpcode(IntEnum):
    """D2H snoop responses, 5 bits (CXL_REFERENCE.md §1.5, S4 Tbl 3-25)."""

    RSPSHITSE = 0b00001
    RSPIHITI = 0b00100
    RSPIHITSE = 0b00101
    RSPVHITV = 0b00110
    RSPSFWDM = 0b00111
    RSPIFWDM = 0b01111
    RSPVFWDV = 0b10110


class H2DReqOpcode(IntEnum):
    """H2D snoops, 3 bits (CXL_REFERENCE.md §1.5, S4 Tbl 3-26)."""

    SNPDATA = 0b001
    SNPINV = 0b010
    SNPCUR = 0b011


class H2DRspOpcode(IntEnum):
    """H2D responses, 4 bits (CXL_REFERENCE.md §1.4, S4 Tbl 3-27). 1100 is reserved in 4.0."""

    WRITEPULL = 0b0001
    GO = 0b0100
    GO_WRITEPULL = 0b0101
    EXTCMP = 0b0110
    GO_WRITEPULL_DROP = 0b1000
    FAST_GO_WRITEPULL = 0b1101
    GO_ERR_WRITEPULL = 0b1111


class GOState(IntEnum):
    """Cache state carried in RspData[3:0] of a GO (CXL_REFERENCE.md §1.4, S4 Tbl 3-20)."""

    S = 0b0001
    E = 0b0010
    I = 0b0011  # noqa: E741 - the spec's name
    ERR = 0b0100
    M = 0b0110


class RspPre(IntEnum):
    """RSP_PRE performance hint, 2 bits (CXL_REFERENCE.md §1.4, S4 Tbl 3-19)."""

    LOCAL_MISS = 0b00
    HOST_HIT = 0b01
    REMOTE_MISS = 0b10


class M2SReqOpcode(IntEnum):
    """M2S Req opcodes, 4 bits (CXL_REFERENCE.md §2.2, S4 Tbl 3-35)."""

    MEMINV = 0b0000
    MEMRD = 0b0001
    MEMRDDATA = 0b0010
    MEMRDFWD = 0b0011
    MEMWRFWD = 0b0100
    MEMRDTEE = 0b0101
    MEMRDDATATEE = 0b0110
    MEMINVTEE = 0b0111
    MEMSPECRD = 0b1000
    MEMINVNT = 0b1001
    MEMCLNEVCT = 0b1010
    MEMINVPTEE = 0b1011
    MEMSPECRDTEE = 0b1100
    TEUPDATE = 0b1101
    MEMCLNEVCTTEE = 0b1110
    MEMCLNEVCTU = 0b1111


class M2SRwDOpcode(IntEnum):
    """M2S RwD opcodes, 4 bits (CXL_REFERENCE.md §2.2, S4 Tbl 3-41)."""

    MEMWR = 0b0001
    MEMWRPTL = 0b0010
    BICONFLICT = 0b0100
    MEMRDFILL = 0b0101
    MEMWRTEE = 0b1001
    MEMWRPTLTEE = 0b1010
    MEMRDFILLTEE = 0b1101


class M2SBIRspOpcode(IntEnum):
    """M2S BIRsp opcodes, 4 bits (CXL_REFERENCE.md §2.2, S4 Tbl 3-45)."""

    BIRSPI = 0b0000
    BIRSPS = 0b0001
    BIRSPE = 0b0010
    BIRSPIBLK = 0b0100
    BIRSPSBLK = 0b0101
    BIRSPEBLK = 0b0110


class S2MBISnpOpcode(IntEnum):
    """S2M BISnp opcodes, 4 bits (CXL_REFERENCE.md §2.2, S4 Tbl 3-47)."""

    BISNPCUR = 0b0000
    BISNPDATA = 0b0001
    BISNPINV = 0b0010
    BISNPCURBLK = 0b0100
    BISNPDATABLK = 0b0101
    BISNPINVBLK = 0b0110
    BISNPCURTEE = 0b1000
    BISNPDATATEE = 0b1001
    BISNPINVTEE = 0b1010
    BISNPCURBLKTEE = 0b1100
    BISNPDATABLKTEE = 0b1101
    BISNPINVBLKTEE = 0b1110


class S2MNDROpcode(IntEnum):
    """S2M NDR opcodes, 3 bits (CXL_REFERENCE.md §2.2, S4 Tbl 3-50)."""

    CMP = 0b000
    CMP_S = 0b001
    CMP_E = 0b010
    CMP_M = 0b011
    BI_CONFLICT_ACK = 0b100
    CMPTEE = 0b101
    CMPTEE_S = 0b110
    CMPTEE_E = 0b111


class S2MDRSOpcode(IntEnum):
    """S2M DRS opcodes, 3 bits (CXL_REFERENCE.md §2.2, S4 Tbl 3-53)."""

    MEMDATA = 0b000
    MEMDATA_NXM = 0b001
    MEMDATATEE = 0b010


class MetaField(IntEnum):
    """MetaField, 2 bits (CXL_REFERENCE.md §2.3, S4 Tbl 3-36). 10 is reserved."""

    META0_STATE = 0b00
    EMS = 0b01
    NO_OP = 0b11


class MetaValue(IntEnum):
    """Meta0-State MetaValue, 2 bits (CXL_REFERENCE.md §2.3, S4 Tbl 3-37)."""

    I = 0b00  # noqa: E741 - the spec's name
    E_NO_OP = 0b01
    A = 0b10
    S = 0b11


class SnpType(IntEnum):
    """M2S SnpType, 3 bits (CXL_REFERENCE.md §2.3, S4 Tbl 3-38). 1xx is reserved."""

    NO_OP = 0b000
    SNPDATA = 0b001
    SNPCUR = 0b010
    SNPINV = 0b011


class AtsStatus(IntEnum):
    """Translation completion status, 3 bits: the PCIe completion status codes (SC, UR, CA)."""

    SUCCESS = 0b000
    UNSUPPORTED_REQUEST = 0b001
    COMPLETER_ABORT = 0b100


class Channel(IntEnum):
    """Which message class a record describes, 4 bits. slugsim's own encoding (EMC record)."""

    D2H_REQ = 0
    D2H_RSP = 1
    D2H_DATA = 2
    H2D_REQ = 3
    H2D_RSP = 4
    H2D_DATA = 5
    M2S_REQ = 6
    M2S_RWD = 7
    M2S_BIRSP = 8
    S2M_NDR = 9
    S2M_DRS = 10
    S2M_BISNP = 11
    ATS_TRANSLATION_REQ = 12
    ATS_TRANSLATION_CPL = 13
    ATS_INVALIDATION_REQ = 14
    ATS_INVALIDATION_CPL = 15


class MessageClass(IntEnum):
    """The virtual channel a message travels in on a link: each CXL message class has its own
    link-layer credits (CXL_REFERENCE.md §1.1, §2.1, §6.1), and the four ATS messages share
    CXL.io. Not a wire field; ``Message.VC`` holds it."""

    M2S_REQ = 0
    M2S_RWD = 1
    M2S_BIRSP = 2
    S2M_NDR = 3
    S2M_DRS = 4
    S2M_BISNP = 5
    D2H_REQ = 6
    D2H_RSP = 7
    D2H_DATA = 8
    H2D_REQ = 9
    H2D_RSP = 10
    H2D_DATA = 11
    IO = 12


# Each record channel's virtual channel (ATS travels on CXL.io).
MESSAGE_CLASS_OF: dict[Channel, MessageClass] = {
    **{channel: MessageClass[channel.name] for channel in Channel if channel.value < 12},
    **{channel: MessageClass.IO for channel in Channel if channel.value >= 12},
}


class Direction(IntEnum):
    """Whether the EMC saw the message enter or leave its endpoint, 1 bit (slugsim's own)."""

    INGRESS = 0
    EGRESS = 1


# Width in bits of every enum when it travels in a message or a record.
ENUM_WIDTHS: dict[type[IntEnum], int] = {
    D2HReqOpcode: 5,
    D2HRspOpcode: 5,
    H2DReqOpcode: 3,
    H2DRspOpcode: 4,
    GOState: 4,
    RspPre: 2,
    M2SReqOpcode: 4,
    M2SRwDOpcode: 4,
    M2SBIRspOpcode: 4,
    S2MBISnpOpcode: 4,
    S2MNDROpcode: 3,
    S2MDRSOpcode: 3,
    MetaField: 2,
    MetaValue: 2,
    SnpType: 3,
    AtsStatus: 3,
    Channel: 4,
    Direction: 1,
}
