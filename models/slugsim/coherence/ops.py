"""Program operations given to agents, and the completions agents report back."""

from __future__ import annotations

from dataclasses import dataclass
from enum import unique
from typing import NamedTuple

from slugsim.coherence.table import Described


@unique
class CoreOp(Described):
    """What a host core asks of its home agent (the CHA picks the event: hit, miss, upgrade)."""

    Load = "core load"
    Store = "core store of a new value"
    Evict = "core evicts its copy (M writes back)"


class Op(NamedTuple):
    """One program operation: ``kind`` is a device program event (``DeviceEvent.LoadShared``
    ...) for a device and a :class:`CoreOp` for a host core; ``value`` is what a store writes
    (values are unique per store so the checkers can tell writes apart)."""

    kind: Described
    line: int
    value: int = 0

    def __str__(self) -> str:
        value = f"={self.value}" if self.value else ""
        return f"{self.kind.name}({self.line}{value})"


@dataclass(frozen=True, slots=True)
class Completion:
    """``agent`` finished ``op``; a load carries the value it read (``None`` otherwise).
    ``failed``: the host refused the operation's request (GO-Err): nothing was read or written."""

    agent: str
    op: Op
    value: int | None = None
    failed: bool = False
