"""The dead man's switch on the clocks (issue 20): each periodic task records its last run, and
``relojes_atrasados`` tells when the deadline sweep or the month-end delivery check stopped.

Recording: ``registrar_ejecucion`` wraps each periodic task of ``anulaciones.tasks`` and writes one
row of ``EjecucionPeriodica`` when the run ends (one UPDATE; an INSERT the first time), success or
failure. The start is kept in memory until then: a worker killed mid-run records nothing, which
the switch notices like any other stop.

Thresholds, from each task's interval in ``CELERY_BEAT_SCHEDULE`` (so an install that sweeps
every 5 minutes is judged by 5 minutes):

- the sweep (``barrer_plazos``) is late when it has not finished within 3 of its intervals;
- the month-end delivery check (``entrega_mensual``, hourly) is late when it has not run today
  (local date), counted from 2 of its intervals after midnight: a run at 00:10 is not due at 00:01.

A fresh install whose beat never ran has no row at all: nothing is reported then (no false alarm
before the first ``make run`` or before the beat is deployed). From the first recorded run of
any periodic task on, a clock that never finished is late once its tolerance has passed since
that first run: the beat was working, so this clock should have run by now.

Who notices: the beat itself is what stopped, so the check cannot run as a periodic task. It runs
where requests arrive anyway: ``/salud/listo`` (the load balancer asks every few seconds) and the
two pages that show the banner. ``vigilar_relojes`` e-mails the staff once per outage: the first
caller that sees a late clock claims it with a conditional UPDATE (``avisada_at IS NULL``), so
many web processes asking at once still send one e-mail; the clock's next successful run clears
``avisada_at``, so a later outage is e-mailed again. While nothing is late (and while the late
clocks are already notified) it costs the one SELECT of ``relojes_atrasados``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection, send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import EjecucionPeriodica

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

BARRIDO = "anulaciones.tasks.barrer_plazos"
ENTREGA = "anulaciones.tasks.entrega_mensual"
# The sweep is late after this many of its intervals without a successful finish.
INTERVALOS_BARRIDO = 3
# The month-end check must have run today once this many of its intervals have passed since midnight.
INTERVALOS_ENTREGA = 2
# An SMTP server that does not answer must not hold a health probe (its own budget is 5 s).
CORREO_TIMEOUT = 3


def nombre_de_tarea(funcion: Callable[..., Any]) -> str:
    """Celery's default name for a task defined by ``funcion``."""
    return f"{funcion.__module__}.{funcion.__name__}"


def registrar_ejecucion(funcion: F) -> F:
    """Record the run of a periodic task: start, successful finish and duration, or failure.

    Applied under ``@shared_task`` so it records direct calls, eager runs and worker runs alike.
    A failure to record is logged and never turns a successful task into a failed one."""
    nombre = nombre_de_tarea(funcion)

    @functools.wraps(funcion)
    def envoltura(*args: Any, **kwargs: Any) -> Any:
        inicio = timezone.now()
        reloj = time.monotonic()
        try:
            resultado = funcion(*args, **kwargs)
        except Exception:
            _guardar(nombre, iniciada_at=inicio, fallida_at=timezone.now())
            raise
        _guardar(
            nombre,
            iniciada_at=inicio,
            terminada_at=timezone.now(),
            duracion=time.monotonic() - reloj,
            avisada_at=None,  # recovered: a later outage is e-mailed again
        )
        return resultado

    return envoltura  # type: ignore[return-value]


def _guardar(nombre: str, **campos: Any) -> None:
    try:
        if EjecucionPeriodica.objects.filter(nombre=nombre).update(**campos):
            return
        try:
            with transaction.atomic():
                EjecucionPeriodica.objects.create(nombre=nombre, **campos)
        except IntegrityError:  # another worker inserted it first
            EjecucionPeriodica.objects.filter(nombre=nombre).update(**campos)
    except Exception:
        log.exception("No se pudo registrar la ejecución de %s", nombre)


def intervalo(nombre: str) -> float | None:
    """Seconds between two runs of the task ``nombre`` in the beat schedule (None: not scheduled
    by a plain interval)."""
    for entrada in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values():
        if entrada.get("task") == nombre:
            calendario = entrada.get("schedule")
            if isinstance(calendario, timedelta):
                return calendario.total_seconds()
            if isinstance(calendario, int | float):
                return float(calendario)
    return None


def _cuando(momento: datetime, ahora: datetime) -> str:
    """«las 10:42» today, «el 27/11 10:42» another day (local time)."""
    local = timezone.localtime(momento)
    if local.date() == timezone.localdate(ahora):
        return f"las {local:%H:%M}"
    return f"el {local:%d/%m %H:%M}"


def relojes_atrasados(ahora: datetime | None = None) -> list[dict[str, Any]]:
    """The clocks that stopped, empty when all run: ``[{"nombre", "desde", "motivo", "avisada"}]``
    with ``desde`` the last successful finish (None: never finished) and ``motivo`` a Spanish
    sentence for the banner and the e-mail. One query."""
    ahora = ahora or timezone.now()
    filas = {f.nombre: f for f in EjecucionPeriodica.objects.all()}
    momentos = [m for f in filas.values() for m in (f.iniciada_at, f.terminada_at, f.fallida_at) if m]
    if not momentos:
        return []  # the beat never ran on this install: nothing to compare with (module docstring)
    primera = min(momentos)
    atrasados = []

    barrido = filas.get(BARRIDO)
    cada = intervalo(BARRIDO)
    if cada:
        desde = barrido.terminada_at if barrido else None
        if ahora - (desde or primera) > timedelta(seconds=INTERVALOS_BARRIDO * cada):
            motivo = (
                f"Los plazos no se están actualizando desde {_cuando(desde, ahora)}"
                if desde
                else "Los plazos no se están actualizando: el barrido de plazos no ha terminado nunca"
            )
            atrasados.append(_atrasado(BARRIDO, desde, motivo, barrido))

    entrega = filas.get(ENTREGA)
    cada = intervalo(ENTREGA)
    if cada:
        desde = entrega.terminada_at if entrega else None
        medianoche = timezone.make_aware(datetime.combine(timezone.localdate(ahora), datetime.min.time()))
        hoy = desde is not None and desde >= medianoche
        if not hoy and ahora - max(medianoche, primera) > timedelta(seconds=INTERVALOS_ENTREGA * cada):
            motivo = "La revisión de entregas de fin de mes no se ha ejecutado hoy" + (
                f" (última: {_cuando(desde, ahora)})" if desde else ""
            )
            atrasados.append(_atrasado(ENTREGA, desde, motivo, entrega))
    return atrasados


def _atrasado(nombre: str, desde: datetime | None, motivo: str, fila: EjecucionPeriodica | None) -> dict[str, Any]:
    return {"nombre": nombre, "desde": desde, "motivo": motivo, "avisada": bool(fila and fila.avisada_at)}


def destinatarios_aviso() -> list[str]:
    """The staff: active ``is_staff`` users with an e-mail address (those who can act on the
    workers and the beat; Gestión de Red sees the banner)."""
    correos = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    return sorted(set(correos.values_list("email", flat=True)))


def vigilar_relojes(ahora: datetime | None = None) -> list[dict[str, Any]]:
    """``relojes_atrasados``, and the staff e-mailed once per outage (module docstring)."""
    ahora = ahora or timezone.now()
    atrasados = relojes_atrasados(ahora)
    pendientes = [a for a in atrasados if not a["avisada"]]
    if pendientes and _reclamar([a["nombre"] for a in pendientes], ahora):
        try:
            _enviar_aviso(atrasados)
        except Exception:
            # Released so that the next check tries again (the mail server may be back by then).
            log.exception("No se pudo enviar el aviso de relojes atrasados")
            EjecucionPeriodica.objects.filter(nombre__in=[a["nombre"] for a in pendientes], avisada_at=ahora).update(
                avisada_at=None
            )
        else:
            for a in pendientes:
                a["avisada"] = True
    return atrasados


def _reclamar(nombres: list[str], ahora: datetime) -> bool:
    """Mark the late clocks notified; True when this caller marked at least one (it sends)."""
    reclamados = EjecucionPeriodica.objects.filter(nombre__in=nombres, avisada_at__isnull=True).update(avisada_at=ahora)
    existentes = set(EjecucionPeriodica.objects.filter(nombre__in=nombres).values_list("nombre", flat=True))
    for nombre in set(nombres) - existentes:  # a clock that never ran has no row yet
        try:
            with transaction.atomic():
                EjecucionPeriodica.objects.create(nombre=nombre, avisada_at=ahora)
            reclamados += 1
        except IntegrityError:  # another process claimed it first
            pass
    return reclamados > 0


def _enviar_aviso(atrasados: list[dict[str, Any]]) -> None:
    destinatarios = destinatarios_aviso()
    if not destinatarios:
        log.warning("Relojes atrasados y ningún usuario staff con correo: %s", [a["nombre"] for a in atrasados])
        return
    lineas = [f"- {a['motivo']} ({a['nombre']})." for a in atrasados]
    cuerpo = (
        "Las tareas periódicas de Anulaciones no se están ejecutando:\n\n"
        + "\n".join(lineas)
        + "\n\nRevise el proceso beat de Celery y los workers (docs/operaciones.md). "
        "Este aviso se envía una vez; se enviará otro si vuelve a ocurrir después de recuperarse."
    )
    if settings.ANULACIONES_URL_BASE:
        cuerpo += f"\n\nDetalle: {settings.ANULACIONES_URL_BASE.rstrip('/')}/salud/detalle"
    send_mail(
        "[Anulaciones] Los plazos no se están actualizando",
        cuerpo,
        settings.DEFAULT_FROM_EMAIL,
        destinatarios,
        connection=get_connection(timeout=CORREO_TIMEOUT),
    )
