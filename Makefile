PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate seed bench load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

## make run: set up everything, load the demo data, serve the app, its task worker and the
## scheduler (billing run and access sweep every 10 minutes; stopped bulk actions resumed;
## webhooks sent every 5 seconds).
run: seed
	@echo ""
	@echo "  KajAccess is running at http://$(HOST):$(PORT)/"
	@echo ""
	@echo "  Demo logins (password for all: kajaccess-demo)"
	@echo "    creator@example.com   Casey Creator, owner of Demo Academy  -> the dashboard"
	@echo "    team@example.com      assistant at Demo Academy"
	@echo "    support@example.com   support staff                         -> /admin/"
	@echo "    ada@example.com       customer                              -> /library/"
	@echo "    other@example.com     owner of Other School"
	@echo "    va@example.com        support specialist at Demo Academy, assistant at Other School"
	@echo ""
	@echo "  Press Ctrl-C to stop the server, the worker and the scheduler."
	@echo ""
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	$(BIN)/python manage.py db_worker & \
	$(BIN)/python manage.py run_scheduler & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT) & \
	wait

# axe-core and the Nu HTML checker, for the accessibility and HTML checks. Their install
# scripts are not run: the checker's would fetch a Java of its own, and Java 17 is here.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --silent --no-audit --no-fund --ignore-scripts && touch $@; \
	else echo "npm not found: the accessibility and HTML checks will be skipped"; fi

## make test: the whole suite (browser tests need Chromium at $$CHROMIUM_PATH or /usr/bin/chromium,
## the HTML check Java 17).
test: $(VENV)/.installed-dev node_modules/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

## make bench: a fresh database with 100,000 demo contacts, then every figure of bench/results.json.
## BENCH_CONTACTS=1000000 (with DATABASE_URL=postgres://...) for a million; BENCH_SIZES lists the
## sizes every page of issue 16's table is measured at. The first 10,000 contacts' stories are
## replayed through the services, the others are copies of them made in SQL.
BENCH_CONTACTS ?= 100000
BENCH_SIZES ?= 10000,$(BENCH_CONTACTS)
# e.g. BENCH_ARGS="--no-reconcile --pages-only": at a million, reconcile walks every contact.
BENCH_ARGS ?=
BENCH_ENV = DATABASE_URL=$${DATABASE_URL:-sqlite:///$(CURDIR)/bench/bench.sqlite3} DEBUG=false \
	SECURE_SSL_REDIRECT=false STATICFILES_BACKEND=django.contrib.staticfiles.storage.StaticFilesStorage
bench: $(VENV)/.installed
	mkdir -p bench
	rm -f bench/bench.sqlite3 bench/bench.sqlite3-wal bench/bench.sqlite3-shm
	$(BENCH_ENV) $(BIN)/python manage.py migrate --noinput
	$(BENCH_ENV) $(BIN)/python manage.py flush --noinput
	$(BENCH_ENV) $(BIN)/python manage.py seed_demo --contacts 10000
	$(BENCH_ENV) $(BIN)/python manage.py bench --sizes $(BENCH_SIZES) $(BENCH_ARGS)

$(VENV)/.installed-load: requirements.txt requirements-load.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-load.txt
	touch $@

## make load: gunicorn (2 workers) on loopback with 100,000 contacts, 20 locust users for 60 s
## (creators in the dashboard, and integrations revoking and restoring through the API).
LOAD_PORT ?= 8765
LOAD_CONTACTS ?= 100000
LOAD_ENV = DATABASE_URL=$${DATABASE_URL:-sqlite:///$(CURDIR)/bench/load.sqlite3} DEBUG=false \
	SECRET_KEY=load-test-only-$$(date +%s)-not-a-production-secret-key-at-all \
	ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false SECURE_COOKIES=false \
	STATICFILES_BACKEND=django.contrib.staticfiles.storage.StaticFilesStorage
load: $(VENV)/.installed-load
	mkdir -p bench
	rm -f bench/load.sqlite3 bench/load.sqlite3-wal bench/load.sqlite3-shm bench/load_changes.json
	$(LOAD_ENV) $(BIN)/python manage.py migrate --noinput
	$(LOAD_ENV) $(BIN)/python manage.py flush --noinput
	$(LOAD_ENV) $(BIN)/python manage.py seed_demo --contacts $(LOAD_CONTACTS)
	$(LOAD_ENV) $(BIN)/python manage.py load_test prepare
	$(LOAD_ENV) $(BIN)/gunicorn kajaccess.wsgi -w 2 -b 127.0.0.1:$(LOAD_PORT) \
		--pid bench/gunicorn.pid --daemon --access-logfile /dev/null --error-logfile bench/gunicorn.log
	for _ in $$(seq 1 50); do curl -fs -o /dev/null http://127.0.0.1:$(LOAD_PORT)/accounts/login/ && break; sleep 0.2; done
	$(BIN)/locust -f bench/locustfile.py --headless -u 20 -r 10 -t 60s --stop-timeout 5 \
		--host http://127.0.0.1:$(LOAD_PORT) --csv bench/load --only-summary; \
		status=$$?; kill $$(cat bench/gunicorn.pid); exit $$status
	$(LOAD_ENV) $(BIN)/python manage.py load_test check

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) node_modules db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles test-artifacts
