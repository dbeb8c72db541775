"""The base modules of issue 16 are pure: ``reloj`` computes the working calendar with the
holidays its caller passes in (in a ``reloj.Calendario``), ``texto`` the matching keys — neither touches the database (no
``django_db`` mark here: a query would fail the test)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from anulaciones import reloj, texto

LP = ZoneInfo("America/La_Paz")


@pytest.fixture
def calendario(settings):
    settings.ANULACIONES_HORARIO = "lun-vie 08:00-18:00"
    settings.ANULACIONES_SI_MINIMO_MINUTOS = 60
    settings.ANULACIONES_FERIADOS = ["2026-11-27"]
    settings.TIME_ZONE = "America/La_Paz"
    return settings


def test_vencimiento_con_los_feriados_del_llamador(calendario):
    # The caller (CalendarioLaboral.de_zona) passes the Feriado table's holidays; settings' come too.
    cal = reloj.calendario_predeterminado([date(2026, 11, 26)], [(date(2026, 11, 26), "Feriado de prueba")])
    # Wednesday after the end of the day; Thursday (the caller's) and Friday (settings') are holidays.
    vence = reloj.vencimiento_si(cal, datetime(2026, 11, 25, 20, 0, tzinfo=LP))
    assert vence == datetime(2026, 11, 30, 18, 0, tzinfo=LP)
    assert "Feriado de prueba" in reloj.explicar_si(cal, datetime(2026, 11, 25, 20, 0, tzinfo=LP), vence)


def test_dias_habiles_restantes_con_los_feriados_del_llamador(calendario):
    sin_feriados = reloj.calendario_predeterminado()
    assert reloj.dias_habiles_restantes(date(2026, 11, 24), sin_feriados) == 4  # 24, 25, 26, 30 (27: settings)
    con_uno = reloj.calendario_predeterminado([date(2026, 11, 30)])
    assert reloj.dias_habiles_restantes(date(2026, 11, 24), con_uno) == 3
    assert reloj.dias_habiles_restantes(date(2026, 11, 28), sin_feriados) == 0  # a Saturday


def test_meses():
    assert reloj.primer_dia(date(2026, 12, 31)) == date(2026, 12, 1)
    assert reloj.mes_siguiente(date(2026, 12, 15)) == date(2027, 1, 1)


@pytest.mark.parametrize(
    "escrito, clave",
    [
        ("Av. Héroes del  Chaco", "heroes del chaco"),
        ("CALLE Sucre", "sucre"),
        ("Calle", "calle"),
        ("", ""),
    ],
)
def test_clave_de_nombres(escrito, clave):
    assert texto.normalizar(escrito) == clave


def test_clave_de_cajas():
    assert texto.normalizar_codigo(" nap-01 ") == "NAP01"
    assert texto.normalizar_codigo("Ñandú 2") == "NANDU2"
