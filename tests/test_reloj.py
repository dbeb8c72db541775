"""The base modules of issue 16 are pure: ``reloj`` computes the working calendar with the
holidays its caller passes in, ``texto`` the matching keys — neither touches the database (no
``django_db`` mark here: a query would fail the test)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from anulaciones import reloj, texto

LP = ZoneInfo("America/La_Paz")


@pytest.fixture
def calendario(settings):
    settings.ANULACIONES_CORTE = "18:00:00"
    settings.ANULACIONES_DIAS_HABILES = [0, 1, 2, 3, 4]
    settings.ANULACIONES_FERIADOS = ["2026-11-27"]
    return settings


def test_vencimiento_con_los_feriados_del_llamador(calendario):
    pedidos = []

    def feriados(desde, hasta):
        pedidos.append((desde, hasta))
        return [date(2026, 11, 26)]

    # Wednesday after the cut-off; Thursday (the caller's) and Friday (settings') are holidays.
    vence = reloj.vencimiento_mismo_dia(datetime(2026, 11, 25, 20, 0, tzinfo=LP), feriados)
    assert vence == datetime(2026, 11, 30, 18, 0, tzinfo=LP)
    assert pedidos == [(date(2026, 11, 25), date(2027, 11, 26))]  # one question, a bounded range


def test_dias_habiles_restantes_con_los_feriados_del_llamador(calendario):
    sin_feriados = reloj.dias_habiles_restantes(date(2026, 11, 24), lambda desde, hasta: [])
    assert sin_feriados == 4  # 24, 25, 26, 30 (27 is a settings holiday)
    assert reloj.dias_habiles_restantes(date(2026, 11, 24), lambda desde, hasta: [date(2026, 11, 30)]) == 3
    assert reloj.dias_habiles_restantes(date(2026, 11, 28), lambda desde, hasta: []) == 0  # a Saturday


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
