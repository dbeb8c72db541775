"""The working calendar as the pages, services and tasks use it: the calendars read from the
database (``CalendarioLaboral``, ``Feriado``), which SIs are in working hours now (the warning
sweep), the recompute of every pending deadline when a calendar changes, and the time left
before a deadline in words. The arithmetic itself is the base module ``anulaciones.reloj``
(which the models use too, without importing this service)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import reloj
from .models import CalendarioLaboral, Calendarios, RegistroAuditoria, ServicioIngenieria, Solicitud
from .models.organizacion import recortar_explicacion
from .reloj import zona_horaria_sql  # noqa: F401 - reports.workbook reads it here
from .roles import SISTEMA
from .transitions import Contexto, filtro_pks, usuario_sistema
from .transitions.auditoria import auditar_filas, registro

# Rows locked, recomputed and written per transaction by ``recalcular_plazos``.
LOTE = 1000
TRANSICION_RECALCULO = "recalcular_plazo"


def dias_habiles_restantes(hoy: date) -> int:
    """Working days of the default calendar from ``hoy`` (included, if it is one) to the end of its
    month; 0 when ``hoy`` is not a working day."""
    return reloj.dias_habiles_restantes(hoy, CalendarioLaboral.de_zona(None))


def en_horario(ahora: datetime, calendarios: Calendarios | None = None) -> Q | None:
    """A filter of the SIs whose zone's calendar is in working hours at ``ahora`` (on the SI's own
    zone column), or None when no calendar is. The calendars are few: each is asked in Python."""
    cals = calendarios or CalendarioLaboral.todos()
    habil = {pk: reloj.es_habil(cal, ahora) for pk, cal in cals.por_id.items()}
    if reloj.es_habil(cals.predeterminado, ahora):
        fuera = [zona for zona, cal in cals.zonas.items() if not habil[cal]]
        return ~Q(zona_id__in=fuera) if fuera else Q()
    dentro = [zona for zona, cal in cals.zonas.items() if habil[cal]]
    return Q(zona_id__in=dentro) if dentro else None


# --- recompute --------------------------------------------------------------------------------------
@dataclass
class _Lote:
    """What one batch writes: the rows changed, and the audit rows of the changed deadlines."""

    ctx: Contexto
    solicitudes: list[Solicitud] = field(default_factory=list)
    servicios: list[ServicioIngenieria] = field(default_factory=list)
    registros: dict[type[Solicitud | ServicioIngenieria], list[RegistroAuditoria]] = field(default_factory=dict)

    def servicio(
        self,
        si: ServicioIngenieria,
        cal: reloj.Calendario,
        abierto: datetime,
        vence: datetime,
        explicacion: str,
        paso: str,
    ) -> bool:
        """Give ``si`` its deadline; kept for writing if anything changed. True: the deadline did
        (audited; warned again if the new warning is still ahead)."""
        aviso = ServicioIngenieria.momento_aviso(cal, abierto, vence)
        explicacion = recortar_explicacion(explicacion)
        antes = si.vence_at
        if (antes, si.aviso_at, si.vence_explicacion) == (vence, aviso, explicacion):
            return False
        if vence != antes:
            self._auditar(si, antes, vence, paso)
            if aviso > self.ctx.ahora:
                si.aviso_enviado_at = None
        si.vence_at, si.aviso_at, si.vence_explicacion = vence, aviso, explicacion
        self.servicios.append(si)
        return vence != antes

    def solicitud(self, s: Solicitud, vence: datetime, explicacion: str) -> bool:
        explicacion = recortar_explicacion(explicacion)
        antes = s.redigitacion_vence_at
        if (antes, s.redigitacion_explicacion) == (vence, explicacion):
            return False
        if vence != antes:
            self._auditar(s, antes, vence, "19.2")
        s.redigitacion_vence_at, s.redigitacion_explicacion = vence, explicacion
        self.solicitudes.append(s)
        return vence != antes

    def _auditar(self, obj: Solicitud | ServicioIngenieria, antes: datetime | None, vence: datetime, paso: str) -> None:
        obj.actualizado_at = self.ctx.ahora
        nota = (
            f"Plazo recalculado por cambio del calendario laboral: antes {_dia_hora(antes)}, ahora {_dia_hora(vence)}."
        )
        fila = registro(obj, self.ctx, TRANSICION_RECALCULO, obj.estado, obj.estado, paso=paso, nota=nota)
        self.registros.setdefault(type(obj), []).append(fila)

    def escribir(self) -> None:
        """At most four statements (an UPDATE per model, one INSERT of audit rows per model)."""
        _actualizar(self.solicitudes, ["redigitacion_vence_at", "redigitacion_explicacion", "actualizado_at"])
        _actualizar(self.servicios, ["vence_at", "aviso_at", "vence_explicacion", "aviso_enviado_at", "actualizado_at"])
        for modelo, filas in self.registros.items():
            auditar_filas(modelo, filas)


def _actualizar(objetos: list[Any], campos: list[str]) -> None:
    """Write ``campos`` of ``objetos`` (one model) in one statement. On PostgreSQL an UPDATE … FROM
    unnest of one array per column: Django's ``bulk_update`` writes a CASE of one branch per row
    for every column, which PostgreSQL evaluates row by row (quadratic: 17× the plain UPDATE on
    100,000 SIs, docs/bench.md)."""
    if not objetos:
        return
    modelo = type(objetos[0])
    if connection.vendor != "postgresql":
        modelo.objects.bulk_update(objetos, campos, batch_size=100)
        return
    meta = modelo._meta
    columnas = [meta.get_field(c) for c in campos]
    tipos = [c.db_type(connection) for c in columnas]
    asignar = ", ".join(f"{c.column} = t.{c.column}" for c in columnas)
    arrays = ", ".join(f"%s::{tipo}[]" for tipo in tipos)
    nombres = ", ".join(c.column for c in columnas)
    sql = (
        f"UPDATE {meta.db_table} AS x SET {asignar} "
        f"FROM unnest(%s::bigint[], {arrays}) AS t(id, {nombres}) WHERE x.id = t.id"
    )
    valores = [[o.pk for o in objetos]] + [
        [c.get_db_prep_save(getattr(o, c.attname), connection) for o in objetos] for c in columnas
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, valores)


def _dia_hora(instante: datetime | None) -> str:
    return f"{timezone.localtime(instante):%d/%m %H:%M}" if instante else "sin plazo"


def _por_lotes(pendientes: QuerySet[Any]) -> Iterator[list[int]]:
    """The pks of ``pendientes`` (unlocked), LOTE at a time in pk order: each batch is then locked
    and re-checked in its own transaction, so a row taken meanwhile never stops the walk."""
    ultimo = 0
    while True:
        pks = list(pendientes.filter(pk__gt=ultimo).order_by("pk").values_list("pk", flat=True)[:LOTE])
        if pks:
            yield pks
        if len(pks) < LOTE:
            return
        ultimo = pks[-1]


def recalcular_plazos(ahora: datetime | None = None) -> dict[str, int]:
    """Recompute, with the calendars as they are now, the deadline of every pending clock: the
    re-digitations (Solicitudes ``pendiente_redigitacion``, from ``redigitacion_desde``; rows
    without it are left alone) with their open re-digitation SIs, and every other ``abierto`` SI
    (from its ``creado_at``). A ``vencido`` SI stays so: its expiry was told already.

    Set-based, in batches of LOTE rows (a constant number of queries per batch), each in its own
    transaction with its rows locked and their state checked again: a row whose state changed
    meanwhile is skipped. Only rows whose deadline, warning or explanation changed are written;
    a changed deadline gets one RegistroAuditoria row (by the system user, the state unchanged)
    and its warning is sent again if the new one is still ahead. A second run changes nothing.

    Returns how many deadlines changed: {"redigitaciones": n, "servicios": m}."""
    ahora = ahora or timezone.now()
    calendarios = CalendarioLaboral.todos()
    ctx = Contexto(usuario=usuario_sistema(), rol=SISTEMA, ahora=ahora)
    cambios = {"redigitaciones": 0, "servicios": 0}
    E, T = Solicitud.E, ServicioIngenieria.Tipo
    # An escalated re-digitation stays as it is, like a vencido SI: its lateness was told already.
    pendientes = Solicitud.objects.filter(
        estado=E.PENDIENTE_REDIGITACION, redigitacion_desde__isnull=False, redigitacion_escalada_at__isnull=True
    )
    for pks in _por_lotes(pendientes):  # the re-digitations and their SIs (lock order: the Solicitud first)
        with transaction.atomic():
            lote = _Lote(ctx)
            plazos: dict[int, tuple[Solicitud, reloj.Calendario, datetime, datetime, str]] = {}
            for s in pendientes.filter(filtro_pks(pks)).select_for_update(of=("self",)).order_by("pk"):
                cal = calendarios.de_zona(s.zona_id)
                desde = s.redigitacion_desde
                assert desde is not None  # the filter's
                vence = reloj.vencimiento_redigitacion(cal, desde)
                explicacion = reloj.explicar_redigitacion(cal, desde, vence)
                cambios["redigitaciones"] += lote.solicitud(s, vence, explicacion)
                plazos[s.pk] = (s, cal, desde, vence, explicacion)
            for si in (
                ServicioIngenieria.objects.filter(
                    solicitud_id__in=list(plazos), estado=ServicioIngenieria.E.ABIERTO, tipo=T.REDIGITACION
                )
                .select_for_update(of=("self",))
                .order_by("pk")
            ):
                s, cal, desde, vence, explicacion = plazos[si.solicitud_id]
                si.solicitud = s  # its case, for the audit row
                cambios["servicios"] += lote.servicio(si, cal, desde, vence, explicacion, "19.2")
            lote.escribir()
    abiertos = ServicioIngenieria.objects.filter(estado=ServicioIngenieria.E.ABIERTO).exclude(tipo=T.REDIGITACION)
    for pks in _por_lotes(abiertos):  # every other open SI
        with transaction.atomic():
            lote = _Lote(ctx)
            for si in (
                abiertos.filter(filtro_pks(pks))
                .select_related("solicitud")
                .select_for_update(of=("self",))
                .order_by("pk")
            ):
                cal = calendarios.de_zona(si.solicitud.zona_id)
                vence = reloj.vencimiento_si(cal, si.creado_at)
                explicacion = reloj.explicar_si(cal, si.creado_at, vence)
                cambios["servicios"] += lote.servicio(si, cal, si.creado_at, vence, explicacion, "4.2")
            lote.escribir()
    return cambios


def plazo(vence_at: datetime | None, ahora: datetime | None = None) -> dict[str, Any] | None:
    """{'vence': dt, 'texto': 'quedan 2 h 5 min' | 'vencido hace 1 h', 'vencido': bool} or None.
    ``vencido`` here only picks the wording (the deadline has passed); whether an SI counts as
    overdue is decided by the SI itself (its model and queryset), not by this text."""
    if vence_at is None:
        return None
    ahora = ahora or timezone.now()
    delta = vence_at - ahora
    vencido = delta.total_seconds() < 0
    segundos = int(abs(delta.total_seconds()))
    dias, resto = divmod(segundos, 86400)
    horas, resto = divmod(resto, 3600)
    minutos = resto // 60
    partes = []
    if dias:
        partes.append(f"{dias} d")
    if horas or dias:
        partes.append(f"{horas} h")
    partes.append(f"{minutos} min")
    duracion = " ".join(partes)
    return {
        "vence": vence_at,
        "vencido": vencido,
        "texto": f"vencido hace {duracion}" if vencido else f"quedan {duracion}",
    }
