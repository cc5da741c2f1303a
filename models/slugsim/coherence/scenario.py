"""Directed scenarios: name each agent's program, hold and release channels, step by hand.

    sc = Scenario(SystemConfig(devices=2), dev0=[load(0)], dev1=[store(0, 7)])
    sc.hold("host", "dev0", "H2D_DATA")          # dev0's data will wait
    sc.run()                                      # everything else, in a fixed order
    sc.release("host", "dev0", "H2D_DATA")
    sc.run()
    assert sc.completions("dev0") == [...]

``run()`` takes enabled steps in a deterministic order (issues first, then the queues in sorted
order) until none is left; every step is checked as in the tester. ``deliver(src, dst,
channel)`` delivers one named head. Program helpers build operations with unique store values.
"""

from __future__ import annotations

from typing import Protocol

from slugsim.coherence.device import DeviceEvent
from slugsim.coherence.monitor import Violation
from slugsim.coherence.network import HOST, QueueKey
from slugsim.coherence.ops import Completion, CoreOp, Op
from slugsim.coherence.system import CoherentSystem, Step, SystemConfig, describe
from slugsim.cxl import Channel, Message


def endpoint(name: str) -> int:
    return HOST if name == "host" else int(name.removeprefix("dev"))


def queue(src: str, dst: str, channel: str) -> QueueKey:
    return QueueKey(endpoint(src), endpoint(dst), Channel[channel])


class SteppedSystem(Protocol):
    def enabled(self) -> list[Step]: ...
    def apply(self, step: Step) -> None: ...
    def done(self) -> bool: ...
    def final_check(self) -> None: ...


class ScenarioRunner:
    """What a scenario does once its directed steps are taken, whatever the system: run the
    rest, check the end, list completions. A scenario sets ``system`` and ``done`` and
    provides ``pending()``."""

    system: SteppedSystem
    done: list[Completion]

    def pending(self) -> list[str]:
        raise NotImplementedError

    def run(self, limit: int = 10_000) -> int:
        """Take enabled steps (issues first) until none is left; return how many."""
        taken = 0
        while taken < limit:
            steps = self.system.enabled()
            if not steps:
                return taken
            self.system.apply(steps[0])
            taken += 1
        raise Violation("no-progress", f"scenario still running after {limit} steps")

    def finish(self) -> None:
        """Run to the end; every program must have completed and nothing may be left."""
        self.run()
        if not self.system.done():
            raise Violation("deadlock", f"stuck: {self.pending()}")
        self.system.final_check()

    def completions(self, agent: str) -> list[tuple[str, int | None]]:
        return [(str(c.op), c.value) for c in self.done if c.agent == agent]


class Scenario(ScenarioRunner):
    def __init__(self, config: SystemConfig | None = None, **programs: list[Op]) -> None:
        self.system = CoherentSystem(config or SystemConfig(), programs)
        self.system.log = []
        self.done: list[Completion] = []
        complete = self.system._complete

        def record(c: Completion) -> None:  # keep every completion, in order
            complete(c)
            self.done.append(c)

        self.system.home.complete = record
        for device in self.system.devices:
            device.complete = record

    # --- control -----------------------------------------------------------------------------

    def add(self, agent: str, *ops: Op) -> None:
        """Append operations to ``agent``'s program (``run`` issues them)."""
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

    def deliver(self, src: str, dst: str, channel: str) -> Message:
        key = queue(src, dst, channel)
        step = Step("deliver", queue=key)
        if step not in self.system.enabled():
            raise AssertionError(f"{key} has no deliverable head: {self.pending()}")
        msg = self.system.network.head(key)
        self.system.apply(step)
        return msg

    # --- inspection --------------------------------------------------------------------------

    def pending(self) -> list[str]:
        net = self.system.network
        return [f"{key}: {describe(m)}" for key in sorted(net.queues) for _, m in net.queues[key]]

    def state(self, agent: str, line: int) -> str:
        if agent == "host":
            return self.system.home.entry(line).state.name
        if agent.startswith("core"):
            return self.system.home.entry(line).cores[int(agent[4:])].name
        return self.system.devices[endpoint(agent)].line_state(line).name

    def trace(self) -> str:
        return "\n".join(self.system.log or [])


# --- program helpers ------------------------------------------------------------------------

_values = iter(range(1000, 1 << 30))


def op(kind: DeviceEvent | CoreOp, line: int = 0, value: int | None = None) -> Op:
    """An operation; stores get a fresh unique value unless one is given."""
    if value is None:
        is_store = kind is CoreOp.Store or kind.name.startswith("Store")
        value = next(_values) if is_store else 0
    return Op(kind, line, value)
