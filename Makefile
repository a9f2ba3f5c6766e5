# Two commands for a fresh machine: `make demo` and `make test`. Everything else is a helper of theirs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
TOMDA_SIM_PORT ?= 8601
WANZHUANG_SIM_PORT ?= 8602
PARTNER_SIM_PORT ?= 8603
FOURPYUN_SIM_PORT ?= 8604

.PHONY: install demo test lint messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The back office with demo data on the embedded defaults (SQLite, django-q2's ORM broker): web
# server, task cluster, inbox worker, simulated Tomda and Wanzhuang clouds, a partner platform and 4pyun's
# parking platform together, with a few live sessions (Procfile.demo, under one supervisor); Ctrl-C stops all.
demo: export TOMDA_BASE_URL = http://127.0.0.1:$(TOMDA_SIM_PORT)/Manage
demo: export TOMDA_API_ID = demo
demo: export TOMDA_API_KEY = demo-key
demo: export WANZHUANG_BASE_URL = http://127.0.0.1:$(WANZHUANG_SIM_PORT)
demo: export WANZHUANG_APP_ID = demo
demo: export WANZHUANG_APP_SECRET = demo-secret
demo: export FOURPYUN_BASE_URL = http://127.0.0.1:$(FOURPYUN_SIM_PORT)
demo: export FOURPYUN_APP_ID = op00demo4pyun01
demo: export FOURPYUN_APP_SECRET = demo-4pyun-secret
# The simulated cloud's clock runs six times as fast as ours, so its times run ahead of our clock by
# five hours every hour of demo: the window ahead is a month, not a day.
demo: export INBOX_TIME_AHEAD_HOURS = 720
# What Procfile.demo reads: make's own HOST and PORT reach the environment only when given on make's command line.
demo: export DEMO_HOST = $(HOST)
demo: export DEMO_PORT = $(PORT)
demo: export DEMO_SIM_PORT = $(TOMDA_SIM_PORT)
demo: export DEMO_WZ_SIM_PORT = $(WANZHUANG_SIM_PORT)
demo: export DEMO_PARTNER_SIM_PORT = $(PARTNER_SIM_PORT)
demo: export DEMO_FOURPYUN_SIM_PORT = $(FOURPYUN_SIM_PORT)
demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py demo_admin
	$(BIN)/python manage.py partner_access --org MA5DEMO01 --cities 440300 --secret demo-partner-secret \
		--callback-url http://127.0.0.1:$(PARTNER_SIM_PORT)/callback
	@echo "Admin: http://$(HOST):$(PORT)/admin/"
	@exec $(BIN)/python manage.py demo_supervisor

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
