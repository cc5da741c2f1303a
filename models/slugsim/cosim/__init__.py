"""Co-simulation: cocotb bus models, the cached cocotb runner, and the RTL block registry.

The bus models import cocotb and only work inside a simulator; the runner and the block
registry work anywhere (pytest, scripts).
"""
