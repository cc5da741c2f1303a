"""A CXL Type-3 memory expander (HDM-H): controller, device DRAM and logical devices.

A request arrives at a port, crosses the controller (``controller_latency``), waits for and uses
the device DRAM (a FIFO bandwidth server, so loaded latency is queueing), and its response leaves
through the controller again: the egress channel's ``pipeline`` is the controller's outbound
latency. HDM-H reads return a DRS ``MemData`` only; writes complete with an NDR ``Cmp``
(CXL_REFERENCE.md §2.4). One request costs the device one event (the response departure).

Multi-logical-device: each LD is bound to one host (CXL_REFERENCE.md §2.5, up to 16 LDs). A
request must carry the LD-ID bound to its source host; any other is refused with a poisoned
``MemData-NXM`` (read) or still completed (write, dropped) and counted as a violation. All LDs
share the device DRAM, so pooled hosts contend for its bandwidth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..cxl import S2MDRSOpcode, S2MNDROpcode
from ..fabric.params import Type3Params
from ..kernel import Component, Simulator
from .dram import DramChannel
from .routed import RoutedM2SReq, RoutedS2MDRS, RoutedS2MNDR

MAX_LDS = 16  # CXL_REFERENCE.md §2.5: an MLD has up to 16 LDs (4-bit LD-ID on CXL.mem)

_MEMDATA = S2MDRSOpcode.MEMDATA
_MEMDATA_NXM = S2MDRSOpcode.MEMDATA_NXM
_CMP = S2MNDROpcode.CMP
_make_drs = RoutedS2MDRS.make
_make_ndr = RoutedS2MNDR.make


class Type3Core:
    """The device's request engine, slotted for the same reason as ``HostCore``."""

    # What a request reads comes first (see Channel's slots); the request path calls methods
    # of ``sim`` and ``dram`` rather than bound methods kept here, which would be one more
    # object per device for every request to fetch.
    __slots__ = (  # noqa: RUF023
        "sim",
        "_pooled",
        "_only_send",
        "dram",
        "_ctrl_in",
        "ld_reads",
        "pid",
        "ld_writes",
        "_send_to",
        "ld_owner",
        "name",
        "params",
        "violations",
    )

    def __init__(self, sim: Simulator, name: str, params: Type3Params, pid: int) -> None:
        self.sim = sim
        self.name = name
        self.params = params
        self.pid = pid
        self.dram = DramChannel(
            params.dram_latency,
            params.dram_bandwidth,
            turnaround=params.dram_turnaround,
            write_batch=params.dram_write_batch,
        )
        self._ctrl_in = params.controller_latency
        # LD-ID -> PID of the host it is bound to (bind_ld). Empty means one LD (0) open to any
        # host; ``_pooled`` says which without touching the dict.
        self.ld_owner: dict[int, int] = {}
        self._pooled = False
        self._send_to: dict[int, Callable[[Any], None]] = {}
        self._only_send: Callable[[Any], None] | None = None
        self.violations = 0
        # Counted per LD only; the totals are sums (one int update per request, not two: at
        # fabric scale each update frees an old int that is rarely in cache).
        self.ld_reads = [0] * MAX_LDS
        self.ld_writes = [0] * MAX_LDS

    @property
    def reads(self) -> int:
        return sum(self.ld_reads)

    @property
    def writes(self) -> int:
        return sum(self.ld_writes)

    def bind_ld(self, ld_id: int, pid: int) -> None:
        """Logical device ``ld_id`` serves the host with PID ``pid`` only."""
        self.ld_owner[ld_id] = pid
        self._pooled = True

    def route_to(self, pid: int, send: Callable[[Any], None]) -> None:
        """Responses to ``pid`` leave through ``send`` (a port's channel)."""
        self._send_to[pid] = send
        senders = set(self._send_to.values())
        self._only_send = next(iter(senders)) if len(senders) == 1 else None

    def on_request(self, msg: Any) -> None:
        """Port handler for M2S Req (reads) and RwD (writes).

        The response is fully known on arrival, so it is built here and its departure is the
        one scheduled event: the callback is the egress channel's ``send`` itself.
        """
        now = self.sim.now
        ld = msg.ld_id
        spid = msg.spid
        allowed = not self._pooled or self.ld_owner.get(ld) == spid
        send = self._only_send or self._send_to[spid]
        if msg.__class__ is RoutedM2SReq:
            self.ld_reads[ld] += 1
            if allowed:
                ready = self.dram.access(now + self._ctrl_in)
                drs = _make_drs(_MEMDATA, msg.tag, ld, 0, self.pid, spid)
                self.sim.schedule_at(ready, send, drs)
            else:
                self.violations += 1
                refusal = _make_drs(_MEMDATA_NXM, msg.tag, ld, 1, self.pid, spid)
                self.sim.schedule_at(now + self._ctrl_in, send, refusal)
            return
        self.ld_writes[ld] += 1
        if allowed:
            accepted = self.dram.write(now + self._ctrl_in)
        else:
            self.violations += 1  # the write is dropped but still completed
            accepted = now + self._ctrl_in
        self.sim.schedule_at(accepted, send, _make_ndr(_CMP, msg.tag, ld, self.pid, spid))


class Type3Device(Component):
    """The device component: ports and RNG stream; ``core`` serves the requests. Attribute reads
    the component does not answer itself are forwarded to ``core``."""

    def __init__(self, sim: Simulator, name: str, params: Type3Params, pid: int) -> None:
        super().__init__(sim, name)
        self.params = params
        self.pid = pid
        self.core = Type3Core(sim, name, params, pid)

    def __getattr__(self, name: str) -> Any:
        if name == "core":
            raise AttributeError(name)
        return getattr(self.core, name)
