"""Shipping records over the fabric (``emc: {ship_to: DEVICE}``): what persisting a recording
into a CXL memory device costs everyone else.

Each endpoint EMC packs the records that leave its FIFO into 64-byte lines (20 bytes per raw
record, or the delta/varint bytes of ``slugsim.emc.compact``) and writes every full line into
the device with a CXL.mem ``MemWr`` from its own endpoint (its SPID), at
``ship_base + pid GiB + n * 64``. A line waits while ``MAX_IN_FLIGHT`` writes are
outstanding. The writes share links, switch queues and the device's DRAM with the workload,
which is the cost measured (``scripts/record_ship_cost.py``).

The EMCs leave the shipping traffic out of their recordings (a monitor does not record what
its own endpoint injects for it, nor, by the address window and tags, anyone else's log
writes), so shipping changes the timing of a recording but not what it lists. Switch EMCs
have no PBR ID to send from; their records are not shipped. The last partial line of each
EMC is not sent.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..cxl import S2MNDR, M2SRwD, M2SRwDOpcode
from ..emc.compact import Encoder
from ..emc.config import EmcConfig
from ..emc.trace import RECORD_BYTES

LINE_BYTES = 64  # one MemWr carries one 64-byte line (CXL_REFERENCE.md §2.1)
TAGS = range(0xD000, 0xE000)  # CXL.mem tags of log writes: above any host's request tags
MAX_IN_FLIGHT = 16  # log writes outstanding per EMC (a small write-combining buffer)
REGION = 1 << 30  # bytes of the device's log region per EMC

_memwr = M2SRwD.unchecked("opcode", "tag", "addr", "ld_id", "spid", "dpid")
_MEMWR = M2SRwDOpcode.MEMWR


def is_log_traffic(msg: Any, config: EmcConfig) -> bool:
    """A log write, or its completion: what the EMCs leave out of their recordings."""
    cls = msg.__class__
    if cls is M2SRwD:
        return msg.addr >= config.ship_base
    return cls is S2MNDR and msg.tag in TAGS


class Shipper:
    """Writes one EMC's records into the ``ship_to`` device as full lines."""

    def __init__(self, component: Any, config: EmcConfig) -> None:
        fabric = component.fabric
        target = config.ship_to
        assert target is not None
        self.sim = component.sim
        self.port = fabric.port_towards(component.name, target)
        self.spid = component.pid
        self.dpid = fabric.pids[target]
        self.ld_id = fabric.components[target].ld_id_for(component.name)
        self.base = config.ship_base + (self.spid * REGION)
        self.encoder = Encoder() if config.ship_format == "compact" else None
        self.free_tags = deque(TAGS[:MAX_IN_FLIGHT])
        self.pending_bytes = 0
        self.waiting_lines = 0
        self.lines = 0  # log writes sent
        self.completed = 0
        self.bytes = 0  # record bytes packed into lines
        self._scratch = bytearray()
        # Completions of log writes come back to the component's ports: take them there.
        for attachment in component.attachments:
            port = attachment.port
            port.handler = self._wrap(port.handler)

    def _wrap(self, handler: Any) -> Any:
        def on_message(msg: Any) -> None:
            if msg.__class__ is S2MNDR and msg.tag in TAGS:
                self.on_completion(msg.tag)
            else:
                handler(msg)

        return on_message

    def add(self, record: Any, ext: int) -> None:
        if self.encoder is None:
            size = RECORD_BYTES
        else:
            self._scratch.clear()
            self.encoder.add(record, ext, self._scratch)
            size = len(self._scratch)
        self.bytes += size
        self.pending_bytes += size
        while self.pending_bytes >= LINE_BYTES:
            self.pending_bytes -= LINE_BYTES
            self._ship()

    def _ship(self) -> None:
        if not self.free_tags:
            self.waiting_lines += 1
            return
        tag = self.free_tags.popleft()
        addr = self.base + (self.lines * LINE_BYTES) % REGION
        self.lines += 1
        self.port.send(_memwr(_MEMWR, tag, addr, self.ld_id, self.spid, self.dpid))

    def on_completion(self, tag: int) -> None:
        self.completed += 1
        self.free_tags.append(tag)
        if self.waiting_lines:
            self.waiting_lines -= 1
            self._ship()

    def summary(self) -> dict[str, int]:
        return {
            "lines": self.lines,
            "completed": self.completed,
            "record_bytes": self.bytes,
            "unsent_lines": self.waiting_lines,
        }
