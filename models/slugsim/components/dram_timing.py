"""A DRAM timing model: channels, ranks, bank groups, banks and row buffers, JEDEC timings,
refresh, per-channel read/write queues with write-drain watermarks and an FR-FCFS scheduler.

Where ``dram.DramChannel`` is a bandwidth server (flat latency, then a wall), this model makes
loaded latency come from what a memory controller does: row hits, misses and conflicts, bank
and bus timing, four-activate windows, write drains and refresh.

How it runs. A request is enqueued at its call and **decided** later by its channel's
scheduler, which runs as an event of the simulator (``sim.schedule_at``). A decision picks the
next request by FR-FCFS among those that have arrived (the oldest row hit, else the oldest),
computes its commands (PRE, ACT, CAS) from the bank, rank and bus state, and commits them: the
read's data-ready time is then known, and the caller's ``on_done(context, data_ready_ps)`` is
called at once (before that time, as ``DramChannel.access`` returns a future time). The
scheduler commits requests ahead of the data bus by ``lookahead`` = tRP + tRCD + tCL, what a
row conflict needs to be ready when the bus frees (gem5's DRAMInterface decides its next
request the same way, tRP + tRCD before the next burst); a request arriving later cannot
overtake one already committed. One decision event commits as many requests as the lookahead
allows, so a saturated channel costs about one event per request, an idle one one per burst of
arrivals. A read's completion depends on later arrivals (FR-FCFS reorders), so the API takes a
callback rather than returning a time.

Commands are issued in commit order: ACTs of a rank are in order (tRRD, tFAW are checked
against the previous ones), CASes of a channel are in order (tCCD, turnarounds), bursts are in
order on the data bus. Refresh is all-bank, per rank, every tREFI: the banks are precharged and
the rank is busy for tRFC; a refresh falling due before a command is done first.

Not modelled: the command bus (one command per clock), per-bank refresh and refresh
postponement, DDR5's same-bank tCCD_L_WR, power-down.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from .dram_presets import DramDevice

LINE_BYTES = 64

# Address mapping fields, most significant first in a mapping string such as "RoRaBaBgCoCh".
FIELDS = ("Ro", "Ra", "Ba", "Bg", "Co", "Ch")

OPEN_PAGE = "open"
CLOSED_PAGE = "closed"

# What a request found in its bank's row buffer.
ROW_HIT = "hit"  # its row open: CAS only
ROW_MISS = "miss"  # bank precharged: ACT, CAS
ROW_CONFLICT = "conflict"  # another row open: PRE, ACT, CAS

OnDone = Callable[[Any, int], object]

_NEVER = 1 << 62  # a time after any run


def _ignore(context: Any, when: int) -> None:
    """The default ``on_accepted`` of a write nobody waits for."""


class Bank:
    """One bank: its open row (None when precharged) and when it accepts each command next."""

    __slots__ = ("act_ready", "bank_group", "col_ready", "open_row", "pre_ready", "rank")

    def __init__(self, rank: Rank, bank_group: int) -> None:
        self.rank = rank
        self.bank_group = bank_group
        self.open_row: int | None = None
        self.act_ready = 0  # tRC since the last ACT, tRP since the last PRE, refresh
        self.col_ready = 0  # tRCD since the ACT
        self.pre_ready = 0  # tRAS since the ACT, tRTP after a read, tWR after a write


class Rank:
    """A rank: its banks, its recent ACTs (tRRD, tFAW) and its refresh schedule."""

    __slots__ = (
        "banks",
        "index",
        "last_act_at",
        "last_act_group",
        "next_refresh_at",
        "recent_acts",
    )

    def __init__(self, index: int, device: DramDevice, first_refresh_at: int) -> None:
        self.index = index
        self.banks = [
            Bank(self, group)
            for group in range(device.bank_groups)
            for _ in range(device.banks_per_group)
        ]
        self.last_act_at = -(10**12)
        self.last_act_group = -1
        self.recent_acts: deque[int] = deque(maxlen=4)  # the last four ACTs: tFAW
        self.next_refresh_at = first_refresh_at


class Request:
    """A line access waiting in a channel's queue."""

    __slots__ = ("arrive", "bank", "context", "is_write", "on_done", "row")

    def __init__(
        self, arrive: int, bank: Bank, row: int, is_write: bool, on_done: OnDone, context: Any
    ) -> None:
        self.arrive = arrive
        self.bank = bank
        self.row = row
        self.is_write = is_write
        self.on_done = on_done  # reads: called with the data-ready time; writes: accepted time
        self.context = context


def _append_by_arrival(pending: deque[Request], request: Request) -> None:
    """Keep ``pending`` in arrival order. Each caller's arrivals are in order (a fixed latency
    after its own clock), so this is an append but for several callers sharing one memory."""
    if pending and pending[-1].arrive > request.arrive:
        index = len(pending)
        while index and pending[index - 1].arrive > request.arrive:
            index -= 1
        pending.insert(index, request)
    else:
        pending.append(request)


class ChannelController:
    """One independent channel (a DDR5 sub-channel): its ranks, queues and scheduler."""

    def __init__(
        self,
        sim: Any,
        device: DramDevice,
        *,
        ranks: int,
        page_policy: str,
        read_queue: int,
        write_queue: int,
        write_high: int,
        write_low: int,
        first_refresh_at: int,
    ) -> None:
        self.sim = sim
        self.device = device
        # Where the time of a request's first command (a write's acceptance) is written before
        # its callback runs (``DramTiming.last_start``); itself when standalone.
        self.memory: Any = self
        self.last_start = 0
        self.closed_page = page_policy == CLOSED_PAGE
        # Refreshes of the ranks are staggered over tREFI so they do not all block at once.
        self.ranks = [
            Rank(i, device, first_refresh_at + i * device.t_refi // ranks) for i in range(ranks)
        ]
        self.read_capacity = read_queue
        self.write_capacity = write_queue
        self.write_high = write_high
        self.write_low = write_low
        self.burst = device.burst
        self.lookahead = device.t_rp + device.t_rcd + device.t_cl
        # Queues in arrival order. A request is "pending" until it has arrived (and, when its
        # queue is full, until there is room: back-pressure); then it is in its queue.
        self.pending_reads: deque[Request] = deque()
        self.pending_writes: deque[Request] = deque()
        self.blocked_writes: deque[Request] = deque()  # arrived at a full write queue
        # A committed write leaves its queue entry when its CAS issues: those times, in order.
        self.freed_write_slots: deque[int] = deque()
        self.read_queue: list[Request] = []
        self.write_queue: list[Request] = []
        self.writes_accepted = 0  # in write_queue or pending_writes: counts against capacity
        self.draining = False  # write-drain mode, between the watermarks
        self.decision_at: int | None = None  # time of the next decision event, if any
        # Bus state: the last CAS and burst, in commit order.
        self.data_bus_free = 0
        self.last_burst_rank = -1
        self.last_burst_write = False
        self.last_col_at = -(10**12)
        self.last_col_group = -1
        self.last_col_rank = -1
        self.last_read_col_at = -(10**12)
        self.last_write_end = -(10**12)
        self.last_write_group = -1
        self.last_write_rank = -1
        # Statistics.
        self.reads = 0
        self.writes = 0
        self.row_hits = 0
        self.row_misses = 0
        self.row_conflicts = 0
        self.refreshes = 0
        self.write_drains = 0
        self.queued_ps = 0  # arrival to first command, summed
        self.turnaround_ps = 0  # data bus idle at direction switches while work waited
        self.bursts = 0

    # -- entry ---------------------------------------------------------------------------------

    def enqueue_read(self, request: Request) -> None:
        _append_by_arrival(self.pending_reads, request)
        self._wake(request.arrive)

    def enqueue_write(self, request: Request) -> None:
        if self.writes_accepted < self.write_capacity and not self.blocked_writes:
            # Room when it arrives: queue entries only leave before then. Accepted on arrival.
            self.writes_accepted += 1
            _append_by_arrival(self.pending_writes, request)
            self.memory.last_start = request.arrive
            request.on_done(request.context, request.arrive)
        else:
            _append_by_arrival(self.blocked_writes, request)
        self._wake(request.arrive)

    def _wake(self, when: int) -> None:
        """Have a decision at ``when`` (not before now) unless one comes sooner."""
        when = max(when, self.sim.now)
        if self.decision_at is not None and self.decision_at <= when:
            return
        self.decision_at = when
        self.sim.schedule_at(when, self._decide, when)

    # -- scheduling ----------------------------------------------------------------------------

    def _admit(self, now: int) -> None:
        """Move requests that have arrived by ``now`` into their queues, while there is room."""
        pending = self.pending_reads
        queue = self.read_queue
        while pending and pending[0].arrive <= now and len(queue) < self.read_capacity:
            queue.append(pending.popleft())
        pending = self.pending_writes
        while pending and pending[0].arrive <= now:
            self.write_queue.append(pending.popleft())
        blocked = self.blocked_writes
        freed = self.freed_write_slots
        while blocked and blocked[0].arrive <= now and self.writes_accepted < self.write_capacity:
            request = blocked.popleft()
            # It takes the entry of a write whose CAS is at ``freed[0]`` (now or soon).
            accepted = max(request.arrive, freed.popleft())
            self.writes_accepted += 1
            self.write_queue.append(request)
            self.queued_ps += accepted - request.arrive  # back-pressure: it waited to get in
            self.memory.last_start = accepted
            request.on_done(request.context, accepted)
        if not blocked:
            freed.clear()  # entries freed with nobody waiting are simply free

    def _decide(self, when: int) -> None:
        if when != self.decision_at:
            return  # superseded by an earlier decision, which rescheduled
        self.decision_at = None
        now = self.sim.now
        self._admit(now)
        not_due = 0
        while self.data_bus_free - self.lookahead <= now:
            choice = self._choose()
            if choice is None:
                break
            queue, index = choice
            request = queue[index]
            times = self._command_times(request, now)
            if times[0] > now:
                # Its first command is not due yet (its bank is busy, tFAW): decide again then,
                # so that a request arriving meanwhile for a ready bank is not queued behind it
                # on the data bus.
                not_due = times[0]
                break
            del queue[index]
            self._commit(request, now, times)
            self._admit(now)
        # Next decision: when the queued work can go on, or the next request arrives (those
        # already here but kept out by a full queue get in as work leaves it).
        wakes = [
            q[0].arrive
            for q in (self.pending_reads, self.pending_writes, self.blocked_writes)
            if q and q[0].arrive > now
        ]
        if self.read_queue or self.write_queue:
            wakes.append(not_due or self.data_bus_free - self.lookahead)
        if wakes:
            self._wake(min(wakes))

    def _choose(self) -> tuple[list[Request], int] | None:
        """FR-FCFS within the current direction: the oldest row hit that can follow the last
        burst seamlessly, else the oldest request that can have its data on the bus first."""
        writes = len(self.write_queue)
        if self.draining and writes <= self.write_low:
            self.draining = False
        if not self.draining and writes >= self.write_high:
            self.draining = True
            self.write_drains += 1
        # Writes in a forced drain, or in idle read time; reads otherwise.
        queue = self.write_queue if self.draining or not self.read_queue else self.read_queue
        if not queue:
            return None
        # "First ready": a row hit whose CAS is held back neither by tCCD_L behind the last CAS
        # (another bank group) nor by a rank switch on the data bus (tRTRS) goes first.
        # Otherwise the candidates are the oldest other hit and the miss whose bank is ready
        # first (the oldest of those ready now): data leaves in commit order, so committing a
        # miss to a bank still busy (tRC, tRAS, tWR) would hold up every later request. Of the
        # two, the one whose CAS can go sooner wins. Without this, a run of hits to one bank
        # group holds the bus at burst / tCCD_L (DDR5-6400: 50 %), and random reads at a third
        # of the peak.
        now = self.sim.now
        t_rp = self.device.t_rp
        other_hit = best_miss = same_rank_miss = -1
        best_ready = _NEVER
        last_group = self.last_col_group
        last_rank = self.last_burst_rank
        # With several ranks, the oldest ready miss in the rank of the last burst is a
        # candidate too: another rank's burst waits tRTRS (gem5's DRAMInterface likewise adds
        # the rank-switch delay to every other rank's next column command).
        find_same_rank = len(self.ranks) > 1 and last_rank >= 0
        for index, request in enumerate(queue):
            bank = request.bank
            open_row = bank.open_row
            if open_row == request.row:
                if bank.bank_group != last_group and last_rank in (-1, bank.rank.index):
                    return queue, index
                if other_hit < 0:
                    other_hit = index
            elif best_ready > now or (find_same_rank and same_rank_miss < 0):
                # Once the oldest ready miss (and, with ranks, the oldest one in the last
                # burst's rank) is found, only hits can beat it.
                ready = bank.act_ready
                if open_row is not None and bank.pre_ready + t_rp > ready:
                    ready = bank.pre_ready + t_rp
                if ready < now:
                    ready = now
                if ready < best_ready:
                    best_miss, best_ready = index, ready
                if (
                    find_same_rank
                    and same_rank_miss < 0
                    and ready == now
                    and bank.rank.index == last_rank
                ):
                    same_rank_miss = index
        # The younger miss in the last burst's rank goes first only if its data can.
        if (
            same_rank_miss >= 0
            and same_rank_miss != best_miss
            and self._data_start(queue[same_rank_miss], now)
            < self._data_start(queue[best_miss], now)
        ):
            best_miss = same_rank_miss
        if other_hit < 0:
            return queue, best_miss
        if best_miss >= 0 and self._cas_on_bus(queue[best_miss], now) < self._cas_on_bus(
            queue[other_hit], now
        ):
            return queue, best_miss
        return queue, other_hit

    def _rank_switch(self, request: Request) -> int:
        """The gap a burst of ``request`` needs after the last one: tRTRS for another rank."""
        if self.last_burst_rank in (-1, request.bank.rank.index):
            return 0
        return self.device.t_rtrs

    def _cas_on_bus(self, request: Request, now: int) -> int:
        """When ``request``'s CAS could issue, a rank switch (tRTRS) counted as that much
        later."""
        return self._command_times(request, now)[2] + self._rank_switch(request)

    def _data_start(self, request: Request, now: int) -> int:
        """When ``request``'s data could start on the bus (as ``_commit`` will place it)."""
        latency = self.device.t_cwl if request.is_write else self.device.t_cl
        start = self._command_times(request, now)[2] + latency
        return max(start, self.data_bus_free + self._rank_switch(request))

    def _commit(self, request: Request, now: int, times: tuple[int, int, int, str]) -> None:
        """Issue the request's commands at ``times`` (from ``_command_times``), or after a
        refresh falling due first; update the state."""
        bank = request.bank
        rank = bank.rank
        while times[0] >= rank.next_refresh_at:
            self._refresh(rank, rank.next_refresh_at)
            times = self._command_times(request, now)
        first, act_at, col_at, found = times
        device = self.device
        is_write = request.is_write
        if found == ROW_HIT:
            self.row_hits += 1
        else:
            if found == ROW_MISS:
                self.row_misses += 1
            else:
                self.row_conflicts += 1
            rank.recent_acts.append(act_at)
            rank.last_act_at = act_at
            rank.last_act_group = bank.bank_group
            bank.open_row = request.row
            bank.col_ready = act_at + device.t_rcd
            bank.act_ready = act_at + device.t_rc
            bank.pre_ready = act_at + device.t_ras
        # The data bus, in commit order (a different rank costs tRTRS more).
        burst_start = col_at + (device.t_cwl if is_write else device.t_cl)
        bus_free = self.data_bus_free + self._rank_switch(request)
        if burst_start < bus_free:
            col_at += bus_free - burst_start
            burst_start = bus_free
        burst_end = burst_start + self.burst
        if (
            is_write != self.last_burst_write
            and self.bursts
            and request.arrive < self.data_bus_free
        ):
            self.turnaround_ps += burst_start - self.data_bus_free
        # Precharge constraints after the CAS; a closed-page controller precharges at once.
        recovery = burst_end + device.t_wr if is_write else col_at + device.t_rtp
        bank.pre_ready = max(bank.pre_ready, recovery)
        if self.closed_page:
            bank.open_row = None
            bank.act_ready = max(bank.act_ready, bank.pre_ready + device.t_rp)
        self.last_col_at = col_at
        self.last_col_group = bank.bank_group
        self.last_col_rank = rank.index
        if is_write:
            self.writes += 1
            self.writes_accepted -= 1
            if self.blocked_writes:
                self.freed_write_slots.append(col_at)
            self.last_write_end = burst_end
            self.last_write_group = bank.bank_group
            self.last_write_rank = rank.index
        else:
            self.reads += 1
            self.last_read_col_at = col_at
            self.queued_ps += first - request.arrive
        self.data_bus_free = burst_end
        self.last_burst_rank = rank.index
        self.last_burst_write = is_write
        self.bursts += 1
        if not is_write:
            self.memory.last_start = first
            request.on_done(request.context, burst_end)

    def _command_times(self, request: Request, now: int) -> tuple[int, int, int, str]:
        """(first command, ACT, CAS, what the row buffer held) for ``request`` decided at
        ``now``. ACT is the CAS when the row is open."""
        device = self.device
        bank = request.bank
        rank = bank.rank
        if bank.open_row == request.row:
            col_at = max(now, bank.col_ready)
            act_at = first = col_at
            found = ROW_HIT
        else:
            if bank.open_row is None:
                act_at = first = max(now, bank.act_ready)
                found = ROW_MISS
            else:
                first = max(now, bank.pre_ready)
                act_at = max(first + device.t_rp, bank.act_ready)
                found = ROW_CONFLICT
            same_group = rank.last_act_group == bank.bank_group
            act_at = max(
                act_at, rank.last_act_at + (device.t_rrd_l if same_group else device.t_rrd_s)
            )
            if len(rank.recent_acts) == 4:
                act_at = max(act_at, rank.recent_acts[0] + device.t_faw)
            if found == ROW_MISS:
                first = act_at
            col_at = act_at + device.t_rcd
        # CAS to CAS, and the bus turnarounds.
        same_group = self.last_col_group == bank.bank_group and self.last_col_rank == rank.index
        col_at = max(col_at, self.last_col_at + (device.t_ccd_l if same_group else device.t_ccd_s))
        if request.is_write:
            col_at = max(col_at, self.last_read_col_at + device.t_rtw)
        else:
            write_group = (
                self.last_write_group == bank.bank_group and self.last_write_rank == rank.index
            )
            col_at = max(
                col_at, self.last_write_end + (device.t_wtr_l if write_group else device.t_wtr_s)
            )
        return first, act_at, col_at, found

    def _refresh(self, rank: Rank, due: int) -> None:
        """All-bank refresh at ``due``: precharge the open banks, then the rank is busy tRFC."""
        device = self.device
        start = due
        open_banks = [b for b in rank.banks if b.open_row is not None]
        if open_banks:
            start = max(start, *(b.pre_ready for b in open_banks)) + device.t_rp
        start = max(start, *(b.act_ready for b in rank.banks))
        done = start + device.t_rfc
        for bank in rank.banks:
            bank.open_row = None
            bank.act_ready = done
        rank.next_refresh_at += device.t_refi
        self.refreshes += 1

    def in_flight(self) -> int:
        return (
            len(self.pending_reads)
            + len(self.pending_writes)
            + len(self.blocked_writes)
            + len(self.read_queue)
            + len(self.write_queue)
        )


class DramTiming:
    """A memory of ``channels`` 64-bit channels of ``device``, behind one address mapping.

    ``access(arrive, line, on_done, context)`` reads the 64 B line number ``line``;
    ``on_done(context, data_ready_ps)`` is called when the scheduler decides it (data ready on
    the bus, plus ``read_latency``).
    ``write(arrive, line, on_accepted, context)`` posts a write; ``on_accepted(context, ps)`` is
    called when it enters the write queue (at ``arrive`` unless the queue is full).
    """

    def __init__(
        self,
        sim: Any,
        device: DramDevice,
        *,
        channels: int = 1,
        ranks: int = 1,
        mapping: str = "RoRaBaCoBgCh",
        page_policy: str = OPEN_PAGE,
        read_queue: int = 64,
        write_queue: int = 64,
        write_high: int = 48,
        write_low: int = 16,
        first_refresh_at: int | None = None,
        read_latency: int = 0,
    ) -> None:
        if channels < 1 or ranks < 1:
            raise ValueError(f"need at least one channel and rank, got {channels}, {ranks}")
        if page_policy not in (OPEN_PAGE, CLOSED_PAGE):
            raise ValueError(f"page policy is 'open' or 'closed', got {page_policy!r}")
        if not 0 <= write_low < write_high <= write_queue:
            raise ValueError(
                f"write watermarks need 0 <= low < high <= queue, got {write_low}, "
                f"{write_high}, {write_queue}"
            )
        fields = [mapping[i : i + 2] for i in range(0, len(mapping), 2)]
        if sorted(fields) != sorted(FIELDS):
            raise ValueError(f"mapping {mapping!r} must name each of {', '.join(FIELDS)} once")
        self.device = device
        # Fixed time a read spends outside the DRAM (controller front and back end, the path to
        # the requester), added to its data-ready time.
        self.read_latency = read_latency
        self.channel_count = channels * device.subchannels
        self.controllers = [
            ChannelController(
                sim,
                device,
                ranks=ranks,
                page_policy=page_policy,
                read_queue=read_queue,
                write_queue=write_queue,
                write_high=write_high,
                write_low=write_low,
                first_refresh_at=device.t_refi if first_refresh_at is None else first_refresh_at,
            )
            for _ in range(self.channel_count)
        ]
        # When the latest read's first command issued (a write: was accepted), written by the
        # channel before the callback runs: the per-hop breakdown reads it there.
        self.last_start = 0
        for controller in self.controllers:
            controller.memory = self
        sizes = {
            "Ch": self.channel_count,
            "Co": device.row_lines,
            "Bg": device.bank_groups,
            "Ba": device.banks_per_group,
            "Ra": ranks,
            "Ro": device.rows,
        }
        # Least significant field first: a line number is a mixed-radix number of them.
        self.radices = [(name, sizes[name]) for name in reversed(fields)]

    def decode(self, line: int) -> tuple[ChannelController, Bank, int]:
        """The channel, bank and row a line maps to."""
        digits = {}
        for name, size in self.radices:
            line, digits[name] = divmod(line, size)
        controller = self.controllers[digits["Ch"]]
        rank = controller.ranks[digits["Ra"]]
        bank = rank.banks[digits["Bg"] * self.device.banks_per_group + digits["Ba"]]
        return controller, bank, digits["Ro"]

    def line(
        self,
        *,
        channel: int = 0,
        rank: int = 0,
        bank_group: int = 0,
        bank: int = 0,
        row: int = 0,
        column: int = 0,
    ) -> int:
        """The line number that ``decode`` maps to these coordinates (tests, traces)."""
        digits = {"Ch": channel, "Ra": rank, "Bg": bank_group, "Ba": bank, "Ro": row, "Co": column}
        line = 0
        for name, size in reversed(self.radices):
            line = line * size + digits[name]
        return line

    def access(self, arrive: int, line: int, on_done: OnDone, context: Any = None) -> None:
        controller, bank, row = self.decode(line)
        if self.read_latency:
            context = (on_done, context)
            on_done = self._add_read_latency
        controller.enqueue_read(Request(arrive, bank, row, False, on_done, context))

    def _add_read_latency(self, caller: tuple[OnDone, Any], ready: int) -> None:
        on_done, context = caller
        on_done(context, ready + self.read_latency)

    def write(
        self, arrive: int, line: int, on_accepted: OnDone = _ignore, context: Any = None
    ) -> None:
        controller, bank, row = self.decode(line)
        controller.enqueue_write(Request(arrive, bank, row, True, on_accepted, context))

    # -- statistics ----------------------------------------------------------------------------

    def _total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.controllers)

    @property
    def accesses(self) -> int:
        return self._total("reads") + self._total("writes")

    @property
    def busy_ps(self) -> int:
        """Data bus time, averaged over the channels (so busy_ps / elapsed is a fraction)."""
        return self._total("bursts") * self.device.burst // self.channel_count

    @property
    def queued_ps(self) -> int:
        return self._total("queued_ps")

    @property
    def turnaround_ps(self) -> int:
        """Data bus idle at read/write switches, averaged over the channels."""
        return self._total("turnaround_ps") // self.channel_count

    def counters(self) -> dict[str, int]:
        names = ("reads", "writes", "row_hits", "row_misses", "row_conflicts", "refreshes")
        return {name: self._total(name) for name in (*names, "write_drains")}

    def in_flight(self) -> int:
        return sum(c.in_flight() for c in self.controllers)


DRAM_MODELS = ("simple", "timing")


def make_dram(
    sim: Any,
    model: str,
    *,
    latency: int,
    bandwidth: int,
    preset_name: str,
    channels: int,
    controller_latency: int,
    page_policy: str = OPEN_PAGE,
    ranks: int = 1,
    turnaround: int = 0,
    write_batch: int = 1,
) -> Any:
    """The memory a host's or device's params select: ``simple`` is ``dram.DramChannel`` (a
    bandwidth server of ``bandwidth`` with a fixed ``latency``, write ``turnaround`` and
    ``write_batch``), ``timing`` a ``DramTiming`` of ``channels`` channels of ``ranks`` ranks
    of ``preset_name`` with ``page_policy``, whose reads take ``controller_latency`` beyond the
    DRAM's own timing."""
    from .dram import DramChannel
    from .dram_presets import preset

    if model == "simple":
        return DramChannel(latency, bandwidth, turnaround=turnaround, write_batch=write_batch)
    if model == "timing":
        return DramTiming(
            sim,
            preset(preset_name),
            channels=channels,
            ranks=ranks,
            page_policy=page_policy,
            read_latency=controller_latency,
        )
    raise ValueError(f"unknown DRAM model {model!r}; choose one of {', '.join(DRAM_MODELS)}")
