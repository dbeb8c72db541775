"""Every deadline says why it falls where it does (issue 17, item 5): the SI's (4.2) and the
re-digitation's (19.2), on the case page, the home's queues, the queue lists, the Tablero (page and
exports), the re-digitation's form and the API — the sentence stored with the deadline."""

import csv
import html as html_lib
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anulaciones.models import ServicioIngenieria

pytestmark = pytest.mark.django_db
LP = ZoneInfo("America/La_Paz")
SABADO_14 = datetime(2026, 11, 28, 14, 0, tzinfo=LP)  # after Saturday's close (13:00)
VIERNES_1930 = datetime(2026, 11, 27, 19, 30, tzinfo=LP)  # half an hour before Friday's close


@pytest.fixture
def horario(settings):
    settings.TIME_ZONE = "America/La_Paz"
    settings.ANULACIONES_HORARIO = "lun-vie 08:00-20:00; sab 08:00-13:00"
    settings.ANULACIONES_FERIADOS = []
    settings.ANULACIONES_SI_MINIMO_MINUTOS = 60
    settings.ANULACIONES_REDIGITACION_HORAS = 2
    settings.ANULACIONES_REDIGITACION_MODO = "habil"
    return settings


def texto(r):
    """The page's text: tags out, entities decoded, blanks collapsed."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", r.content.decode())).split())


def bloque(html, id_):
    """The element with id ``id_`` up to the end of its section."""
    inicio = html.index(f'id="{id_}"')
    return html[inicio : html.index("</section>", inicio)]


def fila_tablero(html, numero):
    inicio = html.index(f'data-solicitud="{numero}"')
    return html[inicio : html.index("</tr>", inicio)]


def api(user):
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return c


def abrir_el_sabado(esc, destinatario):
    with time_machine.travel(SABADO_14, tick=False):
        return esc.servicio("abierto", destinatario=destinatario)


# --- the SI opened on Saturday after the close: due Monday at 20:00 ------------------------------
@pytest.mark.parametrize("destinatario, cola", [("ASESOR", "correccion"), ("MONITORA", "servicios")])
def test_si_abierto_el_sabado_explica_su_vencimiento_en_cada_vista(horario, esc, u, client, destinatario, cola):
    si = abrir_el_sabado(esc, destinatario)
    lunes_20 = datetime(2026, 11, 30, 20, 0, tzinfo=LP)
    assert si.vence_at == lunes_20
    por_que = si.vence_explicacion
    assert "lunes 30/11" in por_que and "20:00" in por_que and "domingo" in por_que
    assert "después del cierre (13:00)" in por_que  # opened at 14:00, Saturday closes at 13:00
    numero = si.solicitud.numero_smartflex

    with time_machine.travel(datetime(2026, 11, 28, 14, 5, tzinfo=LP), tick=False):
        # The case page: the deadline and, under it, why (as text, not behind a hover).
        client.force_login(u.gestion_red)
        r = client.get(reverse("solicitud", args=[si.solicitud_id]))
        plazos = bloque(r.content.decode(), "t-plazos")
        assert "30/11/2026 20:00" in plazos
        assert f'<span class="por-que">{html_lib.escape(por_que)}</span>' in plazos
        # The SI's own card folds it under «¿Por qué?».
        tarjeta = bloque(r.content.decode(), f"si-{si.pk}")
        assert "<summary>¿Por qué?</summary>" in tarjeta and html_lib.escape(por_que) in tarjeta

        # The destinatario's queue on the home, and the whole queue's list.
        client.force_login(u.por_rol[destinatario])
        inicio = client.get("/").content.decode()
        en_cola = bloque(inicio, f"cola-{cola}")
        assert numero in en_cola and "30/11/2026 20:00" in en_cola
        assert '<details class="por-que"><summary>¿Por qué?</summary>' in en_cola
        assert html_lib.escape(por_que) in en_cola
        lista = client.get(f"/solicitudes/?cola={cola}")
        assert lista.status_code == 200
        assert "30/11/2026 20:00" in texto(lista) and por_que in texto(lista)

        # The Tablero: under the «Vence» date of the SI's row.
        client.force_login(u.gestion_red)
        fila = fila_tablero(client.get("/tablero/").content.decode(), numero)
        assert "30/11/2026 20:00" in fila
        assert f'<details class="por-que"><summary>¿Por qué?</summary>{html_lib.escape(por_que)}</details>' in fila

        # The API, read-only.
        datos = api(u.gestion_red).get(f"/api/v1/servicios/{si.pk}/").json()
        assert datos["vence_at"].startswith("2026-11-30T20:00:00")
        assert datos["vence_explicacion"] == por_que
        cambio = api(u.gestion_red).patch(f"/api/v1/servicios/{si.pk}/", {"vence_explicacion": "otra"}, format="json")
        assert cambio.status_code in (403, 405)
    assert ServicioIngenieria.objects.get(pk=si.pk).vence_explicacion == por_que


def test_las_exportaciones_del_tablero_dicen_por_que_vence_ahi(horario, esc, u, client):
    si = abrir_el_sabado(esc, "ASESOR")
    client.force_login(u.gestion_red)
    r = client.get("/tablero/export.csv")
    filas = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    columna = filas[0].index("Por qué vence ahí")
    assert filas[1][filas[0].index("Vence")] == "30/11/2026 20:00"
    assert filas[1][columna] == si.vence_explicacion and "domingo" in filas[1][columna]

    r = client.get("/tablero/export.xlsx")
    hoja = load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True).active
    cabecera, fila = list(hoja.iter_rows(values_only=True))[:2]
    assert fila[cabecera.index("Por qué vence ahí")] == si.vence_explicacion


def test_la_explicacion_del_tablero_no_cuesta_consultas(horario, esc, u, client):
    """The explanation is a column of the SI's row: 2 SIs or 6, the same queries."""
    client.force_login(u.gestion_red)

    def consultas():
        with CaptureQueriesContext(connection) as ctx:
            html = client.get("/tablero/").content.decode()
        return len(ctx.captured_queries), html.count('<details class="por-que">')

    for _ in range(2):
        abrir_el_sabado(esc, "ASESOR")
    n2, explicadas2 = consultas()
    for _ in range(4):
        abrir_el_sabado(esc, "ASESOR")
    n6, explicadas6 = consultas()
    assert (explicadas2, explicadas6) == (2, 6)
    assert n2 == n6


def test_la_explicacion_se_escapa(horario, esc, u, client):
    """It is the engine's text, but a page never writes a stored text unescaped."""
    si = abrir_el_sabado(esc, "ASESOR")
    ServicioIngenieria.objects.filter(pk=si.pk).update(vence_explicacion="Vence <b>ya</b>")
    client.force_login(u.gestion_red)
    for url in (reverse("solicitud", args=[si.solicitud_id]), "/tablero/"):
        html = client.get(url).content.decode()
        assert "Vence &lt;b&gt;ya&lt;/b&gt;" in html and "<b>ya</b>" not in html, url


# --- the re-digitation cancelled on Friday at 19:30: due Monday at 09:30 ---------------------------
@pytest.fixture
def sin_sabados(horario):
    horario.ANULACIONES_HORARIO = "lun-vie 08:00-20:00"
    return horario


def test_redigitacion_del_viernes_explica_su_vencimiento(sin_sabados, esc, u, client):
    with time_machine.travel(VIERNES_1930, tick=False):
        s = esc.solicitud("pendiente_redigitacion")
    assert s.redigitacion_vence_at == datetime(2026, 11, 30, 9, 30, tzinfo=LP)
    por_que = s.redigitacion_explicacion
    assert "lunes 30/11" in por_que and "09:30" in por_que and "2 h" in por_que
    assert "viernes 27/11" in por_que and "domingo" in por_que

    with time_machine.travel(datetime(2026, 11, 27, 19, 45, tzinfo=LP), tick=False):
        client.force_login(u.gestion_red)
        r = client.get(reverse("solicitud", args=[s.pk]))
        plazos = bloque(r.content.decode(), "t-plazos")
        assert "Re-digitación (2 horas hábiles, 19.2): vence 30/11/2026 09:30" in " ".join(
            html_lib.unescape(re.sub(r"<[^>]+>", " ", plazos)).split()
        )
        assert f'<span class="por-que">{html_lib.escape(por_que)}</span>' in plazos

        # The Tablero: the decision cell waits for the re-digitation, with its deadline and why.
        fila = fila_tablero(client.get("/tablero/").content.decode(), s.numero_smartflex)
        assert "Re-digitación en plazo hasta 30/11/2026 09:30 (19.2)" in fila
        assert f'<details class="por-que"><summary>¿Por qué?</summary>{html_lib.escape(por_que)}</details>' in fila

        datos = api(u.gestion_red).get(f"/api/v1/solicitudes/{s.pk}/").json()
        assert datos["redigitacion_vence_at"].startswith("2026-11-30T09:30:00")
        assert datos["redigitacion_explicacion"] == por_que

        # The asesor: her queue and the re-digitation's form say it too.
        client.force_login(u.asesor)
        en_cola = bloque(client.get("/").content.decode(), "cola-redigitacion")
        assert "30/11/2026 09:30" in en_cola and html_lib.escape(por_que) in en_cola
        assert "Plazo: 2 horas hábiles desde la anulación." in en_cola
        formulario = client.get(reverse("transicion", args=["solicitud", s.pk, "registrar_redigitacion"]))
        plazo = formulario.content.decode().split('id="plazo-redigitacion"', 1)[1].split("</p>", 1)[0]
        assert "(2 horas hábiles, 19.2)" in plazo and "30/11/2026 09:30" in plazo
        assert html_lib.escape(por_que) in plazo


def test_redigitacion_de_reloj_lo_dice(sin_sabados, esc, u, client):
    """ANULACIONES_REDIGITACION_MODO = "reloj": 2 hours of wall clock, and the page says so."""
    sin_sabados.ANULACIONES_REDIGITACION_MODO = "reloj"
    with time_machine.travel(VIERNES_1930, tick=False):
        s = esc.solicitud("pendiente_redigitacion")
    assert s.redigitacion_vence_at == datetime(2026, 11, 27, 21, 30, tzinfo=LP)
    with time_machine.travel(datetime(2026, 11, 27, 19, 45, tzinfo=LP), tick=False):
        client.force_login(u.gestion_red)
        plazos = bloque(client.get(reverse("solicitud", args=[s.pk])).content.decode(), "t-plazos")
    assert "Re-digitación (2 horas de reloj, 19.2)" in plazos and "27/11/2026 21:30" in plazos
    assert html_lib.escape(s.redigitacion_explicacion) in plazos and "de reloj" in s.redigitacion_explicacion
