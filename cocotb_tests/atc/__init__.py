"""The ATC's testbench, a package only so that pytest collects it as ``atc.test_atc``: its file
name must be ``test_atc.py`` (the runner imports ``test_<block>`` in the simulator), which
``tests/test_atc.py`` (the model's unit tests) already is in pytest's flat module namespace."""
