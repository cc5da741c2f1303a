#!/usr/bin/env python3
"""The isolation attack table: every attack of ``slugsim.ats.isolation`` under both host
policies, with the evidence and the refusals the host logged; the table comes last.

    PYTHONPATH=models python scripts/ats_attacks.py
"""

from __future__ import annotations

from slugsim.ats.iommu import Policy
from slugsim.ats.isolation import ATTACKS


def main() -> None:
    outcomes = [(attack, {p: attack(p) for p in Policy}) for attack in ATTACKS]
    for _, by_policy in outcomes:
        for outcome in by_policy.values():
            print(f"{outcome.scenario} [{outcome.policy.value}]: {outcome.evidence}")
            for d in outcome.denials:
                print(f"    refused: device {d.device} {d.opcode} HPA {d.addr:#x} ({d.reason})")
    width = max(len(o[Policy.CHECK].scenario) for _, o in outcomes)
    print()
    print(f"| {'scenario':<{width}} | check   | trust_translated |")
    print(f"|{'-' * (width + 2)}|---------|------------------|")
    for _, by_policy in outcomes:
        check, trust = by_policy[Policy.CHECK], by_policy[Policy.TRUST_TRANSLATED]
        print(f"| {check.scenario:<{width}} | {check.verdict:<7} | {trust.verdict:<16} |")


if __name__ == "__main__":
    main()
