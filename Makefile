# Two commands on a fresh machine: `make run` and `make test`. Each builds .venv if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test run-full lint format typecheck install clean-db lock lock-upgrade lock-check

# .venv is built from the lock file, the whole dependency tree pinned (make lock writes it from
# pyproject.toml). The project itself installs no package, so nothing else goes in.
$(STAMP): requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $(STAMP)

install: $(STAMP)

# Two lock files for CPython 3.11 on Linux x86_64 (the Dockerfile's python:3.11-slim, CI, the
# developers' machines): requirements-dev.lock (runtime + dev extras: make, CI) and
# requirements.lock (runtime only: the Docker image), the latter constrained to the former so
# both name the same versions. An existing lock's pins are kept unless pyproject.toml asks
# otherwise; lock-upgrade moves every unpinned (transitive) dependency to its newest release.
UV := $(abspath $(BIN))/uv
UV_COMPILE = $(UV) pip compile pyproject.toml --quiet --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" $(UV_ARGS)
write_locks = cd $(1) && $(UV_COMPILE) --extra dev -o requirements-dev.lock $(2) \
	&& $(UV_COMPILE) -c requirements-dev.lock -o requirements.lock $(2)

# uv alone, at pyproject.toml's pin, so a lock can be written before (or instead of) install.
$(UV):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$$(grep -o '"uv==[^"]*"' pyproject.toml | tr -d '"')"

## lock: rewrite the lock files from pyproject.toml, keeping today's pins where they still fit
lock: $(UV)
	$(call write_locks,.)

## lock-upgrade: the same, upgrading every dependency pyproject.toml does not pin itself
lock-upgrade: $(UV)
	$(call write_locks,.,--upgrade)

## lock-check: fail when the lock files are not what `make lock` would write (CI runs it)
lock-check: $(UV)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp pyproject.toml requirements-dev.lock requirements.lock "$$tmp"/ && \
	( $(call write_locks,"$$tmp") ) && \
	{ diff -u requirements-dev.lock "$$tmp"/requirements-dev.lock \
	  && diff -u requirements.lock "$$tmp"/requirements.lock \
	  || { echo "The lock files are stale: run make lock and commit them." >&2; exit 1; }; }

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

## typecheck: mypy with django-stubs over the apps (strict, less pyproject.toml's baseline)
MYPY_TARGETS := accounts patients intake cases webhooks payments mdi_sandbox core config
typecheck: $(STAMP)
	$(BIN)/mypy $(MYPY_TARGETS)

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## clean-db: forget the embedded default's data (SQLite database, test database, uploads)
clean-db:
	rm -f db.sqlite3 db.sqlite3-shm db.sqlite3-wal .test-db.sqlite3 .test-db.sqlite3-shm .test-db.sqlite3-wal
	rm -rf private_media
