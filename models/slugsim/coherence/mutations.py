"""Protocol bugs planted on purpose, selectable by name, to show the checkers have teeth.

Each mutation is a subclass that overrides one method of the correct home agent, device cache
or network; ``SystemConfig(mutation=name)`` builds the system from it. The mutation test
(``tests/test_coherence_mutations.py``) requires the random tester or the explorer to catch
every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from slugsim.coherence.device import DeviceCache, DeviceState
from slugsim.coherence.home import HomeAgent, HostLine, HostState
from slugsim.coherence.network import Network, QueueKey
from slugsim.cxl import GOState, H2DData, H2DReq, H2DReqOpcode, H2DRsp, H2DRspOpcode


class NoSnoopPushesGo(Network):
    """The network lets a snoop overtake an earlier GO to the same device."""

    def blocked(self, key: QueueKey) -> bool:
        return False


class GoBeforeSnoopReturns(HomeAgent):
    """The home agent sends its snoops but does not wait for their answers."""

    def _snoop(self, entry: HostLine, device: int, opcode: H2DReqOpcode) -> None:
        assert entry.txn is not None
        self.send(device, H2DReq(opcode=opcode, addr=entry.line * 64, uqid=entry.txn.uqid))


class BackInvBusyVictim(HomeAgent):
    """A snoop-filter victim with a transaction of its own is back-invalidated at once, so a
    second snoop of the line can reach a device that still has one pending."""

    def park_for_sf_way(self, entry: HostLine) -> None:
        victim = self.sf.victim_for(entry.line)
        assert victim is not None
        target = self.entry(victim.line)
        if target.state not in (HostState.I, HostState.S, HostState.D):
            assert target.txn is not None
            for device in range(self.devices):
                if victim.sharers >> device & 1:
                    msg = H2DReq(opcode=H2DReqOpcode.SNPINV, addr=victim.line * 64, uqid=0)
                    self.send(device, msg)
        super().park_for_sf_way(entry)


class GoEForRdShared(HomeAgent):
    """RdShared with no other copy gets GO-E (the Isabelle model's RdShared/GO-E hole)."""

    def send_go_s(self, entry: HostLine) -> None:
        req = self._request(entry)
        alone = self.sf.sharers(entry.line) == 1 << req.requester and not any(
            c.name != "I" for c in entry.cores
        )
        self._go(entry, GOState.E if alone else GOState.S)


class ForgetVictimSharer(HomeAgent):
    """Back-invalidation snoops only the lowest sharer of a victim and forgets the others."""

    def snoop_sharers_inv(self, entry: HostLine) -> None:
        if entry.txn is None or entry.txn.request is not None:
            super().snoop_sharers_inv(entry)
            return
        sharers = self.sf.sharers(entry.line)
        first = (sharers & -sharers).bit_length() - 1
        for device in range(self.devices):
            if sharers >> device & 1 and device != first:
                self._forget_device(entry, device)
        self._snoop(entry, first, H2DReqOpcode.SNPINV)


class KeepBogusData(HomeAgent):
    """Evict data marked Bogus is written to memory instead of dropped."""

    def drop_bogus_data(self, entry: HostLine) -> None:
        self.write_memory(entry)


class AnswerBeforeData(DeviceCache):
    """A snoop that finds GO-S consumed but the data missing is answered at once (RspIHitI)
    instead of waiting for the data; the line then becomes S behind the host's back."""

    def stalls(self, msg: object) -> bool:
        if isinstance(msg, H2DReq):
            entry = self.lines.get(msg.addr // 64)
            if entry is not None and entry.state is DeviceState.ISD:
                return False
        return super().stalls(msg)  # type: ignore[arg-type]

    def receive(self, msg: object) -> bool:
        if isinstance(msg, H2DReq):
            entry = self.lines.get(msg.addr // 64)
            if entry is not None and entry.state is DeviceState.ISD:
                self._msg = msg
                try:
                    self.send_rsp_ihiti(entry)
                finally:
                    self._msg = None
                return True
        return super().receive(msg)  # type: ignore[arg-type]


class IgnoreGoErr(DeviceCache):
    """The device ignores the error flag: GO-Err is taken as GO-S and its all-ones data as
    data, so a refused read installs the line behind the host's back."""

    def receive(self, msg: object) -> bool:
        if isinstance(msg, H2DData) and msg.go_err:
            msg = H2DData(cqid=msg.cqid, data=msg.data)
        elif (
            isinstance(msg, H2DRsp)
            and msg.opcode is H2DRspOpcode.GO
            and msg.rsp_data == GOState.ERR
        ):
            msg = H2DRsp(opcode=H2DRspOpcode.GO, rsp_data=int(GOState.S), cqid=msg.cqid)
        return super().receive(msg)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Mutation:
    name: str
    description: str
    home: type[HomeAgent] = HomeAgent
    device: type[DeviceCache] = DeviceCache
    network: type[Network] = Network


MUTATIONS: dict[str, Mutation] = {
    m.name: m
    for m in (
        Mutation("no_snoop_pushes_go", "a snoop may pass an earlier GO", network=NoSnoopPushesGo),
        Mutation(
            "go_before_snoop_returns",
            "GO without waiting for the snoop responses",
            home=GoBeforeSnoopReturns,
        ),
        Mutation(
            "two_snoops_per_line",
            "a busy SF victim is back-invalidated at once (second snoop per line)",
            home=BackInvBusyVictim,
        ),
        Mutation("go_e_for_rdshared", "RdShared alone gets GO-E", home=GoEForRdShared),
        Mutation(
            "forget_victim_sharer",
            "SF victim back-invalidation forgets all but one sharer",
            home=ForgetVictimSharer,
        ),
        Mutation("keep_bogus_data", "Bogus evict data written to memory", home=KeepBogusData),
        Mutation(
            "answer_before_data",
            "a snoop after GO-S but before the data is answered RspIHitI",
            device=AnswerBeforeData,
        ),
        Mutation(
            "ignore_go_err",
            "a refused read's GO-Err taken as GO-S (needs a refused device and line)",
            device=IgnoreGoErr,
        ),
    )
}


def classes_for(name: str | None) -> tuple[type[HomeAgent], type[DeviceCache], type[Network]]:
    if name is None:
        return HomeAgent, DeviceCache, Network
    mutation = MUTATIONS.get(name)
    if mutation is None:
        raise ValueError(f"unknown mutation {name!r}; known: {sorted(MUTATIONS)}")
    return mutation.home, mutation.device, mutation.network
