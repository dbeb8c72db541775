"""Celery tasks: the procedure's clocks (4.2, 5.2, 19.2, 21.1), the month-end deliveries, the
e-mail of the outbox and the Smartflex import. The only module that defines tasks (an entry
point, like the views): services never import it, they queue a task by name through
``anulaciones.cola.encolar``, which finds it in the registry this module fills.

Tasks take ids (or nothing), select what is due in set-based queries and go through the
transition path (``aplicar_en_bloque``, by the system user). Each runs in one transaction and
only catches up what is still due, so running one twice — or again after a worker was killed
in the middle (``acks_late``: the message is redelivered) — does nothing twice.

Nothing is scheduled with a long ``eta``: what falls due later (an SI's cut-off, the 2-hour
re-digitation) is found by the periodic sweep, so no worker holds a message for hours and a
Redis restart loses nothing that the next sweep would not do (docs/relojes.md).
"""

import logging
from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import calendario, cola, conciliacion, diferencias, emparejamiento, entregas, importacion, notificaciones, riesgo
from .models import Entrega, ImportacionSmartflex, ServicioIngenieria, Solicitud
from .operacion import registrar_ejecucion
from .transitions import aplicar_en_bloque, filtro_pks, usuario_sistema

log = logging.getLogger(__name__)
TAREA = dict(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
# Rows per set-based statement: far below SQLite's 32,766 parameters; 10,000 due SIs take one.
LOTE = 10_000


# --- the work (plain functions: the tasks, the page and the tests call them) ---------------
def vencer_servicios(ahora=None):
    """5.2: every SI still open past its ``vence_at`` becomes ``vencido`` (audited, by the
    system user); the destinatario and Gestión de Red are notified after the commit."""
    ahora = ahora or timezone.now()
    sistema = usuario_sistema()
    todos = []
    while True:  # one transaction per LOTE rows (bounded statement size; a crash loses no batch twice)
        # Due pks read first: as a subquery, stale statistics made PostgreSQL re-run it per row.
        vencidos = list(
            ServicioIngenieria.objects.filter(estado=ServicioIngenieria.E.ABIERTO, vence_at__lte=ahora)
            .order_by("vence_at", "pk")
            .values_list("pk", flat=True)[:LOTE]
        )
        if not vencidos:
            return todos
        with transaction.atomic():
            pks = aplicar_en_bloque(
                ServicioIngenieria.objects.filter(filtro_pks(vencidos)).select_related("solicitud"),
                "vencer",
                sistema,
                nota="Plazo de atención vencido (4.2).",
            )
            if pks:
                # Written in the batch's own transaction (the e-mail is queued after it commits):
                # a worker killed at any point leaves the batch and its notices together or neither.
                notificaciones.servicios_vencidos(pks)
        todos += pks
        if len(pks) < LOTE:
            return todos


def avisar_por_vencer(ahora=None):
    """Warn the destinatario once when an open SI reaches its ``aviso_at`` (ANULACIONES_AVISO_MINUTOS
    of working time before its deadline), only while its zone's calendar is in working hours: a
    warning due at night goes out when the next working day starts (if the SI is not due by then).
    An SI written without ``aviso_at`` (an older release, SQL) is warned from its ``vence_at``."""
    ahora = ahora or timezone.now()
    en_horario = calendario.en_horario(ahora)
    if en_horario is None:  # no calendar is in working hours now
        return []
    sin_aviso_at = Q(aviso_at__isnull=True, vence_at__lte=ahora + timedelta(minutes=settings.ANULACIONES_AVISO_MINUTOS))
    with transaction.atomic():
        pks = list(
            ServicioIngenieria.objects.filter(
                Q(aviso_at__lte=ahora) | sin_aviso_at,
                en_horario,
                estado=ServicioIngenieria.E.ABIERTO,
                aviso_enviado_at__isnull=True,
                vence_at__gt=ahora,
            )
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if pks:
            ServicioIngenieria.objects.filter(filtro_pks(pks), aviso_enviado_at__isnull=True).update(
                aviso_enviado_at=ahora
            )
            notificaciones.servicios_por_vencer(pks)  # with the change, in its transaction
    return pks


def escalar_redigitaciones(solicitudes=None, ahora=None):
    """19.2: a case still pending re-digitation past its 2 hours is flagged late and escalated
    to the asesor's TEAM_LEADER, once."""
    ahora = ahora or timezone.now()
    qs = Solicitud.objects.all() if solicitudes is None else solicitudes
    with transaction.atomic():
        pks = list(
            qs.filter(
                estado=Solicitud.E.PENDIENTE_REDIGITACION,
                redigitacion_vence_at__lte=ahora,
                redigitacion_escalada_at__isnull=True,
            )
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if pks:
            Solicitud.objects.filter(filtro_pks(pks), redigitacion_escalada_at__isnull=True).update(
                redigitacion_tardia=True, redigitacion_escalada_at=ahora
            )
            notificaciones.redigitaciones_tardias(pks)  # with the change, in its transaction
    return pks


def barrer(ahora=None):
    """The periodic sweep: deadlines past due, warnings, late re-digitations."""
    ahora = ahora or timezone.now()
    return {
        "vencidos": len(vencer_servicios(ahora)),
        "avisos": len(avisar_por_vencer(ahora)),
        "redigitaciones": len(escalar_redigitaciones(ahora=ahora)),
    }


def recuperar_pendientes(ahora=None):
    """The backstop of everything queued after a commit (beat, every few minutes), for when the
    broker was down at that moment or a worker died: the notices not mailed yet, the deliveries
    not e-mailed yet, and the imports whose message was lost (still «en cola») or whose worker
    stopped (no progress for ANULACIONES_IMPORTACION_LATIDO_MINUTOS) are queued again."""
    ahora = ahora or timezone.now()
    # Each step on its own: the mail server down must not keep the stalled imports waiting.
    correos = _sin_detener(notificaciones.enviar_pendientes)
    enviadas = [
        _sin_detener(entregas.enviar_entrega, pk)
        for pk in Entrega.objects.filter(enviada_at__isnull=True).values_list("pk", flat=True)
    ]
    limite = ahora - timedelta(minutes=settings.ANULACIONES_IMPORTACION_LATIDO_MINUTOS)
    E = ImportacionSmartflex.Etapa
    with transaction.atomic():
        paradas = list(
            ImportacionSmartflex.objects.select_for_update(skip_locked=True)
            .filter(
                # «en cola» since the limit, and not queued again by a pickup since (its latido_at)
                Q(etapa=E.PENDIENTE, creado_at__lt=limite) & (Q(latido_at__isnull=True) | Q(latido_at__lt=limite))
                | Q(etapa__in=(E.VALIDANDO, E.IMPORTANDO), latido_at__lt=limite)
            )
            .values_list("pk", flat=True)
        )
        ImportacionSmartflex.objects.filter(pk__in=paradas).update(etapa=E.PENDIENTE, latido_at=ahora)
    for pk in paradas:
        log.warning("Importación %s sin avance: se encola de nuevo", pk)
        cola.encolar("importar_smartflex", pk)  # after the commit, bounded like every publication
    return {"correos": correos or 0, "entregas": sum(e is not None for e in enviadas), "importaciones": len(paradas)}


def _sin_detener(paso, *args):
    """One step of the pickup: its failure (its own transaction rolled back) is logged, and the
    next pickup tries it again."""
    try:
        return paso(*args)
    except Exception:
        log.exception("Recuperación: %s%s falló; se reintentará en el próximo barrido", paso.__name__, args or "")
        return None


# --- the tasks -----------------------------------------------------------------------------
@shared_task(**TAREA)
@registrar_ejecucion  # the periodic tasks record their runs (issue 20, operacion.py)
def barrer_plazos():
    resultado = barrer()
    if any(resultado.values()):
        log.info("Barrido de plazos: %s", resultado)
    return resultado


@shared_task(**TAREA)
def escalar_redigitacion(solicitud_id):
    """The 19.2 check of one case. No longer scheduled (it was, with ``eta`` = the 2-hour
    deadline: a message held unacknowledged by a worker for 2 hours, lost with a Redis restart
    and redelivered after the visibility timeout); the periodic sweep escalates every late
    re-digitation within one interval. Kept so that messages published by an older release
    still run."""
    return escalar_redigitaciones(Solicitud.objects.filter(pk=solicitud_id))


@shared_task(**TAREA)
@registrar_ejecucion
def entrega_mensual():
    """Hourly (21.1): the deliveries that are due, last month's stragglers, the month-end watch."""
    return [e.pk for e in entregas.revisar_entregas()]


@shared_task(**TAREA)
def generar_entrega(mes_iso, usuario_id=None):
    """The next numbered delivery of a month, on demand (or None: nothing to deliver)."""
    from django.contrib.auth import get_user_model

    usuario = get_user_model().objects.get(pk=usuario_id) if usuario_id else usuario_sistema()
    entrega = entregas.generar_entrega(date.fromisoformat(mes_iso), usuario)
    return entrega.pk if entrega else None


@shared_task(**TAREA)
def enviar_entrega(entrega_id):
    return entregas.enviar_entrega(entrega_id)


@shared_task(**TAREA)
def enviar_correos():
    return notificaciones.enviar_pendientes()


@shared_task(**TAREA)
@registrar_ejecucion
def recuperar():
    return recuperar_pendientes()


@shared_task(**TAREA)
def recalcular_plazos():
    """The deadlines of the open SIs and pending re-digitations recomputed with the calendars as
    they are now (``calendario.recalcular_plazos``): queued by the admin after a calendar, holiday
    or zone's calendar changes. Idempotent: a second run (or a redelivery) changes nothing."""
    cambios = calendario.recalcular_plazos()
    if any(cambios.values()):
        log.info("Plazos recalculados: %s", cambios)
    return cambios


@shared_task(**TAREA)
@registrar_ejecucion
def recalcular_riesgo():
    """Issue 19: the history the risk at entry is scored from (``riesgo.recalcular_factores``),
    on the beat (ANULACIONES_RIESGO_RECALCULO_SEGUNDOS, daily by default). It rewrites the whole
    table in one transaction: a second run or a redelivery only writes the same rows again."""
    resultado = riesgo.recalcular_factores()
    log.info("Historial de riesgo recalculado: %s", resultado)
    return resultado


@shared_task(acks_late=True)
def importar_smartflex(importacion_id):
    """An uploaded Smartflex import (``importacion.ejecutar``). Its claim makes a second message
    for the same import (the pickup's, a redelivery) do nothing. Before issue 16 this task lived
    in ``anulaciones.importacion`` under that module's name; a message of an older release with
    the old name is refused by the worker, and the pickup queues its import again (still «en cola»).
    A status feed (clase «estados», issue 18) runs ``conciliacion.ejecutar`` through the same machinery."""
    clase = ImportacionSmartflex.objects.filter(pk=importacion_id).values_list("clase", flat=True).first()
    if clase == ImportacionSmartflex.Clase.ESTADOS:
        return conciliacion.ejecutar(importacion_id)
    return importacion.ejecutar(importacion_id)


@shared_task(**TAREA)
@registrar_ejecucion
def recoger_estados_smartflex():
    """Issue 18: the status feeds left in the drop folder (ANULACIONES_SMARTFLEX_CARPETA; nothing
    when unset) become import jobs, each queued like an upload (``conciliacion.recoger_carpeta``).
    A second run finds the files already moved: nothing twice."""
    pks = conciliacion.recoger_carpeta()
    for pk in pks:
        cola.encolar("importar_smartflex", pk)
    if pks:
        log.info("Carpeta de Smartflex: %s importaciones en cola", len(pks))
    return pks


@shared_task(**TAREA)
@registrar_ejecucion
def emparejar_redigitaciones():
    """Issue 18: the new Solicitudes that follow a cancelled one of the same customer within the
    window are proposed as its re-digitation, and the unambiguous high-confidence pairs linked when
    ANULACIONES_SMARTFLEX_VINCULAR_AUTOMATICO (``emparejamiento.emparejar``). Every 5 minutes on the
    beat; a second run proposes nothing twice."""
    return emparejamiento.emparejar()


@shared_task(**TAREA)
@registrar_ejecucion
def revisar_diferencias():
    """Issue 18: the open differences with Smartflex compared again with the application as it is
    now (``diferencias.revisar_abiertas``): one the application caught up with through its own path
    leaves the reconciliation page without waiting for the next feed."""
    abiertas, quitadas = diferencias.revisar_abiertas()
    return {"abiertas": abiertas, "quitadas": quitadas}
