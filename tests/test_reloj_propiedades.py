"""The working-time clocks of ``anulaciones.reloj`` against a reference that walks the calendar
minute by minute (issue 17, item 7).

The reference (``Referencia``) is written from the rule alone, not from the engine: a UTC minute
is working iff its start, converted to the calendar's zone with ``zoneinfo``, has a local date
that is not a holiday and a minute of the day inside one of that weekday's intervals. All offsets
of these zones are whole minutes (checked below), so the wall clock does not change its minute
inside a UTC minute and every clock is a count of working minutes:

- ``tiempo_habil(a, b)``: the working minutes in [a, b);
- ``sumar_habil(a, D)``: the end of the D-th working minute from ``a`` (``a`` when D = 0);
- ``restar_habil(b, D)``: the start of the D-th working minute back from ``b`` (``b`` when D = 0);
- a working day is a local date with a working minute; its end, the end of its last one;
- ``vencimiento_si``: the end of the opening's local date if it is a working day with working time
  left >= the minimum (and > 0), else the end of the next working day;
- ``vencimiento_redigitacion``: ``sumar_habil(desde, 2 h)``; ``momento_aviso``: ``restar_habil(vence, 60 min)``.

Only ``Calendario`` and the functions under test come from ``reloj``. The engine must agree with
zero tolerance.

Cases: ONE combined ``@given`` test generates RELOJ_EJEMPLOS cases (default 10,000 per CI run);
each case checks every clock (es_habil at 6-11 instants, tiempo_habil on 1-3 pairs, sumar/restar with
random durations, dia_habil/fin_de_jornada on 5 dates, vencimiento_si, the re-digitation in both
modes, the warning before both deadlines, the explanations and the syntax round trip). Calendars:
each weekday 0-3 intervals at minute resolution (ends up to 24:00), biased towards the hours the
zones' DST changes happen at; zones La Paz, Santiago, Madrid, New York, Lord Howe (30-min DST) and
UTC; openings at whole minutes in 2025-2027, three quarters of them within two days of one of
those zones' changes (a quarter on an interval's end, ± 2 min); instants handed to the engine in
UTC or in the calendar's zone; up to 10 holidays within 8 days of the opening; a minimum of
0-180 minutes.

The reference is bounded: it loads at most ``LIMITE_DIAS`` UTC days around the case. The strategy
guarantees it is enough: holidays only fall within 8 days of the opening and every calendar has at
least 150 working minutes a week (a DST gap removes at most 60), so 120 or 300 minutes of working
time and a next working day are always found within a few weeks either side.
"""

import os
from array import array
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import compress
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from anulaciones import reloj
from anulaciones.reloj import Calendario

EJEMPLOS = int(os.environ.get("RELOJ_EJEMPLOS", "10000"))
ZONAS = (
    "America/La_Paz",
    "America/Santiago",
    "Europe/Madrid",
    "America/New_York",
    "Australia/Lord_Howe",
    "UTC",
)
EPOCA = datetime(1970, 1, 1, tzinfo=UTC)
EPOCA_ORDINAL = date(1970, 1, 1).toordinal()
DESDE = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) // 60  # openings: UTC minutes of 2025-2027
HASTA = int(datetime(2027, 12, 31, 23, 59, tzinfo=UTC).timestamp()) // 60
LIMITE_DIAS = 80  # UTC days the reference may load per case
MINIMO_SEMANAL = 150  # working minutes a week every generated calendar has


# --- the reference -------------------------------------------------------------------------------
def instante(minuto: int) -> datetime:
    """UTC minute number (minutes since 1970-01-01 UTC) -> aware datetime."""
    return EPOCA + timedelta(minutes=minuto)


def utc(t: datetime | None) -> datetime | None:
    """The engine's answer in UTC: an aware datetime in a repeated hour never compares equal (==)
    to one in another zone (PEP 495), so answers are compared as UTC instants."""
    return None if t is None else t.astimezone(UTC)


def minuto_de(t: datetime) -> int:
    segundos = (t - EPOCA).total_seconds()
    assert segundos % 60 == 0, t
    return int(segundos) // 60


def habil_directo(cal: Calendario, t: datetime) -> bool:
    """The rule, verbatim, for one instant (any second)."""
    local = t.astimezone(ZoneInfo(cal.zona_horaria))
    minuto = local.hour * 60 + local.minute
    return local.date() not in cal.feriados and any(i <= minuto < f for i, f in cal.horario[local.weekday()])


@lru_cache(maxsize=8192)
def minutos_locales(zona: str, dia_utc: int) -> tuple[array, array, frozenset[int]]:
    """Each minute of UTC day ``dia_utc`` (days since 1970-01-01) read on the wall clock of ``zona``:
    its local date (days since 1970-01-01), its key weekday * 1440 + minute of the day, and the
    set of local dates met. Shared by the cases (it depends on the zone only)."""
    z = ZoneInfo(zona)
    dias, claves = array("H"), array("H")
    inicio = dia_utc * 86400
    for m in range(1440):
        local = datetime.fromtimestamp(inicio + 60 * m, z)
        assert local.second == 0 and local.microsecond == 0  # whole-minute offsets
        dias.append(local.toordinal() - EPOCA_ORDINAL)
        claves.append(local.weekday() * 1440 + local.hour * 60 + local.minute)
    return dias, claves, frozenset(dias)


class HorizonteExcedido(AssertionError):
    pass


class Referencia:
    """The calendar's working minutes over a window of whole UTC days, loaded on demand.
    Minutes are numbered from 1970-01-01 00:00 UTC; local dates are days since 1970-01-01."""

    def __init__(self, cal: Calendario):
        self.cal = cal
        semana = bytearray(7 * 1440)  # 1 where (weekday, minute of the day) is in an interval
        for dia, tramos in enumerate(cal.horario):
            for ini, fin in tramos:
                semana[dia * 1440 + ini : dia * 1440 + fin] = b"\x01" * (fin - ini)
        self.semana = bytes(semana)
        self.feriados = {f.toordinal() - EPOCA_ORDINAL for f in cal.feriados}
        self.primero: int | None = None  # first UTC day loaded
        self.ultimo: int | None = None  # last UTC day loaded
        self.habil = bytearray()  # per minute from the first day loaded: 1 = working
        self.dia = array("H")  # per minute: its local date
        self.fin: dict[int, int] = {}  # local date -> end of its last working minute (loaded ones)

    # loading
    def _cargar(self, dia_utc: int) -> tuple[bytearray, array]:
        dias, claves, distintos = minutos_locales(self.cal.zona_horaria, dia_utc)
        habil = bytearray(map(self.semana.__getitem__, claves))
        if distintos & self.feriados:
            for i, d in enumerate(dias):
                if d in self.feriados:
                    habil[i] = 0
        base = dia_utc * 1440
        for i in compress(range(1440), habil):
            self.fin[dias[i]] = max(self.fin.get(dias[i], 0), base + i + 1)
        return habil, array("H", dias)  # a copy: the cached one is shared

    def cubrir(self, desde: int, hasta: int) -> None:
        """Load the UTC days holding minutes ``desde`` to ``hasta`` (inclusive)."""
        a, b = desde // 1440, hasta // 1440
        if self.primero is None:
            self.primero = self.ultimo = a
            self.habil, self.dia = self._cargar(a)
        while self.primero > a:
            habil, dias = self._cargar(self.primero - 1)
            self.habil[:0] = habil
            self.dia[:0] = dias
            self.primero -= 1
        while self.ultimo < b:
            habil, dias = self._cargar(self.ultimo + 1)
            self.habil += habil
            self.dia += dias
            self.ultimo += 1
        if self.ultimo - self.primero + 1 > LIMITE_DIAS:
            raise HorizonteExcedido(f"the reference would walk more than {LIMITE_DIAS} days")

    def _i(self, minuto: int) -> int:
        return minuto - self.primero * 1440

    # the rule
    def es_habil(self, minuto: int) -> bool:
        self.cubrir(minuto, minuto)
        return bool(self.habil[self._i(minuto)])

    def dia_local(self, minuto: int) -> int:
        self.cubrir(minuto, minuto)
        return self.dia[self._i(minuto)]

    def tiempo(self, a: int, b: int) -> int:
        """Working minutes in [a, b)."""
        if b <= a:
            return 0
        self.cubrir(a, b - 1)
        return self.habil.count(1, self._i(a), self._i(b))

    def sumar(self, a: int, n: int) -> int:
        """The end of the n-th working minute from ``a`` (``a`` when n = 0)."""
        t = a
        for _ in range(n):
            self.cubrir(t, t)
            while (i := self.habil.find(1, self._i(t))) < 0:
                self.cubrir(t, (self.ultimo + 1) * 1440)
            t = self.primero * 1440 + i + 1
        return t

    def restar(self, b: int, n: int) -> int:
        """The start of the n-th working minute back from ``b`` (``b`` when n = 0)."""
        t = b
        for _ in range(n):
            self.cubrir(t - 1, t - 1)
            while (i := self.habil.rfind(1, 0, self._i(t))) < 0:
                self.cubrir((self.primero - 1) * 1440, t - 1)
            t = self.primero * 1440 + i
        return t

    def fin_de_jornada(self, dia: int) -> int | None:
        """The end of the last working minute of local date ``dia`` (None: not a working day).
        Any minute of a local date lies in the UTC days before, of and after it."""
        self.cubrir((dia - 1) * 1440, (dia + 2) * 1440 - 1)
        return self.fin.get(dia)

    def vencimiento_si(self, abierto: int, minimo: int) -> int:
        dia = self.dia_local(abierto)
        fin = self.fin_de_jornada(dia)
        if fin is not None and self.tiempo(abierto, fin) > 0 and self.tiempo(abierto, fin) >= minimo:
            return fin
        siguiente = dia + 1
        while self.fin_de_jornada(siguiente) is None:
            siguiente += 1
        return self.fin_de_jornada(siguiente)


def fecha(dia: int) -> date:
    return date.fromordinal(dia + EPOCA_ORDINAL)


# --- the zones' DST changes (to aim the openings at) --------------------------------------------
def _cambios(zona: str) -> tuple[int, ...]:
    """The UTC minutes at which ``zona`` changes its offset in 2025-2027 (found to the second)."""
    z = ZoneInfo(zona)

    def desfase(segundo: int) -> timedelta:
        return datetime.fromtimestamp(segundo, z).utcoffset()

    cambios = []
    for hora in range(DESDE // 60, HASTA // 60):
        lo, hi = hora * 3600, (hora + 1) * 3600
        if desfase(lo) == desfase(hi):
            continue
        while hi - lo > 1:
            medio = (lo + hi) // 2
            lo, hi = (medio, hi) if desfase(medio) == desfase(lo) else (lo, medio)
        assert hi % 60 == 0, (zona, hi)  # changes at whole minutes: a UTC minute has one offset
        cambios.append(hi // 60)
    return tuple(cambios)


CAMBIOS = {zona: _cambios(zona) for zona in ZONAS}
TODOS_LOS_CAMBIOS = tuple(sorted({c for cs in CAMBIOS.values() for c in cs}))


def test_los_cambios_de_hora_estan_en_el_rango():
    """The openings can be aimed at each DST zone's changes: 2 a year, 6 in the range."""
    for zona in ("America/Santiago", "Europe/Madrid", "America/New_York", "Australia/Lord_Howe"):
        assert len(CAMBIOS[zona]) == 6, zona
    assert CAMBIOS["America/La_Paz"] == CAMBIOS["UTC"] == ()


# --- strategies ------------------------------------------------------------------------------------
# Interval ends biased towards the local hours of the DST changes (00:00, 01:30, 02:00, 02:30,
# 03:00…), the day's ends and the default calendar's hours.
BORDES = (0, 1, 30, 59, 60, 61, 90, 119, 120, 121, 150, 179, 180, 181, 480, 780, 1200, 1380, 1410, 1439, 1440)
borde = st.one_of(st.sampled_from(BORDES), st.integers(0, 1440))


def _tramos(extremos: list[int]) -> tuple[tuple[int, int], ...]:
    """Sorted ends paired into intervals (adjacent ones allowed; empty ones dropped)."""
    xs = sorted(extremos)
    return tuple((a, b) for a, b in zip(xs[::2], xs[1::2], strict=False) if a < b)


def _minutos_semana(horario) -> int:
    return sum(f - i for tramos in horario for i, f in tramos)


PREDETERMINADO = (((480, 1200),),) * 5 + (((480, 780),), ())
SIEMPRE = (((0, 1440),),) * 7
MEDIANOCHES = (((0, 120), (1380, 1440)),) * 7  # around midnight only

horarios = st.one_of(
    st.sampled_from([PREDETERMINADO, SIEMPRE, MEDIANOCHES]),
    st.tuples(*[st.lists(borde, max_size=6).map(_tramos)] * 7).filter(lambda h: _minutos_semana(h) >= MINIMO_SEMANAL),
)


@st.composite
def casos(draw):
    zona = draw(st.sampled_from(ZONAS))
    horario = draw(horarios)
    como = draw(st.sampled_from(("uniforme", "cambio", "cambio", "borde")))
    if como == "uniforme":
        abierto = draw(st.integers(DESDE, HASTA))
    else:
        cambio = draw(st.sampled_from(CAMBIOS[zona] or TODOS_LOS_CAMBIOS))
        abierto = cambio + draw(st.one_of(st.integers(-180, 180), st.integers(-2880, 2880)))
    if como == "borde":  # an interval's end (± 2 min) on a local date around the change
        z = ZoneInfo(zona)
        dia = instante(abierto).astimezone(z).date() + timedelta(days=draw(st.integers(-1, 1)))
        ends = sorted({x for tramos in horario for t in tramos for x in t})
        hora = draw(st.sampled_from(ends)) + draw(st.integers(-2, 2))
        local = datetime.combine(dia, time.min) + timedelta(minutes=hora)
        abierto = minuto_de(local.replace(tzinfo=z).astimezone(UTC))
    dia_utc = instante(abierto).date()
    feriados = frozenset(dia_utc + timedelta(days=d) for d in draw(st.sets(st.integers(-8, 8), max_size=10)))
    cal = Calendario(horario=horario, feriados=feriados, zona_horaria=zona, nombre="prueba")
    return {
        "cal": cal,
        "abierto": abierto,
        "minimo": draw(st.integers(0, 180)),
        # how the instants are handed to the engine: UTC or the calendar's zone (same instant)
        "tz": draw(st.sampled_from((UTC, ZoneInfo(zona)))),
        "instantes": draw(st.lists(st.tuples(st.integers(-3 * 1440, 10 * 1440), st.integers(0, 59)), max_size=5)),
        "pares": draw(
            st.lists(st.tuples(st.integers(-3 * 1440, 3 * 1440), st.integers(-60, 10 * 1440)), min_size=1, max_size=3)
        ),
        "sumas": draw(st.lists(st.tuples(st.integers(-2 * 1440, 2 * 1440), st.integers(0, 300)), max_size=2)),
    }


# --- the property ----------------------------------------------------------------------------------
def _local(cal: Calendario, t: datetime) -> str:
    return f"{t.astimezone(ZoneInfo(cal.zona_horaria)):%a %Y-%m-%d %H:%M:%S%z}"


@settings(
    max_examples=EJEMPLOS,
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(caso=casos())
def test_relojes_iguales_a_la_referencia(caso):
    cal: Calendario = caso["cal"]
    tz = caso["tz"]
    ref = Referencia(cal)
    a = caso["abierto"]

    def t(minuto: int, segundos: int = 0) -> datetime:
        return (instante(minuto) + timedelta(seconds=segundos)).astimezone(tz)

    abierto = t(a)
    note(f"abierto {abierto.astimezone(UTC)} = {_local(cal, abierto)}")

    # the SI's deadline
    esperado = ref.vencimiento_si(a, caso["minimo"])
    vence = reloj.vencimiento_si(cal, abierto, timedelta(minutes=caso["minimo"]))
    assert utc(vence) == instante(esperado), (
        f"vencimiento_si: expected {_local(cal, instante(esperado))}, got {_local(cal, vence)}"
    )
    # its warning: 60 working minutes before
    assert utc(reloj.momento_aviso(cal, vence, timedelta(minutes=60))) == instante(ref.restar(esperado, 60)), (
        "momento_aviso(vencimiento_si)"
    )

    # the re-digitation: 2 working hours (and 2 wall-clock hours in "reloj" mode), its warning
    redigitacion = ref.sumar(a, 120)
    vence_r = reloj.vencimiento_redigitacion(cal, abierto, timedelta(hours=2), "habil")
    assert utc(vence_r) == instante(redigitacion), (
        f"vencimiento_redigitacion: expected {_local(cal, instante(redigitacion))}, got {_local(cal, vence_r)}"
    )
    assert utc(reloj.vencimiento_redigitacion(cal, abierto, timedelta(hours=2), "reloj")) == instante(a + 120), (
        "vencimiento_redigitacion, reloj: 2 real hours"
    )
    assert utc(reloj.momento_aviso(cal, vence_r, timedelta(minutes=60))) == instante(ref.restar(redigitacion, 60)), (
        "momento_aviso(vencimiento_redigitacion)"
    )

    # working days and their ends around the opening
    dia = ref.dia_local(a)
    for d in range(dia - 1, dia + 4):
        fin = ref.fin_de_jornada(d)
        assert reloj.dia_habil(cal, fecha(d)) is (fin is not None), f"dia_habil({fecha(d)})"
        assert utc(reloj.fin_de_jornada(cal, fecha(d))) == (None if fin is None else instante(fin)), (
            f"fin_de_jornada({fecha(d)})"
        )

    # es_habil: around the opening and the deadlines, and anywhere (seconds included)
    puntos = [(a, 0), (a - 1, 0), (a + 1, 0), (esperado - 1, 59), (esperado, 0), (redigitacion - 1, 0)]
    puntos += [(a + x, s) for x, s in caso["instantes"]]
    for m, s in puntos:
        esperado_habil = ref.es_habil(m)
        assert habil_directo(cal, instante(m) + timedelta(seconds=s)) is esperado_habil  # the reference itself
        assert reloj.es_habil(cal, t(m, s)) is esperado_habil, f"es_habil({_local(cal, t(m, s))})"

    # working time between instants; sums and differences of any duration
    for x, y in caso["pares"]:
        desde, hasta = a + x, a + x + y
        assert reloj.tiempo_habil(cal, t(desde), t(hasta)) == timedelta(minutes=ref.tiempo(desde, hasta)), (
            f"tiempo_habil({_local(cal, t(desde))}, {_local(cal, t(hasta))})"
        )
    for x, n in caso["sumas"]:
        assert utc(reloj.sumar_habil(cal, t(a + x), timedelta(minutes=n))) == instante(ref.sumar(a + x, n)), (
            f"sumar_habil({_local(cal, t(a + x))}, {n} min)"
        )
        assert utc(reloj.restar_habil(cal, t(a + x), timedelta(minutes=n))) == instante(ref.restar(a + x, n)), (
            f"restar_habil({_local(cal, t(a + x))}, {n} min)"
        )

    # the explanations are written for any case, and the week's text reads back the same
    assert reloj.explicar_si(cal, abierto, vence, timedelta(minutes=caso["minimo"])).startswith("Vence ")
    assert reloj.explicar_redigitacion(cal, abierto, vence_r, "habil").startswith("Vence ")
    assert reloj.leer_horario(reloj.escribir_horario(cal.horario)) == cal.horario


# --- the reference on hand-made cases (so that it is not just a copy of the engine's errors) ------
LP = ZoneInfo("America/La_Paz")
MADRID = ZoneInfo("Europe/Madrid")


def _m(*args, tz=LP) -> int:
    return minuto_de(datetime(*args, tzinfo=tz).astimezone(UTC))


@pytest.mark.parametrize(
    "abierto, minimo, vence",
    [
        ((2026, 3, 2, 7, 0), 60, (2026, 3, 2, 20, 0)),  # Monday before the start: that day
        ((2026, 3, 2, 19, 30), 60, (2026, 3, 3, 20, 0)),  # 30 min left < 60: the next day
        ((2026, 3, 2, 19, 30), 30, (2026, 3, 2, 20, 0)),  # 30 min left = the minimum: that day
        ((2026, 3, 7, 14, 0), 60, (2026, 3, 9, 20, 0)),  # Saturday after 13:00: Monday
        ((2026, 3, 6, 23, 50), 0, (2026, 3, 7, 13, 0)),  # Friday night: Saturday's end
    ],
)
def test_la_referencia_a_mano_vencimiento_si(abierto, minimo, vence):
    ref = Referencia(Calendario(horario=PREDETERMINADO))
    assert ref.vencimiento_si(_m(*abierto), minimo) == _m(*vence)


def test_la_referencia_a_mano_sumar_restar_contar():
    lun_vie = Calendario(horario=(((480, 1200),),) * 5 + ((), ()))
    ref = Referencia(lun_vie)
    assert ref.sumar(_m(2026, 3, 6, 19, 30), 120) == _m(2026, 3, 9, 9, 30)  # Friday 19:30 -> Monday 09:30
    assert ref.restar(_m(2026, 3, 9, 9, 30), 120) == _m(2026, 3, 6, 19, 30)
    assert ref.tiempo(_m(2026, 3, 6, 19, 30), _m(2026, 3, 9, 9, 30)) == 120
    assert ref.sumar(_m(2026, 3, 9, 10, 0), 0) == _m(2026, 3, 9, 10, 0)


def test_la_referencia_a_mano_cambio_de_hora_en_madrid():
    """Sunday 2026-03-29 02:00 -> 03:00 and 2026-10-25 03:00 -> 02:00; the interval 01:00-05:00
    holds 3 and 5 real hours."""
    domingos = Calendario(horario=((),) * 6 + (((60, 300),),), zona_horaria="Europe/Madrid")
    marzo = Referencia(domingos).tiempo(_m(2026, 3, 28, 0, 0, tz=MADRID), _m(2026, 3, 30, 0, 0, tz=MADRID))
    octubre = Referencia(domingos).tiempo(_m(2026, 10, 24, 0, 0, tz=MADRID), _m(2026, 10, 26, 0, 0, tz=MADRID))
    assert (marzo, octubre) == (180, 300)
