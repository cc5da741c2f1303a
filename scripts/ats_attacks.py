#!/usr/bin/env python3
"""The isolation attack table: every attack under both host policies, on the untimed protocol
bench (``slugsim.ats.isolation``) and on the timed fabric (``slugsim.ats.isolation_timed``),
with the evidence and the refusals the host logged; the table comes last.

    PYTHONPATH=models python scripts/ats_attacks.py
"""

from __future__ import annotations

from slugsim.ats import isolation, isolation_timed
from slugsim.ats.iommu import Policy
from slugsim.ats.isolation import Outcome

BENCHES = (("untimed", isolation.ATTACKS), ("timed", isolation_timed.ATTACKS))
SHOWN = 4  # refusals printed per outcome


def main() -> None:
    table: list[tuple[str, dict[str, Outcome]]] = []
    for bench, attacks in BENCHES:
        for attack in attacks:
            by_policy = {p.value: attack(p) for p in Policy}
            table.append((bench, by_policy))
            for outcome in by_policy.values():
                print(f"[{bench}] {outcome.scenario} [{outcome.policy.value}]: {outcome.evidence}")
                for d in outcome.denials[:SHOWN]:
                    print(f"    refused: device {d.device} {d.opcode} HPA {d.addr:#x} ({d.reason})")
                if len(outcome.denials) > SHOWN:
                    print(f"    ... {len(outcome.denials) - SHOWN} more logged")
    width = max(len(o["check"].scenario) for _, o in table)
    print()
    print(f"| {'scenario':<{width}} | bench   | check   | trust_translated |")
    print(f"|{'-' * (width + 2)}|---------|---------|------------------|")
    for bench, by_policy in table:
        check, trust = by_policy["check"], by_policy["trust_translated"]
        print(
            f"| {check.scenario:<{width}} | {bench:<7} | {check.verdict:<7} | {trust.verdict:<16} |"
        )


if __name__ == "__main__":
    main()
