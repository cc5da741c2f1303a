"""What both DCOH controllers share: device memory, the wiring, the device's operations."""

from __future__ import annotations

from collections.abc import Callable
from enum import unique

from slugsim.coherence.controller import Controller, Transition
from slugsim.coherence.ops import Completion
from slugsim.coherence.spec import LINE_BYTES
from slugsim.coherence.table import Described
from slugsim.cxl import (
    S2MDRS,
    S2MNDR,
    M2SReq,
    M2SRwD,
    Message,
    MetaValue,
    S2MDRSOpcode,
    S2MNDROpcode,
)


@unique
class DevOp(Described):
    """What the device's own program asks of its memory."""

    Load = "device read of a line of its memory (wants a shared view: BISnpData)"
    LoadCur = "device read of the current value only (BISnpCur)"
    Store = "device write of a new value to a line of its memory"
    FlipToDevice = "HDM-D software flip of the line's page to device bias"
    FlipToHost = "HDM-D software flip of the line's page to host bias"
    Evict = "HDM-DB with a device cache: the device evicts its own copy (M: to memory)"


class DeviceMemoryBase(Controller):
    """Device memory (a value per line) and the wiring both DCOH controllers share."""

    name = "dcoh"

    def __init__(
        self,
        hosts: int,
        send: Callable[[int, Message], None],
        complete: Callable[[Completion], None],
        on_transition: Callable[[Transition], None] | None,
        on_write: Callable[[str, int, int], None] | None,
    ) -> None:
        self.hosts = hosts
        self.send = send
        self.complete = complete
        self.on_transition = on_transition
        self.on_write = on_write
        self.memory: dict[int, int] = {}
        self._msg: Message | None = None
        self._src = 0  # the host the message being received came from

    def _rewire(self, twin: DeviceMemoryBase) -> None:
        twin.memory = dict(self.memory)
        twin._msg, twin._src = None, 0

    def read(self, line: int) -> int:
        return self.memory.get(line, 0)

    def write(self, line: int, value: int) -> None:
        self.memory[line] = value
        if self.on_write is not None:
            self.on_write(self.name, line, value)

    def _serve_write(self) -> None:
        """A host MemWr: into memory, then Cmp."""
        msg = self._msg
        assert isinstance(msg, M2SRwD)
        self.write(msg.addr // LINE_BYTES, msg.data)
        self.send(self._src, S2MNDR(opcode=S2MNDROpcode.CMP, tag=msg.tag))

    def _grant(self, host: int, req: M2SReq, exclusive: bool) -> None:
        line = req.addr // LINE_BYTES
        opcode = S2MNDROpcode.CMP_E if exclusive else S2MNDROpcode.CMP_S
        meta = MetaValue.A if exclusive else MetaValue.S
        self.send(host, S2MNDR(opcode=opcode, meta_value=meta, tag=req.tag))
        self.send(host, S2MDRS(opcode=S2MDRSOpcode.MEMDATA, tag=req.tag, data=self.read(line)))
