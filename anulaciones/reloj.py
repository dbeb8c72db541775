"""Working-calendar arithmetic of the procedure's clocks (4.2, 5.2, 21.1). Base layer: no models.

An SI opened on a working day before the cut-off is due at that day's cut-off, local time;
opened after the cut-off or on a non-working day (weekday not in ANULACIONES_DIAS_HABILES, a
holiday in ANULACIONES_FERIADOS or in the Feriado table) it is due at the next working day's
cut-off.

The Feriado table is read by the caller and passed in as ``feriados(desde, hasta)`` -> the dates
of that range (the model, ``ServicioIngenieria.para``, and the service ``anulaciones.calendario``
do it), so that the models can compute a deadline without this module importing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

# The caller's reader of the Feriado table: feriados(desde, hasta) -> the holidays of that range.
LectorFeriados = Callable[[date, date], Iterable[date]]

# How far ahead the next working day is looked for: a year without one is a misconfiguration.
HORIZONTE_DIAS = 366


def zona_horaria_sql() -> str:
    """The current time zone as PostgreSQL reads it in ``AT TIME ZONE``: its IANA name
    (``America/La_Paz``). Django's name of a fixed-offset zone (``UTC-04:00``) would be read by
    PostgreSQL with the sign flipped, so such a zone falls back to the configured TIME_ZONE."""
    return getattr(timezone.get_current_timezone(), "key", settings.TIME_ZONE)


def hora_corte() -> time:
    partes = [int(p) for p in settings.ANULACIONES_CORTE.split(":")]
    hora, minuto, segundo = [*partes, 0, 0][:3]  # "HH:MM" or "HH:MM:SS"
    return time(hora, minuto, segundo)


def feriados_fijos() -> set[date]:
    """The holidays of ANULACIONES_FERIADOS (the Feriado table's come from the caller)."""
    return {date.fromisoformat(f) for f in settings.ANULACIONES_FERIADOS}


def libres(feriados: LectorFeriados, desde: date, hasta: date) -> set[date]:
    """Every non-working date of [desde, hasta] that is a holiday: settings' and the table's."""
    return feriados_fijos() | set(feriados(desde, hasta))


def es_habil(dia: date, libres: set[date]) -> bool:
    return dia.weekday() in settings.ANULACIONES_DIAS_HABILES and dia not in libres


def vencimiento_mismo_dia(ahora: datetime, feriados: LectorFeriados) -> datetime:
    """The cut-off the SI opened at ``ahora`` must be answered by (aware datetime).
    ``feriados(desde, hasta)``: the Feriado table's dates in that range."""
    local = timezone.localtime(ahora)
    corte = hora_corte()
    dia = local.date()
    cerrados = libres(feriados, dia, dia + timedelta(days=HORIZONTE_DIAS))
    if not (es_habil(dia, cerrados) and local.time() <= corte):
        dia += timedelta(days=1)
        for _ in range(HORIZONTE_DIAS):
            if es_habil(dia, cerrados):
                break
            dia += timedelta(days=1)
    return timezone.make_aware(datetime.combine(dia, corte), timezone.get_current_timezone())


# --- months (the deliveries of 21.1) -------------------------------------------------------------
def primer_dia(mes: date) -> date:
    return date(mes.year, mes.month, 1)


def mes_siguiente(mes: date) -> date:
    return (primer_dia(mes) + timedelta(days=32)).replace(day=1)


def fin_de_mes(mes: date) -> datetime:
    """The first instant of the next month, local time (aware)."""
    return timezone.make_aware(datetime.combine(mes_siguiente(mes), time.min), timezone.get_current_timezone())


def dias_habiles_restantes(hoy: date, feriados: LectorFeriados) -> int:
    """Working days from ``hoy`` (included, if it is one) to the end of its month; 0 when ``hoy``
    is not a working day. ``feriados`` as in ``vencimiento_mismo_dia``."""
    fin = mes_siguiente(hoy) - timedelta(days=1)
    cerrados = libres(feriados, hoy, fin)
    if not es_habil(hoy, cerrados):
        return 0
    return sum(1 for i in range((fin - hoy).days + 1) if es_habil(hoy + timedelta(days=i), cerrados))
