"""Programs of coherent agents (a device's cache, a host core that shares lines with devices).

A program hands out memory operations on 64-byte lines and is told when each one completes and
what it read. It never has two operations on one line in flight (a cache serialises them
anyway), and it checks the values it reads, so coherence is checked on data, not only on
states: a lost update or a stale read is counted in ``errors``.

- ``StreamRead``: loads of ``lines`` lines in order, wrapping.
- ``ReadModifyWrite``: ``value + 1`` into each line in turn (a load and a store under ownership).
- ``Migratory``: ``value + 1`` into a random one of a few lines that other agents increment too,
  so the lines migrate from cache to cache; the sum of the lines' final values is the number
  of increments of every agent (``shared_total``).
- ``FalseSharing``: every agent of a line owns one 16-bit field of it and increments its own
  field; an agent that does not read back its previous count lost an update.
- ``ProducerConsumer``: line 0 of the lines is a flag, the others hold data. The producer writes
  item ``n`` into every data line, then the flag ``2n - 1`` (full); the consumer polls the flag,
  reads the data lines, checks that each holds item ``n``'s value, and writes the flag ``2n``
  (empty), which the producer polls before the next item. Data travel through coherence only.

Operations are ``Op`` values; ``value`` is a whole line's content (a version number is enough,
DESIGN.md "One transaction vocabulary"), at most 512 bits.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from enum import IntEnum
from typing import NamedTuple

FIELD_BITS = 16  # a false-sharing agent's field in the line
FIELDS = 512 // FIELD_BITS  # agents per falsely shared line
_FIELD_MASK = (1 << FIELD_BITS) - 1


class OpKind(IntEnum):
    LOAD = 0  # read the line (a shared copy is enough)
    STORE = 1  # write the whole line with ``value`` (needs ownership)
    RMW = 2  # read and write under ownership, atomically: new value = update(old)


class Op(NamedTuple):
    kind: OpKind
    line: int  # line number (address >> 6)
    value: int = 0  # STORE: what it writes
    update: Callable[[int], int] | None = None  # RMW: the new value from the old


def _increment(value: int) -> int:
    return (value + 1) & ((1 << 512) - 1)


class Program:
    """Base: the agent issues ``next()`` while it returns an op and the agent has room, and
    calls ``complete(op, value)`` when one is done (``value``: what a LOAD read, what an RMW
    found before its update, what a STORE wrote)."""

    requests = 0  # operations (or, for a producer or consumer, items) the program is made of

    def __init__(self) -> None:
        self.backoff = False  # the last completion was a poll that found nothing: wait a little
        self.issued = 0
        self.completed = 0
        self.errors = 0  # values read that coherence should not have produced
        self.failed = 0  # operations the host refused (GO-Err)
        self.busy: set[int] = set()  # lines with an operation in flight

    @property
    def finished(self) -> bool:
        raise NotImplementedError

    def next(self) -> Op | None:
        """The next operation to issue now, or None (wait for a completion, or finished)."""
        raise NotImplementedError

    def issue(self, op: Op) -> Op:
        self.issued += 1
        self.busy.add(op.line)
        return op

    def complete(self, op: Op, value: int) -> None:
        self.completed += 1
        self.busy.discard(op.line)

    def fail(self, op: Op) -> None:
        """The host refused the operation's request (GO-Err): it is over, nothing was read or
        written, and the program goes on."""
        self.failed += 1
        self.completed += 1
        self.busy.discard(op.line)

    def expected_operations(self) -> int:
        return self.requests


class _Counted(Program):
    """A fixed number of independent operations."""

    def __init__(self, requests: int) -> None:
        super().__init__()
        self.requests = requests

    @property
    def finished(self) -> bool:
        return self.completed >= self.requests

    def next(self) -> Op | None:
        if self.issued >= self.requests:
            return None
        op = self.make()
        if op is None or op.line in self.busy:
            return None
        return self.issue(op)

    def make(self) -> Op | None:
        raise NotImplementedError


class StreamRead(_Counted):
    def __init__(self, base_line: int, lines: int, requests: int) -> None:
        super().__init__(requests)
        self.base_line = base_line
        self.lines = lines
        self.position = 0

    def make(self) -> Op | None:
        line = self.base_line + self.position
        if line in self.busy:
            return None  # fewer lines than operations in flight: wait
        self.position = (self.position + 1) % self.lines
        return Op(OpKind.LOAD, line)


class ReadModifyWrite(_Counted):
    def __init__(self, base_line: int, lines: int, requests: int) -> None:
        super().__init__(requests)
        self.base_line = base_line
        self.lines = lines
        self.position = 0

    def make(self) -> Op | None:
        line = self.base_line + self.position
        if line in self.busy:
            return None
        self.position = (self.position + 1) % self.lines
        return Op(OpKind.RMW, line, update=_increment)


class Migratory(_Counted):
    def __init__(self, base_line: int, lines: int, requests: int, rng: random.Random) -> None:
        super().__init__(requests)
        self.base_line = base_line
        self.lines = lines
        self.rng = rng

    def make(self) -> Op | None:
        line = self.base_line + int(self.rng.random() * self.lines)
        if line in self.busy:
            return None
        return Op(OpKind.RMW, line, update=_increment)


class FalseSharing(_Counted):
    """Increment field ``slot`` of a random line of ``lines``; check the field read back."""

    def __init__(
        self, base_line: int, lines: int, requests: int, slot: int, rng: random.Random
    ) -> None:
        super().__init__(requests)
        if not 0 <= slot < FIELDS:
            raise ValueError(f"a falsely shared line has {FIELDS} fields; slot {slot} is beyond")
        self.base_line = base_line
        self.lines = lines
        self.rng = rng
        self.shift = slot * FIELD_BITS
        self.counts: dict[int, int] = {}  # line -> increments this agent made to its field

    def make(self) -> Op | None:
        line = self.base_line + int(self.rng.random() * self.lines)
        if line in self.busy:
            return None
        return Op(OpKind.RMW, line, update=self._bump)

    def _bump(self, value: int) -> int:
        mine = (value >> self.shift) & _FIELD_MASK
        return (value & ~(_FIELD_MASK << self.shift)) | (((mine + 1) & _FIELD_MASK) << self.shift)

    def complete(self, op: Op, value: int) -> None:
        super().complete(op, value)
        count = self.counts.get(op.line, 0)
        if (value >> self.shift) & _FIELD_MASK != count & _FIELD_MASK:
            self.errors += 1  # another agent's write lost this agent's earlier update
        self.counts[op.line] = count + 1


def item_value(item: int, index: int) -> int:
    """What the producer writes into data line ``index`` for item ``item`` (both from 1)."""
    return (item << 16) | index


class ProducerConsumer(Program):
    """One side of a one-slot channel on ``lines`` lines (the flag, then the data)."""

    def __init__(self, producer: bool, base_line: int, lines: int, items: int) -> None:
        super().__init__()
        if lines < 2:
            raise ValueError("a producer/consumer channel needs a flag line and a data line")
        self.producer = producer
        self.flag = base_line
        self.data = range(base_line + 1, base_line + lines)
        self.requests = items
        self.item = 1  # the item being produced or consumed
        self.items_done = 0
        self.polls = 0  # flag loads that found the channel not ready
        self.phase = "poll"  # poll -> data -> flag -> poll (next item)
        self.pending: list[int] = []  # data lines still to issue in this phase
        self.outstanding = 0

    @property
    def finished(self) -> bool:
        return self.items_done >= self.requests

    def expected_operations(self) -> int:
        return self.requests * (len(self.data) + 2)

    def _ready_flag(self) -> int:
        # The producer waits for the consumer's "empty" of the previous item (0 at the start);
        # the consumer for the producer's "full" of this one.
        return 2 * self.item - 2 if self.producer else 2 * self.item - 1

    def next(self) -> Op | None:
        if self.finished:
            return None
        if self.phase == "data":
            if not self.pending:
                return None
            line = self.pending.pop()
            self.outstanding += 1
            if self.producer:
                return self.issue(Op(OpKind.STORE, line, item_value(self.item, line - self.flag)))
            return self.issue(Op(OpKind.LOAD, line))
        if self.outstanding:
            return None
        self.outstanding += 1
        if self.phase == "poll":
            return self.issue(Op(OpKind.LOAD, self.flag))
        mark = 2 * self.item - 1 if self.producer else 2 * self.item  # full / empty
        return self.issue(Op(OpKind.STORE, self.flag, mark))

    def complete(self, op: Op, value: int) -> None:
        super().complete(op, value)
        self.outstanding -= 1
        if self.phase == "poll":
            if value == self._ready_flag():
                self.phase = "data"
                self.pending = list(reversed(self.data))
            else:
                self.polls += 1
                self.backoff = True
                if value > self._ready_flag() + 1:
                    self.errors += 1  # the flag ran ahead of this side: impossible
            return
        if self.phase == "data":
            if not self.producer and value != item_value(self.item, op.line - self.flag):
                self.errors += 1  # the consumer read something other than the producer's value
            if not self.pending and not self.outstanding:
                self.phase = "flag"
            return
        # the flag store of this item is done
        self.items_done += 1
        self.item += 1
        self.phase = "poll"


def line_span(base: int, footprint: int) -> tuple[int, int]:
    """(first line, number of lines) of ``footprint`` bytes from byte address ``base``."""
    return base >> 6, max(1, footprint >> 6)
