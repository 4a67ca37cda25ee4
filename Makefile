# Two commands for a new user: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
PYTEST_ARGS ?=

.PHONY: all test lint compile typecheck unit integration bench demo fuzz soak fleet system clean

all: test

# The venv is rebuilt when requirements.txt changes; otherwise this is a no-op.
$(STAMP): requirements.txt
	@test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

venv: $(STAMP)

system:
	@tools/install-system

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

compile: $(STAMP)
	$(BIN)/python tools/mpy_build.py build/mpy

# Every call a board makes into machine/esp32/network is checked against the ESP32 port's stubs.
typecheck: $(STAMP)
	@if [ -f tools/typecheck.py ]; then $(BIN)/python tools/typecheck.py; fi

test: $(STAMP) system lint compile typecheck
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest -n 2 host_tests/unit $(PYTEST_ARGS)

bench: $(STAMP) system compile
	$(BIN)/python tools/bench.py

demo: $(STAMP) system compile
	$(BIN)/python tools/demo.py

clean:
	rm -rf build .pytest_cache .ruff_cache .mypy_cache
