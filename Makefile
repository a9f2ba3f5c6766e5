# Two commands for a fresh machine: `make demo` and `make test`. Everything else is a helper of theirs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
TOMDA_SIM_PORT ?= 8601

.PHONY: install demo test lint messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The back office with demo data on the embedded defaults (SQLite, django-q2's ORM broker): web
# server, task cluster, inbox worker and a simulated Tomda cloud together, with a few live sessions;
# Ctrl-C stops all.
demo: export TOMDA_BASE_URL = http://127.0.0.1:$(TOMDA_SIM_PORT)/Manage
demo: export TOMDA_API_ID = demo
demo: export TOMDA_API_KEY = demo-key
demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py demo_admin
	@echo "Admin: http://$(HOST):$(PORT)/admin/"
	@$(BIN)/python manage.py qcluster & cluster=$$!; \
	  $(BIN)/python manage.py inbox_worker & worker=$$!; \
	  $(BIN)/python manage.py tomda_simulator --port $(TOMDA_SIM_PORT) \
	    --push-url http://$(HOST):$(PORT)/integrations/tomda/push & simulator=$$!; \
	  $(BIN)/python manage.py runserver --noreload $(HOST):$(PORT) & web=$$!; \
	  trap 'kill $$cluster $$worker $$simulator $$web 2>/dev/null; wait 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/python manage.py demo_sessions --sessions 4; \
	  wait $$web

# The whole suite; with DATABASE_URL set it runs on that database (PostgreSQL in CI).
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Refresh the zh_Hans catalogue after changing user-facing strings, then translate and compile it.
messages: $(STAMP)
	$(BIN)/python manage.py makemessages --locale zh_Hans --ignore ".venv/*" --ignore "tests/*" --no-obsolete
	$(BIN)/python manage.py compilemessages --locale zh_Hans --ignore ".venv/*"

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ci/reports
