"""Link construction from LinkParams: slot bandwidth, flit formats, sender pipelines."""

import pytest
from slugsim.components import SLOT_BYTES, connect, slot_bandwidth
from slugsim.cxl import S2MDRS, MessageClass, S2MDRSOpcode
from slugsim.fabric import SystemBuilder, TopologyError
from slugsim.fabric.params import LinkParams
from slugsim.kernel import Component, Simulator, ns


def test_slot_bandwidth_per_flit_format():
    # Gen5 x8 = 32 GB/s raw per direction; 256B flits give 240 B of slots per 256 B.
    assert slot_bandwidth(LinkParams(rate=32 * 10**9, width=8, flit_bytes=256)) == 30 * 10**9
    # 68B flits: 64 B of slots per 68 B on the wire.
    assert slot_bandwidth(LinkParams(rate=32 * 10**9, width=16, flit_bytes=68)) == (
        64 * 10**9 * 64 // 68
    )


def test_68b_flits_stop_at_32_gts():
    # Checked once, by the builder's validation; slot_bandwidth trusts it.
    slow_flits = LinkParams(rate=64 * 10**9, flit_bytes=68)
    builder = SystemBuilder().host("h").type3("m").link("h", "m", slow_flits)
    with pytest.raises(TopologyError, match="68-byte flits at 64 GT/s"):
        builder.build()


def _pair(sim, params, **kw):
    a, b = Component(sim, "a"), Component(sim, "b")
    seen = []
    b.add_port("in", handler=lambda m: seen.append((sim.now, m)))
    link = connect(sim, a.add_port("out"), b.port("in"), params, **kw)
    return a.port("out"), link, seen


def test_read_response_takes_five_slots_and_the_calibrated_share_of_the_link():
    sim = Simulator()
    params = LinkParams(rate=32 * 10**9, width=8, latency=ns(10))
    out, _, seen = _pair(sim, params)
    drs = S2MDRS(S2MDRSOpcode.MEMDATA, tag=1, dpid=3)
    assert -(-drs.wire_bytes // SLOT_BYTES) == 5
    for _ in range(100):
        out.send(drs)
    sim.run()
    # 100 lines of 64 B in the time of 100 x 80 B at 30 GB/s: 75 % of the raw 32 GB/s.
    last = seen[-1][0] - ns(10)
    assert last == -(-5 * SLOT_BYTES * 10**12 // (30 * 10**9)) * 100
    assert 64 * 100 / (last / 1e12) == pytest.approx(24e9, rel=1e-3)


def test_pipeline_delays_delivery_but_not_credit_returns():
    sim = Simulator()
    out, link, seen = _pair(sim, LinkParams(latency=ns(10), credits=1))
    out.pipeline = ns(100)
    out.send(S2MDRS(S2MDRSOpcode.MEMDATA))
    sim.run()
    slots = -(-S2MDRS.wire_bytes // SLOT_BYTES)
    serialise = -(-slots * SLOT_BYTES * 10**12 // slot_bandwidth(LinkParams()))
    assert seen[0][0] == ns(100) + serialise + ns(10)
    # The credit came back one link latency after the receiver freed it, not 100 ns later.
    vc = link.ab.virtual_channel(MessageClass.S2M_DRS)
    assert vc.credit_returns() == [seen[0][0] + ns(10)]
