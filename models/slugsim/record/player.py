"""Re-driving a host's CXL.mem requests from its EMC trace.

``requests_of`` turns a host's trace into the requests its cores made over CXL.mem: the egress
``MemRd`` with a slot tag (tags below the host's request slots; the home agent's reads use the
tags above and are re-created by the home agent itself) and every egress ``MemWr`` (dirty
victims), each with the time its response came back. ``HostPlayer`` takes over a host whose
workload was removed and sends those requests again:

- ``timing``: each request at its recorded time (the time its first flit went on the wire,
  minus the host's miss path, which the port adds again);
- ``dependency``: a core slot keeps one request in flight, as the host does: a slot's next
  request goes ``gap`` after the previous one's response, ``gap`` being what it was in the
  recording (LLC hits and think time in between); a writeback goes with the miss that evicted
  it. Requests leave in recorded order (per-endpoint order), and a write to an address another
  endpoint wrote just before it (at the memory device, in the recording) waits until that
  write has completed, so every address sees its writes in the recorded order.

On the recorded topology both schedules are the recorded one; ``validate`` uses the dependency
schedule because it also reproduces the order of events within one instant (a request sent
from the handler of the response it waited for).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..components.host import MAX_TAGS, Host, _memrd
from ..cxl import Channel, Direction, M2SReqOpcode
from ..emc.trace import Trace

_MEMRD = M2SReqOpcode.MEMRD
_RESPONSES = (Channel.S2M_DRS, Channel.S2M_NDR)
SPARE_FROM = MAX_TAGS - 4096


@dataclass
class Request:
    index: int
    time: int  # recorded: when its first flit went on the wire (ps)
    ready: int  # recorded: when it was ready for the wire (``time`` less its wait at the port)
    write: bool  # a MemWr (writeback); else a MemRd
    tag: int
    addr: int
    device: str  # the recorded target
    slot: int  # the core slot it belongs to (a writeback: the miss that evicted it); -1 none
    prev: int = -1  # the request it waits for (the slot's previous request), -1 none
    gap: int = 0  # recorded time from prev's response to this request being ready for the wire
    response: int | None = None  # recorded response time
    after: tuple[str, int] | None = None  # another endpoint's write to complete first


def _core_writeback(trace: Trace, index: int, slots: int) -> bool:
    """A host with a home agent also writes back lines for it; the LLC's own writebacks are
    sent in the same step as the miss that evicted them: the next record is that MemRd."""
    if index + 1 >= len(trace.records):
        return False
    after = trace.records[index + 1]
    return (
        after.direction == Direction.EGRESS
        and after.channel == Channel.M2S_REQ
        and after.tag < slots
    )


def requests_of(
    trace: Trace,
    slots: int,
    cycle_ps: int,
    names_by_pid: dict[int, str],
    home_agent: bool = False,
) -> list[Request]:
    """The host's core requests over CXL.mem, in the order they left it (with a home agent,
    its writebacks and reads are left out: replaying the devices re-creates them)."""
    found: list[Request] = []
    open_tags: dict[int, Request] = {}
    for index, record in enumerate(trace.records):
        time = record.timestamp * cycle_ps
        if record.direction == Direction.EGRESS:
            write = record.channel == Channel.M2S_RWD
            if not write and not (record.channel == Channel.M2S_REQ and record.tag < slots):
                continue
            if write and home_agent and not _core_writeback(trace, index, slots):
                continue
            device = names_by_pid.get(trace.dpid(index), f"pid{trace.dpid(index)}")
            request = Request(
                len(found),
                time,
                time - trace.queued(index) * cycle_ps,
                write,
                record.tag,
                record.addr,
                device,
                -1 if write else record.tag,
            )
            found.append(request)
            open_tags[record.tag] = request
        elif record.channel in _RESPONSES:
            request = open_tags.pop(record.tag, None)
            if request is not None:
                request.response = time
    # Each slot's previous request; a writeback belongs to the miss that follows it.
    last_on_slot: dict[int, Request] = {}
    pending_writebacks: list[Request] = []
    for request in found:
        if request.write:
            pending_writebacks.append(request)
            continue
        prev = last_on_slot.get(request.slot)
        for r in [*pending_writebacks, request]:
            r.slot = request.slot
            if prev is not None and prev.response is not None:
                r.prev, r.gap = prev.index, r.ready - prev.response
        pending_writebacks.clear()
        last_on_slot[request.slot] = request
    return found


class WriteOrder:
    """Completion of writes shared by every player: who waits for whose write."""

    def __init__(self) -> None:
        self.done: dict[tuple[str, int], int] = {}
        self.waiting: dict[tuple[str, int], list[Callable[[], None]]] = {}

    def complete(self, key: tuple[str, int], now: int) -> None:
        self.done[key] = now
        for wake in self.waiting.pop(key, ()):
            wake()

    def wait(self, key: tuple[str, int], wake: Callable[[], None]) -> None:
        self.waiting.setdefault(key, []).append(wake)


class HostPlayer:
    """Sends a host's recorded requests (see the module docstring); ``recorded_name`` is the
    host's name in the recording, ``slots`` its recorded request slots."""

    def __init__(
        self,
        host: Host,
        recorded_name: str,
        requests: list[Request],
        mode: str,
        slots: int,
        order: WriteOrder,
        exact: bool = False,
    ) -> None:
        self.host = host
        # The trace gives each request's wait at the port (trace format 4): it is sent when it
        # was, not guessed from the wire being busy.
        self.exact = exact
        self.sim = host.sim
        self.recorded_name = recorded_name
        self.requests = requests
        self.dependency = mode != "timing"
        self.pipeline = host.params.llc_latency
        self.order = order
        self.next = 0
        self.wake_at = -1
        self.done: list[int | None] = [None] * len(requests)
        self.reads: dict[int, tuple[Request, Any, int]] = {}  # tag -> (request, target, issued)
        self.writes: dict[int, Request] = {}
        # Tags for a timing replay whose recorded tag is still in flight, above the host's own.
        self.spare_tags = list(range(SPARE_FROM, MAX_TAGS))
        self.undecodable = 0
        self.sent = 0
        self.completed = 0
        host.next_writeback_tag = max(host.next_writeback_tag, slots)
        # Take the host over: its start schedules our first request, its response handler
        # is ours (the home agent's CXL.mem responses still reach the host's own handler).
        plain = host.on_response
        for attachment in host.attachments:
            if attachment.port.handler == plain:
                attachment.port.handler = self.on_response
        host.on_response = self.on_response  # type: ignore[method-assign]
        host.start = self.start  # type: ignore[method-assign]
        host.in_flight = self.in_flight  # type: ignore[method-assign]
        host.expected_requests = self.expected_requests  # type: ignore[method-assign]

    def start(self) -> None:
        Host.start(self.host)
        self.sim.schedule(0, self.pump)

    # -- sending ---------------------------------------------------------------------------------

    def desired_start(self, r: Request) -> int | None:
        """When ``r`` should be ready for the wire (its first flit goes on it then, or after
        the messages ahead of it), or None while it waits for a completion (whose handler
        calls ``pump``)."""
        if not self.dependency:
            return r.ready
        if r.after is not None and r.after not in self.order.done:
            self.order.wait(r.after, self.pump)
            return None
        if r.prev < 0:
            return r.ready
        done = self.done[r.prev]
        if done is None:
            return None
        return done + r.gap

    def pump(self) -> None:
        """Send every request whose turn it is: when the host's miss path brings it to the
        wire at the instant it was ready there in the recording. A trace without the wait at
        the port (format 1-3) gives only the wire time: a request then goes now if sent now it
        would start on the wire no earlier than it should (its wire is busy until then, as it
        was when it was recorded), so one that waited behind others on a busy wire leaves with
        them, as it did."""
        now = self.sim.now
        while self.next < len(self.requests):
            r = self.requests[self.next]
            desired = self.desired_start(r)
            if desired is None:
                return
            target = self._target(r)
            predicted = now + self.pipeline
            if not self.exact and target is not None and target.port.tx is not None:
                predicted = max(predicted, target.port.tx.busy_until)
            if predicted < desired:
                when = desired - self.pipeline
                if self.wake_at != when:
                    self.wake_at = when
                    self.sim.schedule_at(when, self.pump)
                return
            self.send(r, target)
            self.next += 1

    def _target(self, r: Request) -> Any:
        index = self.host.decoder.decode(r.addr)
        return None if index < 0 else self.host.targets[index]

    def send(self, r: Request, target: Any) -> None:
        host = self.host
        if target is None:
            self.undecodable += 1  # another topology's host does not map this address
            self._skipped(r)
            return
        self.sent += 1
        if r.write:
            if host.free_writeback_tags:
                tag = host.free_writeback_tags.popleft()
            elif host.next_writeback_tag < SPARE_FROM:
                tag = host.next_writeback_tag
                host.next_writeback_tag += 1
            else:
                host.waiting_writebacks.append(r.addr)  # sent when a tag frees; untracked
                self._skipped(r)
                return
            self.writes[tag] = r
            host.send_write_back(tag, r.addr, target)
            return
        tag = r.tag if r.tag not in self.reads else self.spare_tags.pop()
        self.reads[tag] = (r, target, self.sim.now)
        target.port.send(_memrd(_MEMRD, tag, r.addr, target.ld_id, host.pid, target.pid))

    # -- responses -------------------------------------------------------------------------------

    def on_response(self, msg: Any) -> None:
        tag = msg.tag
        now = self.sim.now
        read = self.reads.pop(tag, None)
        if read is not None:
            r, target, issued = read
            if tag != r.tag:
                self.spare_tags.append(tag)
            target.latency[0].record(now - issued)
            self.host.budget.complete(now)
            self._completed(r, now)
            return
        write = self.writes.pop(tag, None)
        Host.on_response(self.host, msg)  # frees the writeback tag, or serves the home agent
        if write is not None:
            self._completed(write, now)

    def _skipped(self, r: Request) -> None:
        """``r`` is not tracked: count it done now so nothing waits for it forever."""
        self.done[r.index] = self.sim.now
        if r.write:
            self.order.complete((self.recorded_name, r.index), self.sim.now)

    def _completed(self, r: Request, now: int) -> None:
        self.completed += 1
        self.done[r.index] = now
        if r.write:
            self.order.complete((self.recorded_name, r.index), now)
        if self.dependency:
            self.pump()

    def in_flight(self) -> int:
        """Replayed requests not yet answered, and the home agent's (what the run's deadlock
        check asks a host)."""
        home = self.host.home_agent
        return len(self.reads) + len(self.writes) + (0 if home is None else home.in_flight())

    def expected_requests(self) -> int:
        home = self.host.home_agent
        reads = sum(1 for r in self.requests if not r.write)
        return reads + (0 if home is None else home.expected_requests())

    @property
    def unsent(self) -> int:
        """Requests never sent (the run ended while they waited)."""
        return len(self.requests) - self.next
