"""Timing of the coherence controllers: a latency per action, and the outbox that applies it.

The controllers of ``slugsim.coherence`` are untimed: an event fires rules, the rules' actions
change state at once and produce messages and completions. The timed components charge each
fired rule the latency of its actions and release what the event produced that much later,
through a ``TimedOutbox``:

- messages to one destination leave in the order they were produced (``port``): a rule that
  is quicker than an earlier one waits for it, so a snoop never passes a GO sent before it
  (CXL_REFERENCE.md §1.1, S4 §3.2.2.1) and a device's responses keep their order;
- completions (an operation done, a memory read to start) are released after the latency alone.

An action not in the table costs nothing (state bookkeeping: ``free_tbe``, ``record_data`` ...).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from ..coherence.latency import ACTION_LATENCY_PS
from ..kernel import NS

# The controllers' own defaults (``slugsim.coherence.latency``, every figure with its source:
# snoop response 90 ns and WritePull -> data 65 ns from CXL_REFERENCE.md §7, S32 Tbl 13-2),
# with these changes, each one line:
_DEVICE = ACTION_LATENCY_PS["device"]
_HOME = ACTION_LATENCY_PS["home"]

# Assumption: a device cache lookup, hit or miss, takes 10 ns (an accelerator's last-level
# cache; CXL_REFERENCE.md gives no figure). Every program operation pays it once: the hit's
# completion or the miss's D2H request (the defaults make both free).
DEVICE_LOOKUP = 10 * NS
DEVICE_ACTION_LATENCY_PS: dict[str, int] = {
    **_DEVICE,
    **dict.fromkeys(
        ("send_rdshared", "send_rdany", "send_rdcurr", "send_rdown", "send_rdownnodata",
         "send_itomwr", "send_wrcur", "send_wrinv", "send_wowrinv", "send_wowrinvf",
         "send_clflush", "send_dirtyevict", "send_cleanevict", "send_cleanevictnodata",
         "send_cacheflushed"), DEVICE_LOOKUP),
    "complete_load_hit": DEVICE_LOOKUP,
    "complete_store_hit": DEVICE_LOOKUP,
}  # fmt: skip

# The host charges the CHA's lookup (LLC and snoop-filter tags, in parallel) once per request it
# takes up: the host's llc_latency, its calibrated miss path (CXL_REFERENCE.md §7b; see
# home_agent.py). So the snoop-filter actions cost nothing more here (the default: 5 ns each,
# an assumption). Memory is the host's own: a read from memory goes through its DRAM model (or
# CXL.mem), not the default's 80 ns; writes are posted to the DRAM model and delay nothing
# (the default: 40 ns).
HOME_ACTION_LATENCY_PS: dict[str, int] = {
    **_HOME,
    **dict.fromkeys(
        ("park_for_sf_way", "allocate_sf", "remove_requester", "remove_flushed_device",
         "flush_device_from_sf"), 0),
    **dict.fromkeys(("send_data", "write_back_snoop_data", "write_memory"), 0),
}  # fmt: skip


class _Batch:
    """What one controller call produced: due at ``due`` once ``holds`` (memory reads whose
    time is not decided yet) are all decided."""

    __slots__ = ("completions", "due", "holds", "messages")

    def __init__(self, due: int, messages: dict[Any, list[Any]], completions: list[Any]) -> None:
        self.due = due
        self.messages = messages
        self.completions = completions
        self.holds = 0


class TimedOutbox:
    """Collects what one controller call produced and releases it after the call's latency
    (and after the memory reads the call started, ``release(holds)``)."""

    __slots__ = ("_completions", "_last", "_latencies", "_messages", "_queues", "latency", "sim")

    def __init__(self, sim: Any, latencies: Mapping[str, int]) -> None:
        self.sim = sim
        self._latencies = latencies
        self.latency = 0  # of the call in progress
        self._messages: dict[Any, list[Any]] = {}  # port -> messages, in order
        self._completions: list[tuple[Callable[[Any], object], Any]] = []
        self._queues: dict[Any, deque[_Batch]] = {}  # port -> batches not sent yet, in order
        self._last: dict[Any, int] = {}  # port -> when its latest message leaves

    def begin(self) -> None:
        self.latency = 0

    def charge(self, actions: Iterable[str]) -> None:
        latencies = self._latencies
        for action in actions:
            self.latency += latencies.get(action, 0)

    def message(self, port: Any, msg: Any) -> None:
        batch = self._messages.get(port)
        if batch is None:
            self._messages[port] = [msg]
        else:
            batch.append(msg)

    def completion(self, fn: Callable[[Any], object], arg: Any) -> None:
        self._completions.append((fn, arg))

    def release(self, holds: Sequence[tuple[Callable[..., object], Any]] = ()) -> None:
        """Schedule what the call produced, ``latency`` from now. Each hold ``(start, arg)``
        is called ``start(arg, decided)`` and calls ``decided(ready)`` (at once or later): the
        batch is then due no earlier than ``ready``. Messages to one port leave in the order
        their calls produced them, whatever each call waits for."""
        messages, completions = self._messages, self._completions
        if not messages and not completions:
            self.latency = 0
            return
        self._messages, self._completions = {}, []
        batch = _Batch(self.sim.now + self.latency, messages, completions)
        self.latency = 0
        for port in messages:
            queue = self._queues.get(port)
            if queue is None:
                queue = self._queues[port] = deque()
            queue.append(batch)
        batch.holds = 1
        if holds:
            decided = partial(self._decided, batch)
            for start, arg in holds:
                batch.holds += 1
                start(arg, decided)
        self._decided(batch, 0)

    def _decided(self, batch: _Batch, ready: int) -> None:
        if ready > batch.due:
            batch.due = ready
        batch.holds -= 1
        if batch.holds:
            return
        sim = self.sim
        if batch.due < sim.now:  # decided late (a read answered after the batch was due)
            batch.due = sim.now
        if batch.completions:
            sim.schedule_at(batch.due, _run_all, batch.completions)
        for port in batch.messages:
            queue = self._queues[port]
            last = self._last.get(port, 0)
            while queue and not queue[0].holds:
                head = queue.popleft()
                leave = head.due if head.due > last else last
                last = leave
                sim.schedule_at(leave, _send_all, (port, head.messages[port]))
            self._last[port] = last


def _send_all(item: tuple[Any, list[Any]]) -> None:
    port, batch = item
    for msg in batch:
        port.send(msg)


def _run_all(completions: list[tuple[Callable[[Any], object], Any]]) -> None:
    for fn, arg in completions:
        fn(arg)
