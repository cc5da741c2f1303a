"""Isolation with teeth: each attack under both host policies (``check`` blocks, logs and counts
it and nothing changes; ``trust_translated`` shows the leak)."""

from __future__ import annotations

import pytest
from slugsim.ats.iommu import Policy
from slugsim.ats.isolation import (
    DEVICE,
    GuardedScenario,
    _iommu,
    cache_on_io_only,
    hpa_of,
    never_granted,
    stale_translation,
    unbound_ld,
    write_read_only,
)
from slugsim.coherence.device import DeviceEvent as Dev
from slugsim.coherence.ops import CoreOp
from slugsim.coherence.scenario import op

IOMMU_ATTACKS = {
    "never_granted": (never_granted, "ungranted", "RDCURR"),
    "stale_translation": (stale_translation, "ungranted", "RDCURR"),
    "write_read_only": (write_read_only, "read_only", "WRCUR"),
    "cache_on_io_only": (cache_on_io_only, "io_only", "RDSHARED"),
}


@pytest.mark.parametrize("name", IOMMU_ATTACKS)
def test_check_blocks_logs_and_counts_the_attack(name: str) -> None:
    attack, reason, opcode = IOMMU_ATTACKS[name]
    outcome = attack(Policy.CHECK)
    assert not outcome.leaked, outcome.evidence
    assert [(d.device, d.addr, d.reason, d.opcode) for d in outcome.denials] == [
        (DEVICE, hpa_of(1), reason, opcode)
    ]


@pytest.mark.parametrize("name", IOMMU_ATTACKS)
def test_trust_translated_leaks(name: str) -> None:
    outcome = IOMMU_ATTACKS[name][0](Policy.TRUST_TRANSLATED)
    assert outcome.leaked, outcome.evidence
    assert outcome.denials == ()


def test_the_evidence_is_the_secret_or_the_memory_value() -> None:
    blocked = never_granted(Policy.CHECK).evidence
    assert blocked == "no data reached the device (1 load failed with GO-Err)"
    leak = never_granted(Policy.TRUST_TRANSLATED).evidence
    assert leak.startswith("device read ") and leak != "device read 0"
    kept = write_read_only(Policy.CHECK).evidence
    memory, wrote = kept.removeprefix("memory holds ").split(" (host wrote ")
    assert memory == wrote.rstrip(")")
    assert "host core line M" in cache_on_io_only(Policy.CHECK).evidence  # no line changed
    assert "device line S" in cache_on_io_only(Policy.TRUST_TRANSLATED).evidence


def test_granted_accesses_pass_the_check() -> None:
    iommu = _iommu(Policy.CHECK)  # the device owns hot line 0's page, read-write
    store = op(Dev.StoreWrCur, 0)
    sc = GuardedScenario(iommu, dev0=[op(Dev.LoadShared, 0), op(Dev.Evict, 0), store])
    sc.add("core0", op(CoreOp.Load, 0))
    sc.finish()
    assert sc.blocked == [] and iommu.counters.blocked == 0
    assert iommu.counters.checked >= 3
    assert sc.system.home.entry(0).memory == store.value


@pytest.mark.parametrize("policy", list(Policy))
def test_an_unbound_pooled_ld_is_refused_by_the_type3_under_either_policy(policy: Policy) -> None:
    outcome = unbound_ld(policy)
    assert not outcome.leaked
    assert outcome.evidence.startswith("Type-3 refused 50/50")
