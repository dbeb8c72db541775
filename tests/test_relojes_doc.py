"""docs/relojes.md's example tables are recomputed: the documentation cannot drift from the clocks."""

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from anulaciones import reloj

DOC = Path(__file__).resolve().parent.parent / "docs" / "relojes.md"
LP = ZoneInfo("America/La_Paz")
FERIADO = (date(2026, 12, 8), "Inmaculada Concepción")


def filas(marca):
    texto = DOC.read_text(encoding="utf-8").split(f"<!-- {marca} -->", 1)[1]
    tabla = re.match(r"\s*((?:\|.*\|\n)+)", texto)[1].splitlines()[2:]  # header and rule skipped
    return [[c.strip() for c in linea.strip("|").split("|")] for linea in tabla]


def instante(celda):
    _, fecha = celda.split(" ", 1)
    return datetime.strptime(fecha, "%d/%m/%Y %H:%M").replace(tzinfo=LP)


@pytest.fixture
def calendario(settings):
    settings.TIME_ZONE = "America/La_Paz"
    settings.ANULACIONES_HORARIO = "lun-vie 08:00-20:00; sab 08:00-13:00"
    settings.ANULACIONES_FERIADOS = []
    settings.ANULACIONES_SI_MINIMO_MINUTOS = 60
    settings.ANULACIONES_AVISO_MINUTOS = 60
    settings.ANULACIONES_REDIGITACION_HORAS = 2
    settings.ANULACIONES_REDIGITACION_MODO = "habil"
    return reloj.calendario_predeterminado(feriados=[FERIADO[0]], nombres=[FERIADO])


def test_tabla_del_si(calendario):
    casos = filas("tabla-si")
    assert len(casos) >= 8
    for abierto, vence, aviso, porque in casos:
        calculado = reloj.vencimiento_si(calendario, instante(abierto))
        assert calculado == instante(vence), abierto
        assert reloj.momento_aviso(calendario, calculado) == instante(aviso), abierto
        assert reloj.explicar_si(calendario, instante(abierto), calculado) == porque
        # the weekday written in the table is the date's
        for celda in (abierto, vence, aviso):
            assert reloj.DIAS[instante(celda).weekday()] == celda.split()[0]


def test_tabla_de_la_redigitacion(calendario):
    casos = filas("tabla-redigitacion")
    assert len(casos) >= 6
    for desde, vence, porque in casos:
        calculado = reloj.vencimiento_redigitacion(calendario, instante(desde))
        assert calculado == instante(vence), desde
        assert reloj.explicar_redigitacion(calendario, instante(desde), calculado) == porque
