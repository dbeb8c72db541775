"""Issue 15, item 6: homes that answer "what now". Each role's navigation bar shows exactly the
pages it may open (one table, anulaciones/navegacion.py, naming the roles each view checks); the
jefe de división's home shows the indicator's verdict in words and colour; Facturación's home
and the Entregas page say the same about what waits and who acts next; every count on a home is
a link to the work behind it."""

import re
from html import unescape

import pytest
from django.utils import timezone

from anulaciones import entregas as reports
from anulaciones import transitions as T
from anulaciones.navegacion import PAGINAS, POR_CLAVE
from anulaciones.roles import Rol

pytestmark = pytest.mark.django_db

ROLES = [
    Rol.ASESOR,
    Rol.MONITORA,
    Rol.TEAM_LEADER,
    Rol.GESTION_RED,
    Rol.COC,
    Rol.COZ,
    Rol.TECNICO,
    Rol.JEFE_DIVISION,
    Rol.FACTURACION,
]

# What each role's bar shows, written out (not derived from the table it checks).
BARRA = {
    Rol.ASESOR: {"Inicio", "Registrar solicitud", "Solicitudes", "Órdenes de trabajo"},
    Rol.MONITORA: {"Inicio", "Registrar solicitud", "Solicitudes", "Órdenes de trabajo"},
    Rol.TEAM_LEADER: {"Inicio", "Registrar solicitud", "Solicitudes", "Órdenes de trabajo"},
    Rol.GESTION_RED: {
        "Inicio",
        "Solicitudes",
        "Órdenes de trabajo",
        "Tablero de Control",
        "Indicador",
        "Entregas a Facturación",
        "Importar",
        "Mapa",
        "Riesgo",
        "Conciliación",
    },
    Rol.COC: {
        "Inicio",
        "Solicitudes",
        "Órdenes de trabajo",
        "Tablero de Control",
        "Indicador",
        "Importar",
        "Mapa",
        "Conciliación",
    },
    Rol.COZ: {"Inicio", "Solicitudes", "Órdenes de trabajo"},
    Rol.TECNICO: {"Inicio", "Solicitudes", "Órdenes de trabajo"},
    Rol.JEFE_DIVISION: {
        "Inicio",
        "Solicitudes",
        "Órdenes de trabajo",
        "Tablero de Control",
        "Indicador",
        "Mapa",
        "Riesgo",
        "Conciliación",
    },
    Rol.FACTURACION: {"Inicio", "Entregas a Facturación"},
}


def html(r):
    return r.content.decode()


def barra(pagina):
    """[(label, href)] of the main navigation bar."""
    nav = pagina.split('<nav aria-label="Navegación principal">', 1)[1].split("</nav>", 1)[0]
    return [(unescape(t), h) for h, t in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)]


def texto(pagina, ident):
    """The text of the element with id ``ident``, tags stripped, spaces collapsed."""
    m = re.search(rf'<(\w+)[^>]*\bid="{ident}"[^>]*>(.*?)</\1>', pagina, re.S)
    assert m, ident
    return " ".join(unescape(re.sub(r"<[^>]+>", "", m.group(2))).split())


@pytest.mark.parametrize("rol", ROLES)
def test_la_barra_muestra_exactamente_las_paginas_que_el_rol_abre(rol, client, u):
    user = u.por_rol[rol]
    client.force_login(user)
    inicio = html(client.get("/"))
    enlaces = barra(inicio)
    assert {t for t, _ in enlaces} == BARRA[rol]
    for etiqueta, url in enlaces:  # every link of the bar opens
        assert client.get(url).status_code == 200, (rol, etiqueta, url)
    abre = set()
    for p in PAGINAS:  # and every page of the site that opens is in the bar or linked from a page that is
        estado = client.get(p.url).status_code
        assert estado in (200, 403), (rol, p.url, estado)
        if estado == 200:
            abre.add(p.clave)
            if p.en_barra:
                assert (p.etiqueta, p.url) in enlaces, (rol, p.clave)
            else:
                origen = inicio if p.desde == "cuenta" else html(client.get(POR_CLAVE[p.desde].url))
                assert f'href="{p.url}"' in origen, (rol, p.clave, p.desde)
    assert abre == {p.clave for p in PAGINAS if p.abre({rol})}  # the table says what the views do


def test_el_coc_y_el_jefe_tienen_el_mapa_y_facturacion_solo_sus_entregas(client, u):
    for quien in (u.coc, u.jefe_division, u.gestion_red):
        client.force_login(quien)
        assert ("Mapa", "/direcciones/mapa/") in barra(html(client.get("/")))
        assert client.get("/direcciones/mapa/").status_code == 200
    client.force_login(u.facturacion)
    assert barra(html(client.get("/"))) == [("Inicio", "/"), ("Entregas a Facturación", "/entregas/")]
    assert 'action="/buscar/"' not in html(client.get("/"))


def test_la_pagina_abierta_se_marca_en_la_barra(client, u):
    client.force_login(u.coc)
    pagina = html(client.get("/ordenes/?estado=en_coc"))
    assert re.search(r'<a href="/ordenes/" data-nav="ordenes" aria-current="page">', pagina)
    assert 'data-nav="inicio" aria-current' not in pagina


# --- every count on a home is a link to its work ----------------------------------------------------------
@pytest.fixture
def trabajo(esc, u):
    for estado in ("registrada", "observada", "en_correccion", "pendiente_redigitacion"):
        esc.solicitud(estado)
    for d in ("MONITORA", "TEAM_LEADER", "GESTION_RED", "COC"):
        esc.servicio("abierto", destinatario=d)
    for estado in ("en_coc", "reportada_coz", "anulada", "asignada"):
        esc.orden(estado)
    esc.zonificacion("recibida")
    z = esc.zonificacion("recibida")
    T.aplicar(z, "digitar", u.gestion_red)
    reports.generar_entrega(timezone.localdate(), u.gestion_red)
    esc.solicitud("anulada")  # the jefe's month has probable and cancelled cases


@pytest.mark.parametrize("rol", ROLES)
def test_cada_cuenta_del_inicio_es_un_enlace_a_su_trabajo(rol, client, u, trabajo):
    client.force_login(u.por_rol[rol])
    inicio = html(client.get("/"))
    cuentas = re.findall(r'<(\w+)\b([^>]*\bdata-cuenta="([^"]+)"[^>]*)>(.*?)</\1>', inicio, re.S)
    assert cuentas, rol  # every role has work waiting in this scenario
    for etiqueta, atributos, clave, contenido in cuentas:
        assert etiqueta == "a", (rol, clave, etiqueta)
        n = int(re.sub(r"<[^>]+>", "", contenido))
        href = unescape(re.search(r'\bhref="([^"]+)"', atributos).group(1))
        r = client.get(href)
        assert r.status_code == 200, (rol, clave, href)
        lista = html(r)
        if href.startswith(("/solicitudes/", "/ordenes/")):  # the queue whole: the same count
            assert re.search(rf'<p id="total-lista">{n} ', lista), (rol, clave, n)
        elif href.startswith("/indicador/casos/"):
            assert f'<strong id="total-casos">{n}</strong> caso' in lista, (rol, clave, n)


# --- the jefe's verdict, in words and colour ------------------------------------------------------------
def test_el_jefe_ve_el_veredicto_con_su_clase_y_su_texto(client, u, esc):
    client.force_login(u.jefe_division)
    assert texto(html(client.get("/")), "resumen-veredicto") == "sin casos probables"
    esc.solicitud("observada")  # probable, not cancelled: 100,00 % (provisional) > 95 %
    pagina = html(client.get("/"))
    assert re.search(r'class="veredicto aceptado" id="resumen-veredicto">100,00 % · ✔ aceptado</a>', pagina)
    for _ in range(2):
        esc.solicitud("anulada")  # 1 of 3 not cancelled: 33,33 %
    pagina = html(client.get("/"))
    assert re.search(r'class="veredicto observado" id="resumen-veredicto">33,33 % · ✘ observado</a>', pagina)
    indicador = html(client.get("/indicador/"))
    assert 'class="veredicto observado" id="veredicto"' in indicador  # the report says the same


# --- Facturación's home and the Entregas page agree ------------------------------------------------------
def test_facturacion_inicio_y_entregas_dicen_lo_mismo(client, u, esc):
    client.force_login(u.facturacion)
    for paso in range(3):
        inicio, entregas = html(client.get("/")), html(client.get("/entregas/"))
        for ident in ("pendientes-mes", "sin-acuse"):
            assert texto(inicio, ident) == texto(entregas, ident), (paso, ident)
        if paso == 0:
            assert "Todas las entregas tienen acuse de recibo." in texto(inicio, "sin-acuse")
            z = esc.zonificacion("recibida")
            T.aplicar(z, "digitar", u.gestion_red)  # digitized, in no delivery yet
        elif paso == 1:
            assert "Gestión de Red: generar la entrega" in texto(inicio, "pendientes-mes")
            assert re.search(r'data-cuenta="por-entregar"[^>]*><strong>1</strong>', inicio)
            reports.generar_entrega(timezone.localdate(), u.gestion_red)
        else:
            assert "Facturación: confirmar recepción de 1 entrega" in texto(inicio, "sin-acuse")
            assert re.match(r"Este mes \(\d\d/\d{4}\): 0 zonificaci", texto(inicio, "pendientes-mes"))


# --- in a real browser ------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_navegador_el_coc_abre_el_mapa_y_cada_enlace_de_su_barra(pagina, entrar, u):
    from playwright.sync_api import expect

    p = pagina
    entrar(p, u.coc)
    barra_nav = p.get_by_role("navigation", name="Navegación principal")
    etiquetas = barra_nav.get_by_role("link").all_inner_texts()
    assert set(etiquetas) == BARRA[Rol.COC]
    barra_nav.get_by_role("link", name="Mapa").click()
    p.wait_for_url(re.compile(r"/direcciones/mapa/$"))
    expect(p.locator("h1")).not_to_have_text("Sin permiso")
    assert p.locator("svg").count() >= 1
    expect(barra_nav.get_by_role("link", name="Mapa")).to_have_attribute("aria-current", "page")
    for etiqueta in etiquetas:
        p.get_by_role("navigation", name="Navegación principal").get_by_role("link", name=etiqueta, exact=True).click()
        p.wait_for_load_state()
        expect(p.locator("h1")).not_to_have_text("Sin permiso")


@pytest.mark.django_db(transaction=True)
def test_navegador_el_jefe_ve_el_veredicto_en_color(pagina, entrar, u, esc):
    from playwright.sync_api import expect

    esc.solicitud("anulada")  # 0,00 %: observado
    p = pagina
    entrar(p, u.jefe_division)
    veredicto = p.locator("#resumen-veredicto")
    expect(veredicto).to_have_text("0,00 % · ✘ observado")
    assert veredicto.evaluate("e => getComputedStyle(e).color") == "rgb(138, 0, 0)"  # red, as on /indicador/
    assert veredicto.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"  # not by colour alone
    esc.solicitud("observada")
    for _ in range(20):
        esc.solicitud("observada")  # 21 of 22 not cancelled: 95,45 % > 95 %: aceptado
    p.reload()
    expect(veredicto).to_contain_text("✔ aceptado")
    assert veredicto.evaluate("e => getComputedStyle(e).color") == "rgb(11, 91, 29)"  # green
    p.locator('[data-cuenta="anulados"]').click()  # the count is the list of those cases
    p.wait_for_url(re.compile(r"/indicador/casos/\?"))
    assert "resultado=anulados" in p.url
