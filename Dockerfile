# Amtsweg production image: gunicorn web, RQ worker and outbox relay share it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    FLASK_APP=app:create_app AMTSWEG_ENV=production AMTSWEG_INSTANCE=/var/lib/amtsweg

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libmagic1 \
      poppler-utils postgresql-client tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN pybabel compile -d translations \
 && useradd --system --home /var/lib/amtsweg amtsweg \
 && mkdir -p /var/lib/amtsweg && chown amtsweg /var/lib/amtsweg
USER amtsweg

EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]
CMD ["web"]
