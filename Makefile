# PlantOps: `make run` serves the app, `make test` runs every check (docs/architecture.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run dev demo test test-services test-sqlite test-postgres lint format prod clean translations

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

# The embedded defaults: SQLite and secrets in $(INSTANCE)/, a broker on 127.0.0.1:$(MQTT_PORT).
INSTANCE ?= $(or $(PLANTOPS_INSTANCE_PATH),instance)
MQTT_PORT ?= 1883
MOSQUITTO ?= $(or $(shell command -v mosquitto 2>/dev/null),/usr/sbin/mosquitto)
URL = http://$(HOST):$(PORT)

# Runs the shell command $(1) beside a broker. When nothing listens on 127.0.0.1:$(MQTT_PORT),
# it starts Mosquitto from the shipped deploy/mosquitto.conf on that port (its persistence in
# $(INSTANCE)/mosquitto/; $(2): extra sed edits) and stops it when $(1) ends. Without a
# mosquitto binary it says so and serves without live readings.
define with_broker
@set -e; broker=; \
	trap '[ -z "$$broker" ] || kill $$broker 2>/dev/null || true' EXIT INT TERM; \
	listening() { $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', $(MQTT_PORT)), 1)" 2>/dev/null; }; \
	if listening; then \
	  echo "make: using the MQTT broker already on 127.0.0.1:$(MQTT_PORT)"; \
	elif [ ! -x "$(MOSQUITTO)" ]; then \
	  echo "make: no MQTT broker on 127.0.0.1:$(MQTT_PORT) and no mosquitto to start (apt-get install mosquitto): no live readings"; \
	else \
	  mkdir -p $(INSTANCE)/mosquitto; \
	  if [ "$$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown mosquitto $(INSTANCE)/mosquitto; fi; \
	  sed -e 's|^listener 1883 |listener $(MQTT_PORT) |' \
	    -e 's|^persistence_location .*|persistence_location $(abspath $(INSTANCE))/mosquitto/|' $(2) \
	    deploy/mosquitto.conf > $(INSTANCE)/mosquitto/mosquitto.conf; \
	  $(MOSQUITTO) -c $(INSTANCE)/mosquitto/mosquitto.conf & broker=$$!; \
	  for _ in $$(seq 50); do listening && break; sleep 0.1; done; \
	  echo "make: started Mosquitto (deploy/mosquitto.conf) on 127.0.0.1:$(MQTT_PORT)"; \
	fi; \
	$(1)
endef

FIRST_ACCOUNT = echo "PlantOps: $(URL)  (first account: sign up at $(URL)/auth/register, or run"; \
	echo "  $(FLASK) users create you@example.com --admin; the first account is the administrator)"

# PlantOps as a gardener runs it: migrations, then gunicorn with gunicorn.conf.py on $(HOST):$(PORT)
# (WEB_CONCURRENCY, GUNICORN_THREADS as in gunicorn.conf.py), beside a broker (see with_broker).
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(call with_broker,$(FIRST_ACCOUNT); \
	  MQTT_PORT=$(MQTT_PORT) BIND=$(HOST):$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py)

# For development: `flask run --debug` (reloader and debugger) beside a broker.
dev: $(VENV)/.installed
	$(FLASK) db upgrade
	$(call with_broker,$(FIRST_ACCOUNT); PORT=$(PORT) MQTT_PORT=$(MQTT_PORT) $(FLASK) run --host $(HOST) --port $(PORT) --debug)

# The app with simulated sensors, beside a broker (see with_broker; this one keeps no
# persistence): creates the demo account and plants (login printed), then serves with live data.
# `make demo PORT=5001 MQTT_PORT=1884` keeps clear of another instance.
demo: $(VENV)/.installed
	$(FLASK) db upgrade
	$(call with_broker,sim=; trap 'kill $$sim $$broker 2>/dev/null || true' EXIT INT TERM; \
	  MQTT_PORT=$(MQTT_PORT) $(FLASK) simulate --demo --devices 5 --interval 5 & sim=$$!; \
	  PORT=$(PORT) MQTT_PORT=$(MQTT_PORT) $(FLASK) run --host $(HOST) --port $(PORT) --debug,-e 's|^persistence true|persistence false|')

# Production server: migrate, then gunicorn with gunicorn.conf.py (BIND/PORT, WEB_CONCURRENCY, GUNICORN_THREADS).
prod: $(VENV)/.installed
	$(FLASK) db upgrade
	$(BIN)/gunicorn --config gunicorn.conf.py

# ruff, the type checker (config in pyproject.toml) and, once it is configured, the import contract.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@if [ -f .importlinter ] || grep -q '^\[tool.importlinter\]' pyproject.toml; then \
	  echo "$(BIN)/lint-imports"; $(BIN)/lint-imports; fi

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# What the suite needs and a fresh Debian machine lacks: Chromium, Mosquitto, PostgreSQL (and
# python3-venv), installed with apt-get when root; otherwise one line says what to install. Then
# PostgreSQL is started if nothing answers on 127.0.0.1:5432 (only for the default TEST_DATABASE_URL).
PG_LOCAL := postgresql://postgres@127.0.0.1:5432/test
test-services:
	@need=; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || need="$$need python3-venv"; \
	[ -x "$(MOSQUITTO)" ] || need="$$need mosquitto"; \
	command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || need="$$need chromium"; \
	command -v pg_ctlcluster >/dev/null || need="$$need postgresql"; \
	command -v pg_isready >/dev/null || need="$$need postgresql-client"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	    echo "make test: missing$$need; install them (sudo apt-get install$$need) and run make test again" >&2; exit 1; \
	  fi; \
	  echo "make test: installing$$need"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	fi
	@if [ "$(TEST_DATABASE_URL)" = "$(PG_LOCAL)" ] && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  cluster=$$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1); \
	  if [ "$$(id -u)" != 0 ] || [ -z "$$cluster" ]; then \
	    echo "make test: PostgreSQL is not running on 127.0.0.1:5432; start it (sudo pg_ctlcluster <version> main start) or set TEST_DATABASE_URL" >&2; exit 1; \
	  fi; \
	  echo "make test: starting PostgreSQL $$cluster"; \
	  pg_ctlcluster --skip-systemctl-redirect $$cluster main start; \
	  for _ in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi
	@if [ "$(TEST_DATABASE_URL)" = "$(PG_LOCAL)" ] && ! psql -w "$(PG_LOCAL)" -qAtc 'select 1' >/dev/null 2>&1; then \
	  hba=$$(su postgres -c "psql -qAtc 'show hba_file'" 2>/dev/null || true); \
	  if [ "$$(id -u)" != 0 ] || [ -z "$$hba" ]; then \
	    echo "make test: postgres@127.0.0.1 needs a password; allow it (trust for 127.0.0.1) or set TEST_DATABASE_URL" >&2; exit 1; \
	  fi; \
	  echo "make test: letting postgres connect from 127.0.0.1 without a password ($$hba), for the test databases"; \
	  sed -i '1i host all postgres 127.0.0.1/32 trust' "$$hba"; \
	  su postgres -c "psql -qAtc 'select pg_reload_conf()'" >/dev/null; \
	fi

# Lint, then the suite on SQLite and on PostgreSQL (docs/architecture.md, "Checks"). Each pass runs
# the suite on $(WORKERS) processes (pytest-xdist), then the timing-sensitive tests (marked slow)
# alone; exit 5 (no test selected) is fine for the slow run of a subset.
# - Coverage is measured on the SQLite pass only, which runs every test (the tracer costs about a
#   third of a pass): `coverage report --fail-under=80` is over that pass.
# - The PostgreSQL pass runs only the tests marked `database` (tests/conftest.py marks each test
#   that reaches the DATABASE_URL database through its fixtures): parsing, pure domain code and
#   most of tests/unit are the same on every database and run once, in the SQLite pass.
# At the end it prints each pass's duration (also when one fails). DURATIONS=25 lists the
# slowest tests of each run.
WORKERS ?= 2
DURATIONS ?= 0
PYTEST := $(BIN)/pytest $(if $(filter-out 0,$(DURATIONS)),--durations=$(DURATIONS))
COVERED := --cov --cov-append --cov-report=
PASS_TIMES := .pytest-pass-times
# $(call timed,<name>,<command>[,5]): runs the command and appends "<name>: <seconds> s" to
# $(PASS_TIMES); a failure (other than exit 5 when the third argument is 5) prints the times so
# far and stops make.
define timed
@echo '$(2)'; start=$$(date +%s); status=0; $(2) || status=$$?; [ "$(3)" != 5 ] || [ $$status -ne 5 ] || status=0; \
	echo "$(1): $$(( $$(date +%s) - start )) s$$([ $$status -eq 0 ] || echo ", failed (exit $$status)")" >> $(PASS_TIMES); \
	if [ $$status -ne 0 ]; then echo "make test: pass durations"; cat $(PASS_TIMES); exit $$status; fi
endef
test: test-services lint
	@rm -f .coverage $(PASS_TIMES)
	$(call timed,SQLite not slow (-n $(WORKERS); coverage),$(PYTEST) $(COVERED) -n $(WORKERS) -m "not slow" $(PYTEST_ARGS))
	$(call timed,SQLite slow (coverage),$(PYTEST) $(COVERED) -m slow $(PYTEST_ARGS),5)
	$(call timed,PostgreSQL not slow (-n $(WORKERS)),DATABASE_URL=$(TEST_DATABASE_URL) $(PYTEST) -n $(WORKERS) -m "database and not slow" $(PYTEST_ARGS))
	$(call timed,PostgreSQL slow,DATABASE_URL=$(TEST_DATABASE_URL) $(PYTEST) -m "database and slow" $(PYTEST_ARGS),5)
	$(BIN)/coverage report --skip-covered --show-missing --fail-under=80
	@echo "make test: pass durations"; cat $(PASS_TIMES); rm -f $(PASS_TIMES)

test-sqlite: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed-dev
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .coverage .pytest-pass-times .ruff_cache .mypy_cache

# Languages (app/i18n.py): extract the strings (babel.cfg), merge them into each catalog in
# app/translations, and compile the .mo files the app reads (they are committed).
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _n:1,2 -k _l -k lazy_pgettext:1c,2 -k in_language_of:2 --ignore-dirs=".* __pycache__" -o app/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d app/translations
