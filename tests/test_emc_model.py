"""The EMC monitor's transaction-level model (slugsim.emc.model): CSRs, filters, sampling, FIFO."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slugsim.cxl import Channel, D2HReq, D2HReqOpcode, Direction, EmcRecord, M2SReq, M2SReqOpcode
from slugsim.emc.csr import COUNTERS, EMC_ID, EmcCsr, EmcParams
from slugsim.emc.model import EmcMonitorModel


def enabled(**params: int) -> EmcMonitorModel:
    m = EmcMonitorModel(EmcParams(**params))
    m.csr_write(EmcCsr.CTRL, 1)
    return m


def req(addr: int = 0x1000, opcode: M2SReqOpcode = M2SReqOpcode.MEMRD, tag: int = 7) -> M2SReq:
    return M2SReq(opcode, tag=tag, addr=addr)


def test_info_round_trips_and_params_are_checked():
    params = EmcParams(Channel.D2H_REQ, Direction.EGRESS, port=0xA5, ts_width=10, fifo_depth=4)
    assert EmcParams.from_info(params.info()) == params
    assert params.info() & 0xF == Channel.D2H_REQ
    for bad in ({"fifo_depth": 3}, {"fifo_depth": 1}, {"ts_width": 0}, {"ts_width": 49}):
        with pytest.raises(ValueError):
            EmcParams(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EmcParams(port=256)
    # As the RTL: a data channel has no opcode, ATS has page addresses.
    for channel in (Channel.D2H_DATA, Channel.H2D_DATA, Channel.ATS_TRANSLATION_REQ):
        with pytest.raises(ValueError, match=f"cannot record {channel.name}"):
            EmcParams(channel)


def test_reset_values():
    m = EmcMonitorModel()
    assert m.csr_read(EmcCsr.ID) == EMC_ID
    assert m.csr_read(EmcCsr.CTRL) == 0
    assert m.csr_read(EmcCsr.ADDR_BASE_LO) == 0 and m.csr_read(EmcCsr.ADDR_BASE_HI) == 0
    assert m.csr_read(EmcCsr.ADDR_LIMIT_LO) == 0xFFFFFFC0
    assert m.csr_read(EmcCsr.ADDR_LIMIT_HI) == 0xFFFFF
    assert m.csr_read(EmcCsr.OPCODE_MASK) == 0xFFFFFFFF
    assert m.csr_read(EmcCsr.SAMPLE_PERIOD) == 1
    assert all(m.csr_read(EmcCsr[c]) == 0 for c in COUNTERS)
    assert m.csr_read(0x44) == 0  # unmapped


def test_disabled_sees_nothing():
    m = EmcMonitorModel()
    assert m.observe(req(), 5) is None
    assert all(v == 0 for v in m.counters.values())


def test_record_fields_and_timestamp_width():
    m = enabled(ts_width=10, port=9, direction=Direction.EGRESS)
    rec = m.observe(req(addr=0xABC0, tag=0x1234), cycle=1029)
    assert rec == EmcRecord(
        timestamp=1029 % 1024,
        channel=Channel.M2S_REQ,
        opcode=int(M2SReqOpcode.MEMRD),
        direction=Direction.EGRESS,
        tag=0x1234,
        addr=0xABC0,
        port=9,
    )
    with pytest.raises(ValueError, match="taps M2S_REQ"):
        m.observe(D2HReq(D2HReqOpcode.RDOWN), 0)


def test_address_window_is_inclusive_at_line_granularity():
    m = enabled()
    m.csr_write(EmcCsr.ADDR_BASE_LO, 0x1000 | 0x3F)  # low 6 bits ignored
    m.csr_write(EmcCsr.ADDR_LIMIT_LO, 0x2000)
    m.csr_write(EmcCsr.ADDR_LIMIT_HI, 0)
    assert m.csr_read(EmcCsr.ADDR_BASE_LO) == 0x1000
    outcomes = [m.observe(req(addr=a), 0) is not None for a in (0xFC0, 0x1000, 0x2000, 0x2040)]
    assert outcomes == [False, True, True, False]
    assert m.counters["FILTERED"] == 2


def test_high_address_bits():
    m = enabled()
    m.csr_write(EmcCsr.ADDR_BASE_HI, 0xFFFFFFFF)  # only [19:0] stored
    assert m.csr_read(EmcCsr.ADDR_BASE_HI) == 0xFFFFF
    assert m.observe(req(addr=(1 << 52) - 64), 0) is not None
    assert m.observe(req(addr=(1 << 51)), 0) is None


def test_opcode_mask():
    m = enabled()
    m.csr_write(EmcCsr.OPCODE_MASK, 1 << M2SReqOpcode.MEMINV)
    assert m.observe(req(opcode=M2SReqOpcode.MEMINV), 0) is not None
    assert m.observe(req(opcode=M2SReqOpcode.MEMRD), 0) is None


@pytest.mark.parametrize(
    ("period", "pattern"), [(0, "RRRRRR"), (1, "RRRRRR"), (2, "RSRSRS"), (3, "RSSRSS")]
)
def test_one_in_n_sampling_records_the_first_then_every_nth(period, pattern):
    m = enabled()
    m.csr_write(EmcCsr.SAMPLE_PERIOD, period)
    got = "".join("R" if m.observe(req(), i) else "S" for i in range(6))
    assert got == pattern


def test_writing_period_or_clear_restarts_the_phase():
    m = enabled()
    m.csr_write(EmcCsr.SAMPLE_PERIOD, 3)
    assert m.observe(req(), 0) and not m.observe(req(), 1)
    m.csr_write(EmcCsr.SAMPLE_PERIOD, 3)
    assert m.observe(req(), 2)
    assert not m.observe(req(), 3)
    m.csr_write(EmcCsr.CTRL, 0b11)  # enable + clear
    assert all(v == 0 for v in m.counters.values())
    assert m.observe(req(), 4)


def test_full_fifo_drops_are_counted_and_pop_frees_a_slot():
    m = enabled(fifo_depth=2)
    assert m.observe(req(tag=1), 0) and m.observe(req(tag=2), 1)
    assert m.observe(req(tag=3), 2) is None
    assert m.counters["DROPPED"] == 1 and m.counters["RECORDED"] == 2
    assert m.csr_read(EmcCsr.STATUS) == 2 | 1 << 16 | 1 << 17
    assert m.pop().tag == 1
    assert m.observe(req(tag=4), 3) is not None
    assert [m.pop().tag, m.pop().tag] == [2, 4]
    with pytest.raises(IndexError):
        m.pop()


ops = st.lists(
    st.one_of(
        st.tuples(st.just("msg"), st.integers(0, (1 << 46) - 1), st.sampled_from(M2SReqOpcode)),
        st.tuples(st.just("pop"), st.just(0), st.just(0)),
        st.tuples(
            st.just("csr"),
            st.sampled_from(list(EmcCsr)),
            st.integers(0, 0xFFFFFFFF),
        ),
    ),
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(ops=ops)
def test_seen_is_always_the_sum_of_the_outcomes(ops):
    m = enabled(fifo_depth=4)
    for cycle, (kind, a, b) in enumerate(ops):
        if kind == "msg":
            m.observe(req(addr=a << 6, opcode=b), cycle)
        elif kind == "pop" and m.fifo:
            m.pop()
        elif kind == "csr":
            m.csr_write(a, b)
        assert m.invariant_holds, m.counters
        assert len(m.fifo) <= 4


def test_a_model_tapping_every_channel_records_direction_and_port_per_message():
    m = enabled(fifo_depth=4)
    assert m.taps(req(), Direction.INGRESS) and not m.taps(req(), Direction.EGRESS)
    with pytest.raises(ValueError, match="taps M2S_REQ"):
        m.observe(D2HReq(D2HReqOpcode.RDCURR, cqid=5, addr=0x80), 1)
    every = EmcMonitorModel(EmcParams(fifo_depth=4), taps_every_channel=True)
    every.csr_write(EmcCsr.CTRL, 1)
    d2h = D2HReq(D2HReqOpcode.RDCURR, cqid=5, addr=0x80)
    assert every.taps(d2h, Direction.EGRESS) and every.taps(req(), Direction.EGRESS)
    got = every.observe(d2h, 9, direction=Direction.EGRESS, port=0x7E)
    assert got == EmcRecord.of(d2h, 9, Direction.EGRESS, 0x7E)
    assert every.observe(req(), 10) == EmcRecord.of(req(), 10)  # default: the RTL parameters
    assert list(every.fifo) == [got, EmcRecord.of(req(), 10)]
