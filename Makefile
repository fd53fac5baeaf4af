# Antri: `make run` starts everything, `make test` runs every check. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser prometheus monitor dashboard-pictures run test lint bench load load-compare screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo asks for the sandbox bank (off by default: anyone could pay any billing code).
run: install
	ANTRI_SANDBOX_PAYMENTS=$${ANTRI_SANDBOX_PAYMENTS:-1} $(BIN)/antri up

lint: install
	$(BIN)/ruff check queue_engine api tests bench loadtests dashboards testkit
	$(BIN)/ruff format --check queue_engine api tests bench loadtests dashboards testkit
	$(BIN)/mypy

test: lint browser prometheus
	$(BIN)/pytest -q

# Debian's chromium for the browser tests (Playwright's own browser download cannot work here:
# never `playwright install`), and fonts for legible screenshots; installed when missing (needs
# root, as on CI).
BROWSER_PACKAGES := chromium fonts-dejavu-core fonts-liberation
browser:
	@command -v chromium >/dev/null && dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { \
		echo "installing $(BROWSER_PACKAGES) from Debian's packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; }

# Debian's prometheus (with promtool) for the alert rules' unit tests, `make monitor` and the
# test against a real Prometheus; installed when missing (needs root, as on CI).
prometheus:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { \
		echo "installing prometheus from Debian's packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

# Prometheus with the shipped rules, scraping the running Antri (ANTRI_PORT, default 8080);
# its data under var/prometheus, its UI on 127.0.0.1:$(PROMETHEUS_PORT) (where systemd runs, the
# Debian package starts its own service on 9090: pick another PROMETHEUS_PORT).
PROMETHEUS_PORT ?= 9090
monitor: install prometheus
	$(BIN)/python -m dashboards.monitor --port $(PROMETHEUS_PORT)

# The dashboards' panels rendered from a short real run into docs/dashboards/*.png (no Grafana
# here: matplotlib draws what Prometheus answered to each panel's queries; about 3 minutes).
dashboard-pictures: install prometheus
	$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[pictures]'
	$(BIN)/python -m dashboards.pictures

# The key pages at a phone and a desktop size, into docs/screenshots/ (about 30 s).
screenshots: install browser
	$(BIN)/python -m tests.browser.screenshots

# wrk comes from Debian's packages; installed here when missing (needs root, as on CI).
bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.run

# The flash-crowd load test with bookings (about 75 s; installs Locust if missing); report in var/loadtest/.
load: install
	test -x $(BIN)/locust || $(BIN)/python -m pip install --quiet -e '.[load]'
	$(BIN)/python -m loadtests.run

# The same crowd without and with the waiting room, side by side (about 4 minutes; installs
# Locust and matplotlib if missing); report in var/loadcompare/report.html.
load-compare: install
	test -x $(BIN)/locust || $(BIN)/python -m pip install --quiet -e '.[load]'
	$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[pictures]'
	$(BIN)/python -m loadtests.compare

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
