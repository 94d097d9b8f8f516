# syntax=docker/dockerfile:1
#
# Sanquan production image: gunicorn on port 8000, PostgreSQL + PostGIS via DATABASE_URL.
#
# Build:
#   docker build -t sanquan .
#
# Configuration is read from the environment (see app/config.py); the two that matter:
#   DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/sanquan   (the database must have PostGIS:
#                                                 CREATE EXTENSION postgis; as a superuser, once)
#   SECRET_KEY=<a long random string, the same for every container>
# Optional: REDIS_URL=redis://HOST:6379/0 (background jobs via RQ), REGISTRY_SRID (fixed when
# the database is created). The image is meant to run behind a TLS-terminating reverse proxy
# (deploy/nginx.conf, deploy/compose.yaml), so it sets SESSION_COOKIE_SECURE=1 (Secure cookies,
# HSTS) and TRUSTED_PROXIES=1 (client address and scheme from nginx); set both to 0 only for a
# trial on plain HTTP. Keep the settings in a file:
#   printf 'DATABASE_URL=postgresql://...\nSECRET_KEY=...\n' > sanquan.env
#
# Migrate (an explicit step: before the first start and after every upgrade of the image):
#   docker run --rm --env-file sanquan.env sanquan flask db upgrade
#
# Seed the demo county (optional; idempotent; prints the demo logins):
#   docker run --rm --env-file sanquan.env sanquan flask demo seed
#
# Run:
#   docker run -d --name sanquan --env-file sanquan.env -p 8000:8000 sanquan
#   curl http://127.0.0.1:8000/healthz
#
# Without DATABASE_URL the app uses an embedded SpatiaLite file in /app/instance, a volume: give
# every command the same named volume, e.g. `-v sanquan-instance:/app/instance`, or each
# `docker run --rm` gets a new empty database. Gunicorn options can be added with
# GUNICORN_CMD_ARGS (e.g. -e GUNICORN_CMD_ARGS="--timeout 120 --access-logfile -").

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# SpatiaLite for the embedded database (psycopg[binary] brings its own libpq; pyogrio, shapely
# and pyproj wheels bring GDAL, GEOS and PROJ). Pango (with HarfBuzz's subsetter) lays out the
# server's PDFs (WeasyPrint, app/core/pdf.py) in the Noto CJK fonts, installed here: the image
# has no other font that covers Chinese.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-mod-spatialite \
    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system sanquan \
 && useradd --system --gid sanquan --home-dir /app --no-create-home --shell /usr/sbin/nologin sanquan

WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . .
# The app runs from this source tree (PYTHONPATH below): templates, static files, catalogs and
# migrations/ live beside the code, and Flask puts the instance folder at /app/instance.
RUN pip install --no-deps . \
 && if [ -f scripts/i18n ]; then python scripts/i18n compile; \
    elif find app/translations -name '*.po' 2>/dev/null | grep -q .; then pybabel compile -d app/translations; \
    fi \
 && rm -rf build *.egg-info app/translations/.lock \
 && mkdir -p /app/instance \
 && chown sanquan:sanquan /app/instance

ENV FLASK_APP=app \
    PYTHONPATH=/app \
    SESSION_COOKIE_SECURE=1 \
    TRUSTED_PROXIES=1

USER sanquan
VOLUME ["/app/instance"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)" || exit 1

# Sync workers behind nginx (which buffers slow clients); a worker stuck past 60 s is restarted.
CMD ["gunicorn", "-w", "3", "-b", "0.0.0.0:8000", "--timeout", "60", "--graceful-timeout", "30", "app:create_app()"]
