"""The DCOH bias testbench, a package only so that pytest collects it as
``dcoh_bias.test_dcoh_bias`` (the runner imports ``test_<block>`` in the simulator)."""
