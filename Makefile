# The two commands a newcomer types:  make run   and   make test
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export DJANGO_DEBUG ?= 1

.PHONY: setup run test migrate demo worker diagrams chromium bench gdal libreoffice screenshots

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
	$(PY) -m celery -A config worker -B -l INFO --concurrency 2 --pidfile= -s var/celerybeat-schedule & \
	  trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py runserver 0.0.0.0:$(PORT)

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
