# The two commands of the README. Each sets itself up from nothing:
# a virtual environment in .venv, imbfast built from source and installed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-torch bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-%: $(BIN)/python pyproject.toml CMakeLists.txt $(shell find cpp python -type f 2>/dev/null)
	$(BIN)/python -m pip install --quiet ".[$*]"
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(VENV)/.installed-test
	$(BIN)/imbfast demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest --doctest-modules --pyargs imbfast tests

# Optional: BalancedBatchSampler inside a real torch DataLoader. Tries the
# CPU-only wheel index first; where it is unreachable, plain `pip install
# torch` (on Linux that wheel pulls the CUDA libraries, several GB).
test-torch: $(VENV)/.installed-test
	$(BIN)/python -c "import torch" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu || \
		$(BIN)/python -m pip install --quiet torch
	$(BIN)/python -m pytest tests/test_batch_sampler.py -rs

bench: $(VENV)/.installed-test
	$(BIN)/python -m pytest benchmarks --benchmark-only --benchmark-group-by=group --benchmark-columns=median,min,rounds

lint: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/python -m ruff check python tests benchmarks

clean:
	rm -rf $(VENV) build
