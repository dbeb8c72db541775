"""Issue 19 as users see it: the risk of observation or cancellation at entry on the registration
form (live preview, and the «Registrar de todos modos» of a high risk), on the case page and in
the API; the review queues ordered by risk; «Alto riesgo hoy» from the Tablero; the monthly
evaluation page and its JSON, for Gestión de Red and the Jefe de División only.

The history is made through the transition path (observed and clean Solicitudes), then
aggregated by ``riesgo.recalcular_factores()`` as the nightly task does."""

import re
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from anulaciones import riesgo
from anulaciones.models import Solicitud
from anulaciones.roles import Rol

from .test_web_consultas import clonar

pytestmark = pytest.mark.django_db

LP = ZoneInfo("America/La_Paz")
# A street, box and plan that were always observed, and the clean ones every other case has
# (tests/conftest.py nueva_solicitud: Av. Busch, NAP-01, Fibra 100).
RIESGOSA = {"calle": "Av. Arce", "caja_nap": "NAP-99", "plan": "Fibra 300"}


def html(r):
    return r.content.decode()


def texto(pagina, ident):
    """The text of the element with id ``ident``, tags stripped, spaces collapsed."""
    m = re.search(rf'<(\w+)[^>]*\bid="{ident}"[^>]*>(.*?)</\1>', pagina, re.S)
    assert m, ident
    contenido = re.sub(r"<br>|</(li|p|dd|dt|div|ul)>", " ", m.group(2))  # block ends read as a space
    return " ".join(unescape(re.sub(r"<[^>]+>", "", contenido)).split())


def crear_historia(esc, observadas=10, limpias=30):
    """``observadas`` Solicitudes on the risky street, box and plan, all observed; ``limpias``
    registered on the clean ones; then the aggregates. Base rate 10/40 = 25 %."""
    for _ in range(observadas):
        esc.solicitud("observada", **RIESGOSA)
    for _ in range(limpias):
        esc.solicitud("registrada")
    return riesgo.recalcular_factores()


@pytest.fixture
def historia(esc):
    return crear_historia(esc)


def datos_form(zona, **extra):
    datos = {
        "numero_smartflex": "SF-R-1",
        "tipo": "instalacion",
        "cliente_nombre": "Ana Quispe",
        "calle": "Av. Busch",
        "numero_puerta": "12",
        "zona": zona.pk,
        "referencias": "Frente al colegio",
        "caja_nap": "NAP-01",
        "plan": "Fibra 100",
        "vendedor": "Luis",
    }
    datos.update(extra)
    return datos


@pytest.fixture
def api():
    def cliente(user):
        c = APIClient()
        c.force_authenticate(user)
        return c

    return cliente


# --- the registration form ------------------------------------------------------------------------
def test_el_formulario_pide_la_vista_previa_con_htmx_local(client, u):
    client.force_login(u.asesor)
    pagina = html(client.get("/solicitudes/nueva/"))
    assert 'hx-get="/solicitudes/riesgo/"' in pagina
    assert 'hx-params="calle,caja_nap,zona,plan,tipo,asesor"' in pagina  # no client data in the URL
    assert "/static/django_htmx/htmx-2.min.js" in pagina  # served here, no CDN
    for campo in ("calle", "caja_nap", "zona", "plan", "tipo"):  # what triggers the refresh
        assert re.search(rf'<(input|select)[^>]*name="{campo}"[^>]*class="[^"]*dato-riesgo', pagina) or re.search(
            rf'<(input|select)[^>]*class="[^"]*dato-riesgo[^"]*"[^>]*name="{campo}"', pagina
        ), campo
    assert "Registrar de todos modos" not in pagina


def test_vista_previa_alto_con_sus_motivos_y_bajo_en_calle_limpia(client, u, zona, historia):
    client.force_login(u.asesor)
    r = client.get("/solicitudes/riesgo/", {**RIESGOSA, "zona": zona.pk, "tipo": "instalacion"})
    assert r.status_code == 200
    fragmento = html(r)
    assert "<html" not in fragmento  # the panel only, swapped into the form
    assert 'data-riesgo="alto">Riesgo alto</span>' in fragmento
    motivos = texto(fragmento, "panel-riesgo")
    assert "«Av. Arce»" in motivos and "10 de 10" in motivos
    assert "Qué lo bajaría:" in motivos
    assert "Al registrar se le pedirá confirmar." in motivos

    limpia = html(client.get("/solicitudes/riesgo/", {"calle": "Av. Busch", "caja_nap": "NAP-01", "zona": zona.pk}))
    assert 'data-riesgo="bajo">Riesgo bajo</span>' in limpia
    assert Solicitud.objects.count() == 40  # nothing written


def test_vista_previa_sin_historial_y_valores_que_no_encajan(client, u):
    client.force_login(u.monitora)
    r = client.get("/solicitudes/riesgo/", {"calle": "x" * 5000, "zona": "abc", "asesor": "²", "tipo": "otro"})
    assert r.status_code == 200
    assert "Sin puntaje" in html(r) and "Aún no hay historial suficiente" in html(r)


def test_vista_previa_con_nul_e_ids_enormes_no_falla(client, u, zona, historia):
    """Raw input reaches the preview before any validation (PostgreSQL refuses NUL in text and
    ids past a bigint): the panel still answers, and the form re-renders with its own errors."""
    client.force_login(u.asesor)
    r = client.get("/solicitudes/riesgo/", {"calle": "Av.\x00 Arce", "caja_nap": "\x00", "zona": "9" * 20})
    assert r.status_code == 200
    r = client.post("/solicitudes/nueva/", {"calle": "Av. Arce", "caja_nap": "\x00", "zona": zona.pk})
    assert r.status_code == 400 and 'value="Av. Arce"' in html(r)  # the form again, with what was typed


@pytest.mark.parametrize("rol", [Rol.GESTION_RED, Rol.COC, Rol.TECNICO, Rol.FACTURACION])
def test_vista_previa_solo_para_quien_registra(client, u, rol):
    client.force_login(u.por_rol[rol])
    assert client.get("/solicitudes/riesgo/?calle=Av.+Arce").status_code == 403


def test_el_historial_de_un_asesor_ajeno_no_se_muestra(client, u, crear_usuario, esc, zona):
    """A team leader scores with her team's asesores only: another asesor's history (here, all
    observed) stays out of the reasons; a Monitora registers for any asesor and sees it."""
    from anulaciones import transitions as T

    ajeno = crear_usuario(Rol.ASESOR, "ajeno")
    for i in range(10):
        s = T.crear_solicitud(
            u.monitora,
            asesor=ajeno,
            numero_smartflex=f"SF-AJ-{i}",
            tipo="instalacion",
            cliente_nombre="Pablo Rojas",
            calle=f"Calle {i}",
            zona=zona,
        )
        T.aplicar(s, "observar", u.gestion_red, causa="calle", detalle="Calle mal escrita")
    for _ in range(30):
        esc.solicitud("registrada")
    riesgo.recalcular_factores()
    pedido = {"calle": "Calle 99", "zona": zona.pk, "tipo": "instalacion", "asesor": ajeno.pk}
    client.force_login(u.monitora)
    assert "ajeno" in texto(html(client.get("/solicitudes/riesgo/", pedido)), "panel-riesgo")
    client.force_login(u.team_leader)
    assert "ajeno" not in html(client.get("/solicitudes/riesgo/", pedido))
    assert "ajeno" not in html(client.get("/solicitudes/riesgo/", {**pedido, "asesor": u.asesor.pk}))


def test_riesgo_alto_pide_confirmar_y_registrar_de_todos_modos_lo_deja_registrado(client, u, zona, historia):
    client.force_login(u.asesor)
    datos = datos_form(zona, **RIESGOSA)
    r = client.post("/solicitudes/nueva/", datos)
    assert r.status_code == 200 and not Solicitud.objects.filter(numero_smartflex="SF-R-1").exists()
    pagina = html(r)
    assert 'value="Av. Arce"' in pagina and 'value="Ana Quispe"' in pagina  # everything typed stays
    assert 'data-riesgo="alto">Riesgo alto</span>' in pagina
    assert "«Av. Arce»" in texto(pagina, "panel-riesgo")
    assert re.search(r'<section class="panel panel-riesgo borde-alto"[^>]*role="alert"', pagina)
    assert re.search(
        r'<button type="submit" name="registrar_de_todos_modos" value="1"[^>]*>Registrar de todos modos<', pagina
    )

    r = client.post("/solicitudes/nueva/", {**datos, "registrar_de_todos_modos": "1"}, follow=True)
    nueva = Solicitud.objects.get(numero_smartflex="SF-R-1")
    assert r.redirect_chain[-1][0] == f"/solicitudes/{nueva.pk}/"
    assert nueva.riesgo_banda == "alto" and nueva.riesgo_aceptado is True
    assert nueva.riesgo_motivos and nueva.riesgo_sugerencias
    pagina = html(r)
    assert "Riesgo de observación o anulación: Alto (registrada de todos modos)." in pagina
    caso = texto(pagina, "riesgo-caso")  # the case page
    assert caso.startswith("Riesgo alto")
    assert "«Av. Arce»" in caso and "Qué lo bajaría:" in caso
    assert "El asesor registró de todos modos" in caso


def test_la_monitora_que_registra_de_todos_modos_queda_nombrada(client, u, zona, historia):
    client.force_login(u.monitora)
    datos = {**datos_form(zona, **RIESGOSA), "asesor": u.asesor.pk}
    assert "Registrar de todos modos" in html(client.post("/solicitudes/nueva/", datos))
    r = client.post("/solicitudes/nueva/", {**datos, "registrar_de_todos_modos": "1"}, follow=True)
    assert "monitora registró de todos modos, con el riesgo alto a la vista." in texto(html(r), "riesgo-caso")
    assert Solicitud.objects.get(numero_smartflex="SF-R-1").riesgo_aceptado


@pytest.mark.parametrize("de_todos_modos", [False, True])
def test_riesgo_bajo_registra_directo_y_no_marca_aceptado(client, u, zona, historia, de_todos_modos):
    client.force_login(u.asesor)
    extra = {"registrar_de_todos_modos": "1"} if de_todos_modos else {}
    r = client.post("/solicitudes/nueva/", {**datos_form(zona), **extra}, follow=True)
    nueva = Solicitud.objects.get(numero_smartflex="SF-R-1")
    assert nueva.riesgo_banda == "bajo" and nueva.riesgo_aceptado is False
    pagina = html(r)
    assert "Riesgo de observación o anulación: Bajo." in pagina
    caso = texto(pagina, "riesgo-caso")
    assert caso.startswith("Riesgo bajo") and "registró de todos modos" not in caso


def test_sin_javascript_el_panel_aparece_tras_enviar_un_formulario_incompleto(client, u, zona, historia):
    client.force_login(u.asesor)
    r = client.post("/solicitudes/nueva/", {**RIESGOSA, "zona": zona.pk})  # no number nor client
    assert r.status_code == 400
    pagina = html(r)
    assert 'data-riesgo="alto">Riesgo alto</span>' in pagina
    assert "Registrar de todos modos" not in pagina  # the data are fixed first


def test_riesgo_alto_y_advertencia_de_direccion_un_solo_de_todos_modos(client, u, zona, esc):
    """The address warnings (issue 7) and the high risk are shown together, with one «… de todos
    modos»: «Registrar de todos modos», which registers with both recorded."""
    from anulaciones.direcciones.escritura import registrar_calle

    registrar_calle(u.gestion_red, nombre="Avenida Arce", aliases="Av. Arse")  # a known wrong name
    crear_historia(esc)
    client.force_login(u.asesor)
    datos = datos_form(zona, **{**RIESGOSA, "calle": "Av. Arse"})  # the same street: its history counts
    pagina = html(client.post("/solicitudes/nueva/", datos))
    assert 'id="advertencias"' in pagina and 'data-riesgo="alto">Riesgo alto</span>' in pagina
    assert 'id="guardar-de-todos-modos"' not in pagina and 'id="registrar-de-todos-modos"' in pagina
    assert "con las advertencias de dirección" in texto(pagina, "pedir-confirmacion")
    # The address's «Guardar de todos modos» alone does not pass the high risk.
    r = client.post("/solicitudes/nueva/", {**datos, "guardar_de_todos_modos": "1"})
    assert r.status_code == 200 and not Solicitud.objects.filter(numero_smartflex="SF-R-1").exists()
    client.post("/solicitudes/nueva/", {**datos, "registrar_de_todos_modos": "1"})
    nueva = Solicitud.objects.get(numero_smartflex="SF-R-1")
    assert nueva.advertencia_aceptada and nueva.advertencias_direccion and nueva.riesgo_aceptado


def test_pagina_del_caso_sin_puntaje(client, u, esc):
    s = esc.solicitud("registrada")  # no history when it was registered
    client.force_login(u.gestion_red)
    caso = texto(html(client.get(f"/solicitudes/{s.pk}/")), "riesgo-caso")
    assert caso.startswith("Sin puntaje") and "No había historial suficiente" in caso


# --- the API --------------------------------------------------------------------------------------
def test_api_muestra_el_riesgo_filtra_por_banda_y_ordena(api, u, esc, zona, historia):
    alta = esc.solicitud("registrada", **RIESGOSA)
    baja = esc.solicitud("registrada")
    c = api(u.gestion_red)
    d = c.get(f"/api/v1/solicitudes/{alta.pk}/").json()
    assert d["riesgo_banda"] == "alto" and d["riesgo"] > 0.5 and d["riesgo_aceptado"] is False
    assert any("Av. Arce" in m["texto"] for m in d["riesgo_motivos"]) and d["riesgo_sugerencias"]
    assert c.get(f"/api/v1/solicitudes/{baja.pk}/").json()["riesgo_banda"] == "bajo"

    altas = c.get("/api/v1/solicitudes/?riesgo_banda=alto&por_pagina=500").json()
    filas = altas["results"] if isinstance(altas, dict) else altas
    assert [f["id"] for f in filas] == [alta.pk]
    orden = c.get("/api/v1/solicitudes/?sort=-riesgo").json()
    filas = orden["results"] if isinstance(orden, dict) else orden
    assert filas[0]["id"] == alta.pk
    assert c.get("/api/v1/solicitudes/?riesgo_banda=altisimo").status_code == 400


def test_api_vista_previa(api, u, zona, historia):
    cuerpo = {**RIESGOSA, "zona": zona.codigo, "tipo": "instalacion", "numero_smartflex": "SF-X", "cliente_nombre": "A"}
    r = api(u.asesor).post("/api/v1/solicitudes/riesgo/", cuerpo, format="json")
    assert r.status_code == 200, r.content
    d = r.json()
    assert d["banda"] == "alto" and d["banda_texto"] == "Alto" and d["motivos"] and d["sugerencias"]
    assert Solicitud.objects.count() == 40
    assert api(u.coc).post("/api/v1/solicitudes/riesgo/", cuerpo, format="json").status_code == 403
    r = api(u.asesor).post("/api/v1/solicitudes/riesgo/", {"calle": "x", "desconocido": 1}, format="json")
    assert r.status_code == 400 and "desconocido" in r.json()["errores"]


# --- the review queues ordered by risk ------------------------------------------------------------
def filas_lista(r):
    cuerpo = html(r).split('<table id="lista">', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [int(pk) for pk in re.findall(r'<tr><td><a href="/solicitudes/(\d+)/"', cuerpo)]


@pytest.mark.parametrize(
    "rol,cola,estado", [(Rol.GESTION_RED, "revisar", "registrada"), (Rol.COC, "observadas", "observada")]
)
def test_cola_de_revision_por_riesgo_pone_primero_la_alta(client, u, esc, historia, rol, cola, estado):
    primera = esc.solicitud(estado)  # the oldest, low risk
    alta = esc.solicitud(estado, **RIESGOSA)
    client.force_login(u.por_rol[rol])
    inicio = html(client.get("/"))
    seccion = inicio.split(f'id="cola-{cola}"', 1)[1].split("</section>", 1)[0]
    control = texto(seccion, f"orden-{cola}")
    assert control == "Ordenar por: llegada | riesgo"
    assert f'href="/?orden=riesgo#cola-{cola}" data-orden-cola="riesgo"' in seccion
    por_llegada = re.findall(r'<li><a href="/solicitudes/(\d+)/"', seccion)
    assert int(por_llegada[0]) != alta.pk

    inicio = html(client.get("/?orden=riesgo"))
    seccion = inicio.split(f'id="cola-{cola}"', 1)[1].split("</section>", 1)[0]
    filas = [int(pk) for pk in re.findall(r'<li><a href="/solicitudes/(\d+)/"', seccion)]
    assert filas[0] == alta.pk
    primera_fila = seccion.split("<li>", 2)[1]
    assert 'data-riesgo="alto">Riesgo alto</span>' in primera_fila  # each row shows its band
    assert '<strong aria-current="true" data-orden-cola="riesgo">riesgo</strong>' in seccion
    assert f'href="/solicitudes/?cola={cola}&amp;orden=riesgo"' in seccion  # the whole queue, in that order

    r = client.get(f"/solicitudes/?cola={cola}&orden=riesgo")
    assert r.status_code == 200
    pks = filas_lista(r)
    esperadas = (
        Solicitud.objects.filter(estado=estado)
        if cola == "observadas"
        else Solicitud.objects.filter(estado__in=["registrada", "corregida"])
    )
    riesgos = dict(esperadas.values_list("pk", "riesgo"))
    assert pks[0] == alta.pk and set(pks) == set(riesgos)
    assert [riesgos[pk] for pk in pks] == sorted(riesgos.values(), key=lambda x: -(x or 0))
    pagina = html(r)
    assert "por riesgo (el más alto primero" in texto(pagina, "cola-actual")
    assert "Ordenar por: llegada | riesgo" == texto(pagina, f"orden-{cola}")
    assert "(en uso)" not in pagina  # the order is no filter
    llegada = filas_lista(client.get(f"/solicitudes/?cola={cola}"))
    assert llegada[0] == min(riesgos) and primera.pk in llegada


def test_cola_por_riesgo_consultas_constantes(client, u, esc, historia):
    alta = esc.solicitud("registrada", **RIESGOSA)
    client.force_login(u.gestion_red)

    def consultas(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    urls = [
        "/?orden=riesgo",
        "/solicitudes/?cola=revisar&orden=riesgo",
        "/solicitudes/?riesgo_banda=alto&registrada=hoy",
    ]
    antes = [consultas(url) for url in urls]
    clonar(alta, 60)
    assert [consultas(url) for url in urls] == antes


# --- «Alto riesgo hoy» from the Tablero -----------------------------------------------------------
def test_tablero_enlaza_alto_riesgo_hoy_con_su_cuenta(client, u, esc, historia):
    ayer = timezone.now() - timedelta(days=1)
    with time_machine.travel(ayer, tick=False):
        vieja = esc.solicitud("registrada", **RIESGOSA)  # high risk, but yesterday
    altas = [esc.solicitud("registrada", **RIESGOSA) for _ in range(2)]
    esc.solicitud("registrada")  # today, low risk
    client.force_login(u.jefe_division)
    tablero = html(client.get("/tablero/"))
    assert texto(tablero, "alto-riesgo-hoy") == (
        "Alto riesgo hoy: 2 solicitudes registradas hoy con riesgo alto de observación o anulación."
    )
    enlace = re.search(r'<p class="alto-riesgo-hoy" id="alto-riesgo-hoy"><a href="([^"]+)"', tablero).group(1)
    r = client.get(unescape(enlace))
    assert r.status_code == 200
    pagina = html(r)
    assert "<h1>Alto riesgo hoy</h1>" in pagina and '<p id="total-lista">2 solicitudes.' in pagina
    assert set(filas_lista(r)) == {s.pk for s in altas} and vieja.pk not in filas_lista(r)
    # the htmx refresh does not count again
    parcial = client.get("/tablero/", headers={"HX-Request": "true"})
    assert "alto-riesgo-hoy" not in html(parcial)


def test_tablero_una_consulta_mas_constante(client, u, esc, historia):
    client.force_login(u.gestion_red)

    def consultas():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/tablero/").status_code == 200
        return len(ctx.captured_queries)

    alta = esc.solicitud("registrada", **RIESGOSA)
    n1 = consultas()
    clonar(alta, 50)
    assert consultas() == n1
    assert texto(html(client.get("/tablero/")), "alto-riesgo-hoy").startswith("Alto riesgo hoy: 51 solicitudes ")


# --- the evaluation page and its JSON -------------------------------------------------------------
def local(*args):
    return datetime(*args, tzinfo=LP)


@pytest.fixture
def evaluable(esc):
    """October 2026: the history (before November); November: a risky and a clean registration,
    the risky one observed in November, then a December observation of the clean one (after
    the month: it must not count)."""
    from anulaciones import transitions as T

    with time_machine.travel(local(2026, 10, 5, 10, 0), tick=False):
        crear_historia(esc)
    with time_machine.travel(local(2026, 11, 10, 10, 0), tick=False):
        alta = esc.solicitud("registrada", **RIESGOSA)
        baja = esc.solicitud("registrada")
    with time_machine.travel(local(2026, 11, 20, 10, 0), tick=False):
        T.aplicar(alta, "observar", esc.u.gestion_red, causa="calle", detalle="No existe")
    with time_machine.travel(local(2026, 12, 2, 10, 0), tick=False):
        T.aplicar(baja, "observar", esc.u.gestion_red, causa="calle", detalle="Tarde")
    return alta, baja


@pytest.mark.parametrize("rol", [Rol.GESTION_RED, Rol.JEFE_DIVISION])
def test_evaluacion_pagina_y_json_para_gestion_de_red_y_jefe(client, api, u, evaluable, rol):
    with time_machine.travel(local(2026, 12, 15, 9, 0), tick=False):
        client.force_login(u.por_rol[rol])
        r = client.get("/riesgo/evaluacion/?mes=2026-11")
        assert r.status_code == 200
        pagina = html(r)
        assert "Noviembre 2026" in pagina
        assert texto(pagina, "cifra-solicitudes").startswith("2 ")
        assert texto(pagina, "cifra-tasa_base").startswith("50,0 %")  # the December observation does not count
        assert "De 2 solicitudes, 1 fue observada o anulada antes de terminar el mes" in texto(
            pagina, "cifra-tasa_base"
        )
        assert texto(pagina, "cifra-historia").startswith("40 solicitudes · 25,0 %")
        assert texto(pagina, "cifra-precision").startswith("100,0 %")
        assert texto(pagina, "cifra-recall").startswith("100,0 %")
        for clave in ("tasa_base", "decil_superior", "precision", "recall"):
            assert len(texto(pagina, f"cifra-{clave}")) > 40, clave  # each figure says what it means
        tabla = pagina.split('id="tabla-calibracion"', 1)[1].split("</table>", 1)[0]
        assert re.search(r'<tr data-banda="alto">.*?<td>1</td><td>[\d,]+ %</td><td>100,0 %</td>', tabla, re.S)
        assert '<a href="/api/v1/riesgo/evaluacion/?mes=2026-11" id="enlace-json">' in pagina
        assert 'href="/riesgo/evaluacion/" data-nav="riesgo"' in pagina  # in the menu

        d = api(u.por_rol[rol]).get("/api/v1/riesgo/evaluacion/?mes=2026-11").json()
        assert d["mes"] == "2026-11" and d["solicitudes"] == 2 and d["problemas"] == 1
        assert d["tasa_base"] == 0.5 and d["alto"] == {"n": 1, "precision": 1.0, "recall": 1.0}
        assert {b["banda"]: b["n"] for b in d["bandas"]} == {"bajo": 1, "medio": 0, "alto": 1}
        assert d["historia"]["solicitudes"] == 40

        por_defecto = client.get("/riesgo/evaluacion/")  # the last complete month: November
        assert por_defecto.status_code == 200 and 'value="2026-11"' in html(por_defecto)


@pytest.mark.parametrize("rol", [Rol.COC, Rol.ASESOR, Rol.MONITORA, Rol.COZ, Rol.TECNICO, Rol.FACTURACION])
def test_evaluacion_prohibida_a_otros_roles(client, api, u, rol):
    client.force_login(u.por_rol[rol])
    r = client.get("/riesgo/evaluacion/")
    assert r.status_code == 403 and "Gestión de Red y el Jefe de División" in html(r)
    assert 'data-nav="riesgo"' not in html(client.get("/"))
    r = api(u.por_rol[rol]).get("/api/v1/riesgo/evaluacion/?mes=2026-01")
    assert r.status_code == 403 and "Gestión de Red" in r.json()["detail"]


def test_evaluacion_anonimo_va_al_login(client):
    r = client.get("/riesgo/evaluacion/")
    assert r.status_code == 302 and "/cuentas/login/" in r["Location"]
    assert APIClient().get("/api/v1/riesgo/evaluacion/").status_code == 401


@pytest.mark.parametrize("mes", ["2026-13", "noviembre", "1999-12", "9999-01", "2026-1"])
def test_evaluacion_mes_malo_400_con_mensaje(client, api, u, mes):
    with time_machine.travel(local(2026, 12, 15, 9, 0), tick=False):
        client.force_login(u.gestion_red)
        r = client.get("/riesgo/evaluacion/", {"mes": mes})
        assert r.status_code == 400
        error = texto(html(r), "id_mes_error")
        assert error.startswith(("Indique el mes", "Use fechas", "Ese mes todavía no empezó"))
        assert 'id="cifras-riesgo"' not in html(r)
        j = api(u.gestion_red).get("/api/v1/riesgo/evaluacion/", {"mes": mes})
        assert j.status_code == 400 and j.json()["errores"]["mes"] == error


def test_evaluacion_mes_futuro_y_en_curso(client, u):
    with time_machine.travel(local(2026, 12, 15, 9, 0), tick=False):
        client.force_login(u.jefe_division)
        assert client.get("/riesgo/evaluacion/?mes=2027-01").status_code == 400
        r = client.get("/riesgo/evaluacion/?mes=2026-12")
        assert r.status_code == 200 and "Mes en curso" in html(r)


# --- in a real browser: the panel follows what is typed -------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_navegador_el_panel_de_riesgo_cambia_mientras_se_escribe(pagina, entrar, u, esc, zona):
    from playwright.sync_api import expect

    crear_historia(esc)
    p = pagina
    errores = []
    # CSP refusals and script errors show on the console; a failed request of the page as its response
    # (the browser's own favicon.ico request is neither).
    p.on("console", lambda m: errores.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None)
    p.on("response", lambda r: errores.append(r.url) if r.status >= 400 else None)
    entrar(p, u.asesor)
    p.goto("/solicitudes/nueva/")
    panel = p.locator("#riesgo-previa")
    expect(panel).to_contain_text("se estima con la calle")
    p.select_option("#id_zona", str(zona.pk))
    p.fill("#id_calle", "Av. Arce")
    p.fill("#id_caja_nap", "NAP-99")
    expect(panel.locator(".riesgo-alto")).to_have_text("Riesgo alto")
    expect(panel).to_contain_text("«Av. Arce»")
    p.fill("#id_calle", "Av. Busch")
    p.fill("#id_caja_nap", "NAP-01")
    expect(panel.locator(".riesgo")).not_to_have_text("Riesgo alto")
    assert p.input_value("#id_calle") == "Av. Busch"  # the form itself is not redrawn
    assert not errores, errores
    assert Solicitud.objects.count() == 40


def test_la_evaluacion_guardada_cambia_con_un_dato_nuevo_del_mes(db, esc, u, django_assert_max_num_queries):
    """The evaluation is cached (5.7 s at 1M Solicitudes), but a new observation on one of the
    month's Solicitudes gives the new figures at once; the second identical request only reads
    the three tables' newest ids."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    import time_machine

    from anulaciones import riesgo

    lp = ZoneInfo("America/La_Paz")
    with time_machine.travel(datetime(2026, 9, 10, 10, 0, tzinfo=lp), tick=False):
        esc.solicitud("observada")  # the history: one problem before October
        esc.solicitud("registrada")
    with time_machine.travel(datetime(2026, 10, 5, 10, 0, tzinfo=lp), tick=False):
        limpia = esc.solicitud("registrada")
    octubre = date(2026, 10, 1)
    antes = riesgo.evaluar_guardada(octubre)
    assert antes == riesgo.evaluar(octubre)
    with django_assert_max_num_queries(1):
        assert riesgo.evaluar_guardada(octubre) == antes
    with time_machine.travel(datetime(2026, 10, 20, 10, 0, tzinfo=lp), tick=False):
        from anulaciones import transitions as T

        T.aplicar(limpia, "observar", u.gestion_red, causa="calle", detalle="No existe la numeración")
    despues = riesgo.evaluar_guardada(octubre)
    assert despues == riesgo.evaluar(octubre) and despues["problemas"] == antes["problemas"] + 1


def test_la_evaluacion_guardada_cambia_tras_el_recalculo_nocturno(db, esc, u):
    """A recompute (which also fills the street keys of old rows with an UPDATE, no new row) gives
    a new key: the cached figures are never those of before it."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    import time_machine

    from anulaciones import riesgo
    from anulaciones.models import Solicitud

    lp = ZoneInfo("America/La_Paz")
    with time_machine.travel(datetime(2026, 9, 10, 10, 0, tzinfo=lp), tick=False):
        vieja = esc.solicitud("observada")
        esc.solicitud("registrada")
    with time_machine.travel(datetime(2026, 10, 5, 10, 0, tzinfo=lp), tick=False):
        nueva = esc.solicitud("registrada")
    Solicitud.objects.filter(pk__in=[vieja.pk, nueva.pk]).update(calle="Av. Arce", clave_calle="")  # old rows
    octubre = date(2026, 10, 1)
    antes = riesgo.evaluar_guardada(octubre)
    with time_machine.travel(datetime(2026, 11, 2, 3, 0, tzinfo=lp), tick=False):
        riesgo.recalcular_factores()
    assert riesgo.evaluar_guardada(octubre) == riesgo.evaluar(octubre) != antes
