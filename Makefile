# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test setup

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"

# Set up, then answer every query of the front-door example.
demo: setup
	$(BIN)/causaldsl run tutorials/smoking.causal

# Set up, then run the whole test suite (doctests included).
test: setup
	$(BIN)/python -m pytest -n 2

# Install the peers (torch first, alone, so pip takes the local CPU build), then run the
# side-by-side benchmarks; `make bench BENCH_ARGS=--quick` runs a short subset.
.PHONY: bench
bench: setup
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)
