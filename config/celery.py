"""Celery application. Broker from CELERY_BROKER_URL: Redis in production, a filesystem
broker (no server) in the embedded run.

Settings: production unless DJANGO_SETTINGS_MODULE says otherwise — a worker is deployed like
gunicorn and signs the links of its e-mails with the secret key; ``make run`` and the tests
name their profile (local, test)."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("anulaciones")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Folders of the filesystem transport (the embedded broker).
_CARPETAS_BROKER = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


@app.on_after_configure.connect
def crear_carpetas_del_broker(sender, **kwargs):
    """The filesystem broker needs its folders before the first message is written or read.
    Made here, when the app is configured in a process that uses it (the worker at start, the
    web process at its first task), not when settings are imported: importing settings has no
    side effect."""
    if not str(sender.conf.broker_url or "").startswith("filesystem://"):
        return
    opciones = sender.conf.broker_transport_options or {}
    for clave in _CARPETAS_BROKER:
        if opciones.get(clave):
            Path(opciones[clave]).mkdir(parents=True, exist_ok=True)
