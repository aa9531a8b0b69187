# Every target installs what it needs into .venv first, so each works on a fresh clone. `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
# Written last by the install: a .venv without it (an install cut short, by Ctrl-C or a failed download) is
# rebuilt from scratch, and so is one that can no longer import the project (Python upgraded, files removed).
STAMP := $(VENV)/.installed
# `make lock` resolves with uv, pinned here so that the same index gives the same lock file. It lives in a venv
# of its own, so that a lock can be made even when the project's dependencies cannot be installed.
UV_VERSION := 0.13.9
TOOLS := .venv-tools
# Tools the lock pins besides the project's dependencies: pip itself and the build backend.
LOCK_TOOLS := pip setuptools>=77
# The newest releases pyproject.toml allows, for `make test-latest`; rebuilt at every run.
LATEST := .venv-latest
# setuptools tells every editable install, as a warning, that folders named like a package may shadow it.
EDITABLE_QUIET := PYTHONWARNINGS='ignore:Editable installation'

.DEFAULT_GOAL := help
.PHONY: help install serve test test-latest lint check conformance fuzz bench bench-tools lock clean clean-data

# -I: the installed project, not the source folder next to it.
ifneq ($(wildcard $(STAMP)),)
ifneq ($(filter-out help clean clean-data lock bench-tools,$(or $(MAKECMDGOALS),help)),)
ifneq ($(shell $(BIN)/python -I -c 'import mockserver' >/dev/null 2>&1 && echo ok),ok)
$(info .venv is broken (it cannot import the project): rebuilding it)
.PHONY: $(STAMP)
endif
endif
endif

help:
	@echo 'make serve        the mock at http://127.0.0.1:8080 on data/collect.json, seeded on first start'
	@echo '                  (PORT=8081 HOST=127.0.0.1 DB=data/other.json ARGS="--no-seed --page-size 20")'
	@echo 'make test         the project'"'"'s tests (what CI runs, with make check)'
	@echo 'make check        ruff format --check, ruff check, mypy --strict, lint-imports (the layers); make lint fixes formatting'
	@echo 'make conformance  the conformance suite against a fresh mock: reports/conformance.md and .xml'
	@echo 'make fuzz         Schemathesis against a fresh mock (EXAMPLES=200 SEED=7); log in reports/'
	@echo 'make bench        the benchmark (needs wrk); writes docs/benchmarks.md'
	@echo 'make lock         re-resolve requirements.lock from pyproject.toml (newest allowed releases)'
	@echo 'make test-latest  the tests against the newest releases pyproject.toml allows, in $(LATEST)'
	@echo 'make install      only install into .venv (every target does it first)'
	@echo 'make clean        remove .venv, $(LATEST) and build output; never data/ (your database)'
	@echo 'make clean-data   remove data/, the database make serve keeps'

install: $(STAMP)

# From scratch every time: a half-made environment is never patched up.
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: Python 3.11 or newer is needed; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." \
	       "Give another one: make PYTHON=python3.12 ..." >&2; exit 1; }
	@echo "installing into $(VENV) (the first time takes a minute or two)"
	rm -rf $(VENV)
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "error: '$(PYTHON) -m venv' failed; on Debian or Ubuntu: sudo apt-get install python3-venv" >&2; exit 1; }
	PIP_CONSTRAINT=$(LOCK) $(BIN)/python -m pip install --quiet --disable-pip-version-check pip
	$(EDITABLE_QUIET) PIP_CONSTRAINT=$(LOCK) $(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# Only what is given on the make command line becomes a flag (a PORT or HOST variable of your shell does not);
# MOCKSERVER_* variables reach the mock either way (collect-mock serve --help lists them).
given = $(if $(filter command line,$(origin $(1))),$(2) '$($(1))')

serve: $(STAMP)
	$(BIN)/collect-mock serve $(call given,HOST,--host) $(call given,PORT,--port) $(call given,DB,--db) $(ARGS)

test: $(STAMP)
	$(BIN)/pytest

test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(EDITABLE_QUIET) $(LATEST)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade \
	  --upgrade-strategy eager -e '.[dev]'
	@$(LATEST)/bin/python -m pip list --format=freeze --exclude-editable --disable-pip-version-check | \
	  $(LATEST)/bin/python scripts/lock-diff $(LOCK)
	$(LATEST)/bin/pytest

lint: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

conformance: $(STAMP)
	$(BIN)/collect-conformance --spawn-mock --report reports/conformance.md --junit-xml reports/conformance.xml

fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz $(if $(EXAMPLES),--max-examples $(EXAMPLES)) $(if $(SEED),--seed $(SEED))

# The tools the benchmark needs are checked first, with the system Python, before any install: it names the
# command that installs what is missing (it never installs system packages itself).
bench: bench-tools $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

bench-tools:
	@$(PYTHON) -m benchmarks.prerequisites $(ARGS)

lock: $(TOOLS)/uv-$(UV_VERSION)
	printf '%s\n' '$(LOCK_TOOLS)' | tr ' ' '\n' | $(TOOLS)/bin/uv pip compile pyproject.toml - --all-extras --universal \
	  --python-version 3.11 --upgrade --quiet --custom-compile-command 'make lock' --output-file $(LOCK)

$(TOOLS)/uv-$(UV_VERSION):
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@touch $@

clean:
	rm -rf $(VENV) $(LATEST) $(TOOLS) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache

clean-data:
	rm -rf data
