# Two commands on a fresh machine: `make run` and `make test`.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the tests need: Chromium (browser test), PostgreSQL (storage tests),
# a Japanese font (legible screenshots of the Japanese pages).
SYSTEM_PACKAGES := chromium postgresql fonts-ipafont-gothic
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)
# pytest-xdist workers for `make test` (each test gets its own SQLite file and PostgreSQL database;
# files are grouped per worker so module fixtures are built once). TEST_WORKERS=0 runs in-process.
TEST_WORKERS ?= 2
# Python may cache compiled bytecode (__pycache__, git-ignored) even where PYTHONDONTWRITEBYTECODE
# is set: every test process and every server or CLI process the tests start otherwise recompiles
# the package, the test modules and the libraries they import (docs/development.md). pip installs
# with --no-compile: a module is compiled once, when first imported, instead of every installed
# module at install time (2 min 21 s -> 50 s for `pip install -e '.[test]'` on a fresh venv).
unexport PYTHONDONTWRITEBYTECODE
PYTEST := $(BIN)/python -m pytest

.PHONY: run test fuzz typecheck system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q --no-compile -e '.[all]'
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q --no-compile -e '.[test]'
	touch $@

# The clinic web app with the fictional demo clinic, on 127.0.0.1 (prints the URL and sign-in).
run: $(VENV)/.installed
	$(BIN)/ifxdose serve --demo --host 127.0.0.1 --port $(or $(PORT),8000)

# Installs the Debian packages once (skipped when present), starts a throwaway PostgreSQL on
# 127.0.0.1 at a free high port for the storage tests, runs the import-layer check and every
# test, and stops PostgreSQL afterwards even when a test fails.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi

test: $(VENV)/.installed-test system-deps
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests benchmarks validation
	$(BIN)/ruff format --check src tests benchmarks validation
	$(BIN)/mypy
	@pgdir=$$(mktemp -d /tmp/ifxdose-pg.XXXXXX); \
	trap 'bash tests/store/postgres.sh stop "$$pgdir"' EXIT; \
	url=$$(bash tests/store/postgres.sh start "$$pgdir") || exit 1; \
	echo "PostgreSQL for the tests: $$url"; \
	IFXDOSE_TEST_POSTGRES_URL="$$url" $(PYTEST) -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The deep fuzz run (not part of `make test`): every property-based fuzz test with
# IFXDOSE_FUZZ_EXAMPLES examples per property instead of the CI counts (tests/fuzzing.py).
FUZZ_EXAMPLES ?= 200
fuzz: $(VENV)/.installed-test
	IFXDOSE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTEST) -q -n $(TEST_WORKERS) --dist loadfile \
	  tests/web/test_fuzz_api.py tests/fhir/test_fhir_roundtrip.py

# mypy --strict on core and domain (configuration: [tool.mypy] in pyproject.toml).
typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/simulate.py

clean:
	rm -rf $(VENV) out .pytest_cache
