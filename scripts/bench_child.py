#!/usr/bin/env python3
"""One timed run of the models on the ``slugsim`` found on ``PYTHONPATH``: what every
``bench_sim.py`` figure is made of, and the program ``bench_sim.py --compare`` runs in a fresh
interpreter on each tree. It uses only API that trees since ``e99609c`` all have.

    PYTHONPATH=<tree>/models python scripts/bench_child.py quickstart PATH   # requests / wall s
    PYTHONPATH=<tree>/models python scripts/bench_child.py leaf-spine ENDPOINTS REQUESTS [ACTIVE]

prints where ``slugsim`` was imported from (so the caller can check it measured the tree it
meant), then the figure: requests per wall second, or CPU microseconds per request.
"""

from __future__ import annotations

import sys
import time
from typing import Any


def timed_run(graph: Any) -> tuple[int, float, float, float]:
    """(completed requests, elaboration s, simulation wall s, simulation CPU s)."""
    from slugsim.sim import elaborate
    from slugsim.sim.runner import simulate

    t0 = time.perf_counter()
    system = elaborate(graph)
    system.start()
    t1 = time.perf_counter()
    c1 = time.process_time()
    simulate(system)
    t2 = time.perf_counter()
    return system.budget.completed, t1 - t0, t2 - t1, time.process_time() - c1


def main(argv: list[str]) -> int:
    import slugsim

    print(slugsim.__file__)
    if argv[0] == "quickstart":
        from slugsim.config import load_topology

        n, elab, sim, _ = timed_run(load_topology(argv[1]))
        print(repr(n / (elab + sim)))
        return 0
    from slugsim.sim.graphs import leaf_spine_system

    active = int(argv[3]) if len(argv) > 3 else None
    n, _, _, cpu = timed_run(leaf_spine_system(int(argv[1]), int(argv[2]), active=active))
    print(repr(cpu / n * 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
