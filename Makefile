# Guichet: `make run` starts it with demo data at http://127.0.0.1:5000; `make test` runs every test.
VENV    ?= .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
PG_URL  ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: install run test lint test-sqlite test-postgres browser-deps postgres-up bench translations clean layout loadtest chaos

install: $(VENV)/.installed node_modules/.installed translations

$(VENV)/.installed: pyproject.toml
	@echo "==> Python packages (venv in $(VENV))"
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> Front-end packages (npm)"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -f -d webui/translations 2>&1 | grep -v "^compiling" || true

run: install
	$(BIN)/guichet migrate
	$(BIN)/guichet deploy
	$(BIN)/guichet seed-demo
	GUICHET_APP_DEMO=true GUICHET_PROCEDURES_DEPLOY_NEEDS_APPROVAL=true $(BIN)/guichet serve

browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then \
	  echo "==> Chromium and the CJK font (Debian packages)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi

postgres-up:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done

lint: install
	@echo "==> Lint (pyflakes rules)"
	$(BIN)/ruff check --select F,E9 engine processes webui tests bench

test: install lint browser-deps postgres-up
	@echo "==> Tests on SQLite (with browser tests)"
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)
	@echo "==> Tests on PostgreSQL"
	GUICHET_TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest -n 2 -m "not browser" $(PYTEST_ARGS)

test-sqlite: install browser-deps
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-postgres: install postgres-up
	GUICHET_TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest -n 2 -m "not browser" $(PYTEST_ARGS)

bench: install postgres-up
	$(PY) -m bench

# The production layout on this machine, on PostgreSQL: 4 web workers and 2 schedulers (deploy/Procfile).
layout: install postgres-up
	$(PY) deploy/layout.py

# Load test (locust, headless, bounded) of one process and of the layout, against 127.0.0.1 only.
loadtest: install postgres-up
	$(BIN)/pip install -q -e ".[load]"
	$(PY) -m bench.loadtest

# kill -9 web workers and schedulers at random under load, then check nothing was lost or doubled
# (bench/chaos.py; not in `make test`, whose short version is tests/test_chaos.py).
chaos: install postgres-up
	$(PY) -m bench.chaos --seconds 60

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
