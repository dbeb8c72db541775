"""Working-time arithmetic of the procedure's clocks (4.2, 5.2, 19.2, 21.1). Base layer: no models.

A ``Calendario`` is a week of working hours (intervals of local time per weekday), a set of
holidays and a time zone. An instant is *working* when its local wall-clock time (in the
calendar's zone, daylight saving included) falls in one of its weekday's intervals and its local
date is not a holiday. Everything else is derived from that one rule:

- ``tiempo_habil(a, b)``: the working time in [a, b);
- ``sumar_habil(a, D)``: the earliest instant with D of working time since ``a``;
- ``restar_habil(b, D)``: the latest instant with D of working time until ``b``;
- a *working day* is a local date with working instants; its end (``fin_de_jornada``) is the end of
  its last working interval;
- the SI's deadline (4.2, ``vencimiento_si``): the end of the working day it is opened in, or of
  the next working day when it is opened on a non-working day, after the end, or with less than
  ANULACIONES_SI_MINIMO_MINUTOS of working time left;
- the re-digitation's (19.2, ``vencimiento_redigitacion``): ANULACIONES_REDIGITACION_HORAS of
  working time (ANULACIONES_REDIGITACION_MODO = "habil") or of wall-clock time ("reloj");
- the warning (``momento_aviso``): ANULACIONES_AVISO_MINUTOS of working time before the deadline.

The arithmetic works on intervals of UTC instants: each local interval of a date is turned into
the instants whose wall clock reads it, split where the zone's offset changes (a DST gap
shortens it, a repeated hour lengthens it). ``tests/test_reloj_propiedades.py`` checks every
clock against a reference that walks the calendar minute by minute.

The caller reads the holidays (settings and the Feriado table) and builds the ``Calendario``
(``CalendarioLaboral.de_zona`` in the models), so this module imports no model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

Tramo = tuple[int, int]  # minutes from local midnight, [inicio, fin), 0 <= inicio < fin <= 1440
Horario = tuple[tuple[Tramo, ...], ...]  # 7 entries, Monday = 0
Intervalo = tuple[datetime, datetime]  # aware UTC instants, [inicio, fin)

# How far a next working day is looked for: a year without one is a misconfiguration.
HORIZONTE_DIAS = 400

DIAS = ("lun", "mar", "mie", "jue", "vie", "sab", "dom")
NOMBRES_DIAS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


@dataclass(frozen=True)
class Calendario:
    """Working hours, holidays and zone. Hashable: the per-day intervals are cached on it (the
    names, for the texts only, take no part in the key)."""

    horario: Horario
    feriados: frozenset[date] = frozenset()
    zona_horaria: str = "America/La_Paz"
    nombre: str = field(default="", compare=False)
    nombres_feriados: tuple[tuple[date, str], ...] = field(default=(), compare=False)

    def nombre_feriado(self, dia: date) -> str:
        return dict(self.nombres_feriados).get(dia, "")


# --- the syntax of a week of hours -----------------------------------------------------------------
_HORA = r"(\d{1,2}):(\d{2})"
_TRAMO = re.compile(rf"^{_HORA}-{_HORA}$")


def _sin_tildes(texto: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", texto) if not unicodedata.combining(c)).lower()


def _dia(nombre: str) -> int:
    """A weekday from its Spanish name or a prefix of at least three letters (``mié``, ``sabado``)."""
    clave = _sin_tildes(nombre)
    for i, completo in enumerate(NOMBRES_DIAS):
        if len(clave) >= 3 and _sin_tildes(completo).startswith(clave):
            return i
    raise ValueError(f"«{nombre}» no es un día de la semana (lun, mar, mié, jue, vie, sáb, dom).")


def _minutos(hora: str, minuto: str, texto: str) -> int:
    h, m = int(hora), int(minuto)
    if m > 59 or h > 24 or (h == 24 and m):
        raise ValueError(f"«{texto}» no es una hora válida (de 00:00 a 24:00).")
    return h * 60 + m


def leer_horario(texto: str) -> Horario:
    """``"lun-vie 08:00-20:00; sab 08:00-13:00"``: groups separated by ``;``, each a list of days
    (``lun,mie``) or a range (``lun-vie``) and one or more intervals ``HH:MM-HH:MM`` (``24:00`` is
    the end of the day). Days not named do not work. ValueError with the reason in Spanish."""
    dias: list[list[Tramo]] = [[] for _ in DIAS]
    for grupo in (g.strip() for g in (texto or "").split(";")):
        if not grupo:
            continue
        partes = grupo.split()
        if len(partes) < 2:
            raise ValueError(f"«{grupo}»: indique los días y al menos un tramo, p. ej. «lun-vie 08:00-20:00».")
        nombrados: list[int] = []
        for trozo in partes[0].split(","):
            if "-" in trozo:
                desde, _, hasta = trozo.partition("-")
                a, b = _dia(desde), _dia(hasta)
                if b < a:
                    raise ValueError(f"«{trozo}»: el rango de días debe ir de lunes a domingo.")
                nombrados += range(a, b + 1)
            else:
                nombrados.append(_dia(trozo))
        for t in partes[1:]:
            m = _TRAMO.match(t)
            if not m:
                raise ValueError(f"«{t}» no es un tramo horario (escriba p. ej. «08:00-20:00»).")
            ini, fin = _minutos(m[1], m[2], t), _minutos(m[3], m[4], t)
            if fin <= ini:
                raise ValueError(f"«{t}»: la hora final debe ser posterior a la inicial.")
            for d in nombrados:
                dias[d].append((ini, fin))
    for d, tramos in enumerate(dias):
        tramos.sort()
        for (_, fin), (ini, _) in zip(tramos, tramos[1:], strict=False):
            if ini < fin:
                raise ValueError(f"Los tramos del {NOMBRES_DIAS[d]} se superponen.")
    if not any(dias):
        raise ValueError("El horario no tiene ningún tramo hábil.")
    return tuple(tuple(t) for t in dias)


def _hhmm(minutos: int) -> str:
    return f"{minutos // 60:02d}:{minutos % 60:02d}"


def escribir_horario(horario: Horario) -> str:
    """The canonical text of ``horario`` (consecutive days with the same hours as a range)."""
    grupos: list[str] = []
    d = 0
    while d < 7:
        hasta = d
        while hasta + 1 < 7 and horario[hasta + 1] == horario[d]:
            hasta += 1
        if horario[d]:
            dias = DIAS[d] if hasta == d else f"{DIAS[d]}-{DIAS[hasta]}"
            grupos.append(dias + " " + " ".join(f"{_hhmm(i)}-{_hhmm(f)}" for i, f in horario[d]))
        d = hasta + 1
    return "; ".join(grupos)


def feriados_fijos() -> frozenset[date]:
    """The holidays of ANULACIONES_FERIADOS (the Feriado table's come from the caller)."""
    return frozenset(date.fromisoformat(f) for f in settings.ANULACIONES_FERIADOS)


def calendario_predeterminado(feriados: Iterable[date] = (), nombres: Iterable[tuple[date, str]] = ()) -> Calendario:
    """The calendar of ANULACIONES_HORARIO in TIME_ZONE, with ANULACIONES_FERIADOS and ``feriados``."""
    return Calendario(
        horario=leer_horario(settings.ANULACIONES_HORARIO),
        feriados=feriados_fijos() | frozenset(feriados),
        zona_horaria=settings.TIME_ZONE,
        nombres_feriados=tuple(sorted(nombres)),
    )


# --- local intervals as UTC instants -------------------------------------------------------------
def zona_horaria_sql() -> str:
    """The current time zone as PostgreSQL reads it in ``AT TIME ZONE``: its IANA name
    (``America/La_Paz``). Django's name of a fixed-offset zone (``UTC-04:00``) would be read by
    PostgreSQL with the sign flipped, so such a zone falls back to the configured TIME_ZONE."""
    return getattr(timezone.get_current_timezone(), "key", settings.TIME_ZONE)


def _desfase(zona: ZoneInfo, instante: datetime) -> timedelta:
    return instante.astimezone(zona).utcoffset() or timedelta(0)


@lru_cache(maxsize=2048)
def _tramos_de_desfase(zona_horaria: str, dia: date) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """The instants around local date ``dia`` as runs of constant UTC offset: (from, to, offset).
    The window (two days either side) holds every instant whose local date is ``dia``."""
    zona = ZoneInfo(zona_horaria)
    inicio = datetime.combine(dia, time.min, tzinfo=UTC) - timedelta(days=2)
    puntos = [inicio + timedelta(hours=12 * i) for i in range(11)]  # 5 days, every 12 h
    corridas = []
    desde = puntos[0]
    for a, b in zip(puntos, puntos[1:], strict=False):
        if _desfase(zona, a) == _desfase(zona, b):
            continue
        lo, hi = int(a.timestamp()), int(b.timestamp())  # the change: first second with b's offset
        while hi - lo > 1:
            medio = (lo + hi) // 2
            if _desfase(zona, datetime.fromtimestamp(medio, UTC)) == _desfase(zona, a):
                lo = medio
            else:
                hi = medio
        cambio = datetime.fromtimestamp(hi, UTC)
        corridas.append((desde, cambio, _desfase(zona, a)))
        desde = cambio
    corridas.append((desde, puntos[-1], _desfase(zona, puntos[-1])))
    return tuple(corridas)


@lru_cache(maxsize=8192)
def jornada(cal: Calendario, dia: date) -> tuple[Intervalo, ...]:
    """The working instants of local date ``dia`` as sorted UTC intervals (empty: not a working day)."""
    if dia in cal.feriados or not cal.horario[dia.weekday()]:
        return ()
    medianoche = datetime.combine(dia, time.min, tzinfo=UTC)  # the local wall clock, read as UTC
    piezas = []
    for ini, fin in cal.horario[dia.weekday()]:
        for desde, hasta, desfase in _tramos_de_desfase(cal.zona_horaria, dia):
            a = max(medianoche + timedelta(minutes=ini) - desfase, desde)
            b = min(medianoche + timedelta(minutes=fin) - desfase, hasta)
            if a < b:
                piezas.append((a, b))
    return tuple(sorted(piezas))


def dia_local(cal: Calendario, instante: datetime) -> date:
    return instante.astimezone(ZoneInfo(cal.zona_horaria)).date()


def dia_habil(cal: Calendario, dia: date) -> bool:
    return bool(jornada(cal, dia))


def fin_de_jornada(cal: Calendario, dia: date) -> datetime | None:
    piezas = jornada(cal, dia)
    return max(b for _, b in piezas) if piezas else None


def _sin_solapes(piezas: Iterator[Intervalo]) -> Iterator[Intervalo]:
    """Intervals cut so that none overlaps the previous one (none does in real zones' data; this
    keeps a time counted once whatever the data). Adjacent intervals are left apart: the arithmetic
    gives the same instants either way, and a calendar that always works has no end to merge to."""
    fin: datetime | None = None
    for a, b in piezas:
        if fin is not None:
            a = max(a, fin)
        if a < b:
            fin = b
            yield a, b


def _hacia_adelante(cal: Calendario, dia: date) -> Iterator[Intervalo]:
    for i in range(HORIZONTE_DIAS):
        yield from jornada(cal, dia + timedelta(days=i))
    raise ValueError(f"El calendario «{cal.nombre}» no tiene días hábiles en {HORIZONTE_DIAS} días.")


def _hacia_atras(cal: Calendario, dia: date) -> Iterator[Intervalo]:
    for i in range(HORIZONTE_DIAS):
        yield from reversed(jornada(cal, dia - timedelta(days=i)))
    raise ValueError(f"El calendario «{cal.nombre}» no tiene días hábiles en {HORIZONTE_DIAS} días.")


def tramos(cal: Calendario, desde: datetime) -> Iterator[Intervalo]:
    """The working intervals from ``desde`` on (the first one cut at ``desde``), ascending."""
    desde = desde.astimezone(UTC)  # arithmetic on a zone's datetimes would follow its wall clock
    for a, b in _sin_solapes(_hacia_adelante(cal, dia_local(cal, desde) - timedelta(days=1))):
        if b > desde:
            yield max(a, desde), b


def tramos_antes(cal: Calendario, hasta: datetime) -> Iterator[Intervalo]:
    """The working intervals up to ``hasta`` (the last one cut at ``hasta``), descending."""
    hasta = hasta.astimezone(UTC)
    inicio: datetime | None = None
    for a, b in _hacia_atras(cal, dia_local(cal, hasta) + timedelta(days=1)):
        b = min(b, hasta) if inicio is None else min(b, hasta, inicio)
        if a < b:
            inicio = a
            yield a, b


def es_habil(cal: Calendario, instante: datetime) -> bool:
    return any(a <= instante < b for a, b in jornada(cal, dia_local(cal, instante)))


def tiempo_habil(cal: Calendario, desde: datetime, hasta: datetime) -> timedelta:
    desde, hasta = desde.astimezone(UTC), hasta.astimezone(UTC)
    total = timedelta(0)
    if hasta <= desde:
        return total
    for a, b in tramos(cal, desde):
        if a >= hasta:
            break
        total += min(b, hasta) - a
    return total


def sumar_habil(cal: Calendario, desde: datetime, duracion: timedelta) -> datetime:
    """The earliest instant with ``duracion`` of working time since ``desde``."""
    resto = duracion
    if resto <= timedelta(0):
        return desde
    for a, b in tramos(cal, desde):
        if resto <= b - a:
            return a + resto
        resto -= b - a
    raise AssertionError("unreachable")  # pragma: no cover - tramos() raises first


def restar_habil(cal: Calendario, hasta: datetime, duracion: timedelta) -> datetime:
    """The latest instant with ``duracion`` of working time until ``hasta``."""
    resto = duracion
    if resto <= timedelta(0):
        return hasta
    for a, b in tramos_antes(cal, hasta):
        if resto <= b - a:
            return b - resto
        resto -= b - a
    raise AssertionError("unreachable")  # pragma: no cover


# --- the procedure's clocks -------------------------------------------------------------------------
def minimo_si() -> timedelta:
    return timedelta(minutes=settings.ANULACIONES_SI_MINIMO_MINUTOS)


def proximo_dia_habil(cal: Calendario, dia: date) -> date:
    """The first working day after ``dia``."""
    for i in range(1, HORIZONTE_DIAS):
        if dia_habil(cal, dia + timedelta(days=i)):
            return dia + timedelta(days=i)
    raise ValueError(f"El calendario «{cal.nombre}» no tiene días hábiles en {HORIZONTE_DIAS} días.")


def vencimiento_si(cal: Calendario, abierto: datetime, minimo: timedelta | None = None) -> datetime:
    """4.2: the end of the working day the SI is opened in; of the next one when it is opened on a
    non-working day, after the end, or with less than ``minimo`` of working time left."""
    minimo = minimo_si() if minimo is None else minimo
    dia = dia_local(cal, abierto)
    fin = fin_de_jornada(cal, dia)
    if fin is not None and abierto < fin and tiempo_habil(cal, abierto, fin) >= minimo:
        return fin
    siguiente = fin_de_jornada(cal, proximo_dia_habil(cal, dia))
    assert siguiente is not None
    return siguiente


def duracion_redigitacion() -> timedelta:
    return timedelta(hours=settings.ANULACIONES_REDIGITACION_HORAS)


def modo_redigitacion() -> str:
    return "reloj" if settings.ANULACIONES_REDIGITACION_MODO == "reloj" else "habil"


def vencimiento_redigitacion(
    cal: Calendario, desde: datetime, duracion: timedelta | None = None, modo: str | None = None
) -> datetime:
    """19.2: ``duracion`` (ANULACIONES_REDIGITACION_HORAS) of working time, or of wall-clock time
    when ``modo`` (ANULACIONES_REDIGITACION_MODO) is "reloj"."""
    duracion = duracion_redigitacion() if duracion is None else duracion
    if (modo or modo_redigitacion()) == "reloj":
        return desde.astimezone(UTC) + duracion  # real time: a zone's datetime adds wall-clock hours
    return sumar_habil(cal, desde, duracion)


def momento_aviso(cal: Calendario, vence: datetime, antes: timedelta | None = None) -> datetime:
    """When the warning before ``vence`` is due: ANULACIONES_AVISO_MINUTOS of working time before."""
    antes = timedelta(minutes=settings.ANULACIONES_AVISO_MINUTOS) if antes is None else antes
    return restar_habil(cal, vence, antes)


# --- the same clocks in words -------------------------------------------------------------------
def _local(cal: Calendario, instante: datetime) -> datetime:
    return instante.astimezone(ZoneInfo(cal.zona_horaria))


def _fecha(dia: date) -> str:
    return f"{NOMBRES_DIAS[dia.weekday()]} {dia:%d/%m}"


def _momento(cal: Calendario, instante: datetime) -> tuple[date, str]:
    """(local date, "HH:MM"); midnight that ends a day reads 24:00 of that day."""
    local = _local(cal, instante)
    if (local.hour, local.minute) == (0, 0) and local.second == 0:
        return local.date() - timedelta(days=1), "24:00"
    return local.date(), f"{local:%H:%M}"


def _hora(cal: Calendario, instante: datetime) -> str:
    return _momento(cal, instante)[1]


def _hora_fin(cal: Calendario, instante: datetime, dia: date) -> str:
    """The end of an interval of ``dia``: 24:00 when it ends on the next date (a DST change at midnight)."""
    return _hora(cal, instante) if dia_local(cal, instante) == dia else "24:00"


def _cuando(cal: Calendario, instante: datetime) -> str:
    dia, hora = _momento(cal, instante)
    return f"el {_fecha(dia)} a las {hora}"


def duracion_texto(d: timedelta) -> str:
    minutos = int(d.total_seconds() // 60)
    horas, minutos = divmod(minutos, 60)
    if horas and minutos:
        return f"{horas} h {minutos} min"
    return f"{horas} h" if horas else f"{minutos} min"


def _no_habiles(cal: Calendario, desde: date, hasta: date) -> list[str]:
    """The non-working dates strictly between ``desde`` and ``hasta``, in words, in date order
    (consecutive non-working days together, each holiday with its name)."""
    partes: list[str] = []
    libres: list[str] = []

    def cerrar() -> None:
        if libres:
            partes.append(_unir(libres) + (" no es hábil" if len(libres) == 1 else " no son hábiles"))
            libres.clear()

    for i in range(1, (hasta - desde).days):
        dia = desde + timedelta(days=i)
        if dia in cal.feriados:
            cerrar()
            nombre = cal.nombre_feriado(dia)
            partes.append(f"el {_fecha(dia)} es feriado" + (f" ({nombre})" if nombre else ""))
        elif not dia_habil(cal, dia):
            libres.append(f"el {_fecha(dia)}")
        else:
            cerrar()
    cerrar()
    return partes


def _unir(partes: list[str]) -> str:
    return partes[0] if len(partes) == 1 else ", ".join(partes[:-1]) + " y " + partes[-1]


def explicar_si(cal: Calendario, abierto: datetime, vence: datetime, minimo: timedelta | None = None) -> str:
    """Why the SI opened at ``abierto`` is due at ``vence`` (one sentence, Spanish)."""
    minimo = minimo_si() if minimo is None else minimo
    dia, dia_vence = dia_local(cal, abierto), _momento(cal, vence)[0]
    cuando = _cuando(cal, vence)
    fin = fin_de_jornada(cal, dia)
    if vence.astimezone(UTC) == fin:
        return (
            f"Vence {cuando}, al cierre de la jornada en que se abrió ({_hora(cal, abierto)}, "
            f"con {duracion_texto(tiempo_habil(cal, abierto, vence))} hábiles por delante)."
        )
    if dia in cal.feriados:
        nombre = cal.nombre_feriado(dia)
        razon = f"se abrió el {_fecha(dia)}, feriado" + (f" ({nombre})" if nombre else "")
    elif fin is None:
        razon = f"se abrió el {_fecha(dia)}, que no es hábil"
    elif abierto >= fin:
        razon = f"se abrió el {_fecha(dia)} a las {_hora(cal, abierto)}, después del cierre ({_hora(cal, fin)})"
    else:
        razon = (
            f"se abrió el {_fecha(dia)} a las {_hora(cal, abierto)}, a menos de {duracion_texto(minimo)} "
            f"de tiempo hábil del cierre ({_hora(cal, fin)})"
        )
    saltos = _no_habiles(cal, dia, dia_vence)
    return f"Vence {cuando}, al cierre de la siguiente jornada hábil: {razon}" + (
        f"; {_unir(saltos)}." if saltos else "."
    )


def explicar_redigitacion(cal: Calendario, desde: datetime, vence: datetime, modo: str | None = None) -> str:
    """Why the re-digitation of a cancellation at ``desde`` is due at ``vence`` (Spanish)."""
    inicio = f"{_fecha(dia_local(cal, desde))} {_hora(cal, desde)}"
    if (modo or modo_redigitacion()) == "reloj":
        return f"Vence {_cuando(cal, vence)}: {duracion_texto(vence - desde)} de reloj desde la anulación ({inicio})."
    usados = []
    primero, ultimo = dia_local(cal, desde), dia_local(cal, vence)
    for i in range((ultimo - primero).days + 1):
        dia = primero + timedelta(days=i)
        piezas = [(max(a, desde), min(b, vence)) for a, b in jornada(cal, dia) if b > desde and a < vence]
        if piezas:
            usado = sum((b - a for a, b in piezas), timedelta(0))
            de, a = _hora(cal, piezas[0][0]), _hora_fin(cal, piezas[-1][1], dia)
            usados.append(f"{duracion_texto(usado)} el {_fecha(dia)} de {de} a {a}")
    texto = (
        f"Vence {_cuando(cal, vence)}: {duracion_texto(tiempo_habil(cal, desde, vence))} hábiles "
        f"desde la anulación ({inicio})"
    )
    if len(usados) > 1:
        texto += ": " + _unir(usados)
    saltos = _no_habiles(cal, primero, ultimo)
    return texto + (f"; {_unir(saltos)}." if saltos else ".")


# --- months (the deliveries of 21.1) -------------------------------------------------------------
def primer_dia(mes: date) -> date:
    return date(mes.year, mes.month, 1)


def mes_siguiente(mes: date) -> date:
    return (primer_dia(mes) + timedelta(days=32)).replace(day=1)


def fin_de_mes(mes: date) -> datetime:
    """The first instant of the next month, local time (aware)."""
    return timezone.make_aware(datetime.combine(mes_siguiente(mes), time.min), timezone.get_current_timezone())


def dias_habiles_restantes(hoy: date, cal: Calendario) -> int:
    """Working days from ``hoy`` (included, if it is one) to the end of its month; 0 when ``hoy``
    is not a working day."""
    if not dia_habil(cal, hoy):
        return 0
    fin = mes_siguiente(hoy)
    return sum(1 for i in range((fin - hoy).days) if dia_habil(cal, hoy + timedelta(days=i)))
