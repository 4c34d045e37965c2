# PlantOps: `make run` serves the app, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run demo test test-sqlite test-postgres lint format prod clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) run --host $(HOST) --port $(PORT) --debug

# The app with simulated sensors: starts a broker from deploy/mosquitto.conf if none listens on
# $(MQTT_PORT), creates the demo account and plants (login printed), then serves with live data.
MQTT_PORT ?= 1883
demo: $(VENV)/.installed
	$(FLASK) db upgrade
	@set -e; broker=; sim=; \
	trap 'kill $$sim $$broker 2>/dev/null || true' EXIT INT TERM; \
	if ! $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', $(MQTT_PORT)), 1)" 2>/dev/null; then \
	  mkdir -p instance/mosquitto; \
	  sed -e 's|^listener 1883 |listener $(MQTT_PORT) |' -e 's|^persistence true|persistence false|' \
	    deploy/mosquitto.conf > instance/mosquitto/demo.conf; \
	  mosquitto -c instance/mosquitto/demo.conf & broker=$$!; sleep 1; \
	fi; \
	MQTT_PORT=$(MQTT_PORT) $(FLASK) simulate --demo --devices 5 --interval 5 & sim=$$!; \
	MQTT_PORT=$(MQTT_PORT) $(FLASK) run --host $(HOST) --port $(PORT) --debug

# Production server: migrate, then gunicorn with gunicorn.conf.py (BIND/PORT, WEB_CONCURRENCY, GUNICORN_THREADS).
prod: $(VENV)/.installed
	$(FLASK) db upgrade
	$(BIN)/gunicorn --config gunicorn.conf.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# SQLite first, then the same suite on PostgreSQL. Each pass runs the suite on $(WORKERS)
# processes (pytest-xdist), then the timing-sensitive tests (marked slow) alone; coverage is
# summed over the four runs. Exit 5 (no test selected) is fine for the slow run of a subset.
WORKERS ?= 2
PYTEST := $(BIN)/pytest --cov --cov-append --cov-report=
test: lint
	rm -f .coverage
	$(PYTEST) -n $(WORKERS) -m "not slow" $(PYTEST_ARGS)
	$(PYTEST) -m slow $(PYTEST_ARGS) || [ $$? -eq 5 ]
	DATABASE_URL=$(TEST_DATABASE_URL) $(PYTEST) -n $(WORKERS) -m "not slow" $(PYTEST_ARGS)
	DATABASE_URL=$(TEST_DATABASE_URL) $(PYTEST) -m slow $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/coverage report --skip-covered --show-missing --fail-under=80

test-sqlite: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed-dev
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .coverage .ruff_cache
