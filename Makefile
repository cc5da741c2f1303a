# slugsim front door. `make setup` once, then `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
APT_PACKAGES := verilator iverilog yosys gtkwave make g++ python3-venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

TOPO ?= topologies/quickstart.yaml
OUT ?= out
SEED ?=
BLOCK ?= emc_monitor

.PHONY: setup apt test lint format header bench sim waves clean help

help:
	@echo "make setup   install apt packages that are missing and the .venv (idempotent)"
	@echo "make test    run the whole suite (unit tests + cocotb RTL regression)"
	@echo "make lint    ruff, generated-header check, and RTL lint once rtl/ has modules"
	@echo "make sim TOPO=topologies/quickstart.yaml [OUT=dir] [SEED=n]"
	@echo "make waves BLOCK=emc_monitor [HEADLESS=1]"
	@echo "make bench   kernel benchmark against SimPy"

setup: apt $(VENV)/.installed
	@echo "setup: done (activate with: source $(VENV)/bin/activate)"

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing apt packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "setup: apt packages present ($(APT_PACKAGES))"; fi

$(VENV)/.installed: pyproject.toml
	@[ -x $(PY) ] || { echo "setup: creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "setup: installing slugsim and its dev extras into $(VENV)"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $@

test:
	@[ -x $(PY) ] || { echo "run 'make setup' first" >&2; exit 2; }
	$(PY) -m pytest -n auto -q

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m slugsim.cxl.header --check
	$(PY) -m slugsim.emc.header --check
	$(PY) -m slugsim.coherence.header --check
	$(PY) -m slugsim.ats.header --check
	@if [ -x scripts/lint_rtl.sh ]; then scripts/lint_rtl.sh; fi

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

header:
	$(PY) -m slugsim.cxl.header
	$(PY) -m slugsim.emc.header
	$(PY) -m slugsim.coherence.header
	$(PY) -m slugsim.ats.header

bench:
	$(PY) scripts/bench_kernel.py

sim:
	$(VENV)/bin/slugsim run $(TOPO) --out $(OUT) $(if $(SEED),--seed $(SEED))

waves:
	$(PY) scripts/waves.py $(BLOCK) $(if $(HEADLESS),--headless)

clean:
	rm -rf build sim_build .pytest_cache .ruff_cache out
