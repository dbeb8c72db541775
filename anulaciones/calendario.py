"""Working calendar of the same-day deadline (4.2, 5.2).

An SI opened on a working day before the cut-off is due at that day's cut-off, local time;
opened after the cut-off or on a non-working day (weekday not in ANULACIONES_DIAS_HABILES, a
holiday in ANULACIONES_FERIADOS or in the Feriado table) it is due at the next working day's
cut-off.
"""
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone


def zona_horaria_sql():
    """The current time zone as PostgreSQL reads it in ``AT TIME ZONE``: its IANA name
    (``America/La_Paz``). Django's name of a fixed-offset zone (``UTC-04:00``) would be read by
    PostgreSQL with the sign flipped, so such a zone falls back to the configured TIME_ZONE."""
    return getattr(timezone.get_current_timezone(), "key", settings.TIME_ZONE)


def hora_corte():
    partes = [int(p) for p in settings.ANULACIONES_CORTE.split(":")]
    return time(*partes)


def feriados(desde, hasta):
    from .models import Feriado

    fijos = {date.fromisoformat(f) for f in settings.ANULACIONES_FERIADOS}
    return fijos | set(Feriado.objects.filter(fecha__range=(desde, hasta)).values_list("fecha", flat=True))


def es_habil(dia, libres):
    return dia.weekday() in settings.ANULACIONES_DIAS_HABILES and dia not in libres


def vencimiento_mismo_dia(ahora):
    """The cut-off the SI opened at ``ahora`` must be answered by (aware datetime)."""
    local = timezone.localtime(ahora)
    corte = hora_corte()
    dia = local.date()
    libres = feriados(dia, dia + timedelta(days=366))
    if not (es_habil(dia, libres) and local.time() <= corte):
        dia += timedelta(days=1)
        for _ in range(366):
            if es_habil(dia, libres):
                break
            dia += timedelta(days=1)
    return timezone.make_aware(datetime.combine(dia, corte), timezone.get_current_timezone())


def plazo(vence_at, ahora=None):
    """{'vence': dt, 'texto': 'quedan 2 h 5 min' | 'vencido hace 1 h', 'vencido': bool} or None."""
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
    return {"vence": vence_at, "vencido": vencido,
            "texto": f"vencido hace {duracion}" if vencido else f"quedan {duracion}"}
