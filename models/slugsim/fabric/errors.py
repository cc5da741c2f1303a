"""Topology errors: every problem found while reading, building or validating a system.

A problem is an ``Issue``: where it is (file and line when the system came from a file), what is
wrong and a hint how to fix it. All issues of one build are collected and raised together as one
``TopologyError``, so the user fixes a file in one round instead of one error per run.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Where:
    """A place in a topology source: a file (or ``<builder>``) and a 1-based line if known."""

    source: str = "<builder>"
    line: int | None = None

    def __str__(self) -> str:
        return self.source if self.line is None else f"{self.source}:{self.line}"


@dataclass(frozen=True)
class Issue:
    where: Where
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {_one_line(self.message)}"
        return f"{text}\n  hint: {_one_line(self.hint)}" if self.hint else text


def _one_line(text: str) -> str:
    """``text`` with control characters escaped: a message quotes the user's own names, and a
    name holding a line break or carriage return must not split or overwrite the report line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class TopologyError(ValueError):
    """The topology cannot be built. ``issues`` lists every problem, ordered by line."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        unique = list(dict.fromkeys(issues))
        unique.sort(key=lambda i: (i.where.source, i.where.line or 0))
        self.issues = unique
        super().__init__("\n".join(str(i) for i in unique))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
