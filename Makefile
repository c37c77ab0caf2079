# Two commands on a fresh machine: `make run` and `make test`. Each builds .venv if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test run-full lint format install clean-db

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## run: the embedded default (SQLite, in-process tasks, sandbox MDI and payments) on :8000
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# axe-core for the accessibility browser tests, exactly as package-lock.json pins it. A stamp,
# not axe.min.js itself: npm gives unpacked files a 1985 mtime, which would always look stale.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $(NODE_STAMP)

## test: the whole suite; uses DATABASE_URL / REDIS_URL when set (CI sets both)
test: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## run-full: web + worker + beat against local PostgreSQL and Redis (see Procfile)
run-full: $(STAMP)
	-createdb -h 127.0.0.1 -U postgres thinclinic 2>/dev/null
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/thinclinic} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	sh -c '$(BIN)/python manage.py migrate --noinput && $(BIN)/python manage.py seed_demo && $(BIN)/honcho start'

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## clean-db: forget the embedded default's data (SQLite database, test database, uploads)
clean-db:
	rm -f db.sqlite3 db.sqlite3-shm db.sqlite3-wal .test-db.sqlite3 .test-db.sqlite3-shm .test-db.sqlite3-wal
	rm -rf private_media
