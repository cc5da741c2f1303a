# Debug entry for a block's testbench (the regression runs it through pytest); included by
# cocotb_tests/<block>/Makefile, the block being the folder's name.
#   make                      all cocotb tests, both simulators, every parameter set
#   make SIM=icarus K=reset   one simulator, tests matching K
#   make WAVES=1 [HEADLESS=1] record the waveform and open GTKWave (or render a PNG)
BLOCK ?= $(notdir $(CURDIR))
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
PY := .venv/bin/python
K ?=

.PHONY: all
all:
ifeq ($(WAVES),1)
	cd $(ROOT) && $(PY) scripts/waves.py $(BLOCK) $(if $(HEADLESS),--headless) $(if $(SIM),--sim $(SIM))
else
	cd $(ROOT) && SIM=$(SIM) $(PY) -m pytest -q -n auto cocotb_tests/$(BLOCK) $(if $(K),-k $(K))
endif
