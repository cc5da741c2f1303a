"""What the home agent and the device cache share: firing a table rule on a line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from slugsim.coherence.table import STABLE, Described, Rule, RuleKind, Table


@dataclass(frozen=True, slots=True)
class Transition:
    """One rule a controller fired: the timed wrapper charges ``rule.actions`` latencies, the
    explorer counts (state, event) coverage."""

    agent: str
    line: int
    state: Described
    event: Described
    rule: Rule[Any]


class LineEntry:
    """Per-line controller state: at least ``line`` and ``state`` (subclasses add the rest)."""

    __slots__ = ("line", "state")

    def __init__(self, line: int, state: Described) -> None:
        self.line = line
        self.state = state


class Controller:
    """Runs ``TABLE`` rules: each action is a method taking the line entry."""

    TABLE: ClassVar[Table[Any, Any]]
    name: str
    on_transition: Callable[[Transition], None] | None

    def _fire(self, entry: Any, event: Described) -> bool:
        """Fire ``event`` on ``entry``; False when the rule is a stall (nothing changed)."""
        rule = self.TABLE.transition(entry.state, event)
        if rule.kind is RuleKind.STALL:
            return False
        before = entry.state
        for action in rule.actions:
            getattr(self, action)(entry)
        nxt = rule.next_state
        if nxt is STABLE:
            entry.state = self.stable_state(entry)
        elif nxt is not None:
            entry.state = nxt
        if self.on_transition is not None:
            self.on_transition(Transition(self.name, entry.line, before, event, rule))
        return True

    def stall_rule(self, entry: Any, event: Described) -> bool:
        """Whether ``event`` would stall on ``entry`` (no side effects). A missing or
        impossible rule is not a stall: firing it raises, where the caller will see it."""
        rule = self.TABLE.rules.get((entry.state, event))
        return rule is not None and rule.kind is RuleKind.STALL

    def stable_state(self, entry: Any) -> Described:
        raise NotImplementedError(f"{type(self).__name__} has no STABLE rules")
