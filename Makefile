# The two commands: `make run` (local stage + console) and `make test` (the whole suite).
# .venv is rebuilt only when pyproject.toml changes (its hash is stamped into the venv).
SHELL := /bin/bash
# Lambda's python3.13 runtime is ours: the venv, the tests and CI use the same Python. It is found on PATH
# or under pyenv (not on PATH by default on our machines).
# (pyenv's shim is skipped: it refuses to run unless 3.13 is pyenv's selected version.)
PY ?= $(shell ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13.*/bin/python3.13 2>/dev/null | sort -V | tail -1 | grep . || command -v python3.13 2>/dev/null | grep -v /shims/)
VENV := .venv
STAMP := $(VENV)/.relay-installed
HASH := $(shell cat pyproject.toml Makefile | sha256sum | cut -c1-16)

.PHONY: setup run test test-long bench contract screenshots clean

setup:
	@if [ -z "$(PY)" ]; then echo "setup: python3.13 not found (on PATH or under pyenv): install it, or make PY=/path/to/python3.13" >&2; exit 1; fi
	@if [ -x $(VENV)/bin/python ] && [ "$$($(VENV)/bin/python -c 'import sys; print(sys.version_info[:2] == (3, 13))')" != "True" ]; then \
	  echo "setup: $(VENV) is not Python 3.13; rebuilding it"; rm -rf $(VENV); fi
	@if [ ! -x $(VENV)/bin/python ]; then $(PY) -m venv $(VENV); fi
	@if [ "$$(cat $(STAMP) 2>/dev/null)" != "$(HASH)" ]; then \
	  echo "setup: installing relay and its pinned dependencies into $(VENV) (minutes, once)"; \
	  $(VENV)/bin/pip install -q --upgrade pip && \
	  $(VENV)/bin/pip install -q -e '.[dev]' && echo "$(HASH)" > $(STAMP); fi
	@# the Lambda layer's wheels, checked against infra/layer/requirements-*.lock (downloaded once)
	@$(VENV)/bin/python -m infra.layer.download_wheels

run: setup
	$(VENV)/bin/relay up --demo

# Files are spread over workers (a file's tests stay together: they share its stage). Two per core: much of
# the suite waits on the platform's own clocks (visibility timeouts, settle windows), and a second worker per
# core fills that time; capped so a big machine does not start dozens of stages at once. Files go out in the
# order tests/conftest.py sets (long ones first), not xdist's own (most tests first).
WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); w=$$((n * 2)); [ $$w -gt 8 ] && w=8; echo $$w)
test: setup
	$(VENV)/bin/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder

# The console screenshots in docs/ (README); `make test` writes them to a temporary folder only.
screenshots: setup
	RELAY_SCREENSHOTS=1 $(VENV)/bin/python -m pytest -m browser tests/dashboard -p no:cacheprovider

# Long soak / chaos modes that print the README's figures.
test-long: setup
	RELAY_LONG=1 $(VENV)/bin/python -m pytest -m slow -s

bench: setup
	for b in bench/*.py; do $(VENV)/bin/python $$b || exit 1; done

contract: setup
	$(VENV)/bin/python ../shared/checks/local_contract.py

clean:
	rm -rf $(VENV) .pytest_cache build
