"""SLICC-style transition tables: ``(state, event) -> Rule(actions, next_state)``.

A controller declares its states and events as :class:`Described` enums (the member's value is
its one-line description, SLICC's ``desc=``) and builds one :class:`Table` of rules, each naming
the controller methods (actions) it runs, in order. The same table object drives the untimed
controllers, the timed wrapper (which attaches a latency to each action) and the exhaustive
explorer; :meth:`Table.markdown` renders it for ``docs/coherence_tables.md``.

Three kinds of rule exist, and all three are written down:

- ``RuleKind.DO`` runs the actions and moves to ``next_state``;
- ``RuleKind.STALL`` leaves the event unconsumed (a message stays at the head of its channel, a
  program operation is refused and retried later) — SLICC's ``z_stall``;
- ``RuleKind.IMPOSSIBLE`` documents a pair the protocol rules out (with the reason); reaching it
  raises :class:`ProtocolError`, as does any pair that has no rule at all.

``next_state`` may be :data:`STABLE` ("the stable state the line's copies imply"), which the
host home agent uses when a transaction ends, because which of I/S/E/M/D follows depends on
which copies the transaction left, not on the event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Generic, TypeVar


class Described(Enum):
    """An enum whose member values are their one-line descriptions."""

    # NOTE: identity hash (members are singletons): Enum's hash(name) in Python was 8 % of an
    # exploration's time; hashes are only compared within one process.
    __hash__ = object.__hash__

    @property
    def desc(self) -> str:
        return str(self.value)


S = TypeVar("S", bound=Described)
E = TypeVar("E", bound=Described)


class RuleKind(IntEnum):
    DO = 0
    STALL = 1
    IMPOSSIBLE = 2


class _Stable:
    """Marker for "next state = the stable state implied by the line's copies"."""

    def __repr__(self) -> str:
        return "STABLE"


STABLE = _Stable()


class ProtocolError(RuntimeError):
    """A controller met a (state, event) that has no rule or is written down as impossible."""


@dataclass(frozen=True, slots=True)
class Rule(Generic[S]):
    actions: tuple[str, ...]
    next_state: S | _Stable | None  # None: stay in the current state
    kind: RuleKind = RuleKind.DO
    why: str = ""  # for STALL and IMPOSSIBLE: the reason, rendered in the docs


class Table(Generic[S, E]):
    """The transition table of one controller kind."""

    def __init__(self, name: str, states: type[S], events: type[E], summary: str = "") -> None:
        self.name = name
        self.states = states
        self.events = events
        self.summary = summary
        self.rules: dict[tuple[S, E], Rule[S]] = {}

    # --- building ----------------------------------------------------------------------------

    def rule(
        self,
        states: S | Iterable[S],
        events: E | Iterable[E],
        actions: Iterable[str],
        next_state: S | _Stable | None = None,
    ) -> None:
        """``transition({states}, {events}, next) { actions }`` in SLICC terms."""
        self._add(states, events, Rule(tuple(actions), next_state))

    def stall(self, states: S | Iterable[S], events: E | Iterable[E], why: str) -> None:
        self._add(states, events, Rule((), None, RuleKind.STALL, why))

    def impossible(self, states: S | Iterable[S], events: E | Iterable[E], why: str) -> None:
        self._add(states, events, Rule((), None, RuleKind.IMPOSSIBLE, why))

    def _add(self, states: S | Iterable[S], events: E | Iterable[E], rule: Rule[S]) -> None:
        for state in _as_list(states):
            for event in _as_list(events):
                if (state, event) in self.rules:
                    raise ValueError(f"{self.name}: two rules for ({state.name}, {event.name})")
                self.rules[(state, event)] = rule

    # --- using -------------------------------------------------------------------------------

    def transition(self, state: S, event: E) -> Rule[S]:
        """The rule for ``(state, event)``; a missing or impossible one raises."""
        rule = self.rules.get((state, event))
        if rule is None:
            raise ProtocolError(f"{self.name}: no rule for ({state.name}, {event.name})")
        if rule.kind is RuleKind.IMPOSSIBLE:
            raise ProtocolError(
                f"{self.name}: ({state.name}, {event.name}) is impossible: {rule.why}"
            )
        return rule

    def actions(self) -> set[str]:
        return {action for rule in self.rules.values() for action in rule.actions}

    def check_actions(self, controller: type) -> None:
        """Every action a rule names must be a method of ``controller``."""
        missing = sorted(a for a in self.actions() if not callable(getattr(controller, a, None)))
        if missing:
            raise TypeError(f"{self.name}: {controller.__name__} lacks actions {missing}")

    def size(self) -> dict[str, int]:
        kinds = [rule.kind for rule in self.rules.values()]
        return {
            "states": len(self.states),
            "events": len(self.events),
            "rules": len(self.rules),
            "do": kinds.count(RuleKind.DO),
            "stall": kinds.count(RuleKind.STALL),
            "impossible": kinds.count(RuleKind.IMPOSSIBLE),
            "actions": len(self.actions()),
        }

    # --- rendering ---------------------------------------------------------------------------

    def markdown(
        self,
        action_columns: tuple[str, ...] = (),
        action_cells: dict[str, tuple[str, ...]] | None = None,
    ) -> str:
        """The table as Markdown: states, events, actions (with ``action_columns`` filled from
        ``action_cells``), then the rules grouped by state."""
        size = self.size()
        out = [f"## {self.name}", ""]
        if self.summary:
            out += [self.summary, ""]
        out += [
            f"{size['states']} states, {size['events']} events, {size['rules']} rules "
            f"({size['do']} transitions, {size['stall']} stalls, "
            f"{size['impossible']} impossible), {size['actions']} actions. "
            "A pair not listed is an error when it happens.",
            "",
            "### States",
            "",
            "| State | Meaning |",
            "|---|---|",
        ]
        out += [f"| `{s.name}` | {s.desc} |" for s in self.states]
        out += ["", "### Events", "", "| Event | Meaning |", "|---|---|"]
        out += [f"| `{e.name}` | {e.desc} |" for e in self.events]
        columns = ("Action", *action_columns)
        out += ["", "### Actions", "", "| " + " | ".join(columns) + " |"]
        out.append("|" + "---|" * len(columns))
        for action in sorted(self.actions()):
            cells = (action_cells or {}).get(action, ("",) * len(action_columns))
            out.append("| " + " | ".join((f"`{action}`", *cells)) + " |")
        out += [
            "",
            "### Transitions",
            "",
            "| State | Event | Actions | Next |",
            "|---|---|---|---|",
        ]
        for state in self.states:
            for event in self.events:
                rule = self.rules.get((state, event))
                if rule is None:
                    continue
                out.append(f"| `{state.name}` | `{event.name}` | {_cell(rule)} |")
        out.append("")
        return "\n".join(out)


def _cell(rule: Rule[S]) -> str:
    if rule.kind is RuleKind.STALL:
        return f"*stall* ({rule.why}) | -"
    if rule.kind is RuleKind.IMPOSSIBLE:
        return f"*impossible* ({rule.why}) | -"
    actions = ", ".join(f"`{a}`" for a in rule.actions) or "-"
    if rule.next_state is None:
        nxt = "same"
    elif isinstance(rule.next_state, _Stable):
        nxt = "*stable*"
    else:
        nxt = f"`{rule.next_state.name}`"
    return f"{actions} | {nxt}"


def _as_list(items: object) -> list:
    if isinstance(items, Enum):
        return [items]
    return list(items)  # type: ignore[call-overload]
