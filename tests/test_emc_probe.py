"""EmcProbe: the EMC model on a simulator port, called as the kernel calls probes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import pytest
from slugsim.cxl import (
    MESSAGE_TYPES,
    AtsTranslationReq,
    Channel,
    D2HData,
    Direction,
    M2SReq,
    M2SReqOpcode,
    Message,
    recordable_types,
)
from slugsim.emc import EmcCsr, EmcMonitorModel, EmcParams, EmcProbe

CYCLE_PS = 1000  # a 1 GHz monitor clock
PORT_NUMBER = 0x2C


class KernelDirection(IntEnum):
    """The kernel's direction of a message at a port (same values as cxl.Direction)."""

    IN = 0
    OUT = 1


@dataclass
class FakeOwner:
    name: str


@dataclass
class FakePort:
    name: str
    owner: FakeOwner


PORT = FakePort("dn0", FakeOwner("sw0"))
CHANNEL_TYPES = [cls for cls in MESSAGE_TYPES if cls.CHANNEL is not None]


def random_message(rng: random.Random, msg_type: type[Message]) -> Message:
    values: dict[str, Any] = {}
    for spec in msg_type.FIELDS:
        if spec.enum is not None:
            values[spec.name] = rng.choice(list(spec.enum))
        else:
            values[spec.name] = rng.getrandbits(spec.width) << spec.shift
    return msg_type(**values)


def traffic(seed: int, count: int) -> list[tuple[Message, KernelDirection, int]]:
    """Messages of every channel (recordable or not), both ways, at increasing times in ps."""
    rng = random.Random(seed)
    out = []
    time_ps = 0
    for _ in range(count):
        time_ps += rng.choice([0, 1, 250, 999, 1000, 1001, 7000])
        msg = random_message(rng, rng.choice(CHANNEL_TYPES))
        out.append((msg, rng.choice(list(KernelDirection)), time_ps))
    return out


def enabled(model: EmcMonitorModel) -> EmcMonitorModel:
    model.csr_write(EmcCsr.CTRL, 1)
    return model


def reference(
    model: EmcMonitorModel, seen: list[tuple[Message, KernelDirection, int]]
) -> EmcMonitorModel:
    """``model`` fed through ``observe`` directly: what the probe must reproduce."""
    for msg, direction, time_ps in seen:
        model.observe(msg, time_ps // CYCLE_PS, direction=Direction(direction), port=PORT_NUMBER)
    return model


def test_every_channel_probe_records_what_observe_records_including_drops():
    params = EmcParams(fifo_depth=4, ts_width=12)
    probed = enabled(EmcMonitorModel(params, taps_every_channel=True))
    probe = EmcProbe(probed, PORT_NUMBER, CYCLE_PS)
    offered = traffic(seed=7, count=300)
    for msg, direction, time_ps in offered:
        probe(PORT, msg, direction, time_ps)

    recordable = [item for item in offered if type(item[0]) in recordable_types()]
    want = reference(enabled(EmcMonitorModel(params, taps_every_channel=True)), recordable)
    assert list(probed.fifo) == list(want.fifo)
    assert probed.counters == want.counters
    assert probed.counters["DROPPED"] > 0 and probed.counters["RECORDED"] == 4
    assert probed.invariant_holds
    assert probe.unrecordable == len(offered) - len(recordable) > 0
    assert probe.untapped == 0 and probe.handed == len(recordable) == probed.counters["SEEN"]
    assert probe.accounted
    assert probe.ports == {"sw0.dn0"}
    # records carry the probe's port, the direction seen and every recordable channel
    assert {r.port for r in probed.fifo} == {PORT_NUMBER}
    # draining and continuing keeps model and reference in step
    for _ in range(2):
        assert probed.pop() == want.pop()
    more = traffic(seed=8, count=50)
    shifted = [(m, d, t + offered[-1][2]) for m, d, t in more]
    for msg, direction, time_ps in shifted:
        probe(PORT, msg, direction, time_ps)
    reference(want, [item for item in shifted if type(item[0]) in recordable_types()])
    assert list(probed.fifo) == list(want.fifo) and probed.counters == want.counters


def test_filters_and_sampling_apply_to_probed_messages_as_to_observed_ones():
    params = EmcParams(fifo_depth=64)
    models = [enabled(EmcMonitorModel(params, taps_every_channel=True)) for _ in range(2)]
    for model in models:
        model.csr_write(EmcCsr.OPCODE_MASK, 0b0101_0101)
        model.csr_write(EmcCsr.SAMPLE_PERIOD, 3)
        model.csr_write(EmcCsr.ADDR_LIMIT_HI, 0x7FFFF)  # the lower half of the address space
    probed, want = models
    probe = EmcProbe(probed, PORT_NUMBER, CYCLE_PS)
    offered = traffic(seed=11, count=400)
    for msg, direction, time_ps in offered:
        probe(PORT, msg, direction, time_ps)
    reference(want, [item for item in offered if type(item[0]) in recordable_types()])
    assert list(probed.fifo) == list(want.fifo) and probed.counters == want.counters
    assert probed.counters["FILTERED"] > 0 and probed.counters["SKIPPED"] > 0
    assert probed.invariant_holds and probe.accounted


def test_a_probe_on_one_rtl_instance_takes_its_channel_and_direction_only():
    params = EmcParams(Channel.M2S_REQ, Direction.EGRESS, port=PORT_NUMBER, fifo_depth=2)
    probed = enabled(EmcMonitorModel(params))
    probe = EmcProbe(probed, PORT_NUMBER, CYCLE_PS)
    offered = traffic(seed=3, count=300)
    for msg, direction, time_ps in offered:
        probe(PORT, msg, direction, time_ps)
    tapped = [
        item for item in offered if isinstance(item[0], M2SReq) and item[1] == KernelDirection.OUT
    ]
    unrecordable = [item for item in offered if type(item[0]) not in recordable_types()]
    want = reference(enabled(EmcMonitorModel(params)), tapped)
    assert list(probed.fifo) == list(want.fifo) and probed.counters == want.counters
    assert probed.counters["SEEN"] == probe.handed == len(tapped) > 2
    assert probed.counters["DROPPED"] == len(tapped) - 2
    assert probe.unrecordable == len(unrecordable)
    assert probe.untapped == len(offered) - len(tapped) - len(unrecordable) > 0
    assert probe.accounted


def test_timestamps_are_whole_cycles_since_reset_wrapped_to_ts_width():
    model = enabled(EmcMonitorModel(EmcParams(ts_width=4), taps_every_channel=True))
    probe = EmcProbe(model, PORT_NUMBER, cycle_ps=2500, reset_ps=1000)
    msg = M2SReq(M2SReqOpcode.MEMRD, tag=1, addr=0x40)
    stamps = []
    for time_ps in (1000, 3499, 3500, 1000 + 2500 * 17):
        record = probe(PORT, msg, KernelDirection.IN, time_ps)
        assert record is not None
        stamps.append(record.timestamp)
    assert stamps == [0, 0, 1, 17 % 16]
    assert probe.cycle_of(1000 + 2500 * 17) == 17
    with pytest.raises(ValueError, match="before the monitor's reset"):
        probe(PORT, msg, KernelDirection.IN, 999)


def test_unrecordable_and_disabled_messages_are_never_recorded():
    model = EmcMonitorModel(taps_every_channel=True)  # disabled after reset
    probe = EmcProbe(model, PORT_NUMBER, CYCLE_PS)
    rng = random.Random(1)
    req = random_message(rng, M2SReq)
    data = random_message(rng, D2HData)
    ats = random_message(rng, AtsTranslationReq)
    assert probe(PORT, req, KernelDirection.IN, 10) is None  # disabled: the model ignores it
    enabled(model)
    assert probe(PORT, data, KernelDirection.OUT, 20) is None
    assert probe(PORT, ats, KernelDirection.IN, 30) is None
    assert probe(PORT, req, KernelDirection.OUT, 40) is not None
    assert (probe.offered, probe.handed, probe.unrecordable, probe.untapped) == (4, 2, 2, 0)
    assert model.counters["SEEN"] == model.counters["RECORDED"] == 1
    assert not EmcMonitorModel.can_record(data) and EmcMonitorModel.can_record(req)
    with pytest.raises(ValueError, match="cannot record"):
        model.observe(data, 0)


@pytest.mark.parametrize(
    "bad",
    [
        {"port_number": 256},
        {"port_number": -1},
        {"cycle_ps": 0},
        {"reset_ps": -5},
    ],
)
def test_bad_probe_arguments_are_refused(bad: dict[str, int]):
    args = {"port_number": 0, "cycle_ps": CYCLE_PS, "reset_ps": 0, **bad}
    with pytest.raises(ValueError):
        EmcProbe(EmcMonitorModel(), **args)
