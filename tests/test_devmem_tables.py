"""The device-memory tables: well-formed, documented, strict; the monitor and the checks bite."""

from __future__ import annotations

import pytest
from slugsim.coherence.dcoh import (
    BIAS_TABLE,
    DEVICE_SF_TABLE,
    BiasController,
    BiasEvent,
    BiasState,
    DeviceSnoopFilter,
    SfEvent,
    SfState,
)
from slugsim.coherence.devmem import DEVICE, DevMemConfig, MemMonitor
from slugsim.coherence.devmem_host import HOST_MEM_TABLE, HostMemAgent, HostMemEvent, HostMemState
from slugsim.coherence.docs import TABLES
from slugsim.coherence.latency import ACTION_LATENCIES
from slugsim.coherence.monitor import Violation
from slugsim.coherence.table import ProtocolError
from slugsim.cxl import M2SBIRsp, M2SBIRspOpcode, S2MBISnp, S2MBISnpOpcode


def test_every_action_is_a_method_with_a_cited_latency_and_every_table_is_rendered() -> None:
    rendered = {kind for _, _, kind in TABLES}
    for table, controller, kind in (
        (HOST_MEM_TABLE, HostMemAgent, "host_mem"),
        (DEVICE_SF_TABLE, DeviceSnoopFilter, "dcoh_sf"),
        (BIAS_TABLE, BiasController, "dcoh_bias"),
    ):
        assert kind in rendered
        table.check_actions(controller)
        assert table.actions() == set(ACTION_LATENCIES[kind]), kind
        assert all(latency.source for latency in ACTION_LATENCIES[kind].values())


def test_the_bisnp_answer_is_charged_the_spec_target() -> None:
    assert ACTION_LATENCIES["host_mem"]["send_birsp_i"].ps == 90_000  # S32 Tbl 13-2


def test_missing_impossible_and_stall_rules() -> None:
    with pytest.raises(ProtocolError, match="impossible"):
        HOST_MEM_TABLE.transition(HostMemState.IXC_K, HostMemEvent.ConflictAck)
    with pytest.raises(ProtocolError, match="impossible"):
        DEVICE_SF_TABLE.transition(SfState.A, SfEvent.BIConflict)
    with pytest.raises(ProtocolError, match="impossible"):
        BIAS_TABLE.transition(BiasState.DEVICE, BiasEvent.HostWrite)
    blocked = DEVICE_SF_TABLE.transition(SfState.SNP_DEV, SfEvent.MemRdS)
    assert blocked.kind.name == "STALL" and "blocking rule" in blocked.why
    drained = DEVICE_SF_TABLE.transition(SfState.SNP_DEV, SfEvent.MemWrI)
    assert drained.kind.name == "DO"  # RwD drains while a BISnp is pending
    wait = HOST_MEM_TABLE.transition(HostMemState.MI_C, HostMemEvent.BISnpInv)
    assert wait.kind.name == "STALL"  # BIRsp only after the dirty data's Cmp


def test_the_monitor_rejects_an_illegal_birsp_and_an_unasked_one() -> None:
    monitor = MemMonitor()
    monitor.on_send(DEVICE, 0, S2MBISnp(opcode=S2MBISnpOpcode.BISNPINV, bi_tag=3, addr=3 * 64))
    with pytest.raises(Violation, match="BIRSPS answers BISNPINV"):
        monitor.on_send(0, DEVICE, M2SBIRsp(opcode=M2SBIRspOpcode.BIRSPS, bi_tag=3))
    with pytest.raises(Violation, match="for no BISnp"):
        MemMonitor().on_send(0, DEVICE, M2SBIRsp(opcode=M2SBIRspOpcode.BIRSPI, bi_tag=3))


def test_configuration_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="mode"):
        DevMemConfig(mode="hdm_x")
    with pytest.raises(ValueError, match="one host"):
        DevMemConfig(mode="hdm_d", hosts=2)
