# The two commands a newcomer types:  make run   and   make test
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: setup run test lint migrate demo worker diagrams chromium bench gdal libreoffice screenshots

# Settings profile (config/settings/): manage.py uses local unless told; gunicorn and a bare
# `celery -A config` use production, so the development targets name local for the worker too.
run worker: export DJANGO_SETTINGS_MODULE ?= config.settings.local

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	# Every package pinned and hashed (requirements.in -> pip-compile --generate-hashes): a file
	# whose hash differs from the one reviewed is refused.
	$(PY) -m pip install -q --require-hashes -r requirements.txt
	touch $@

migrate: setup
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py demo_data

# Embedded defaults: SQLite file and a filesystem Celery broker (no server). One Celery worker
# with an embedded beat runs beside the development server and stops with it.
run: demo
	mkdir -p var
	$(PY) -m celery -A config worker -B -l INFO --concurrency 2 --pidfile= -s var/celerybeat-schedule & \
	  trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py runserver 0.0.0.0:$(PORT)

# The worker alone (with its beat), e.g. beside a runserver started by hand.
worker: demo
	mkdir -p var
	$(PY) -m celery -A config worker -B -l INFO --concurrency 2 --pidfile= -s var/celerybeat-schedule

# Browser tests drive Debian's Chromium (Playwright's own download cannot work offline).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# The GeoJSON export is checked with GDAL's ogrinfo (what QGIS reads GeoJSON with).
gdal:
	@command -v ogrinfo >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gdal-bin; }

# The monthly workbook's formulas are checked by converting it with LibreOffice headless.
libreoffice:
	@command -v soffice >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libreoffice-calc; }

test: setup chromium gdal libreoffice
	$(PY) -m pytest $(PYTEST_ARGS)

# Every check runs even when one fails (CI shows all findings at once); the target fails if any
# did. Style and errors (ruff), the layers of .importlinter, types (mypy, files in pyproject.toml),
# and no model change without its migration.
lint: setup
	@fallos=0; \
	echo "== ruff check"; $(VENV)/bin/ruff check . || fallos=1; \
	echo "== ruff format --check"; $(VENV)/bin/ruff format --check --output-format concise . || fallos=1; \
	echo "== lint-imports"; $(VENV)/bin/lint-imports || fallos=1; \
	echo "== mypy"; $(PY) -m mypy || fallos=1; \
	echo "== makemigrations --check"; \
	  DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run || fallos=1; \
	exit $$fallos

# A picture of each role's home page, desktop (1280 px) and phone (390 px), written by the
# browser suite to docs/capturas/<rol>-escritorio.png and <rol>-telefono.png (no server to run).
screenshots: setup chromium
	CAPTURAS_DIR=docs/capturas $(PY) -m pytest -q -p no:cacheprovider tests/test_capturas.py

diagrams: setup
	$(PY) manage.py diagramas --readme README.md

# Benchmarks at scale on PostgreSQL (bench/, docs/bench.md): drops and re-creates the database
# BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench) for each size, writes BENCHMARKS.md.
SIZES ?= 10000,100000,1000000
bench: setup
	$(PY) -m bench.run --sizes $(SIZES) $(BENCH_ARGS)

# Backups (docs/operaciones.md "Backups"): pg_dump -Fc of DATABASE_URL, the files when they are on
# disk, and a manifest (version, migrations, row counts, this month's indicator), in
# ANULACIONES_RESPALDOS_DIR (default var/respaldos). Restore only into an EMPTY database, then the
# manifest is computed again there and compared:
#   make restore RESPALDO=var/respaldos/anulaciones-20260101-020000.json DESTINO=postgres://…/scratch
.PHONY: backup restore
backup: setup
	$(PY) manage.py respaldo crear

restore: setup
	@test -n "$(RESPALDO)" || { echo "RESPALDO=<manifest .json> is required"; exit 2; }
	$(PY) manage.py respaldo restaurar "$(RESPALDO)" --crear-bd $(if $(DESTINO),--destino "$(DESTINO)") $(RESTORE_ARGS)
