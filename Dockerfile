FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Production settings by default: they refuse to start without real keys (see .env.example).
ENV DJANGO_ENV=production
WORKDIR /app
# The runtime dependency tree exactly as requirements.lock pins it (make lock writes it).
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock && useradd --create-home app
COPY . .
# Collecting static files needs no secrets; the local settings' throwaway ones serve the build.
RUN DJANGO_ENV=local python manage.py collectstatic --noinput
USER app
EXPOSE 8000
# gunicorn reads WEB_CONCURRENCY: sync workers = 2 x CPU cores + 1 per container (gunicorn's
# own rule of thumb); 3 suits one core. Set it per host rather than editing this file.
ENV WEB_CONCURRENCY=3
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000"]
