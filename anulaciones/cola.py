"""Queue a Celery task once the current transaction commits, by the task's name.

The one way services, views and tasks publish work (base layer): they never import
``anulaciones.tasks`` (an entry point, above them). ``encolar("enviar_correos")`` registers an
``on_commit`` hook that finds the task in the Celery app's registry — filled in every process,
``AnulacionesConfig.ready`` imports ``anulaciones.tasks`` — and publishes it.

Publishing is bounded: the broker's socket timeouts and a single retry (CELERY_BROKER_TRANSPORT_OPTIONS
and CELERY_TASK_PUBLISH_RETRY_POLICY in config/settings/base.py) keep a request from waiting on a frozen
or stopped broker. A failure is logged, never raised: what was to be published is in the database
already («en cola» imports, unsent deliveries, notices not mailed), and the periodic pickup
(``tasks.recuperar_pendientes``) publishes it again. With CELERY_TASK_ALWAYS_EAGER (the tests) the
task runs in process at the commit, as ``delay`` does.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import Task, current_app
from django.db import transaction

log = logging.getLogger(__name__)

# Where a name without a dot is looked for: the only module that defines tasks.
MODULO_TAREAS = "anulaciones.tasks"


class Envio:
    """What ``encolar`` promised: ``publicado`` is None until the commit, then True (handed to
    the broker, or run eagerly) or False (the broker did not answer; the pickup will do it)."""

    __slots__ = ("nombre", "args", "kwargs", "publicado")

    def __init__(self, nombre: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.nombre, self.args, self.kwargs = nombre, args, kwargs
        self.publicado: bool | None = None

    def __repr__(self) -> str:
        return f"<Envio {self.nombre}{self.args} publicado={self.publicado}>"


def tarea(nombre: str) -> Task:
    """The registered task ``nombre`` («enviar_correos» or its full name). Raises
    ``celery.exceptions.NotRegistered`` for an unknown name: a bug, never a broker outage."""
    return current_app.tasks[nombre if "." in nombre else f"{MODULO_TAREAS}.{nombre}"]


def encolar(nombre: str, *args: Any, **kwargs: Any) -> Envio:
    """Publish the task ``nombre`` with these arguments after the current transaction commits (at
    once outside one). Returns the ``Envio``, whose ``publicado`` a page may read afterwards."""
    envio = Envio(nombre, args, kwargs)
    transaction.on_commit(partial(publicar, envio))
    return envio


def publicar(envio: Envio) -> bool | None:
    """Publish now (the ``on_commit`` hook): bounded, and logged instead of raised."""
    t = tarea(envio.nombre)
    try:
        t.delay(*envio.args, **envio.kwargs)
    except Exception:  # broker down or frozen: the periodic pickup publishes it later
        envio.publicado = False
        log.warning(
            "No se pudo encolar %s%s; lo hará el próximo barrido de recuperación",
            envio.nombre,
            envio.args,
            exc_info=True,
        )
    else:
        envio.publicado = True
    return envio.publicado
