# Unicommerce — the two commands are `make run` and `make test`.
#
# Both start from a machine with only Python and the package registries: they find a
# Python >= 3.12 already on the machine (never download one), install uv into a small
# bootstrap environment, install the locked dependencies into .venv, then hand over to
# `python -m unicommerce.devstack`, which starts the embedded PostgreSQL and Redis when
# DATABASE_URL / REDIS_URL are unset.

SHELL := /bin/sh
.DEFAULT_GOAL := help

VENV := .venv
BOOT := .cache/bootstrap
UV_VERSION := 0.13.9
UV := $(BOOT)/bin/uv
PY := $(VENV)/bin/python

# uv must never download an interpreter: we always hand it one from this machine.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_CACHE_DIR ?= $(CURDIR)/.cache/uv

# The interpreter: $UNICOMMERCE_PYTHON if set, else a Python 3.12 (the embedded PostgreSQL
# wheel, pgserver, is built for 3.12 only), else any newer one; on PATH first, then in
# pyenv's installed versions. Prints the interpreter's real path.
PYENV_VERSIONS = $${PYENV_ROOT:-$$HOME/.pyenv}/versions
FIND_PYTHON = for c in "$$UNICOMMERCE_PYTHON" python3.12 \
	  $$(ls -d $(PYENV_VERSIONS)/3.12*/bin/python3 2>/dev/null | sort -rV) python3 \
	  python3.14 python3.13 $$(ls -d $(PYENV_VERSIONS)/3.1[3-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  [ -n "$$c" ] || continue; \
	  "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 \
	    && { "$$c" -c 'import sys; print(sys.executable)'; exit 0; }; \
	done; exit 1

.PHONY: help venv run test lint format messages bench services clean

help:
	@echo "make run      install, start embedded PostgreSQL + Redis, migrate, load demo data,"
	@echo "              serve web + Celery worker + beat (Ctrl-C stops everything)"
	@echo "make test     same set-up, then ruff, import contracts and the whole test suite"
	@echo "make bench    run every benchmark in bench/ (prints JSON, writes bench/results/)"
	@echo "make format   ruff format + autofix"
	@echo "make messages rebuild the French translation catalogue (.mo)"

venv:
	@py="$$( $(FIND_PYTHON) )" || { echo "No Python >= 3.12 found. Install one, or point UNICOMMERCE_PYTHON at it." >&2; exit 1; }; \
	if [ ! -x "$(UV)" ] || ! "$(UV)" --version 2>/dev/null | grep -q "$(UV_VERSION)"; then \
	  echo "bootstrap: installing uv $(UV_VERSION) with $$py"; \
	  "$$py" -m venv "$(BOOT)" && "$(BOOT)/bin/python" -m pip install --quiet "uv==$(UV_VERSION)" || exit 1; \
	fi; \
	if [ -x "$(PY)" ] && ! "$(PY)" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  echo "bootstrap: $(VENV) was made with Python < 3.12, recreating it"; rm -rf "$(VENV)"; \
	fi; \
	"$(UV)" sync --frozen --quiet --compile-bytecode --python "$$py"

run: venv
	$(PY) -m unicommerce.devstack run

test: venv lint
	$(PY) -m unicommerce.devstack test -- $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: venv
	$(PY) -m unicommerce.devstack manage compile_translations

bench: venv
	$(PY) -m unicommerce.devstack bench

services: venv
	$(PY) -m unicommerce.devstack services

clean:
	rm -rf $(VENV) $(BOOT) staticfiles test-artifacts
