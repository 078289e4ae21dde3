#!/usr/bin/env bash
# Start the ASGI server (uvicorn), a Celery worker (with beat), a stream worker and an alerts worker; Ctrl-C stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
PY=.venv/bin/python

# One worker with the beat scheduler embedded (scheduled jobs such as camera health probes).
.venv/bin/celery -A portal worker --beat --schedule="${MATTHAN_VAR_DIR:-var}/celerybeat-schedule" \
	--loglevel=INFO --concurrency=${WORKER_CONCURRENCY:-2} -Q default &
WORKER=$!
# Live stream supervisors: long-running tasks, one thread each (a warm shutdown stops them cleanly).
.venv/bin/celery -A portal worker -n streams@%h --pool=threads --concurrency=${STREAM_WORKERS:-4} \
	--loglevel=INFO -Q streams &
STREAMS=$!
# Watchlist matching: short tasks that must never wait behind a clip analysis.
.venv/bin/celery -A portal worker -n alerts@%h --pool=threads --concurrency=2 --loglevel=INFO -Q alerts &
ALERTS=$!
# uvicorn hands request bodies to Django as they arrive (a 200 MB upload costs ~20 MB of memory);
# Daphne queues a whole body in memory first, ~15 times its size, so one large upload could end the server.
.venv/bin/python -m uvicorn --host "$HOST" --port "$PORT" --log-level warning portal.asgi:application &
WEB=$!
stop() { kill "$WEB" "$WORKER" "$STREAMS" "$ALERTS" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT

password=$($PY -c "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','portal.settings');django.setup();from django.conf import settings;print(settings.DEMO_PASSWORD)")
cat <<TXT

  Mắt Thần is running:  http://$HOST:$PORT/
  API docs:             http://$HOST:$PORT/api/docs/
  Demo users (password: $password):
    official.tang-nhon-phu  operator.tang-nhon-phu  investigator.tang-nhon-phu  admin.tang-nhon-phu
    official.phuoc-long     operator.phuoc-long     investigator.phuoc-long     admin.phuoc-long
    investigator.city (both wards)
  Ctrl-C stops the server and the workers.

TXT
wait -n "$WEB" "$WORKER" "$STREAMS" "$ALERTS"
