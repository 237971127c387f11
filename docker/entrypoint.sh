#!/bin/sh
# Container entrypoint: migrations run here (never in create_app), then the chosen process.
set -e
case "$1" in
  web)
    flask db upgrade
    exec gunicorn --bind 0.0.0.0:8000 --workers "${WEB_WORKERS:-4}" --threads "${WEB_THREADS:-4}" \
      --access-logfile - "app:create_app()"
    ;;
  worker) exec flask worker ;;
  relay) exec flask outbox relay ;;
  *) exec "$@" ;;
esac
