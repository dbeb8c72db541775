"""Prometheus metrics (issue 20.3) at ``/metricas``, in the text exposition format.

Not public: the URL answers only ``Authorization: Bearer <ANULACIONES_METRICAS_TOKEN>`` (401
without credentials, 403 with others), and is a 404 while the setting is empty. Prometheus:
``authorization: {type: Bearer, credentials_file: …}`` in the scrape job (docs/operaciones.md).

Two kinds of metrics:

- Per process, counted as requests are answered (``anulaciones.contadores``): requests by method,
  route name and status class, their duration, the database faults answered 409/503. With several
  gunicorn workers set PROMETHEUS_MULTIPROC_DIR (an empty folder, emptied at each start of the
  service): each process writes its counters there and ``MultiProcessCollector`` adds them up,
  whichever worker answers the scrape.
- The domain, computed at scrape time from the database by ``ColectorDelDominio`` with a fixed
  number of queries (8, whatever the size of the tables) plus one round trip to Redis: open and
  overdue SIs by zone, pending re-digitations, the notices' outbox, imports and deliveries by
  state, the periodic tasks' last runs and the sweep's lag, the Celery queue's depth.
"""

from __future__ import annotations

import hmac
import logging
import os

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from .models import (
    EjecucionPeriodica,
    Entrega,
    ImportacionSmartflex,
    Notificacion,
    ServicioIngenieria,
    Solicitud,
    Zona,
)
from .operacion import BARRIDO

log = logging.getLogger(__name__)

SIN_ZONA = "sin_zona"


def _epoch(momento) -> float:
    return momento.timestamp()


class ColectorDelDominio:
    """The domain's gauges, read from the database at each scrape (never cached: Prometheus
    scrapes every 15-60 s and each query is a COUNT over an index)."""

    def describe(self):
        return []  # registering does not run the queries

    def collect(self):
        ahora = timezone.now()
        yield from self._servicios(ahora)
        yield from self._redigitaciones(ahora)
        yield from self._avisos(ahora)
        yield from self._importaciones()
        yield from self._entregas()
        yield from self._periodicas(ahora)
        yield from self._cola()

    def _servicios(self, ahora):
        zonas = {z: 0 for z in Zona.objects.values_list("codigo", flat=True)}
        abiertos = dict(zonas)
        vencidos = dict(zonas)
        for cuenta, filas in (
            (abiertos, ServicioIngenieria.objects.abiertos()),
            (vencidos, ServicioIngenieria.objects.vencidos(ahora)),
        ):
            for zona, n in filas.order_by().values_list("zona__codigo").annotate(n=Count("pk")):
                cuenta[zona or SIN_ZONA] = n
        g_abiertos = GaugeMetricFamily(
            "anulaciones_si_abiertos",
            "Servicios de Ingeniería abiertos (abierto o vencido), por zona.",
            labels=["zona"],
        )
        g_vencidos = GaugeMetricFamily(
            "anulaciones_si_vencidos", "Servicios de Ingeniería vencidos (5.2), por zona.", labels=["zona"]
        )
        for zona, n in sorted(abiertos.items()):
            g_abiertos.add_metric([zona], n)
        for zona, n in sorted(vencidos.items()):
            g_vencidos.add_metric([zona], n)
        yield g_abiertos
        yield g_vencidos

    def _redigitaciones(self, ahora):
        cuentas = Solicitud.objects.filter(estado=Solicitud.Estado.PENDIENTE_REDIGITACION).aggregate(
            pendientes=Count("pk"), atrasadas=Count("pk", filter=Q(redigitacion_vence_at__lt=ahora))
        )
        yield GaugeMetricFamily(
            "anulaciones_redigitaciones_pendientes",
            "Solicitudes pendientes de re-digitación (19.2).",
            value=cuentas["pendientes"],
        )
        yield GaugeMetricFamily(
            "anulaciones_redigitaciones_atrasadas",
            "Solicitudes pendientes de re-digitación pasadas sus 2 horas.",
            value=cuentas["atrasadas"],
        )

    def _avisos(self, ahora):
        cuentas = Notificacion.objects.filter(correo_enviado_at__isnull=True).aggregate(
            n=Count("pk"), primero=Min("creado_at")
        )
        yield GaugeMetricFamily(
            "anulaciones_avisos_por_enviar", "Avisos cuyo correo aún no se envió.", value=cuentas["n"]
        )
        yield GaugeMetricFamily(
            "anulaciones_aviso_mas_antiguo_por_enviar_segundos",
            "Antigüedad del aviso más antiguo cuyo correo aún no se envió (0 si no hay).",
            value=(ahora - cuentas["primero"]).total_seconds() if cuentas["primero"] else 0,
        )

    def _importaciones(self):
        g = GaugeMetricFamily(
            "anulaciones_importaciones", "Importaciones de Smartflex por etapa (estado).", labels=["estado"]
        )
        cuentas = dict.fromkeys(ImportacionSmartflex.Etapa.values, 0)
        cuentas.update(ImportacionSmartflex.objects.order_by().values_list("etapa").annotate(n=Count("pk")))
        for estado, n in sorted(cuentas.items()):
            g.add_metric([estado], n)
        yield g

    def _entregas(self):
        g = GaugeMetricFamily("anulaciones_entregas", "Entregas a Facturación (21.1) por estado.", labels=["estado"])
        cuentas = dict.fromkeys(Entrega.Estado.values, 0)
        sin_enviar = 0
        filas = (
            Entrega.objects.order_by()
            .values_list("estado")
            .annotate(n=Count("pk"), sin_enviar=Count("pk", filter=Q(enviada_at__isnull=True)))
        )
        for estado, n, sin in filas:
            cuentas[estado] = n
            sin_enviar += sin
        for estado, n in sorted(cuentas.items()):
            g.add_metric([estado], n)
        yield g
        yield GaugeMetricFamily(
            "anulaciones_entregas_sin_enviar", "Entregas cuyo correo a Facturación aún no se envió.", value=sin_enviar
        )

    def _periodicas(self, ahora):
        fin = GaugeMetricFamily(
            "anulaciones_tarea_periodica_fin_timestamp_segundos",
            "Último fin exitoso de cada tarea periódica (época Unix).",
            labels=["tarea"],
        )
        duracion = GaugeMetricFamily(
            "anulaciones_tarea_periodica_duracion_segundos",
            "Duración de la última ejecución exitosa de cada tarea periódica.",
            labels=["tarea"],
        )
        fallo = GaugeMetricFamily(
            "anulaciones_tarea_periodica_fallo_timestamp_segundos",
            "Último fallo de cada tarea periódica (época Unix).",
            labels=["tarea"],
        )
        retraso = None
        for e in EjecucionPeriodica.objects.order_by("nombre"):
            if e.terminada_at:
                fin.add_metric([e.nombre], _epoch(e.terminada_at))
                if e.nombre == BARRIDO:
                    retraso = max((ahora - e.terminada_at).total_seconds(), 0.0)
            if e.duracion is not None:
                duracion.add_metric([e.nombre], e.duracion)
            if e.fallida_at:
                fallo.add_metric([e.nombre], _epoch(e.fallida_at))
        yield from (fin, duracion, fallo)
        if retraso is not None:
            yield GaugeMetricFamily(
                "anulaciones_barrido_retraso_segundos",
                "Segundos desde el último fin exitoso del barrido de plazos.",
                value=retraso,
            )

    def _cola(self):
        """Messages waiting in the Celery default queue, when the broker is Redis (LLEN of the
        queue and of its priority lists, one round trip). The filesystem broker has no queue to
        count: no metric. A broker that does not answer: no metric either (the scrape still
        answers; /salud/listo reports the broker)."""
        url = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
        if not url.startswith(("redis://", "rediss://")):
            return
        cola = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
        try:
            import redis

            cliente = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
            try:
                canal = cliente.pipeline(transaction=False)
                for nombre in _listas_de_cola(cola):
                    canal.llen(nombre)
                total = sum(canal.execute())
            finally:
                cliente.close()
        except Exception as exc:  # noqa: BLE001 — metrics never fail for the broker
            log.warning("Métricas: la cola de Celery no se pudo contar (%s)", type(exc).__name__)
            return
        g = GaugeMetricFamily(
            "anulaciones_cola_celery_mensajes", "Mensajes esperando en la cola de Celery.", labels=["cola"]
        )
        g.add_metric([cola], total)
        yield g


def _listas_de_cola(cola: str) -> list[str]:
    """Kombu's Redis transport keeps one list per priority step (the default steps 0, 3, 6, 9);
    a message without priority is in the first, named like the queue."""
    return [cola, *(f"{cola}\x06\x16{p}" for p in (3, 6, 9))]


class _ContadoresDelProceso:
    """This process's counters (the default registry), when there is one process to ask."""

    def describe(self):
        return []

    def collect(self):
        return REGISTRY.collect()


def exposicion() -> bytes:
    registro = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registro)  # every worker's counters, from its files
    else:
        registro.register(_ContadoresDelProceso())
    registro.register(ColectorDelDominio())
    return generate_latest(registro)


def _autorizada(request, token: str) -> bool | None:
    """True: the right bearer token; False: another one; None: no credentials."""
    cabecera = request.headers.get("Authorization", "")
    tipo, _, valor = cabecera.partition(" ")
    if not cabecera or tipo.lower() != "bearer":
        return None
    return hmac.compare_digest(valor.strip().encode(), token.encode())


@require_GET
def exponer(request):
    token = settings.ANULACIONES_METRICAS_TOKEN
    if not token:
        raise Http404
    autorizada = _autorizada(request, token)
    if not autorizada:
        respuesta = HttpResponse(
            "Credenciales inválidas." if autorizada is False else "Se requieren credenciales.",
            status=403 if autorizada is False else 401,
            content_type="text/plain; charset=utf-8",
        )
        if autorizada is None:
            respuesta["WWW-Authenticate"] = 'Bearer realm="metricas"'
        return respuesta
    respuesta = HttpResponse(exposicion(), content_type=CONTENT_TYPE_LATEST)
    respuesta["Cache-Control"] = "no-store"
    return respuesta
