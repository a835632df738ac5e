# accelgen: every target installs what it needs first (via `setup`), so on a fresh machine
# `make demo` and `make test` are the only two commands a newcomer types.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp
JOBS ?= 2
PYTEST_ARGS ?=

.PHONY: setup test test-slow demo lint verilog synth formal bench clean doctor help

help:
	@echo "make demo     end-to-end inference on the generated RTL (report in build/demo/)"
	@echo "make test     the default regression (both simulators)"
	@echo "make setup    install system packages (apt-get, when missing) and the .venv"
	@echo "make lint | verilog | synth | formal | bench | test-slow | doctor | clean"

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@missing=""; \
	command -v iverilog >/dev/null || missing="$$missing iverilog"; \
	command -v g++ >/dev/null && command -v make >/dev/null || missing="$$missing build-essential"; \
	command -v perl >/dev/null || missing="$$missing perl"; \
	python3 -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "setup: installing Debian packages:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "setup: need root for apt-get install$$missing" >&2; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq || echo "setup: apt-get update failed; trying the cached package lists"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@# ccache is optional: it shares the compiled Verilator runtime between models.
	@command -v ccache >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ccache; } \
		>/dev/null 2>&1 || \
		echo "setup: ccache not installed (optional; Verilator builds are slower without it)"
	@# ASIC target (`accelgen synth --target asic`): OpenSTA and the OSU 0.18 um standard cells
	@# (qflow-tech-osu018 pulls in qflow, which also brings Debian's yosys and berkeley-abc).
	@asic=""; command -v sta >/dev/null || asic="$$asic opensta"; \
	dpkg -s qflow-tech-osu018 >/dev/null 2>&1 || asic="$$asic qflow-tech-osu018"; \
	if [ -n "$$asic" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "setup: installing Debian packages for the asic target:$$asic"; \
			{ apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends $$asic; } >/dev/null 2>&1 || \
			echo "setup: could not install$$asic (only \`accelgen synth --target asic\` needs them)"; \
		else echo "setup: not root; the asic target needs the Debian packages$$asic"; fi; \
	fi
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

doctor: setup
	$(BIN)/accelgen doctor

test: setup
	$(BIN)/pytest -n $(JOBS) $(PYTEST_ARGS)

test-slow: setup
	$(BIN)/pytest -n $(JOBS) -m slow $(PYTEST_ARGS)

demo: setup
	$(BIN)/accelgen demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/accelgen lint -o build/lint

verilog: setup
	$(BIN)/accelgen generate eie -o build/verilog/eie
	$(BIN)/accelgen generate diannao -o build/verilog/diannao

synth: setup
	$(BIN)/accelgen synth --default-set -o build/synth $(SYNTH_ARGS)

formal: setup
	$(BIN)/pytest -m formal $(PYTEST_ARGS)

bench: setup
	$(BIN)/accelgen bench -o build/bench

clean:
	rm -rf build .pytest_cache .ruff_cache
