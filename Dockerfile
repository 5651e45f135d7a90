# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.12-slim AS base

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH="/opt/venv/bin:$PATH"

RUN pip install --no-cache-dir uv==0.13.9 \
    && useradd --system --create-home --home-dir /app unicommerce \
    && mkdir -p /srv/media && chown unicommerce /srv/media
WORKDIR /app

COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
# Static files are collected at build time; the secret is a build-only placeholder.
RUN DJANGO_SETTINGS_MODULE=unicommerce.settings.production \
    DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=build PUBLIC_BASE_URL=https://build.invalid \
    DATABASE_URL=postgresql://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput -v 0

USER unicommerce
ENV DJANGO_SETTINGS_MODULE=unicommerce.settings.production
EXPOSE 8000
CMD ["gunicorn", "unicommerce.wsgi:application", "--config", "unicommerce/gunicorn_conf.py", "--bind", "0.0.0.0:8000"]
