# socialstream: every target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
DEMO_DURATION ?= 0

.PHONY: install demo test lint typecheck unit integration test-chaos deploy-check fuzz-campaign bench kafka-up kafka-down kafka-status lock readme clean

$(STAMP): pyproject.toml constraints.txt setup.py runtime/_avro_native.pyx runtime/_avro_out.pxd \
		connectors/talkwalker/_results_native.pyx
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p socialstream
	$(BIN)/mypy tests bench
	$(BIN)/socialstream schemas check

typecheck: lint

# The whole suite: unit, contract and integration (a real Kafka broker is started if
# KAFKA_BOOTSTRAP_SERVERS is not set and no Docker engine answers).
test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/pytest -m integration $(PYTEST_ARGS)

# Fault injection: random SIGKILLs, a broker restart, network cuts (also part of `make test`).
test-chaos: $(STAMP)
	$(BIN)/pytest -m chaos -s $(PYTEST_ARGS)

# The long fuzz campaign (20,000 examples a parser; CI runs 1,000 as part of `make test`).
fuzz-campaign: $(STAMP)
	HYPOTHESIS_PROFILE=campaign $(BIN)/pytest tests/fuzz -p no:cacheprovider --timeout 0 $(PYTEST_ARGS)

# The Dockerfile, docker-compose.yml, the Helm chart and the dashboard, checked offline (helm is
# built with Go and dclint installed with npm on first use; see deploy/tools.py).
deploy-check: $(STAMP)
	$(BIN)/pytest tests/deploy $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/socialstream demo --duration $(DEMO_DURATION)

bench: $(STAMP)
	@for b in bench/*_source.py bench/processors.py bench/writeback.py bench/peers.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

kafka-up: $(STAMP)
	$(BIN)/socialstream kafka up

kafka-down: $(STAMP)
	$(BIN)/socialstream kafka down

kafka-status: $(STAMP)
	$(BIN)/socialstream kafka status

# Re-pin every dependency (run after changing pyproject.toml's dependencies).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet ".[dev]"
	.lock-venv/bin/pip freeze --exclude socialstream | sort > constraints.txt
	rm -rf .lock-venv

# Regenerate the README's configuration reference from the settings models.
readme: $(STAMP)
	$(BIN)/socialstream config reference --update README.md

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info src/*.egg-info
