"""Celery application. Broker from CELERY_BROKER_URL: Redis in production, a filesystem
broker (no server) in the embedded run.

Settings: production unless DJANGO_SETTINGS_MODULE says otherwise — a worker is deployed like
gunicorn and signs the links of its e-mails with the secret key; ``make run`` and the tests
name their profile (local, test)."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import setup_logging, task_failure, task_postrun, task_prerun

from anulaciones import registro

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("anulaciones")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One log line per task (issue 20.4): name, id, state, duration, the counts it returned.
task_prerun.connect(registro.tarea_empieza, weak=False, dispatch_uid="anulaciones_tarea_empieza")
task_failure.connect(registro.tarea_falla, weak=False, dispatch_uid="anulaciones_tarea_falla")
task_postrun.connect(registro.tarea_termina, weak=False, dispatch_uid="anulaciones_tarea_termina")


@setup_logging.connect
def registro_de_django(**kwargs):
    """A receiver here keeps Celery from replacing the root logger's handlers with its own text
    format: the worker and beat log through Django's LOGGING (JSON lines in production)."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


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
