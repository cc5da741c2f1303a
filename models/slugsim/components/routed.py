"""CXL.mem messages as they travel a port-based-routed (PBR) fabric.

PBR flits carry a 12-bit source and destination port ID (SPID/DPID) in every CXL.mem message
(CXL_REFERENCE.md §2.1, §6.2: up to 4096 PIDs per fabric). ``slugsim.cxl`` leaves SPID/DPID out
of its layouts until PBR is modelled there, so these subclasses add the two IDs as plain slots:
each is still the real ``M2SReq`` / ``S2MDRS`` ... (``isinstance`` holds, ``pack()`` is
unchanged), so an EMC monitor records the genuine message. Switches route on ``dpid`` with one
list index; responses go back to ``spid``.

``make`` is the models' fast constructor: it fills the slots directly instead of running the
generic range checks (about 6x cheaper, and two messages are made per request). It is only
called with values that are in range by construction: tags below 2**16 (the host checks its slot
count), line-aligned addresses inside HDM windows below 2**52 (checked at elaboration), LD-IDs
below 16 and enum members. ``tests/test_components_messages.py`` checks that a made message packs
exactly like one built by the validating constructor.
"""

from __future__ import annotations

from typing import Any

from ..cxl import S2MDRS, S2MNDR, M2SReq, M2SRwD, MetaField, MetaValue, SnpType

MAX_PIDS = 4096  # 12-bit SPID/DPID (CXL_REFERENCE.md §6.2)

_new = object.__new__
_SNP_NO_OP = SnpType.NO_OP
_META_NO_OP = MetaField.NO_OP
_META_I = MetaValue.I


class RoutedM2SReq(M2SReq):
    __slots__ = ("dpid", "spid")

    @classmethod
    def make(cls, opcode: Any, tag: int, addr: int, ld_id: int, spid: int, dpid: int) -> Any:
        m = _new(cls)
        m.opcode = opcode
        m.snp_type = _SNP_NO_OP
        m.meta_field = _META_NO_OP
        m.meta_value = _META_I
        m.tag = tag
        m.addr = addr
        m.ld_id = ld_id
        m.tc = 0
        m.spid = spid
        m.dpid = dpid
        return m


class RoutedM2SRwD(M2SRwD):
    __slots__ = ("dpid", "spid")

    @classmethod
    def make(cls, opcode: Any, tag: int, addr: int, ld_id: int, spid: int, dpid: int) -> Any:
        m = _new(cls)
        m.opcode = opcode
        m.snp_type = _SNP_NO_OP
        m.meta_field = _META_NO_OP
        m.meta_value = _META_I
        m.tag = tag
        m.addr = addr
        m.ld_id = ld_id
        m.tc = 0
        m.poison = 0
        m.trp = 0
        m.data = 0
        m.spid = spid
        m.dpid = dpid
        return m


class RoutedS2MDRS(S2MDRS):
    __slots__ = ("dpid", "spid")

    @classmethod
    def make(cls, opcode: Any, tag: int, ld_id: int, poison: int, spid: int, dpid: int) -> Any:
        m = _new(cls)
        m.opcode = opcode
        m.meta_field = _META_NO_OP
        m.meta_value = _META_I
        m.tag = tag
        m.poison = poison
        m.ld_id = ld_id
        m.dev_load = 0
        m.trp = 0
        m.data = 0
        m.spid = spid
        m.dpid = dpid
        return m


class RoutedS2MNDR(S2MNDR):
    __slots__ = ("dpid", "spid")

    @classmethod
    def make(cls, opcode: Any, tag: int, ld_id: int, spid: int, dpid: int) -> Any:
        m = _new(cls)
        m.opcode = opcode
        m.meta_field = _META_NO_OP
        m.meta_value = _META_I
        m.tag = tag
        m.ld_id = ld_id
        m.dev_load = 0
        m.spid = spid
        m.dpid = dpid
        return m
