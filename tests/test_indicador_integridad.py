"""The indicator (III.2) under the rules of procedure.md "The case and the indicator", built
through the transition path: every cancelled case is probable (in the month of its
cancellation when it was never observed); a case waiting for its re-digitation is anulado until
the new Solicitud is registered; a re-digitation that never comes is anulado; open cases make
the figure provisional, with its range; two decimals, rounded toward the verdict — on the page,
the home summary, the workbook and the JSON."""

import re
from datetime import datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from anulaciones import transitions as T
from anulaciones.errors import TransicionNoPermitida
from anulaciones.models import Caso, ServicioIngenieria, Solicitud
from anulaciones.reports import indicador as ind

pytestmark = pytest.mark.django_db

LA_PAZ = ZoneInfo("America/La_Paz")
JUSTIFICACION = "El abonado pidió anular por escrito"
FEBRERO, MARZO, ABRIL = ind.Periodo.mes(2026, 2), ind.Periodo.mes(2026, 3), ind.Periodo.mes(2026, 4)


def en(*args):
    """Travel to a local (La Paz) instant; the clock stands still there."""
    return time_machine.travel(datetime(*args, tzinfo=LA_PAZ), tick=False)


def cuentas(periodo):
    t = ind.informe(periodo)["total"]
    return t["probables"], t["anulados"], t["abiertos"]


@pytest.fixture
def jefe(client, u):
    client.force_login(u.jefe_division)
    return client


# --- every cancelled case is probable ----------------------------------------------------------
def test_anulada_por_gestion_de_red_sin_observacion_es_probable_y_anulada_en_el_mes_de_su_anulacion(esc, u, jefe):
    with en(2026, 2, 26, 10, 0):
        s = esc.nueva(numero_smartflex="SF-DIRECTA")
    assert Caso.objects.get(pk=s.caso_id).probable_at is None  # registered: not probable yet
    assert cuentas(FEBRERO) == (0, 0, 0)
    with en(2026, 3, 10, 11, 0):
        T.aplicar(s, "anular", u.gestion_red, motivo="El cliente desiste", justificacion=JUSTIFICACION)
    caso = Caso.objects.get(pk=s.caso_id)
    assert caso.probable_at == datetime(2026, 3, 10, 11, 0, tzinfo=LA_PAZ)
    assert cuentas(FEBRERO) == (0, 0, 0)  # not the month of its registration
    assert cuentas(MARZO) == (1, 1, 0)
    datos = ind.informe(MARZO)
    assert datos["total"]["indicador"]["texto"] == "0,00 %"
    assert datos["total"]["sin_contacto"] == 1 and datos["total"]["sin_contacto_justificados"] == 1
    # With no observation it has no area nor cause: its own row, whose link lists it.
    fila = next(f for f in datos["desgloses"]["area"]["filas"] if f["valor"] == ind.SIN_OBSERVACION)
    assert (fila["etiqueta"], fila["probables"], fila["anulados"]) == (ind.SIN_OBSERVACION_ETIQUETA, 1, 1)
    html = jefe.get(reverse("indicador_casos"), {"mes": "2026-03", "area": ind.SIN_OBSERVACION}).content.decode()
    assert html.count('<tr class="caso">') == 1 and "SF-DIRECTA" in html
    assert ind.SIN_OBSERVACION_ETIQUETA in html and "None" not in html
    assert "sin intento de contacto registrado (con justificación)" in html


def test_ot_anulada_por_el_coc_sin_observacion_es_probable_y_anulada_en_el_mes_de_su_anulacion(esc, u):
    with en(2026, 2, 20, 18, 0):
        s = esc.nueva()
    with en(2026, 3, 31, 23, 30):  # already April 1 in UTC: the month is the local one, March
        T.aplicar(s.orden, "coordinar_anulacion", u.coc, motivo="Zona sin factibilidad técnica")
    s.refresh_from_db()
    assert (s.estado, s.orden.estado) == ("anulada", "anulada")
    assert Caso.objects.get(pk=s.caso_id).probable_at == datetime(2026, 3, 31, 23, 30, tzinfo=LA_PAZ)
    assert cuentas(FEBRERO) == (0, 0, 0) and cuentas(ABRIL) == (0, 0, 0)
    assert cuentas(MARZO) == (1, 1, 0)
    total = ind.informe(MARZO)["total"]
    # A cancellation taken as the effect of the OT's needs no justification; it is visible as
    # a cancellation without contact attempt and without justification.
    assert (total["sin_contacto"], total["sin_contacto_justificados"]) == (1, 0)


def test_observada_en_marzo_y_anulada_en_abril_sigue_en_marzo(esc, u):
    with en(2026, 3, 3, 9, 0):
        s = esc.solicitud("observada")
    with en(2026, 4, 5, 9, 0):
        T.registrar_contacto(s, u.coc, canal="llamada", resultado="rechaza")
        T.aplicar(s, "anular", u.coc, motivo="Rechaza la instalación")
    assert cuentas(MARZO) == (1, 1, 0) and cuentas(ABRIL) == (0, 0, 0)
    assert ind.informe(MARZO)["total"]["sin_contacto"] == 0


# --- re-digitation ----------------------------------------------------------------------------
def test_pendiente_de_redigitacion_es_anulado_hasta_que_se_registra_la_nueva(esc, u, jefe):
    with en(2026, 3, 12, 9, 0):
        s = esc.solicitud("pendiente_redigitacion", numero_smartflex="SF-PEND")
    assert cuentas(MARZO) == (1, 1, 0)
    html = jefe.get(reverse("indicador_casos"), {"mes": "2026-03", "resultado": "anulados"}).content.decode()
    assert "SF-PEND" in html and "pendiente de re-digitación (anulado hasta que se registre)" in html
    with en(2026, 3, 12, 10, 30):  # within its 2 hours
        T.aplicar(s, "registrar_redigitacion", u.asesor, nueva=esc.datos_nueva(s))
    s.refresh_from_db()
    assert s.estado == "redigitada" and not s.redigitacion_tardia
    assert cuentas(MARZO) == (1, 0, 1)  # saved; its new Solicitud is still open
    nueva = s.reemplazada_por
    with en(2026, 3, 13, 9, 0):
        T.aplicar(nueva, "asignar_instalacion", u.gestion_red)
        T.aplicar(nueva.orden, "ejecutar", u.tecnico)
    assert cuentas(MARZO) == (1, 0, 0)
    assert ind.informe(MARZO)["total"]["indicador"]["texto"] == "100,00 %"


def test_redigitacion_que_nunca_llega_anulada_pasadas_las_2_horas_es_anulado(esc, u):
    with en(2026, 3, 12, 9, 0):
        s = esc.solicitud("pendiente_redigitacion")
    si = ServicioIngenieria.objects.get(solicitud=s, tipo="redigitacion")
    with en(2026, 3, 12, 10, 59):  # before the deadline: the re-digitation may still come
        with pytest.raises(TransicionNoPermitida, match="2 horas"):
            T.aplicar(s, "anular", u.coc, motivo="No llegó la re-digitación", justificacion=JUSTIFICACION)
    s.refresh_from_db()
    assert s.estado == "pendiente_redigitacion"
    with en(2026, 3, 12, 11, 1):
        T.aplicar(s, "anular", u.coc, motivo="No llegó la re-digitación", justificacion=JUSTIFICACION)
    s.refresh_from_db()
    si.refresh_from_db()
    assert s.estado == "anulada" and si.estado == "cerrado_sin_atencion"
    assert cuentas(MARZO) == (1, 1, 0)
    t = ind.informe(MARZO)["total"]
    assert (t["indicador"]["texto"], t["indicador"]["provisional"]) == ("0,00 %", False)


def test_redigitacion_vencida_por_fecha_en_el_pasado_tambien_se_anula(esc, u):
    """Same, without travelling: the deadline already passed (redigitacion_vence_at, and the
    re-digitation SI's vence_at, moved into the past)."""
    s = esc.solicitud("pendiente_redigitacion")
    pasado = timezone.now() - timedelta(minutes=1)  # 2 working hours may end days from now
    Solicitud.objects.filter(pk=s.pk).update(redigitacion_vence_at=pasado)
    ServicioIngenieria.objects.filter(solicitud=s, tipo="redigitacion").update(vence_at=pasado)
    s.refresh_from_db()
    T.registrar_contacto(s, u.gestion_red, canal="llamada", resultado="sin_respuesta")
    T.aplicar(s, "anular", u.gestion_red, motivo="No llegó la re-digitación")
    assert cuentas(ind.Periodo.actual()) == (1, 1, 0)


# --- provisional --------------------------------------------------------------------------------
def _mes_con_abiertos(esc, u):
    """Five probable cases of March 2026: one anulado, one installed, one saved by re-digitation
    and installed, two still open (observada, en corrección)."""
    with en(2026, 3, 10, 9, 0):
        esc.solicitud("observada", numero_smartflex="SF-ABIERTA-1")
        esc.solicitud("en_correccion", numero_smartflex="SF-ABIERTA-2")
        anulada = esc.solicitud("observada")
        T.aplicar(anulada, "anular", u.gestion_red, motivo="Desiste", justificacion=JUSTIFICACION)
        instalada = esc.solicitud("observada")
        T.aplicar(instalada, "asignar_instalacion", u.gestion_red)
        T.aplicar(instalada.orden, "ejecutar", u.tecnico)
        r = esc.solicitud("redigitada")
        nueva = r.reemplazada_por
        T.aplicar(nueva, "asignar_instalacion", u.gestion_red)
        T.aplicar(nueva.orden, "ejecutar", u.tecnico)


def test_cifra_provisional_con_su_rango_en_pagina_libro_y_json(esc, u, jefe):
    _mes_con_abiertos(esc, u)
    aviso = "provisional: 2 casos abiertos; entre 40,00 % y 80,00 %"
    t = ind.informe(MARZO)["total"]
    assert (t["probables"], t["anulados"], t["no_anulados"], t["abiertos"]) == (5, 1, 4, 2)
    assert t["indicador"] == {
        "valor": 80.0,
        "veredicto": "observado",
        "texto": "80,00 %",
        "provisional": True,
        "rango": {"minimo": 40.0, "maximo": 80.0, "texto": "entre 40,00 % y 80,00 %", "veredicto_minimo": "observado"},
    }
    assert t["aviso_provisional"] == aviso

    html = jefe.get(reverse("indicador"), {"mes": "2026-03"}).content.decode()
    assert re.search(r'id="valor-indicador">80,00 %<', html)
    assert re.search(r'id="provisional"><strong>Cifra ' + re.escape(aviso) + "</strong>", html)
    assert html.count(aviso) >= 1 + 5  # the total, and the Total row of each breakdown
    abiertos = jefe.get(reverse("indicador_casos"), {"mes": "2026-03", "resultado": "abiertos"}).content.decode()
    assert abiertos.count('<tr class="caso">') == 2 and "SF-ABIERTA-1" in abiertos and "SF-ABIERTA-2" in abiertos
    assert "Aún abierto · cuenta como no anulado" in abiertos

    datos = jefe.get(reverse("indicador_json"), {"mes": "2026-03"}).json()
    assert datos["total"]["indicador"] == t["indicador"]
    assert datos["total"]["aviso_provisional"] == aviso
    assert "dos decimales" in datos["redondeo"]
    marzo = next(f for f in datos["tendencia"] if f["mes"] == "2026-03")
    assert marzo["indicador"]["provisional"] and marzo["aviso_provisional"] == aviso

    wb = load_workbook(BytesIO(jefe.get(reverse("indicador_xlsx"), {"mes": "2026-03"}).content))
    hoja = wb["Resumen"]
    filas = list(hoja.iter_rows(values_only=True))
    cab = list(filas[4])
    total = dict(zip(cab, filas[5], strict=False))
    assert total["Provisional"] == "Sí"
    assert (total["Indicador %"], total["Mínimo % (abiertos anulados)"], total["Máximo %"]) == (80.0, 40.0, 80.0)
    assert hoja.cell(row=6, column=cab.index("Indicador %") + 1).number_format == "0.00"
    assert filas[6][0] == f"Indicador: 80,00 % (observado); {aviso}"
    terminos = [f[0] for f in filas[8:] if f and f[0]]
    assert {"Caso probable", "Anulado", "No anulado", "Abierto", "Provisional", "Redondeo"} <= set(terminos)
    tendencia = {
        f[0]: dict(zip(["Mes"] + cab, f, strict=False)) for f in wb["Tendencia"].iter_rows(min_row=2, values_only=True)
    }
    assert tendencia["2026-03"]["Provisional"] == "Sí" and tendencia["2026-03"]["Mínimo % (abiertos anulados)"] == 40.0


def test_cifra_definitiva_sin_abiertos(esc, u, jefe):
    with en(2026, 3, 10, 9, 0):
        s = esc.solicitud("observada")
        T.aplicar(s, "asignar_instalacion", u.gestion_red)
        T.aplicar(s.orden, "ejecutar", u.tecnico)
    t = ind.informe(MARZO)["total"]
    assert (t["indicador"]["provisional"], t["indicador"]["rango"], t["aviso_provisional"]) == (False, None, "")
    html = jefe.get(reverse("indicador"), {"mes": "2026-03"}).content.decode()
    assert re.search(r'<p class="definitiva" id="provisional">Cifra definitiva', html)
    assert "Cifra provisional" not in html and "casos abiertos;" not in html and "caso abierto;" not in html
    wb = load_workbook(BytesIO(jefe.get(reverse("indicador_xlsx"), {"mes": "2026-03"}).content), read_only=True)
    filas = list(wb["Resumen"].iter_rows(values_only=True))
    assert filas[5][8:11] == ("No", None, None)
    assert filas[6][0] == "Indicador: 100,00 % (aceptado); cifra definitiva"


def test_resumen_del_jefe_provisional(esc, u, client):
    esc.solicitud("observada")
    anulada = esc.solicitud("observada")
    T.aplicar(anulada, "anular", u.coc, motivo="Desiste", justificacion=JUSTIFICACION)
    client.force_login(u.jefe_division)
    html = client.get("/").content.decode()
    indicador = re.search(r'id="resumen-indicador">(.*?)</dd>', html, re.S).group(1)
    assert "50,00 % · ✘ observado" in indicador
    assert "provisional: 1 caso abierto; entre 0,00 % y 50,00 %" in indicador


# --- two decimals toward the verdict ----------------------------------------------------------
def _casos(esc, u, no_anulados, anulados):
    for _ in range(no_anulados):
        esc.solicitud("observada")
    return [_anular(esc.nueva(), u) for _ in range(anulados)]


def _anular(s, u):
    T.aplicar(s, "anular", u.gestion_red, motivo="Desiste", justificacion=JUSTIFICACION)
    return s


def test_594_de_625_es_95_04_aceptado_y_593_es_94_88_observado(esc, u, jefe):
    _casos(esc, u, 594, 31)
    periodo = ind.Periodo.actual()
    t = ind.informe(periodo)["total"]
    assert (t["probables"], t["no_anulados"]) == (625, 594)
    assert (t["indicador"]["valor"], t["indicador"]["texto"], t["indicador"]["veredicto"]) == (
        95.04,
        "95,04 %",
        "aceptado",
    )
    html = jefe.get(reverse("indicador")).content.decode()
    assert re.search(r'id="valor-indicador">95,04 %<', html) and "✔ Aceptado" in html
    assert jefe.get(reverse("indicador_json")).json()["total"]["indicador"]["texto"] == "95,04 %"
    wb = load_workbook(BytesIO(jefe.get(reverse("indicador_xlsx")).content), read_only=True)
    assert list(wb["Resumen"].iter_rows(values_only=True))[5][6:8] == (95.04, "aceptado")

    # One more cancellation: 593 / 625 = 94.88 %.
    _anular(Solicitud.objects.filter(estado="observada").first(), u)
    t = ind.informe(periodo)["total"]
    assert (t["probables"], t["no_anulados"]) == (625, 593)
    assert (t["indicador"]["valor"], t["indicador"]["texto"], t["indicador"]["veredicto"]) == (
        94.88,
        "94,88 %",
        "observado",
    )
    html = jefe.get(reverse("indicador")).content.decode()
    assert re.search(r'id="valor-indicador">94,88 %<', html) and "✘ Observado" in html


@pytest.mark.parametrize(
    "probables,anulados,valor,texto,veredicto",
    [
        (20000, 999, 95.01, "95,01 %", "aceptado"),  # 95.005 %: above the threshold, never "95,00 %"
        (20000, 1000, 95.0, "95,00 %", "observado"),  # exactly the threshold is observado
        (200000, 9999, 95.01, "95,01 %", "aceptado"),  # 95.0005 % rounds to 95.00: pushed up to 95.01
        (25000, 1251, 95.0, "95,00 %", "observado"),  # 94.996 %: 95,00 % is not above the threshold
        (625, 31, 95.04, "95,04 %", "aceptado"),
        (625, 32, 94.88, "94,88 %", "observado"),
        (3, 1, 66.67, "66,67 %", "observado"),
        (3, 0, 100.0, "100,00 %", "aceptado"),
    ],
)
def test_dos_decimales_hacia_el_veredicto(probables, anulados, valor, texto, veredicto):
    r = ind.indicador(probables, anulados)
    assert (r["valor"], r["texto"], r["veredicto"], r["provisional"], r["rango"]) == (
        valor,
        texto,
        veredicto,
        False,
        None,
    )


def test_el_texto_nunca_contradice_el_veredicto():
    """For every count up to 2,000 cases: an aceptado figure prints above the threshold, an
    observado one at or below it (and so does the minimum of a range)."""
    for probables in range(1, 2001, 7):
        for anulados in range(0, max(1, probables // 10) + 1):
            r = ind.indicador(probables, anulados, abiertos=min(2, probables - anulados))
            assert (r["valor"] > 95) == (r["veredicto"] == "aceptado"), (probables, anulados, r)
            if r["rango"]:
                assert (r["rango"]["minimo"] > 95) == (r["rango"]["veredicto_minimo"] == "aceptado")
                assert r["rango"]["minimo"] <= r["valor"] == r["rango"]["maximo"]


def test_el_rango_dice_si_el_veredicto_podria_cambiar(settings):
    r = ind.indicador(100, 2, abiertos=5)  # 98 % now; 93 % if every open case were cancelled
    assert (r["veredicto"], r["rango"]["veredicto_minimo"], r["rango"]["texto"]) == (
        "aceptado",
        "observado",
        "entre 93,00 % y 98,00 %",
    )
    assert ind.aviso_provisional(5, r) == "provisional: 5 casos abiertos; entre 93,00 % y 98,00 %"
    assert ind.aviso_provisional(1, ind.indicador(100, 2, abiertos=1)).startswith("provisional: 1 caso abierto;")
