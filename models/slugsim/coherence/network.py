"""The untimed CXL.cache network: one FIFO queue per (source, destination, channel).

Messages within one channel between two agents stay in order (the link layer is in order);
the channels are otherwise independent, except for the one cross-channel rule of
CXL_REFERENCE.md §1.1 (S4 §3.2.2.1): an H2D Req (snoop) may not pass an H2D Rsp (GO, ...) sent
earlier to the same device — *snoop-pushes-GO*. Which head is delivered next is the caller's
choice (the random tester draws it, the explorer tries every one, a scenario names it), and a
queue can be *held* to force an order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from slugsim.cxl import Channel, Message

HOST = -1  # the host's endpoint id; devices are 0..N-1


class QueueKey(NamedTuple):
    src: int
    dst: int
    channel: Channel

    def __str__(self) -> str:
        return f"{_agent(self.src)}->{_agent(self.dst)} {self.channel.name}"


def _agent(endpoint: int) -> str:
    return "host" if endpoint == HOST else f"dev{endpoint}"


class Network:
    """FIFO queues of in-flight messages; ``observe(src, dst, msg)`` sees every send."""

    def __init__(self, observe: Callable[[int, int, Message], None] | None = None) -> None:
        self.queues: dict[QueueKey, deque[tuple[int, Message]]] = {}
        self.held: set[QueueKey] = set()
        self.observe = observe
        self._seq = 0  # send order, for the H2D Req/Rsp rule
        self.count = 0  # messages in flight

    def send(self, src: int, dst: int, msg: Message) -> None:
        if self.observe is not None:
            self.observe(src, dst, msg)
        assert msg.CHANNEL is not None
        key = QueueKey(src, dst, msg.CHANNEL)
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = deque()
        queue.append((self._seq, msg))
        self._seq += 1
        self.count += 1

    def clone(self, observe: Callable[[int, int, Message], None] | None) -> Network:
        twin = type(self).__new__(type(self))
        twin.queues = {key: deque(queue) for key, queue in self.queues.items() if queue}
        twin.held = set(self.held)
        twin.observe = observe
        twin._seq = self._seq
        twin.count = self.count
        return twin

    def ready(self) -> list[QueueKey]:
        """The queues whose head may be delivered now (not empty, not held, not ordered
        behind an earlier H2D Rsp), in a stable order."""
        out = []
        for key in sorted(self.queues):
            queue = self.queues[key]
            if queue and key not in self.held and not self.blocked(key):
                out.append(key)
        return out

    def blocked(self, key: QueueKey) -> bool:
        """Snoop-pushes-GO: the head snoop waits for every earlier H2D Rsp to that device."""
        if key.channel is not Channel.H2D_REQ:
            return False
        rsp = self.queues.get(QueueKey(key.src, key.dst, Channel.H2D_RSP))
        return bool(rsp) and rsp[0][0] < self.queues[key][0][0]  # type: ignore[index]

    def head(self, key: QueueKey) -> Message:
        return self.queues[key][0][1]

    def pop(self, key: QueueKey) -> Message:
        self.count -= 1
        return self.queues[key].popleft()[1]

    def empty(self) -> bool:
        return self.count == 0

    def in_flight(self) -> int:
        return self.count

    def key(self) -> tuple[object, ...]:
        """Canonical contents: each queue's messages; H2D Req and Rsp to one device as one
        interleaving (their relative order is what the ordering rule reads)."""
        out: list[object] = []
        for key, queue in sorted(self.queues.items()):
            if not queue:
                continue
            if key.channel is Channel.H2D_RSP:
                req = self.queues.get(QueueKey(key.src, key.dst, Channel.H2D_REQ)) or ()
                items = sorted([*queue, *req], key=lambda item: item[0])
            elif key.channel is Channel.H2D_REQ and self.queues.get(
                QueueKey(key.src, key.dst, Channel.H2D_RSP)
            ):
                continue  # in the merged H2D_RSP entry
            else:
                items = list(queue)
            out.append((key, tuple((type(m).__name__, m.pack()) for _, m in items)))
        out.append(tuple(sorted(self.held)))
        return tuple(out)
