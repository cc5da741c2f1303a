"""cocotb test infrastructure for the RTL blocks: bus models, CSR master, runner, block registry.

The bus models (``stream``: per-beat, ``batched``: a batch per wake-up, ``csr``) import cocotb
and only work inside a simulator; the runner, the block registry and the HDL parser work
anywhere (pytest, scripts). (Not a co-simulation bridge between the Python fabric model and
RTL: that would be ``slugsim.cosim``, a name kept free for it.)
"""
