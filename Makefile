# The two commands: `make run` (local stage + console) and `make test` (the whole suite).
# .venv is rebuilt only when pyproject.toml changes (its hash is stamped into the venv).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
STAMP := $(VENV)/.relay-installed
HASH := $(shell sha256sum pyproject.toml | cut -c1-16)

.PHONY: setup run test test-long bench contract clean

setup:
	@if [ ! -x $(VENV)/bin/python ]; then (command -v $(PY) >/dev/null && $(PY) -m venv $(VENV)) || python3 -m venv $(VENV); fi
	@if [ "$$(cat $(STAMP) 2>/dev/null)" != "$(HASH)" ]; then \
	  echo "setup: installing relay and its pinned dependencies into $(VENV) (minutes, once)"; \
	  $(VENV)/bin/pip install -q --upgrade pip && \
	  $(VENV)/bin/pip install -q -e '.[dev]' && echo "$(HASH)" > $(STAMP); fi

run: setup
	$(VENV)/bin/relay up --demo

test: setup
	$(VENV)/bin/python -m pytest

# Long soak / chaos modes that print the README's figures.
test-long: setup
	RELAY_LONG=1 $(VENV)/bin/python -m pytest -m slow -s

bench: setup
	for b in bench/*.py; do $(VENV)/bin/python $$b || exit 1; done

contract: setup
	$(VENV)/bin/python ../shared/checks/local_contract.py

clean:
	rm -rf $(VENV) .pytest_cache build
