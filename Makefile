# KØS — the two set-up commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev-spark

DEMO_DIR     ?= var/demo
DEMO_PERSONS ?= 60000
DEMO_YEARS   ?= 2022-2024
DEMO_SEED    ?= 1

.PHONY: install java postgres chromium axe demo test lint typecheck unit bench golden clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when the package metadata changes. The spark extra is for the Spark parity tests
# (tests/integration/test_spark_parity.py) and for `engine = spark`; the stamp is named after the
# extras, so a venv installed before they changed is updated.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

# Spark needs a Java runtime: install Debian's when there is none (apt-get, as root).
java:
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jre-headless; }

# The app-database tests also run on PostgreSQL: tests/conftest.py starts a throwaway cluster
# (initdb/pg_ctl in a temporary folder) and stops it after. Install Debian's server binaries when
# there are none (apt-get, as root).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }

# Browser tests (tests/browser) drive Debian's Chromium through Playwright's pip package; Playwright's
# own browser download (`playwright install`) is never used. Install Debian's when there is none.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# axe-core (the accessibility check the browser tests inject) and oidc-provider (the real OpenID
# Connect provider the single sign-on tests start under Node, tests/oidc_provider.mjs) from the npm
# registry, into a cache folder the tests read; never fetched while the tests run. Node and npm
# from Debian when missing.
AXE := .cache/npm/node_modules/axe-core/axe.min.js
OIDC_PROVIDER := .cache/npm/node_modules/oidc-provider/package.json
$(AXE) $(OIDC_PROVIDER):
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	@mkdir -p .cache/npm
	@npm install --silent --no-audit --no-fund --prefix .cache/npm axe-core@4 oidc-provider@9 >/dev/null

axe: $(AXE) $(OIDC_PROVIDER)

demo: install
	$(BIN)/koes --data-dir $(DEMO_DIR) generate --persons $(DEMO_PERSONS) --years $(DEMO_YEARS) \
		--seed $(DEMO_SEED) --out $(DEMO_DIR)/extracts --force
	$(BIN)/koes --data-dir $(DEMO_DIR) load $(DEMO_DIR)/extracts
	@echo
	$(BIN)/koes --data-dir $(DEMO_DIR) demo-users
	@echo
	@echo "Synthetic Denmark: $(DEMO_DIR)/extracts (generation.json says what it holds)."
	@echo "Warehouse:         $(DEMO_DIR)/warehouse (koes --data-dir $(DEMO_DIR) releases list)."
	@echo "Users:             koes --data-dir $(DEMO_DIR) users list (the demo users above; docs/access.md)."
	@echo
	@echo "Web app on http://127.0.0.1:8000/ (stop with Ctrl-C): sign in as a demo user above; the start page"
	@echo "leads to /standard (Standard reports), /analyse (Analysis builder) and /avanceret (cohorts, individ)."
	@echo "individ and administrator users enrol TOTP with a QR code at their first sign-in."
	@echo
	@echo "JSON API on http://127.0.0.1:8000/api/v1"
	@echo "Every call but health and docs needs a token from the table above: export TOKEN=koes_..."
	@echo "  description  http://127.0.0.1:8000/api/v1/docs  and  /api/v1/openapi.json"
	@echo "  who am I     curl -H \"Authorization: Bearer \$$TOKEN\" http://127.0.0.1:8000/api/v1/me"
	@echo "  catalog      curl -H \"Authorization: Bearer \$$TOKEN\" 'http://127.0.0.1:8000/api/v1/catalog?lang=en'"
	@echo "  analysis     curl -H \"Authorization: Bearer \$$TOKEN\" -H 'Content-Type: application/json' \\"
	@echo "                 http://127.0.0.1:8000/api/v1/analysis \\"
	@echo "                 -d '{\"perspective\": \"somatik\", \"measures\": [\"indlaeggelser\"], \"rows\": [\"region\"]}'"
	@echo "  export       the same body to /api/v1/analysis/export?format=xlsx (or format=csv&delimiter=%3B)"
	@echo "  users        with kbh-admin's or systemadmin's token: GET /api/v1/users, /api/v1/audit"
	@echo "  command line $(BIN)/koes --data-dir $(DEMO_DIR) query REQUEST.json | catalog | users list"
	$(BIN)/koes --data-dir $(DEMO_DIR) serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

unit: install java postgres chromium axe
	$(BIN)/pytest -n 2 --dist loadgroup

test: lint typecheck unit

# Rewrite tests/golden/sql after a deliberate change to the generated SQL; review the diff.
golden: install
	KOES_UPDATE_GOLDEN=1 $(BIN)/pytest -q tests/unit/query/test_golden_sql.py

bench: install chromium
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis .cache test-artifacts
