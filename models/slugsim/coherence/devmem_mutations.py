"""Device-memory protocol bugs planted on purpose (``DevMemConfig(mutation=name)``).

Each overrides one method of a correct controller; ``tests/test_devmem_mutations.py`` requires
both the random tester and the explorer to catch every one.
"""

from __future__ import annotations

from dataclasses import dataclass

from slugsim.coherence.dcoh import (
    DB_SNOOPING,
    BiasController,
    BiasEvent,
    BiasState,
    DeviceSnoopFilter,
    Page,
    SfLine,
)
from slugsim.coherence.devmem_host import HostLine, HostMemAgent
from slugsim.coherence.spec import LINE_BYTES
from slugsim.cxl import M2SBIRspOpcode, M2SReq, M2SReqOpcode, Message, MetaValue


class NoBISnpBlocking(DeviceSnoopFilter):
    """An M2S MemRd to a line with a BISnp pending is served at once (no blocking rule)."""

    def _snooping(self, msg: Message) -> bool:
        return (
            isinstance(msg, M2SReq)
            and msg.opcode is M2SReqOpcode.MEMRD
            and self.entry(msg.addr // LINE_BYTES).state in DB_SNOOPING
        )

    def stalls(self, src: int, msg: Message) -> bool:
        if self._snooping(msg):
            return False
        return super().stalls(src, msg)

    def receive(self, src: int, msg: Message) -> bool:
        if not self._snooping(msg):
            return super().receive(src, msg)
        assert isinstance(msg, M2SReq)
        line = msg.addr // LINE_BYTES
        self.sf.allocate(line, 1 << src)
        exclusive = msg.meta_value is MetaValue.A
        self.entry(line).exclusive = exclusive
        self._grant(src, msg, exclusive)
        return True


class ForgetVictimSharer(DeviceSnoopFilter):
    """A filter victim is back-invalidated at its lowest sharer only; the others are forgotten."""

    def snoop_sharers_victim(self, entry: SfLine) -> None:
        sharers = self.sf.sharers(entry.line)
        self.sf.update(entry.line, sharers & -sharers)
        super().snoop_sharers_victim(entry)


class BIRspBeforeWriteback(HostMemAgent):
    """A dirty line answers its BISnp together with the MemWr, not after the MemWr's Cmp."""

    def _writeback_for_snoop(self, entry: HostLine, meta: MetaValue, after: object) -> None:
        super()._writeback_for_snoop(entry, meta, after)  # type: ignore[arg-type]
        self._birsp(entry, entry.rsp)

    def answer_after_writeback(self, entry: HostLine) -> None:
        entry.snoop = None


class LateConflictAsEarly(HostMemAgent):
    """Every conflict is taken as early: the kept BISnp is answered BIRspI at the Ack even when
    the fill's Cmp came first (and the fill then completes with a copy the device forgot)."""

    def replay_snoop(self, entry: HostLine) -> None:
        if entry.snoop is not None:
            self._birsp(entry, M2SBIRspOpcode.BIRSPI)
            entry.snoop = None

    def receive(self, msg: Message) -> bool:
        entry, _ = self.event_for(msg)
        fired = super().receive(msg)
        if entry.state.name == "IXD_L" and entry.snoop is not None:
            self._birsp(entry, M2SBIRspOpcode.BIRSPI)
            entry.snoop = None
        return fired


class FlipWithoutCompletion(BiasController):
    """A host->device flip takes device bias as soon as the RdOwnNoData are sent; their
    completions are ignored."""

    def start_flip(self, page: Page) -> None:
        super().start_flip(page)
        page.waiting = 0

    def issue(self, op: object) -> bool:
        fired = super().issue(op)  # type: ignore[arg-type]
        for page in self.pages.values():
            if page.state is BiasState.FLIP and not page.waiting:
                self._fire(page, BiasEvent.FlipDone)
        return fired

    def receive(self, src: int, msg: Message) -> bool:
        page, event = self.event_for(msg)
        if event is BiasEvent.FlipCpl and page.state in (BiasState.DEVICE, BiasState.HOST):
            return True
        if event is BiasEvent.FlipCpl and not page.waiting:
            return True
        return super().receive(src, msg)


@dataclass(frozen=True)
class DevMemMutation:
    name: str
    description: str
    host: type[HostMemAgent] = HostMemAgent
    sf: type[DeviceSnoopFilter] = DeviceSnoopFilter
    bias: type[BiasController] = BiasController
    mode: str = "hdm_db"


DEVMEM_MUTATIONS: dict[str, DevMemMutation] = {
    m.name: m
    for m in (
        DevMemMutation(
            "no_bisnp_blocking",
            "M2S Req served while a BISnp to its line is pending",
            sf=NoBISnpBlocking,
        ),
        DevMemMutation(
            "forget_victim_sharer",
            "SF victim back-invalidates one sharer, forgets the rest",
            sf=ForgetVictimSharer,
        ),
        DevMemMutation(
            "birsp_before_writeback",
            "BIRsp sent with the dirty MemWr, not after its Cmp",
            host=BIRspBeforeWriteback,
        ),
        DevMemMutation(
            "late_conflict_as_early",
            "a late BIConflict answered BIRspI as if early",
            host=LateConflictAsEarly,
        ),
        DevMemMutation(
            "flip_without_completion",
            "device bias taken before the RdOwnNoData completions",
            bias=FlipWithoutCompletion,
            mode="hdm_d",
        ),
    )
}


def classes_for(
    name: str | None,
) -> tuple[type[HostMemAgent], type[DeviceSnoopFilter], type[BiasController]]:
    if name is None:
        return HostMemAgent, DeviceSnoopFilter, BiasController
    mutation = DEVMEM_MUTATIONS.get(name)
    if mutation is None:
        raise ValueError(f"unknown mutation {name!r}; known: {sorted(DEVMEM_MUTATIONS)}")
    return mutation.host, mutation.sf, mutation.bias


class IgnoreDeviceCopy(DeviceSnoopFilter):
    """Host requests do not snoop the device's own cache (SnpType ignored)."""

    def _snoop_own(self, line: int, req: M2SReq) -> bool:
        return False


DEVMEM_MUTATIONS["ignore_device_copy"] = DevMemMutation(
    "ignore_device_copy",
    "host requests ignore SnpType: the device's own copy is not snooped",
    sf=IgnoreDeviceCopy,
)
