"""The snoop filter's testbench, a package only so that pytest collects it as
``snoop_filter.test_snoop_filter``: its file name must be ``test_snoop_filter.py`` (the runner
imports ``test_<block>`` in the simulator), which ``tests/test_snoop_filter.py`` (the model's unit
tests) already is in pytest's flat module namespace."""
