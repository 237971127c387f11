#!/bin/sh
# Container entrypoint: migrations run here (never in create_app), then the chosen process.
set -e
case "$1" in
  web)
    flask db upgrade
    flask seed shipped-templates  # stored, unedited copies of earlier shipped notice templates follow
    # 4 processes x 2 threads: on 2 cores more threads per process only add GIL contention
    # (bench/submit.py: 4 x 2 gave p95 105-131 ms and 5.2-5.6 ms CPU per submit, 4 x 4 125-190 ms
    # and 5.4-6.6 ms; docs/performance.md). Raise WEB_WORKERS with the cores.
    exec gunicorn --bind 0.0.0.0:8000 --workers "${WEB_WORKERS:-4}" --threads "${WEB_THREADS:-2}" \
      --access-logfile - "app:create_app()"
    ;;
  worker) exec flask worker ;;
  relay) exec flask outbox relay ;;
  *) exec "$@" ;;
esac
