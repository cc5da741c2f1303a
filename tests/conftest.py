"""Hypothesis settings for the whole suite.

No per-example deadline: CI runs the suite with one xdist worker per core beside Verilator
builds, and a deadline would turn a slow machine into failures that say nothing about the
code. Failing examples are still printed with the blob that reproduces them.
"""

from hypothesis import settings

settings.register_profile("slugsim", deadline=None, print_blob=True)
settings.load_profile("slugsim")
