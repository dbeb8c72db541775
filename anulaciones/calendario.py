"""The working calendar as the pages and services use it: the Feriado table read once per
question, and the time left before a deadline in words. The arithmetic itself is the base module
``anulaciones.reloj`` (which the models use too, without importing this service)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from . import reloj
from .models import Feriado
from .reloj import zona_horaria_sql  # noqa: F401 - reports.workbook reads it here


def feriados_de_tabla(desde: date, hasta: date) -> QuerySet[Feriado, date]:
    """The Feriado table's dates in [desde, hasta] (what ``reloj`` asks the caller for)."""
    return Feriado.objects.filter(fecha__range=(desde, hasta)).values_list("fecha", flat=True)


def feriados(desde: date, hasta: date) -> set[date]:
    """Every holiday of [desde, hasta]: ANULACIONES_FERIADOS and the Feriado table."""
    return reloj.libres(feriados_de_tabla, desde, hasta)


def vencimiento_mismo_dia(ahora: datetime) -> datetime:
    """The cut-off the SI opened at ``ahora`` must be answered by (aware datetime)."""
    return reloj.vencimiento_mismo_dia(ahora, feriados_de_tabla)


def dias_habiles_restantes(hoy: date) -> int:
    """Working days from ``hoy`` (included, if it is one) to the end of its month; 0 when ``hoy``
    is not a working day."""
    return reloj.dias_habiles_restantes(hoy, feriados_de_tabla)


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
