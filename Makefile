# Antri: `make run` starts everything, `make test` runs every check. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench load clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/antri up

lint: install
	$(BIN)/ruff check queue_engine api tests bench loadtests
	$(BIN)/ruff format --check queue_engine api tests bench loadtests
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

# wrk comes from Debian's packages; installed here when missing (needs root, as on CI).
bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.run

# The flash-crowd load test with bookings (about 75 s; installs Locust if missing); report in var/loadtest/.
load: install
	test -x $(BIN)/locust || $(BIN)/python -m pip install --quiet -e '.[load]'
	$(BIN)/python -m loadtests.run

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
