# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test setup lab

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installed once: each stamp is remade only when pyproject.toml changes, so a second run
# calls no pip at all (and works offline). The demo needs the package alone; the tests
# also need the test extras (torch first, alone, as for bench: pip then takes the local CPU build).
$(VENV)/.stamp-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.stamp-demo

setup: $(VENV)/.stamp-test

# Set up (the package only), then answer every query of the front-door example.
demo: $(VENV)/.stamp-demo
	$(BIN)/causaldsl run tutorials/smoking.causal

# Set up, then run the whole test suite (doctests included).
test: $(VENV)/.stamp-test
	$(BIN)/python -m pytest -n 2

# JupyterLab on the venv (causaldsl, its %%causal magic and the highlighting extension installed).
lab: $(VENV)/.stamp-demo
	$(BIN)/jupyter lab tutorials

# Install the peers (torch first, alone, so pip takes the local CPU build), then run the
# side-by-side benchmarks on the bnlearn networks (causaldsl, pgmpy, pyAgrum; the total time is in its table)
# and copy the table into README.md; `make bench BENCH_ARGS=--quick` runs a short subset (a few
# minutes; README untouched). `make bench-synthetic` runs the older seeded random workloads
# against Pyro, ChiRho, PyMC, DoWhy, NumPyro and a hand-written einsum.
.PHONY: bench bench-peers bench-synthetic
bench-peers: setup
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[bench]"

bench: bench-peers
	$(BIN)/python -m benchmarks.bnlearn $(BENCH_ARGS)
	$(if $(findstring --quick,$(BENCH_ARGS)),,$(BIN)/python -m benchmarks.bnlearn.readme)

bench-synthetic: bench-peers
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# Rebuild the JupyterLab extension (syntax highlighting for %%causal cells and .causal files)
# from jupyter_ext/labextension into causaldsl/labextension, which is committed: installing
# the package needs no Node.js. Needs Node.js >= 20 and npm; then reinstall (make setup).
.PHONY: labextension
labextension: setup
	$(BIN)/python -m pip install --quiet "jupyter-builder>=1.3"
	cd jupyter_ext/labextension && npm ci --no-audit --no-fund && PATH="$(abspath $(BIN)):$$PATH" npm run build
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(VENV)/.stamp-demo
