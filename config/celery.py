"""Celery application. Broker from CELERY_BROKER_URL: Redis in production, a filesystem
broker (no server) in the embedded run."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("anulaciones")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
