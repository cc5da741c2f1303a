"""Kinds present in a topology but not simulated yet: a CXL.cache NIC.

They take part in validation and routing (they have PIDs and ports of the protocols they will
speak) and are listed under ``run.unmodelled`` in stats.json; a message reaching one is an
error, since nothing would answer it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..contract import UPSTREAM, Component, PortSpec, component
from ..fabric.params import doc
from ..kernel import SimulationError


@dataclass(frozen=True)
class PlaceholderParams:
    """NICs: modelled in a later issue; present in the graph only."""

    note: str = field(default="", metadata=doc("free text"))


class Unmodelled(Component):
    def connect(self) -> None:
        for attachment in self.attachments:
            attachment.port.handler = self.refuse

    def refuse(self, msg: Any) -> None:
        raise SimulationError(
            f"{self.name} is not simulated yet, but {type(msg).__name__} was sent to it; "
            "do not target it from a workload or an HDM window"
        )


@component(
    "nic",
    params=PlaceholderParams,
    ports=(PortSpec("usp", UPSTREAM, {"cache", "io"}),),
    modelled=False,
)
class NicPlaceholder(Unmodelled):
    """A CXL.cache NIC: not simulated yet."""
