import os

from celery import Celery

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE", f"config.settings.{os.environ.get('DJANGO_ENV', 'local')}"
)

app = Celery("thinclinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
