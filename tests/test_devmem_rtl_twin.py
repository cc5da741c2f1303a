"""The HDM-DB protocol model against the DCOH RTL's transaction-level twin (``dcoh_bias.py``):
fed the same accepted inputs, both choose the same snoop-filter victims and send the same
BISnp (opcode, line) stream."""

from __future__ import annotations

import random

import pytest
from slugsim.coherence import dcoh_bias as twin
from slugsim.coherence.dcoh import DevOp
from slugsim.coherence.devmem import DevMemConfig
from slugsim.coherence.tester import build_system
from slugsim.cxl import M2SBIRsp, M2SReq, M2SRwD, S2MBISnp

WANT = {DevOp.Load: twin.Want.SHARED, DevOp.LoadCur: twin.Want.CUR, DevOp.Store: twin.Want.OWN}


@pytest.mark.parametrize(
    ("sets", "ways", "seed", "isa"),
    [(1, 1, 1, 0), (1, 2, 2, 0), (2, 2, 3, 0), (1, 2, 4, 1), (2, 2, 5, 1)],
)
def test_the_protocol_model_and_the_rtl_twin_send_the_same_bisnps(
    sets: int, ways: int, seed: int, isa: int
) -> None:
    # I/A, or I/S/A (one host: S only after a BIRspS, and then device reads need no snoop)
    config = DevMemConfig(hosts=1, lines=6, sf_sets=sets, sf_ways=ways, isa=bool(isa))
    rng = random.Random(seed)
    system = build_system(config, config.generate(rng, 150))
    params = twin.DcohParams(
        addr_width=4, page_lines_log2=0, sf_sets=sets, sf_ways=ways, sf_isa=isa
    )
    ref = params.model()
    ref.bias = [1] * len(ref.bias)  # HDM-DB: every access is the device's own (no host bias)
    ours: list[tuple[int, int]] = []
    observe = system.network.observe

    def watch(src: int, dst: int, msg: object) -> None:
        observe(src, dst, msg)
        if isinstance(msg, S2MBISnp):
            ours.append((int(msg.opcode), msg.addr // 64))

    system.network.observe = watch
    receive, issue = system.dcoh.receive, system.dcoh.issue

    def mirror_receive(src: int, msg: object) -> bool:
        if isinstance(msg, M2SReq):
            line = msg.addr // 64
            ref.m2s_req(twin.M2SReq(int(msg.opcode), line, msg.tag, int(msg.meta_value)))
        elif isinstance(msg, M2SRwD):
            line = msg.addr // 64
            ref.m2s_rwd(twin.M2SRwd(int(msg.opcode), line, msg.tag, int(msg.meta_value)))
        elif isinstance(msg, M2SBIRsp):
            index = next(i for i, t in enumerate(ref.trackers) if t and t.line == msg.bi_tag)
            ref.bi_rsp(twin.BIRsp(int(msg.opcode), index))
        out = receive(src, msg)  # type: ignore[arg-type]
        assert ref.sf.key() == system.dcoh.sf.key(), f"filters differ after {msg}"
        return out

    def mirror_issue(op: object) -> bool:
        kind = op.kind  # type: ignore[attr-defined]
        line = op.line  # type: ignore[attr-defined]
        ref.device_access(twin.DevAccess(0, line, int(kind is DevOp.Store), WANT[kind]))
        out = issue(op)  # type: ignore[arg-type]
        assert ref.sf.key() == system.dcoh.sf.key(), f"filters differ after {op}"
        return out

    system.dcoh.receive, system.dcoh.issue = mirror_receive, mirror_issue  # type: ignore[method-assign]
    while steps := system.enabled():
        system.apply(steps[rng.randrange(len(steps))])
    system.final_check()
    theirs = [(b.opcode, b.line) for b in ref.outputs["bisnp"]]  # type: ignore[attr-defined]
    assert ours == theirs
    assert len(ours) > 20 and ref.counters.bisnp_victim > 0
