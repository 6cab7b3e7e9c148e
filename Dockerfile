# syntax=docker/dockerfile:1
# Siteflow: one image for web (uvicorn, HTTP + WebSocket), worker and beat (celery).
#
#   docker build -t siteflow .
#   docker run -e SECRET_KEY=... -e ALLOWED_HOSTS=... -e DATABASE_URL=... -e REDIS_URL=... -p 8000:8000 siteflow

ARG PYTHON_VERSION=3.13

# --- builder: wheels into a virtualenv ---------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

# --- runtime --------------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_ENV=production \
    VAR_DIR=/app/var \
    PORT=8000

RUN groupadd --system --gid 10001 siteflow \
    && useradd --system --uid 10001 --gid siteflow --home-dir /app --no-create-home --shell /usr/sbin/nologin siteflow

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
COPY . .

# Static files are collected at build time with production settings; the key and hosts here exist
# only for this step (settings refuse to load without them) and are never used at run time.
ARG COLLECTSTATIC_SECRET_KEY=collectstatic-only-build-time-placeholder-not-used-at-run-time-0000
ARG COLLECTSTATIC_ALLOWED_HOSTS=localhost
RUN SECRET_KEY="$COLLECTSTATIC_SECRET_KEY" ALLOWED_HOSTS="$COLLECTSTATIC_ALLOWED_HOSTS" \
        python manage.py collectstatic --noinput -v0 \
    && rm -rf /app/var && mkdir -p /app/var \
    && chown -R siteflow:siteflow /app/var

USER siteflow

EXPOSE 8000

# /healthz answers first in the middleware stack, whatever the Host header.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

# WEB_CONCURRENCY: uvicorn worker processes. Proxy headers are trusted from FORWARDED_ALLOW_IPS
# (uvicorn reads it; default 127.0.0.1): set it to the load balancer's address.
CMD ["sh", "-c", "exec uvicorn config.asgi:application --host 0.0.0.0 --port \"${PORT:-8000}\" --workers \"${WEB_CONCURRENCY:-2}\" --loop uvloop --http httptools --lifespan off --no-access-log --proxy-headers"]
