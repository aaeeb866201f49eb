# The two commands of the README. Each sets itself up from nothing:
# a virtual environment in .venv, imbfast built from source and installed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-isa fuzz fuzz-ci sanitize bench lint clean

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
	$(BIN)/python -m pytest --doctest-modules --pyargs imbfast tests --durations=20

# The core, neighbour and parity tests again under every other instruction
# set this CPU supports (the run above used the best one); test_isa.py checks
# that all of them give bit-identical outputs.
ISA_TESTS ?= tests/test_core.py tests/test_neighbors.py tests/test_smote.py tests/test_cleaning.py $(wildcard tests/test_parity*.py)
test-isa: $(VENV)/.installed-test
	@for isa in $$($(BIN)/python -c "from imbfast import _core; o = ['generic', 'avx2', 'avx512']; print(*o[:o.index(_core.best_isa())])"); do \
	  echo "== IMBFAST_ISA=$$isa"; \
	  IMBFAST_ISA=$$isa $(BIN)/python -m pytest $(ISA_TESTS) -x -q || exit 1; \
	done

bench: $(VENV)/.installed-test
	$(BIN)/python -m pytest benchmarks --benchmark-only --benchmark-group-by=group --benchmark-columns=median,min,rounds

lint: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/python -m ruff check python tests benchmarks

clean:
	rm -rf $(VENV) build
