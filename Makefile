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
	@tools/make-venv $(VENV)
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
	@WITH_VALGRIND=1 tools/install-system
	$(BIN)/python tools/bench.py

# The demo needs Prosody and openssl only, not the tests' ejabberd.
demo: $(STAMP) compile
	@WITH_EJABBERD=0 tools/install-system
	$(BIN)/python tools/demo.py

clean:
	rm -rf build .pytest_cache .ruff_cache .mypy_cache

# -- a real board: flash MicroPython, deploy the firmware or a config, write a config -----
#   make flash PORT=/dev/ttyUSB0 CHIP=esp32 FIRMWARE=ESP32_GENERIC-v1.25.0.bin
#   make deploy PORT=/dev/ttyUSB0 BOARD=esp32_devkitc [DEPLOY_ARGS=--dry-run]
#   make deploy-config PORT=/dev/ttyUSB0 CONFIG=my.json [CA=ca.pem]
#   make provision OUT=$HOME/thing1/config.json [PROVISION_ARGS="--board esp32_devkitc --jid ..."]
# PORT is the serial device (/dev/ttyUSB0, /dev/ttyACM0, COM3); deploy and deploy-config also
# take auto or id:SERIAL (see mpremote connect list), not mpremote's a0/u0 shortcuts.
PORT ?=
CHIP ?=
FIRMWARE ?=
BOARD ?=
CONFIG ?=
CA ?=
OUT ?= config.json
FLASH_ARGS ?=
DEPLOY_ARGS ?=
PROVISION_ARGS ?=

.PHONY: flash deploy deploy-config provision

flash: $(STAMP)
	$(BIN)/python tools/flash.py --port "$(PORT)" --chip "$(CHIP)" --firmware "$(FIRMWARE)" $(FLASH_ARGS)

deploy: $(STAMP)
	$(BIN)/python tools/deploy.py --port "$(PORT)" --board "$(BOARD)" $(DEPLOY_ARGS)

deploy-config: $(STAMP)
	$(BIN)/python tools/deploy.py --port "$(PORT)" --config "$(CONFIG)" $(if $(CA),--ca "$(CA)") $(DEPLOY_ARGS)

provision: $(STAMP)
	$(BIN)/python tools/provision.py --out "$(OUT)" $(PROVISION_ARGS)

# -- fuzzing: tokenizer (also against expat), stanza builder and XEP-0323 requests ---------
#   make fuzz [FUZZ_ARGS="--seed 7 --cases 20000"]   (make test runs a short version)
FUZZ_ARGS ?=

fuzz: $(STAMP) compile
	$(BIN)/python tools/fuzz.py $(FUZZ_ARGS)

# -- proof under fire: bounded campaigns that print their figures --------------------------
#   make soak   20 Prosody restarts + 10 freezes under readouts, then a 1000-request flood
#   make fleet  hundreds of simulated boards on Prosody, then on ejabberd, polled by one requester
SOAK_ARGS ?=
FLEET_ARGS ?=

soak: $(STAMP) system
	$(BIN)/python tools/soak.py $(SOAK_ARGS)

fleet: $(STAMP) system
	$(BIN)/python tools/fleet.py $(FLEET_ARGS)
