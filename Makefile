# Partner Sharing Portal — the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test test-fast lint install translations strings check-strings browser oidc-provider mutants clean

run: $(STAMP) translations
	$(FLASK) db upgrade
	$(FLASK) demo load
	@# The scheduler (deliveries, digests, reminders) runs beside the web server and stops with it.
	$(FLASK) scheduler & scheduler=$$!; trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port 5000

# Each run gets its own short temporary directory: pytest prunes old /tmp/pytest-of-* directories,
# which would pull a concurrent run's PostgreSQL data out from under it.
PYTEST := $(BIN)/pytest -q -p no:cacheprovider --basetemp=$$(mktemp -d /tmp/portal-tests.XXXXXX)

test: $(STAMP) translations browser oidc-provider lint
	$(PYTEST)

# Everything but the browser tier, for a quick loop while developing.
test-fast: $(STAMP) translations oidc-provider
	$(PYTEST) -m "not browser"

# Mutation testing of the access policy, the permissions and the payload declarations (validation
# rules): every mutant of a rule must be killed by a test or listed, with the reason, in
# tests/mutants/equivalent.txt. Slow, so not in `make test`; SQLite only (the rules are the same SQL
# on PostgreSQL, which the suite runs them on).
DECLARATIONS := tools/mutants.py --declarations
mutants: $(STAMP) translations
	$(BIN)/python tools/mutants.py portal/policy.py -- tests/test_policy.py -k "not postgresql"
	$(BIN)/python tools/mutants.py portal/permissions.py -- tests/test_permissions.py -k "not postgresql"
	$(BIN)/python $(DECLARATIONS) portal/payloads.py -- tests/test_schema_rules.py
	$(BIN)/python $(DECLARATIONS) portal/bulletins/schemas.py -- tests/test_schema_rules.py
	$(BIN)/python $(DECLARATIONS) portal/submissions/schemas.py -- tests/test_schema_rules.py
	$(BIN)/python $(DECLARATIONS) portal/deportees/schemas.py -- tests/test_schema_rules.py
	$(BIN)/python $(DECLARATIONS) portal/ratings/schemas.py -- tests/test_schema_rules.py
	$(BIN)/python $(DECLARATIONS) portal/notifications/schemas.py -- tests/test_schema_rules.py
	$(BIN)/python $(DECLARATIONS) portal/wording/schemas.py -- tests/test_schema_rules.py

lint: $(STAMP)
	$(BIN)/ruff check --quiet app.py portal tests bench migrations

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Compiled catalogues are build products, not committed.
translations: $(STAMP)
	$(BIN)/python -m portal.translate compile

# Re-extract the strings after changing them, and merge them into every language's catalogue.
strings: $(STAMP)
	$(BIN)/python -m portal.translate update

# Fails when a string in the code is missing from the catalogues (also a test in the suite).
check-strings: $(STAMP)
	$(BIN)/python -m portal.translate check

# The browser tier drives Debian's Chromium; install it when missing (root on Debian).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The federated-login tests run a real OpenID provider (oidc-provider) on the machine's Node.js.
oidc-provider: tests/oidc/node_modules/.installed

tests/oidc/node_modules/.installed: tests/oidc/package.json tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
