"""The clocks in working hours (issue 17) on the issue's own examples: the default calendar
(Mon-Fri 08:00-20:00, Sat 08:00-13:00, La Paz), the SI's deadline with its 60-minute minimum, the
2-hour re-digitation in working time (or wall-clock time), holidays, the 1-hour warning, daylight
saving in Santiago and Madrid, the syntax of the hours and the explanations shown with a deadline.
Pure: no database (``tests/test_reloj_propiedades.py`` holds the generated cases)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from anulaciones import reloj

LP = ZoneInfo("America/La_Paz")
MADRID = ZoneInfo("Europe/Madrid")
SANTIAGO = ZoneInfo("America/Santiago")
HORAS = timedelta(hours=1)


def lp(*args) -> datetime:
    return datetime(*args, tzinfo=LP)


def utc(*args, tz) -> datetime:
    """A local wall-clock time of ``tz`` (the first pass of a repeated hour) as a UTC instant."""
    return datetime(*args, tzinfo=tz).astimezone(UTC)


@pytest.fixture
def horario(settings):
    """The issue's calendar: Mon-Fri 08:00-20:00, Sat 08:00-13:00, La Paz, 60 minutes minimum."""
    settings.ANULACIONES_HORARIO = "lun-vie 08:00-20:00; sab 08:00-13:00"
    settings.ANULACIONES_SI_MINIMO_MINUTOS = 60
    settings.ANULACIONES_FERIADOS = []
    settings.ANULACIONES_REDIGITACION_MODO = "habil"
    settings.ANULACIONES_REDIGITACION_HORAS = 2
    settings.ANULACIONES_AVISO_MINUTOS = 60
    settings.TIME_ZONE = "America/La_Paz"
    return settings


# --- the SI's deadline (4.2) — March 2026: Monday 2, Friday 6, Saturday 7, Sunday 8, Monday 9 -----
@pytest.mark.parametrize(
    "abierto, vence",
    [
        (lp(2026, 3, 3, 23, 50), lp(2026, 3, 4, 20, 0)),  # 23:50 on a working day: the next one's end
        (lp(2026, 3, 6, 23, 50), lp(2026, 3, 7, 13, 0)),  # Friday night: Saturday closes at 13:00
        (lp(2026, 3, 7, 14, 0), lp(2026, 3, 9, 20, 0)),  # Saturday after 13:00: Monday
        (lp(2026, 3, 7, 12, 30), lp(2026, 3, 9, 20, 0)),  # Saturday, 30 min left: Monday
        (lp(2026, 3, 8, 10, 0), lp(2026, 3, 9, 20, 0)),  # Sunday: Monday
        (lp(2026, 3, 2, 19, 30), lp(2026, 3, 3, 20, 0)),  # Monday 19:30, 30 min left < 60: Tuesday
        (lp(2026, 3, 2, 19, 0), lp(2026, 3, 2, 20, 0)),  # exactly 60 min left: that day
        (lp(2026, 3, 2, 7, 0), lp(2026, 3, 2, 20, 0)),  # before the start: that day
        (lp(2026, 3, 2, 20, 0), lp(2026, 3, 3, 20, 0)),  # at the end: the next day
    ],
)
def test_vencimiento_si(horario, abierto, vence):
    cal = reloj.calendario_predeterminado()
    assert reloj.vencimiento_si(cal, abierto) == vence
    assert reloj.es_habil(cal, vence - timedelta(seconds=1))  # never due outside working hours


def test_el_minimo_sale_de_los_ajustes(horario):
    horario.ANULACIONES_SI_MINIMO_MINUTOS = 0
    cal = reloj.calendario_predeterminado()
    assert reloj.vencimiento_si(cal, lp(2026, 3, 2, 19, 59)) == lp(2026, 3, 2, 20, 0)
    assert reloj.vencimiento_si(cal, lp(2026, 3, 2, 20, 0)) == lp(2026, 3, 3, 20, 0)  # nothing left
    horario.ANULACIONES_SI_MINIMO_MINUTOS = 120
    assert reloj.vencimiento_si(cal, lp(2026, 3, 2, 18, 30)) == lp(2026, 3, 3, 20, 0)


# --- the re-digitation (19.2) ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "desde, vence",
    [
        (lp(2026, 3, 6, 19, 30), lp(2026, 3, 9, 9, 30)),  # Friday 19:30 -> Monday 09:30
        (lp(2026, 3, 7, 23, 0), lp(2026, 3, 9, 10, 0)),  # Saturday 23:00 -> Monday 10:00
        (lp(2026, 3, 9, 10, 0), lp(2026, 3, 9, 12, 0)),  # within the day: 2 hours
        (lp(2026, 3, 9, 19, 0), lp(2026, 3, 10, 9, 0)),  # 1 h today, 1 h tomorrow
    ],
)
def test_redigitacion_en_horas_habiles_de_lunes_a_viernes(horario, desde, vence):
    horario.ANULACIONES_HORARIO = "lun-vie 08:00-20:00"
    cal = reloj.calendario_predeterminado()
    assert reloj.vencimiento_redigitacion(cal, desde) == vence


def test_redigitacion_con_el_sabado_habil(horario):
    cal = reloj.calendario_predeterminado()
    assert reloj.vencimiento_redigitacion(cal, lp(2026, 3, 6, 19, 30)) == lp(2026, 3, 7, 9, 30)
    assert reloj.vencimiento_redigitacion(cal, lp(2026, 3, 7, 12, 0)) == lp(2026, 3, 9, 9, 0)


def test_redigitacion_en_modo_reloj(horario):
    horario.ANULACIONES_REDIGITACION_MODO = "reloj"
    cal = reloj.calendario_predeterminado()
    assert reloj.vencimiento_redigitacion(cal, lp(2026, 3, 6, 19, 30)) == lp(2026, 3, 6, 21, 30)
    assert reloj.vencimiento_redigitacion(cal, lp(2026, 3, 7, 23, 0)) == lp(2026, 3, 8, 1, 0)  # on a Sunday
    texto = reloj.explicar_redigitacion(cal, lp(2026, 3, 6, 19, 30), lp(2026, 3, 6, 21, 30))
    assert "2 h de reloj" in texto and "viernes 06/03 a las 21:30" in texto


# --- holidays ----------------------------------------------------------------------------------------
def test_feriado_de_los_ajustes_se_salta(horario):
    horario.ANULACIONES_FERIADOS = ["2026-03-03"]  # Tuesday
    cal = reloj.calendario_predeterminado()
    assert not reloj.dia_habil(cal, date(2026, 3, 3))
    assert reloj.vencimiento_si(cal, lp(2026, 3, 2, 19, 30)) == lp(2026, 3, 4, 20, 0)
    assert reloj.vencimiento_si(cal, lp(2026, 3, 3, 10, 0)) == lp(2026, 3, 4, 20, 0)  # opened on the holiday
    assert reloj.vencimiento_redigitacion(cal, lp(2026, 3, 2, 19, 30)) == lp(2026, 3, 4, 9, 30)


def test_feriados_del_llamador_con_nombre(horario):
    horario.ANULACIONES_HORARIO = "lun-vie 08:00-20:00"
    carnaval = [date(2026, 2, 16), date(2026, 2, 17)]
    cal = reloj.calendario_predeterminado(carnaval, [(d, "Carnaval") for d in carnaval])
    viernes = lp(2026, 2, 13, 19, 30)
    vence = reloj.vencimiento_si(cal, viernes)
    assert vence == lp(2026, 2, 18, 20, 0)
    texto = reloj.explicar_si(cal, viernes, vence)
    assert "miércoles 18/02 a las 20:00" in texto
    assert "lunes 16/02 es feriado (Carnaval)" in texto and "martes 17/02 es feriado (Carnaval)" in texto
    assert "domingo 15/02" in texto and "sábado 14/02" in texto
    redigitacion = reloj.vencimiento_redigitacion(cal, viernes)
    assert redigitacion == lp(2026, 2, 18, 9, 30)
    assert "feriado (Carnaval)" in reloj.explicar_redigitacion(cal, viernes, redigitacion)


# --- the warning: 60 working minutes before, never outside working hours -------------------------------
@pytest.mark.parametrize(
    "vence, aviso",
    [
        (lp(2026, 3, 2, 20, 0), lp(2026, 3, 2, 19, 0)),
        (lp(2026, 3, 9, 9, 30), lp(2026, 3, 9, 8, 30)),
        (lp(2026, 3, 9, 8, 30), lp(2026, 3, 6, 19, 30)),  # 30 min on Monday, 30 on Friday
        (lp(2026, 3, 9, 20, 0), lp(2026, 3, 9, 19, 0)),
    ],
)
def test_momento_del_aviso(horario, vence, aviso):
    horario.ANULACIONES_HORARIO = "lun-vie 08:00-20:00"
    cal = reloj.calendario_predeterminado()
    assert reloj.momento_aviso(cal, vence) == aviso
    assert reloj.es_habil(cal, aviso)
    assert reloj.tiempo_habil(cal, aviso, vence) == HORAS


# --- daylight saving ---------------------------------------------------------------------------------
def test_madrid_cambio_de_hora_de_marzo_y_octubre(horario):
    """2026-03-29 02:00 -> 03:00 and 2026-10-25 03:00 -> 02:00: Sunday's 01:00-05:00 holds 3 and 5
    real hours; 2 working hours from 01:00 end at 04:00 in March and at the second 02:00 in October."""
    horario.TIME_ZONE = "Europe/Madrid"
    horario.ANULACIONES_HORARIO = "dom 01:00-05:00"
    cal = reloj.calendario_predeterminado()
    assert cal.zona_horaria == "Europe/Madrid"
    marzo, octubre = date(2026, 3, 29), date(2026, 10, 25)
    assert reloj.tiempo_habil(cal, utc(2026, 3, 28, 0, 0, tz=MADRID), utc(2026, 3, 30, 0, 0, tz=MADRID)) == 3 * HORAS
    assert reloj.tiempo_habil(cal, utc(2026, 10, 24, 0, 0, tz=MADRID), utc(2026, 10, 26, 0, 0, tz=MADRID)) == 5 * HORAS
    assert reloj.fin_de_jornada(cal, marzo) == datetime(2026, 3, 29, 3, 0, tzinfo=UTC)  # 05:00 CEST
    assert reloj.fin_de_jornada(cal, octubre) == datetime(2026, 10, 25, 4, 0, tzinfo=UTC)  # 05:00 CET
    assert reloj.vencimiento_redigitacion(cal, utc(2026, 3, 29, 1, 0, tz=MADRID)) == utc(2026, 3, 29, 4, 0, tz=MADRID)
    octubre_dos_horas = reloj.vencimiento_redigitacion(cal, utc(2026, 10, 25, 1, 0, tz=MADRID))
    assert octubre_dos_horas == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    assert octubre_dos_horas.astimezone(MADRID).strftime("%H:%M %Z") == "02:00 CET"  # the second 02:00
    # a whole working day before the 01:00 start: the SI opened on Saturday is due on Sunday at 05:00
    assert reloj.vencimiento_si(cal, utc(2026, 10, 24, 12, 0, tz=MADRID)) == datetime(2026, 10, 25, 4, 0, tzinfo=UTC)


def test_madrid_calendario_de_la_semana_a_traves_del_cambio(horario):
    horario.TIME_ZONE = "Europe/Madrid"
    cal = reloj.calendario_predeterminado()
    # Saturday 28/03 14:00 CET -> Monday 30/03 20:00 CEST (the clocks moved on Sunday)
    assert reloj.vencimiento_si(cal, utc(2026, 3, 28, 14, 0, tz=MADRID)) == utc(2026, 3, 30, 20, 0, tz=MADRID)
    # Friday 23/10 19:30 CEST -> Saturday 24/10 09:30 CEST; the warning at 08:30
    vence = reloj.vencimiento_redigitacion(cal, utc(2026, 10, 23, 19, 30, tz=MADRID))
    assert vence == utc(2026, 10, 24, 9, 30, tz=MADRID)
    assert reloj.momento_aviso(cal, vence) == utc(2026, 10, 24, 8, 30, tz=MADRID)
    # Saturday 24/10 12:30 CEST -> Monday 26/10 09:30 CET
    assert reloj.vencimiento_redigitacion(cal, utc(2026, 10, 24, 12, 30, tz=MADRID)) == utc(
        2026, 10, 26, 9, 30, tz=MADRID
    )


def test_santiago_cambio_de_hora_a_medianoche(horario):
    """Santiago changes at local midnight: on 2026-04-05 Saturday's 24:00 goes back to 23:00 (Saturday
    23:00-24:00 happens twice); on 2026-09-06 Saturday's 24:00 is Sunday's 01:00 (Sunday 00:00-01:00
    does not exist)."""
    horario.TIME_ZONE = "America/Santiago"
    horario.ANULACIONES_HORARIO = "sab 22:00-24:00; dom 00:00-02:00"
    cal = reloj.calendario_predeterminado()
    # April: Saturday 22:00-24:00 holds 3 real hours and ends at Sunday 00:00 (-04)
    sabado = date(2026, 4, 4)
    domingo_0000 = datetime(2026, 4, 5, 0, 0, tzinfo=SANTIAGO)
    assert reloj.fin_de_jornada(cal, sabado) == domingo_0000
    assert reloj.tiempo_habil(cal, utc(2026, 4, 4, 22, 0, tz=SANTIAGO), domingo_0000) == 3 * HORAS
    # 2 working hours from the first 23:00: both passes of 23:00-24:00
    desde = utc(2026, 4, 4, 23, 0, tz=SANTIAGO)
    assert reloj.vencimiento_redigitacion(cal, desde) == domingo_0000
    assert reloj.vencimiento_si(cal, desde) == domingo_0000
    # September: 1 h on Saturday 23:00-24:00, then Sunday 01:00-02:00
    desde = utc(2026, 9, 5, 23, 0, tz=SANTIAGO)
    vence = reloj.vencimiento_redigitacion(cal, desde)
    assert vence == datetime(2026, 9, 6, 2, 0, tzinfo=SANTIAGO)
    texto = reloj.explicar_redigitacion(cal, desde, vence)
    assert "sábado 05/09 de 23:00 a 24:00" in texto and "domingo 06/09 de 01:00 a 02:00" in texto
    assert reloj.tiempo_habil(cal, datetime(2026, 9, 6, 0, 0, tzinfo=SANTIAGO).astimezone(UTC), vence) == HORAS


def test_santiago_dia_cuyas_horas_caen_en_el_salto_no_es_habil(horario):
    horario.TIME_ZONE = "America/Santiago"
    horario.ANULACIONES_HORARIO = "dom 00:00-01:00"
    cal = reloj.calendario_predeterminado()
    assert not reloj.dia_habil(cal, date(2026, 9, 6))
    assert reloj.dia_habil(cal, date(2026, 9, 13))
    abierto = utc(2026, 9, 5, 12, 0, tz=SANTIAGO)
    vence = reloj.vencimiento_si(cal, abierto)
    assert vence == datetime(2026, 9, 13, 1, 0, tzinfo=SANTIAGO)
    assert "domingo 06/09" in reloj.explicar_si(cal, abierto, vence)


def test_santiago_calendario_de_la_semana_a_traves_del_cambio(horario):
    horario.TIME_ZONE = "America/Santiago"
    cal = reloj.calendario_predeterminado()
    # Saturday 04/04 14:00 (-03) -> Monday 06/04 20:00 (-04)
    assert reloj.vencimiento_si(cal, utc(2026, 4, 4, 14, 0, tz=SANTIAGO)) == utc(2026, 4, 6, 20, 0, tz=SANTIAGO)
    # Saturday 05/09 12:30 (-04): 30 min on Saturday, 90 on Monday 07/09 (-03)
    desde = utc(2026, 9, 5, 12, 30, tz=SANTIAGO)
    assert reloj.vencimiento_redigitacion(cal, desde) == utc(2026, 9, 7, 9, 30, tz=SANTIAGO)


def test_santiago_explicacion_del_cierre_que_cae_en_el_salto(horario):
    """Saturday 05/09 22:00-24:00 ends at Sunday 01:00 on the wall clock (00:00 does not exist). An
    SI opened at 23:00 has exactly the 60 minutes: it is due at that day's end, and says so."""
    horario.TIME_ZONE = "America/Santiago"
    horario.ANULACIONES_HORARIO = "sab 22:00-24:00; dom 00:00-02:00"
    cal = reloj.calendario_predeterminado()
    abierto = utc(2026, 9, 5, 23, 0, tz=SANTIAGO)
    vence = reloj.vencimiento_si(cal, abierto)
    assert vence == reloj.fin_de_jornada(cal, date(2026, 9, 5))
    texto = reloj.explicar_si(cal, abierto, vence)
    assert "jornada en que se abrió" in texto and "a menos de" not in texto, texto


def test_la_zona_del_instante_dado_no_cambia_la_respuesta():
    """The same instant given in UTC or in the calendar's zone: the same answer (aware datetimes in
    one ZoneInfo add and subtract on the wall clock, which is not real time across a change).
    Answers are compared in UTC: an ambiguous local time never equals another zone's (PEP 495)."""
    domingo = reloj.Calendario(horario=((),) * 6 + (((60, 300),),), zona_horaria="Europe/Madrid")
    hasta = datetime(2026, 10, 25, 4, 30, tzinfo=MADRID)  # 03:30 UTC, after the change
    assert reloj.restar_habil(domingo, hasta, 2 * HORAS).astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert reloj.restar_habil(domingo, hasta.astimezone(UTC), 2 * HORAS) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    desde = datetime(2026, 10, 25, 1, 30, tzinfo=MADRID)  # 23:30 UTC, CEST
    medio = timedelta(minutes=90)
    assert reloj.sumar_habil(domingo, desde, medio).astimezone(UTC) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    lun_vie = reloj.Calendario(horario=reloj.leer_horario("lun-vie 08:00-20:00"), zona_horaria="America/Santiago")
    sabado = datetime(2025, 4, 5, 23, 59, tzinfo=SANTIAGO)  # an hour before the clocks go back
    reloj_2h = reloj.vencimiento_redigitacion(lun_vie, sabado, 2 * HORAS, "reloj")
    assert reloj_2h.astimezone(UTC) == datetime(2025, 4, 6, 4, 59, tzinfo=UTC)  # 2 real hours


# --- the syntax of the hours ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "texto, mensaje",
    [
        ("lun-vie 08:00-25:00", "no es una hora válida"),
        ("lun 08:60-09:00", "no es una hora válida"),
        ("lun 24:30-24:40", "no es una hora válida"),
        ("xyz 08:00-10:00", "no es un día de la semana"),
        ("lun 10:00-09:00", "la hora final debe ser posterior a la inicial"),
        ("lun 08:00-12:00 11:00-13:00", "Los tramos del lunes se superponen"),
        ("", "no tiene ningún tramo hábil"),
        ("lun-vie", "indique los días y al menos un tramo"),
        ("lun 8-12", "no es un tramo horario"),
        ("vie-lun 08:00-10:00", "el rango de días debe ir de lunes a domingo"),
    ],
)
def test_leer_horario_errores_en_espanol(texto, mensaje):
    with pytest.raises(ValueError, match=mensaje):
        reloj.leer_horario(texto)


@pytest.mark.parametrize(
    "texto, canonico",
    [
        ("lun-vie 08:00-20:00; sab 08:00-13:00", "lun-vie 08:00-20:00; sab 08:00-13:00"),
        (
            "sábado 08:00-13:00; lunes,martes,miércoles,jueves,viernes 08:00-20:00",
            "lun-vie 08:00-20:00; sab 08:00-13:00",
        ),
        (
            "lun,mié 14:00-18:00 08:00-12:00; dom 00:00-24:00; Vie 07:30-9:15",
            "lun 08:00-12:00 14:00-18:00; mie 08:00-12:00 14:00-18:00; vie 07:30-09:15; dom 00:00-24:00",
        ),
        ("lun-dom 00:00-12:00 12:00-24:00", "lun-dom 00:00-12:00 12:00-24:00"),
    ],
)
def test_escribir_horario_y_leerlo_de_nuevo(texto, canonico):
    horario = reloj.leer_horario(texto)
    assert reloj.escribir_horario(horario) == canonico
    assert reloj.leer_horario(reloj.escribir_horario(horario)) == horario


def test_leer_horario_por_dia():
    horario = reloj.leer_horario("lun-vie 08:00-20:00; sab 08:00-13:00")
    assert horario == (((480, 1200),),) * 5 + (((480, 780),), ())  # minutes from midnight, Monday first


# --- explanations --------------------------------------------------------------------------------------
def test_explicar_si_menciona_los_dias_no_habiles_y_la_hora(horario):
    cal = reloj.calendario_predeterminado()
    sabado = lp(2026, 3, 7, 14, 0)
    texto = reloj.explicar_si(cal, sabado, reloj.vencimiento_si(cal, sabado))
    assert "lunes 09/03 a las 20:00" in texto
    assert "domingo 08/03" in texto and "no es hábil" in texto
    assert "después del cierre (13:00)" in texto
    lunes = lp(2026, 3, 2, 19, 30)
    texto = reloj.explicar_si(cal, lunes, reloj.vencimiento_si(cal, lunes))
    assert "martes 03/03 a las 20:00" in texto and "a menos de 1 h" in texto
    temprano = lp(2026, 3, 2, 7, 0)
    texto = reloj.explicar_si(cal, temprano, reloj.vencimiento_si(cal, temprano))
    assert "lunes 02/03 a las 20:00" in texto and "jornada en que se abrió" in texto and "12 h" in texto


def test_explicar_redigitacion_menciona_el_fin_de_semana(horario):
    horario.ANULACIONES_HORARIO = "lun-vie 08:00-20:00"
    cal = reloj.calendario_predeterminado()
    viernes = lp(2026, 3, 6, 19, 30)
    texto = reloj.explicar_redigitacion(cal, viernes, reloj.vencimiento_redigitacion(cal, viernes))
    assert "lunes 09/03 a las 09:30" in texto
    assert "30 min el viernes 06/03 de 19:30 a 20:00" in texto
    assert "1 h 30 min el lunes 09/03 de 08:00 a 09:30" in texto
    assert "sábado 07/03" in texto and "domingo 08/03" in texto and "no son hábiles" in texto
