# opsite: `make run` serves the demo on the embedded default; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
export DJANGO_SETTINGS_MODULE ?= opsite.settings.local

.PHONY: run install migrate demo test test-postgres lint format check bench bench-smoke clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# Third-party browser files (the charting bundle) come from npm, as package-lock.json pins them.
node_modules/.installed: package.json package-lock.json
	npm ci --omit=dev --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo --if-empty
	$(PY) manage.py demo_superuser --url http://$(HOST):$(PORT)/admin/

run: demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py runserver $(HOST):$(PORT)

# pytest exits 5 when it collected no test: that is a failure, never a quiet pass.
test: install
	@status=0; DJANGO_SETTINGS_MODULE=opsite.settings.test $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS) \
		|| status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no test" >&2; fi; \
	exit $$status

# The same suite against the PostgreSQL named by DATABASE_URL (its role needs CREATEDB).
test-postgres: install
	@test -n "$$DATABASE_URL" || { echo "set DATABASE_URL=postgres://user:password@host:port/name" >&2; exit 2; }
	$(MAKE) test

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# Every benchmark on SQLite, or on the PostgreSQL named by DATABASE_URL (its role needs CREATEDB:
# each benchmark gets a throwaway database there). Over a budget, it exits non-zero.
bench: install
	DJANGO_SETTINGS_MODULE=opsite.settings.test $(PY) bench/run.py

# Each benchmark at its smallest size, once: that it still runs and its figures check out (CI).
bench-smoke: install
	DJANGO_SETTINGS_MODULE=opsite.settings.test $(PY) bench/run.py --smoke

clean:
	rm -rf $(VENV) node_modules staticfiles db.sqlite3 db.sqlite3-*
