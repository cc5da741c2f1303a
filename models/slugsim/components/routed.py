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
count), line-aligned addresses inside HDM windows below 2**52 (checked by the fabric's
validation), LD-IDs below 16 and enum members. ``tests/test_components_messages.py`` checks that
a made message packs exactly like one built by the validating constructor.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..cxl import S2MDRS, S2MNDR, M2SReq, M2SRwD

MAX_PIDS = 4096  # 12-bit SPID/DPID (CXL_REFERENCE.md §6.2)


def _maker(base: type, args: tuple[str, ...]) -> Any:
    """``make(cls, *args, spid, dpid)`` for a routed subclass of ``base``: the fields named in
    ``args`` come from the call, every other field takes its declared default. Generated as
    straight-line code (like the layouts' checks) so it costs what a hand-written one does."""
    env: dict[str, Any] = {"_new": object.__new__}
    lines = [f"def make(cls, {', '.join(args)}, spid, dpid):", "    m = _new(cls)"]
    for f in dataclasses.fields(base):
        if f.name in args:
            value = f.name
        elif type(f.default) is int:
            value = repr(f.default)
        else:
            assert f.default is not dataclasses.MISSING, f"{base.__name__}.{f.name} has no default"
            env[f"_{f.name}"] = f.default
            value = f"_{f.name}"
        lines.append(f"    m.{f.name} = {value}")
    lines += ["    m.spid = spid", "    m.dpid = dpid", "    return m"]
    exec("\n".join(lines), env)
    return classmethod(env["make"])


class RoutedM2SReq(M2SReq):
    __slots__ = ("dpid", "spid")
    make = _maker(M2SReq, ("opcode", "tag", "addr", "ld_id"))


class RoutedM2SRwD(M2SRwD):
    __slots__ = ("dpid", "spid")
    make = _maker(M2SRwD, ("opcode", "tag", "addr", "ld_id"))


class RoutedS2MDRS(S2MDRS):
    __slots__ = ("dpid", "spid")
    make = _maker(S2MDRS, ("opcode", "tag", "ld_id", "poison"))


class RoutedS2MNDR(S2MNDR):
    __slots__ = ("dpid", "spid")
    make = _maker(S2MNDR, ("opcode", "tag", "ld_id"))
