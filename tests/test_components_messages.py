"""The routed messages' fast constructors build exactly the validated messages."""

from slugsim.components import RoutedM2SReq, RoutedM2SRwD, RoutedS2MDRS, RoutedS2MNDR
from slugsim.cxl import (
    S2MDRS,
    S2MNDR,
    M2SReq,
    M2SReqOpcode,
    M2SRwD,
    M2SRwDOpcode,
    S2MDRSOpcode,
    S2MNDROpcode,
)


def test_made_messages_pack_like_checked_ones():
    addr = (1 << 51) - 64
    cases = [
        (
            RoutedM2SReq.make(M2SReqOpcode.MEMRD, 0xFFFF, addr, 15, 1, 2),
            M2SReq(M2SReqOpcode.MEMRD, tag=0xFFFF, addr=addr, ld_id=15),
        ),
        (
            RoutedM2SRwD.make(M2SRwDOpcode.MEMWR, 7, addr, 3, 1, 2),
            M2SRwD(M2SRwDOpcode.MEMWR, tag=7, addr=addr, ld_id=3),
        ),
        (
            RoutedS2MDRS.make(S2MDRSOpcode.MEMDATA_NXM, 9, 2, 1, 1, 2),
            S2MDRS(S2MDRSOpcode.MEMDATA_NXM, tag=9, ld_id=2, poison=1),
        ),
        (
            RoutedS2MNDR.make(S2MNDROpcode.CMP, 11, 4, 1, 2),
            S2MNDR(S2MNDROpcode.CMP, tag=11, ld_id=4),
        ),
    ]
    for made, checked in cases:
        assert isinstance(made, type(checked))
        assert made.pack() == checked.pack()
        assert made.wire_bytes == checked.wire_bytes
        assert (made.spid, made.dpid) in ((1, 2),)
