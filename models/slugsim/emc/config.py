"""The ``emc:`` section of a topology file: where EMC monitors sit and how they are programmed.

    emc:
      at: [endpoints]            # or [switch_ports], [endpoints, switch_ports], or names
      addr_base: 0               # the CSR filters, sampling and FIFO of slugsim.emc.model
      addr_limit: 4PiB
      opcode_mask: 0xFFFFFFFF
      sample_period: 1
      fifo_depth: 4096
      drain: 0ps                 # one record leaves the FIFO per this time (0: at once)
      cycle: 1ps                 # the monitor's timestamp clock
      ship_to: log0              # optional: write the records into this memory device
      ship_format: raw           # raw (20 B records) or compact (slugsim.emc.compact)
      trace_format: raw          # trace files: raw (20 B records, version 4) or compact (5)

One monitor model (``EmcMonitorModel`` with ``taps_every_channel``) per chosen component taps
every port of it; each record carries the index of the port that saw it. The CSR fields mean
what the RTL registers mean (``slugsim.emc.csr``), so a YAML section is also a CSR programme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fabric.errors import Issue, did_you_mean
from ..fabric.params import doc
from .csr import ADDR_MAX

ENDPOINTS = "endpoints"
SWITCH_PORTS = "switch_ports"
GROUPS = (ENDPOINTS, SWITCH_PORTS)


@dataclass(frozen=True)
class EmcConfig:
    """EMC monitors on chosen components (every port of each), programmed alike."""

    at: tuple[str, ...] = field(
        default=(ENDPOINTS,),
        metadata=doc("where: 'endpoints', 'switch_ports' and/or component names"),
    )
    addr_base: int = field(
        default=0, metadata=doc("ADDR_BASE: lowest recorded byte address", unit="size")
    )
    addr_limit: int = field(
        default=ADDR_MAX - 1,
        metadata=doc("ADDR_LIMIT: highest recorded byte address (inclusive)", unit="size"),
    )
    opcode_mask: int = field(
        default=0xFFFF_FFFF,
        metadata=doc("OPCODE_MASK: bit n set records opcode n", ge=0, le=0xFFFF_FFFF),
    )
    sample_period: int = field(
        default=1, metadata=doc("SAMPLE_PERIOD: record 1 in N (0 and 1: all)", ge=0, le=2**32 - 1)
    )
    fifo_depth: int = field(
        default=4096,
        metadata=doc("record FIFO entries (a power of two, 2..32768, as the RTL)", ge=2, le=32768),
    )
    drain: int = field(
        default=0,
        metadata=doc("one record leaves the FIFO per this time; 0: as they come", unit="time"),
    )
    cycle: int = field(
        default=1,
        metadata=doc("timestamp clock period; 1ps keeps replay exact", unit="time", ge=1),
    )

    ship_to: str | None = field(
        default=None,
        metadata=doc("a memory device every endpoint EMC writes its records into (MemWr)"),
    )
    ship_format: str = field(
        default="raw", metadata=doc("shipped records: raw (20 B each) or compact (delta/varint)")
    )
    trace_format: str = field(
        default="raw",
        metadata=doc("trace files: raw (20 B records) or compact (delta/varint, version 5)"),
    )
    ship_base: int = field(
        default=1 << 40,
        metadata=doc("device address of the shipped-record region (1 GiB per EMC)", unit="size"),
    )

    def problems(self) -> list[tuple[str, str]]:
        """(field, what is wrong) for combinations the field bounds cannot express."""
        found = []
        if self.fifo_depth & (self.fifo_depth - 1):
            found.append(("fifo_depth", f"must be a power of two, got {self.fifo_depth}"))
        if self.addr_limit < self.addr_base:
            found.append(("addr_limit", "is below addr_base: nothing would be recorded"))
        for name in ("ship_format", "trace_format"):
            value = getattr(self, name)
            if value not in ("raw", "compact"):
                found.append((name, f"must be raw or compact, got {value!r}"))
        return found


def emc_section(
    document: Any, raw: Any, groups: dict[str, list[str]], builder: Any
) -> tuple[EmcConfig | None, list[Issue]]:
    """The validated ``emc:`` section (or None) and its problems, located in ``document``."""
    from ..config.schema import validate_params

    if raw is None:
        raw = {}
    config, issues = validate_params(EmcConfig, raw, document, ("emc",), "emc")
    if config is None:
        return None, issues
    for name, message in config.problems():
        issues.append(Issue(document.where(("emc", name)), f"emc: {name} {message}", ""))
    names = set(builder.names) | set(groups)
    generated = getattr(builder, "_fabric", None) is not None  # switch names come later
    pending = []
    for index, item in enumerate(config.at):
        if item in GROUPS or item in names:
            continue
        if generated:
            pending.append((item, document.where(("emc", "at", index))))
            continue
        issues.append(unknown_name(item, names, document.where(("emc", "at", index))))
    builder.emc_pending = pending  # names a generated fabric may define: check_names
    builder.emc_ship_where = document.where(("emc", "ship_to"))
    if not config.at:
        issues.append(Issue(document.where(("emc", "at")), "emc: at: is empty", "e.g. [endpoints]"))
    return (None if issues else config), issues


def unknown_name(item: str, names: set[str], where: Any) -> Issue:
    return Issue(
        where,
        f"emc: at: no component or group named '{item}'",
        f"use {', '.join(GROUPS)} or a component name{did_you_mean(item, sorted(names))}",
    )


def check_names(graph: Any, pending: list[tuple[str, Any]]) -> list[Issue]:
    """``emc.at`` names left for the built graph (a generated fabric's switches) that it lacks."""
    known = set(graph.nodes) | {g for _, g in graph.nodes(data="group")}
    return [unknown_name(item, known, where) for item, where in pending if item not in known]


def check_ship_to(graph: Any, config: EmcConfig, where: Any) -> list[Issue]:
    """``ship_to`` must name a memory device of the graph."""
    from ..contract import kinds

    target = config.ship_to
    if target is None:
        return []
    memories = sorted(n for n, k in graph.nodes(data="kind") if kinds()[k].memory)
    if target not in memories:
        return [
            Issue(
                where,
                f"emc: ship_to: '{target}' is not a memory device of this topology",
                f"name one of {', '.join(memories[:8]) or '(none)'}"
                f"{did_you_mean(target, memories)}",
            )
        ]
    return []
