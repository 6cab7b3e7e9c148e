# Siteflow developer commands (GNU make).
#
#   make run               bootstrap, migrate, seed the demo workspace, start web + worker + beat
#   make test              bootstrap, run the whole test suite (PYTEST_ARGS=... passes options through)
#   make lint              ruff check + ruff format --check
#   make migrations-check  fail when a model change has no migration
#   make bench             load-test the API, builder, CRM, email and workflows on PostgreSQL + Redis
#                          (BENCH_WORKFLOW_ONLY=1 for the workflows alone; see docs/benchmarks.md)
#   make clean             remove caches and build output (make distclean also drops .venv and var/)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PORT ?= 8000
PYENV_ROOT ?= $(HOME)/.pyenv
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS := $(wildcard requirements*.txt)
# pytest-xdist workers; 0 runs the suite in one process. On Redis each worker uses a database of
# its own (tests/conftest.py).
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

ifeq ($(PYTEST_WORKERS),0)
XDIST :=
else
XDIST := -n $(PYTEST_WORKERS)
endif

# An existing .venv is kept only if its interpreter runs and is Python >= 3.12; otherwise it is rebuilt.
VENV_OK := $(shell $(PY) -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1 && echo yes)

.PHONY: help bootstrap run test lint migrations-check bench clean distclean FORCE

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

# --- Bootstrap -----------------------------------------------------------------------------------
# pyvenv.cfg (not bin/python, a symlink whose mtime is the base interpreter's) marks the venv.
$(VENV)/pyvenv.cfg: $(if $(VENV_OK),,FORCE)
	@py=""; \
	for cand in python3.13 python3.12 python3.14; do \
	  if command -v "$$cand" >/dev/null 2>&1 && "$$cand" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then \
	    py="$$cand"; break; \
	  fi; \
	done; \
	if [ -z "$$py" ]; then \
	  for cand in $(PYENV_ROOT)/versions/3.13*/bin/python3 $(PYENV_ROOT)/versions/3.12*/bin/python3 \
	              $(PYENV_ROOT)/versions/3.1[4-9]*/bin/python3; do \
	    if [ -x "$$cand" ] && "$$cand" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then \
	      py="$$cand"; break; \
	    fi; \
	  done; \
	fi; \
	if [ -z "$$py" ] && command -v python3 >/dev/null 2>&1 \
	   && python3 -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then \
	  py=python3; \
	fi; \
	if [ -z "$$py" ]; then \
	  echo "error: Siteflow needs Python >= 3.12, and none was found." >&2; \
	  echo "       Looked for python3.13, python3.12, python3.14 on PATH, $(PYENV_ROOT)/versions/3.1x, and python3." >&2; \
	  echo "       Install one (e.g. apt-get install python3.12, or pyenv install 3.13) and run make again." >&2; \
	  exit 1; \
	fi; \
	echo "Creating $(VENV) with $$py ($$("$$py" -c 'import sys; print(sys.version.split()[0])'))"; \
	rm -rf $(VENV); \
	"$$py" -m venv $(VENV) || { \
	  echo "error: '$$py -m venv' failed; on Debian/Ubuntu install the matching python3.X-venv package." >&2; \
	  rm -rf $(VENV); exit 1; }

$(STAMP): $(VENV)/pyvenv.cfg $(REQUIREMENTS)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

bootstrap: $(STAMP)

FORCE:

# --- Run -----------------------------------------------------------------------------------------
run: bootstrap
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo
	@echo "  Siteflow: http://127.0.0.1:$(PORT)"
	@$(PY) -c 'import os; os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings"); \
	  from django.conf import settings; print(f"  Demo login: {settings.DEMO_EMAIL} / {settings.DEMO_PASSWORD}")'
	@echo "  Ctrl-C stops web, worker and beat."
	@echo
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PORT=$(PORT) exec $(VENV)/bin/honcho start -f Procfile -p $(PORT)

# --- Checks --------------------------------------------------------------------------------------
test: bootstrap
	$(VENV)/bin/pytest $(XDIST) $(PYTEST_ARGS)

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

migrations-check: bootstrap
	$(PY) manage.py makemigrations --check --dry-run

bench: bootstrap
	bash bench/run.sh

# --- Cleaning ------------------------------------------------------------------------------------
clean:
	rm -rf .pytest_cache .ruff_cache staticfiles var/bench
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) var
