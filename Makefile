# opskit: two commands on a fresh machine.
#   make run    set everything up and serve the dashboard on http://127.0.0.1:5000: on an empty
#               database the living demo site (opskit demo), else the existing data (opskit serve)
#   make test   set everything up and run lint + the whole suite (browser tests included), then
#               the suite again under shifted clocks (tools/shifted_clock.py)

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
TLS    ?=

# Python's byte-code cache, kept out of the tree (in the venv) and written even where the
# environment says not to (PYTHONDONTWRITEBYTECODE, set on CI machines): without it every pytest
# worker, and every `opskit` a test starts, compiles the whole tree again and rewrites every test
# module's asserts (~10 s per pytest process, 8 of them in `make test`).
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test install install-dev browser-deps bench-deps pdf-deps ssh-deps scan-deps prometheus-deps lint translations vendor clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "opskit needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# An empty database gets the demo site and runs it alive (simulated SNMP devices, poller,
# notifier); a database the demo made runs alive again; any other database is just served.
# Only this computer reaches 127.0.0.1: `make run HOST=0.0.0.0` serves the LAN, and with
# TLS=1 over HTTPS (after `opskit tls init NAME-OR-ADDRESS...`; see docs/https.md).
run: install
	$(BIN)/opskit demo --serve-existing --host $(HOST) --port $(PORT)$(if $(TLS), --tls)

# Debian's Chromium for the Playwright tests (no browser download) and CJK fonts for screenshots.
browser-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else \
	  echo "browser tests need Debian's chromium and fonts-noto-cjk: sudo apt-get install chromium fonts-noto-cjk"; exit 1; \
	fi

# Debian's net-snmp agent and command-line tools for bench/poll.py (opskit vs snmpbulkwalk) and
# the trap tests (net-snmp's snmptrap sends real traps to `opskit traps`); snmptrapd and rsyslog
# for bench/ingest.py (opskit's receivers vs the C daemons).
bench-deps:
	@if command -v snmpbulkwalk >/dev/null && [ -x /usr/sbin/snmpd ] && [ -x /usr/sbin/snmptrapd ] && [ -x /usr/sbin/rsyslogd ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq snmpd snmp snmptrapd rsyslog >/dev/null; \
	else \
	  echo "bench/poll.py and bench/ingest.py need Debian's snmpd, snmp, snmptrapd and rsyslog: sudo apt-get install snmpd snmp snmptrapd rsyslog"; exit 1; \
	fi

# Debian's LibreOffice Calc (headless) for `opskit report build --pdf`, and poppler's tools with
# which the PDF test reads the PDF back and renders its first pages for the README.
pdf-deps:
	@if { command -v soffice || command -v libreoffice; } >/dev/null && command -v pdftoppm >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui poppler-utils >/dev/null; \
	else \
	  echo "the PDF test needs Debian's libreoffice-calc-nogui and poppler-utils: sudo apt-get install libreoffice-calc-nogui poppler-utils"; exit 1; \
	fi

# Debian's OpenSSH server and GNU inetutils' telnetd for the device-configuration tests
# (tests/configs: sshd on a loopback port and telnetd started per connection, their login a
# scripted device); neither is started as a service by the package here (policy-rc.d, no inetd).
ssh-deps:
	@if [ -x /usr/sbin/sshd ] && [ -x /usr/sbin/telnetd ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server inetutils-telnetd >/dev/null; \
	else \
	  echo "the configs tests need Debian's openssh-server and inetutils-telnetd: sudo apt-get install openssh-server inetutils-telnetd"; exit 1; \
	fi

# Debian's nmap for the vulnerability-scan tests (tests/vulns: nmap -sV scans services the test
# starts on 127.0.0.1 and opskit imports its XML, real scanner output).
scan-deps:
	@if command -v nmap >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nmap >/dev/null; \
	else \
	  echo "the vulns tests need Debian's nmap: sudo apt-get install nmap"; exit 1; \
	fi

# Debian's Prometheus for the /metrics test (tests/monitors/test_prometheus_scrape.py: a real
# Prometheus scrapes the demo and answers a query) and its promtool, which lints the exposition;
# the package's service is not started here (policy-rc.d), the test runs its own.
prometheus-deps:
	@if command -v prometheus >/dev/null && command -v promtool >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	else \
	  echo "the /metrics tests need Debian's prometheus: sudo apt-get install prometheus"; exit 1; \
	fi

# mypy reads its files and rules from pyproject.toml ([tool.mypy]); its cache is .mypy_cache.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The whole suite, then the suite again with the clock shifted (17:30 UTC on the last day of the
# month after next, when the site is already in the next month; 23:30 on site on 31 December):
# a test tied to today's date fails here.
test: install-dev browser-deps bench-deps pdf-deps ssh-deps scan-deps prometheus-deps lint
	$(BIN)/python -m pytest -n auto --dist loadgroup --durations=40
	$(BIN)/python tools/shifted_clock.py run -n auto --dist loadgroup -p no:cacheprovider

# Developers: refresh the translation catalog after adding UI strings, then compile it.
translations: install-dev
	$(BIN)/python tools/i18n.py update
	$(BIN)/python tools/i18n.py compile

# Developers: re-vendor front-end libraries after editing package.json (needs npm).
vendor:
	npm ci
	$(BIN)/python tools/vendor_assets.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache .mypy_cache
