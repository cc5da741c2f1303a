"""``EmcProbe``: an EMC monitor model listening on a port of the Python simulator.

The kernel calls every probe of a port as ``probe(port, msg, direction, time_ps)`` for each
message crossing that port; ``direction`` is the kernel's IN (0) / OUT (1), which are
``slugsim.cxl.Direction``'s INGRESS (0) / EGRESS (1), and ``time_ps`` is the simulation time in
integer picoseconds. The probe hands the message to its ``EmcMonitorModel`` as one handshake on
the tapped stream, so the model filters, samples, records and counts it exactly as it would a
message of the RTL monitor, and the records carry the probe's port number.

Time: the model's timestamps count cycles of the monitor's clock (the RTL's free-running counter,
zero at reset). The probe stamps a message seen at ``time_ps`` with
``(time_ps - reset_ps) // cycle_ps``: the number of whole monitor-clock cycles since the monitor
came out of reset, which is the counter value the RTL would record for a message handshaken in
that cycle. The model then wraps the stamp to its ``ts_width`` bits, as the RTL does. Keep
``cycle_ps`` equal to the ``time_unit_ps`` of the trace the records go to.

What the probe does not hand over is counted, never recorded, so the model's own counters keep
their RTL meaning (``SEEN == RECORDED + DROPPED + FILTERED + SKIPPED``) and the probe accounts for
every call: ``offered == handed + unrecordable + untapped``.

- ``unrecordable``: a message type no EMC can record (``slugsim.cxl.recordable_types``: the data
  channels have no opcode, ATS carries page addresses);
- ``untapped``: a recordable message the model does not tap: a model built for one RTL instance
  taps its ``params.channel`` in its ``params.direction`` only; a model built with
  ``taps_every_channel=True`` taps every recordable channel in both directions.

Messages handed over while the model is disabled (``CTRL.ENABLE`` 0) are ignored by the model,
as by the RTL, and counted by neither.
"""

from __future__ import annotations

from typing import Protocol

from slugsim.cxl import Direction, EmcRecord, Message

from .model import EmcMonitorModel


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class ProbedPort(Protocol):
    """What the probe needs of a simulator port: its name and its owner's name."""

    @property
    def name(self) -> str: ...

    @property
    def owner(self) -> _Named: ...


class EmcProbe:
    """Feeds an ``EmcMonitorModel`` from a simulator port: ``probe(port, msg, direction, time)``.

    ``port_number`` goes into every record (the RTL's ``PORT`` parameter); ``cycle_ps`` is the
    monitor's clock period and ``reset_ps`` the time its timestamp counter was zero (see the
    module docstring).
    """

    def __init__(
        self,
        model: EmcMonitorModel,
        port_number: int,
        cycle_ps: int,
        reset_ps: int = 0,
    ) -> None:
        if not 0 <= port_number < 1 << 8:
            raise ValueError(f"EMC port number must be in 0..255, got {port_number}")
        if cycle_ps < 1:
            raise ValueError(f"the monitor's cycle must be at least 1 ps, got {cycle_ps}")
        if reset_ps < 0:
            raise ValueError(f"reset time must be >= 0 ps, got {reset_ps}")
        self.model = model
        self.port_number = port_number
        self.cycle_ps = cycle_ps
        self.reset_ps = reset_ps
        self.offered = 0  # every call
        self.handed = 0  # handed to the model (which may then record, drop, filter or skip)
        self.unrecordable = 0
        self.untapped = 0
        self.ports: set[str] = set()  # "owner.port" of every port that called, for diagnostics

    def cycle_of(self, time_ps: int) -> int:
        """The monitor-clock cycle (timestamp counter value) at ``time_ps``."""
        if time_ps < self.reset_ps:
            raise ValueError(f"time {time_ps} ps is before the monitor's reset at {self.reset_ps}")
        return (time_ps - self.reset_ps) // self.cycle_ps

    def __call__(
        self, port: ProbedPort, msg: Message, direction: int, time: int
    ) -> EmcRecord | None:
        """One message crossing ``port`` at ``time`` ps; the record made of it, if any."""
        self.offered += 1
        self.ports.add(f"{port.owner.name}.{port.name}")
        seen = Direction(int(direction))  # kernel IN/OUT == INGRESS/EGRESS by value
        if not self.model.can_record(msg):
            self.unrecordable += 1
            return None
        if not self.model.taps(msg, seen):
            self.untapped += 1
            return None
        self.handed += 1
        stamp = self.cycle_of(time)
        return self.model.observe(msg, stamp, direction=seen, port=self.port_number)

    @property
    def accounted(self) -> bool:
        """Every call is handed over or counted as unrecordable or untapped."""
        return self.offered == self.handed + self.unrecordable + self.untapped
