"""The coherence tables: well-formed, documented, and strict about pairs they do not list."""

from __future__ import annotations

import pytest
from slugsim.coherence import DEVICE_TABLE, HOME_TABLE, DeviceCache, HomeAgent
from slugsim.coherence.device import DeviceEvent, DeviceState
from slugsim.coherence.docs import DOC_PATH, main, render
from slugsim.coherence.home import HostEvent, HostState
from slugsim.coherence.latency import ACTION_LATENCIES, ACTION_LATENCY_PS, rule_latency_ps
from slugsim.coherence.table import Described, ProtocolError, Table


def test_the_generated_document_is_current() -> None:
    assert DOC_PATH.read_text() == render(), "run `python -m slugsim.coherence.docs`"
    assert main(["--check"]) == 0


def test_check_mode_reports_a_stale_document(tmp_path) -> None:
    stale = tmp_path / "tables.md"
    stale.write_text("old\n")
    assert main(["--check", "--output", str(stale)]) == 1
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0


def test_every_action_is_a_method_and_has_a_cited_latency() -> None:
    for table, controller, kind in (
        (HOME_TABLE, HomeAgent, "home"),
        (DEVICE_TABLE, DeviceCache, "device"),
    ):
        table.check_actions(controller)
        assert table.actions() == set(ACTION_LATENCIES[kind]), kind
        for action, latency in ACTION_LATENCIES[kind].items():
            assert latency.source, f"{kind}.{action} has no source"
            assert latency.ps >= 0


def test_rule_latency_sums_its_actions() -> None:
    rule = DEVICE_TABLE.transition(DeviceState.MIA, DeviceEvent.GO_WritePull)
    assert rule.actions[0] == "send_evict_data"
    assert rule_latency_ps("device", rule) == ACTION_LATENCY_PS["device"]["send_evict_data"]
    assert ACTION_LATENCY_PS["device"]["send_rsp_ihiti"] == 90_000  # S32 Tbl 13-2


def test_missing_and_impossible_pairs_raise_and_stalls_are_written_down() -> None:
    with pytest.raises(ProtocolError, match="no rule"):
        DEVICE_TABLE.transition(DeviceState.I, DeviceEvent.GO_S)
    with pytest.raises(ProtocolError, match="impossible"):
        DEVICE_TABLE.transition(DeviceState.ISA, DeviceEvent.SnpInv)
    with pytest.raises(ProtocolError, match="impossible"):
        HOME_TABLE.transition(HostState.M, HostEvent.SfVictim)
    stall = DEVICE_TABLE.transition(DeviceState.ISD, DeviceEvent.SnpInv)
    assert stall.kind.name == "STALL" and "data" in stall.why


def test_tables_report_their_size() -> None:
    home, device = HOME_TABLE.size(), DEVICE_TABLE.size()
    assert home["states"] == len(HostState) and home["events"] == len(HostEvent)
    assert device["states"] == len(DeviceState) and device["events"] == len(DeviceEvent)
    assert home["rules"] > 400 and device["rules"] > 400


def test_a_table_refuses_two_rules_for_one_pair() -> None:
    class St(Described):
        A = "a"

    class Ev(Described):
        X = "x"

    table: Table[St, Ev] = Table("t", St, Ev)
    table.rule(St.A, Ev.X, [], St.A)
    with pytest.raises(ValueError, match="two rules"):
        table.stall(St.A, Ev.X, "again")
