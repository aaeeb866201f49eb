# The two commands of the README. Each sets itself up from nothing:
# a virtual environment in .venv, imbfast built from source and installed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-torch test-isa fuzz sanitize bench bench-report lint clean

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
# set this CPU supports (the run above used the best one; with AVX-512 VNNI,
# avx512 without it is another); test_isa.py checks that all of them give
# bit-identical outputs.
ISA_TESTS ?= tests/test_core.py tests/test_neighbors.py tests/test_smote.py tests/test_cleaning.py $(wildcard tests/test_parity*.py)
test-isa: $(VENV)/.installed-test
	@for isa in $$($(BIN)/python -c "from imbfast import _core; o = ['generic', 'avx2', 'avx512']; print(*o[:o.index(_core.best_isa()) + _core.vnni_active()])"); do \
	  echo "== IMBFAST_ISA=$$isa"; \
	  IMBFAST_ISA=$$isa $(BIN)/python -m pytest $(ISA_TESTS) -x -q || exit 1; \
	done

# Over 10,000 fuzz examples (4 targets x 2,600), each target in a child
# process; a fresh Hypothesis seed each run (FUZZ_SEED=n repeats one).
# `make test` runs the same tests with 100 examples per target, seed 0.
FUZZ_SEED ?= $(shell date +%s)
fuzz: $(VENV)/.installed-test
	@echo "fuzz seed $(FUZZ_SEED)"
	IMBFAST_FUZZ_EXAMPLES=2600 IMBFAST_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/python -m pytest tests/test_fuzz.py -q -p no:cacheprovider --timeout=3600

# The core built with AddressSanitizer + UndefinedBehaviorSanitizer (every
# finding fatal) in its own venv and build dir, then the core, neighbour and
# hardening tests and 1,500 core fuzz examples under it. A Python extension
# needs libasan preloaded (and libstdc++, or C++ exceptions abort); huge
# allocations must fail with MemoryError, not abort.
SAN_VENV ?= build/sanitize/venv
SAN_TESTS ?= tests/test_core.py tests/test_neighbors.py tests/test_hardening.py
SAN_ENV = LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libstdc++.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1
sanitize:
	test -x $(SAN_VENV)/bin/python || $(PYTHON) -m venv $(SAN_VENV)
	$(SAN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAN_VENV)/bin/python -m pip install --quiet ".[test]" -Ccmake.define.IMBFAST_SANITIZE=ON -Cbuild-dir=build/sanitize/cmake
	$(SAN_ENV) $(SAN_VENV)/bin/python -m pytest $(SAN_TESTS) -q -p no:cacheprovider -m "not slow"
	$(SAN_ENV) $(SAN_VENV)/bin/python tests/fuzz_worker.py --target core --examples 1500 --seed 0

# Optional: BalancedBatchSampler inside a real torch DataLoader. Tries the
# CPU-only wheel index first; where it is unreachable, plain `pip install
# torch` (on Linux that wheel pulls the CUDA libraries, several GB).
test-torch: $(VENV)/.installed-test
	$(BIN)/python -c "import torch" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu || \
		$(BIN)/python -m pip install --quiet torch
	$(BIN)/python -m pytest tests/test_batch_sampler.py tests/test_readme.py -rs

bench: $(VENV)/.installed-test
	$(BIN)/python -m pytest benchmarks --benchmark-only --benchmark-group-by=group --benchmark-columns=median,min,rounds

# Every performance table of the README, measured from scratch and written
# between its bench-report markers (both libraries per row, same threads,
# outputs asserted equal; about 15 minutes on this 2-core machine).
# BENCH_QUICK=1: the same rows on tiny sizes (about 2 minutes), written to
# build/bench-report-quick.md instead of the README.
bench-report: $(VENV)/.installed-test
ifeq ($(filter-out 0,$(BENCH_QUICK)),)
	$(BIN)/python benchmarks/bench_report.py --readme README.md
else
	mkdir -p build
	$(BIN)/python benchmarks/bench_report.py --quick --out build/bench-report-quick.md
endif

# ruff, and the import contract (layers, no private names across modules;
# see tests/test_layers.py), which `make test` also runs.
lint: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/python -m ruff check python tests benchmarks
	$(BIN)/python -m pytest tests/test_layers.py -q -p no:cacheprovider

clean:
	rm -rf $(VENV) build
