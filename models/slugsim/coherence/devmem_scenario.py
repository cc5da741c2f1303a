"""Directed device-memory scenarios: programs per agent, held channels, named deliveries.

    sc = DevMemScenario(DevMemConfig(), host0=[op(CoreOp.Load, 0)], dcoh=[op(DevOp.Store, 0)])
    sc.hold("dcoh", "host0", "S2M_NDR")   # the Cmp will wait
    sc.run()                              # everything else, in a fixed order
    sc.release("dcoh", "host0", "S2M_NDR")
    sc.finish()

The device-memory twin of ``scenario.py``: endpoints are ``host<N>`` and ``dcoh``; ``run()``
takes the first enabled step (issues first, then queues in sorted order) until none is left.
"""

from __future__ import annotations

from slugsim.coherence.devmem import DEVICE, DevMemConfig, DevMemSystem, describe, queue_name
from slugsim.coherence.network import QueueKey
from slugsim.coherence.ops import Completion, Op
from slugsim.coherence.scenario import ScenarioRunner
from slugsim.coherence.system import Step
from slugsim.cxl import Channel, Message


def endpoint(name: str) -> int:
    return DEVICE if name == "dcoh" else int(name.removeprefix("host"))


def queue(src: str, dst: str, channel: str) -> QueueKey:
    return QueueKey(endpoint(src), endpoint(dst), Channel[channel])


class DevMemScenario(ScenarioRunner):
    def __init__(self, config: DevMemConfig | None = None, **programs: list[Op]) -> None:
        self.system = DevMemSystem(config or DevMemConfig(), programs)
        self.system.log = []
        self.done: list[Completion] = []
        complete = self.system._complete

        def record(c: Completion) -> None:
            complete(c)
            self.done.append(c)

        for host in self.system.hosts:
            host.complete = record
        self.system.dcoh.complete = record

    def add(self, agent: str, *ops: Op) -> None:
        self.system.add(agent, *ops)

    def hold(self, src: str, dst: str, channel: str) -> None:
        self.system.network.held.add(queue(src, dst, channel))

    def release(self, src: str, dst: str, channel: str) -> None:
        self.system.network.held.discard(queue(src, dst, channel))

    def issue(self, agent: str) -> None:
        steps = [s for s in self.system.enabled() if s.kind == "issue" and s.agent == agent]
        if not steps:
            raise AssertionError(f"{agent} cannot issue now")
        self.system.apply(steps[0])

    def can_deliver(self, src: str, dst: str, channel: str) -> bool:
        return Step("deliver", queue=queue(src, dst, channel)) in self.system.enabled()

    def deliver(self, src: str, dst: str, channel: str) -> Message:
        key = queue(src, dst, channel)
        if not self.can_deliver(src, dst, channel):
            raise AssertionError(f"{queue_name(key)} has no deliverable head: {self.pending()}")
        msg = self.system.network.head(key)
        self.system.apply(Step("deliver", queue=key))
        return msg

    def pending(self) -> list[str]:
        net = self.system.network
        return [
            f"{queue_name(key)}: {describe(m)}"
            for key in sorted(net.queues)
            for _, m in net.queues[key]
        ]

    def state(self, agent: str, line: int) -> str:
        """A host's line state, or the DCOH's (HDM-DB: filter state; HDM-D: the page's bias)."""
        if agent == "dcoh":
            dcoh = self.system.dcoh
            if hasattr(dcoh, "bias"):
                return dcoh.bias(line).name  # type: ignore[union-attr]
            return dcoh.entry(line).state.name  # type: ignore[union-attr]
        return self.system.hosts[endpoint(agent)].state(line).name

    def trace(self) -> str:
        return "\n".join(self.system.log or [])
