"""Issue 15, item 4: complete queues. A home queue's count and its "… y N más" link to the whole
queue (the list of Solicitudes or OTs with ``cola=<clave>``), paginated and sortable; the lists
filter by zone, asesor, type, state, dates and number, every filter in a URL that can be kept or
shared; bad values answer a Spanish message, never a 500; each role sees only its scope."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anulaciones import transitions as T
from anulaciones.models import OrdenDeTrabajo, Solicitud
from anulaciones.roles import Rol
from anulaciones.views.inicio import COLAS, FILAS

from .test_web_consultas import clonar

pytestmark = pytest.mark.django_db


def html(r):
    return r.content.decode()


def filas_lista(r):
    """The detail links of the list's rows, in order."""
    cuerpo = html(r).split('<table id="lista">', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [int(pk) for pk in re.findall(r'<tr><td><a href="/(?:solicitudes|ordenes)/(\d+)/"', cuerpo)]


def cola_inicio(r, clave):
    return {c.clave: c for c in r.context["colas"]}[clave]


def todas_las_paginas(client, url):
    pks, pagina = [], 1
    while True:
        r = client.get(url + f"&page={pagina}")
        assert r.status_code == 200
        pks += filas_lista(r)
        if 'rel="next"' not in html(r):
            return pks
        pagina += 1


# --- "… y N más" is the whole queue -------------------------------------------------------------------
def test_y_n_mas_enlaza_a_la_cola_completa_en_su_orden(client, u, esc):
    primera = esc.solicitud("registrada")
    clonar(primera, FILAS + 4)  # 25 Solicitudes registradas: 20 on the home, "… y 5 más"
    esc.solicitud("observada")  # not in the queue «revisar»
    client.force_login(u.gestion_red)
    inicio = html(client.get("/"))
    seccion = inicio.split('id="cola-revisar"', 1)[1].split("</section>", 1)[0]
    mas = re.search(r'<a href="([^"]+)" data-mas="revisar">… y 5 más: ver la cola completa</a>', seccion)
    assert mas and mas.group(1) == "/solicitudes/?cola=revisar"
    assert re.search(r'href="/solicitudes/\?cola=revisar"[^>]*data-cuenta="revisar">25</a>', seccion)

    r = client.get(mas.group(1))
    assert r.status_code == 200
    pagina = html(r)
    assert "<h1>Solicitudes por revisar (2, 6)</h1>" in pagina
    assert "25 solicitudes." in pagina and "por llegada (la más antigua primero)" in pagina
    esperadas = list(
        Solicitud.objects.filter(estado__in=["registrada", "corregida"])
        .order_by("creado_at", "pk")
        .values_list("pk", flat=True)
    )
    assert filas_lista(r) == esperadas  # the queue's order, all 25 on one page of 50
    assert [f["url"] for f in cola_inicio(client.get("/"), "revisar").filas] == [
        f"/solicitudes/{pk}/" for pk in esperadas[:FILAS]
    ]  # the home shows the same first rows


ESCENARIO = {
    # queue -> builder of one case in it
    "correccion": lambda esc, u: esc.solicitud("en_correccion"),
    "redigitacion": lambda esc, u: esc.solicitud("pendiente_redigitacion"),
    "forma": lambda esc, u: _instalada_con_forma(esc),
    "servicios": lambda esc, u: [
        esc.servicio("abierto", destinatario=d) for d in ("MONITORA", "TEAM_LEADER", "GESTION_RED", "COC")
    ],
    "revisar": lambda esc, u: esc.solicitud("registrada"),
    "observadas": lambda esc, u: esc.solicitud("observada"),
    "en_coc": lambda esc, u: esc.orden("en_coc"),
    "zonificar": lambda esc, u: esc.zonificacion("recibida"),
    "coz": lambda esc, u: esc.orden("reportada_coz"),
    "coordinadas": lambda esc, u: esc.orden("anulada"),
    "tecnico": lambda esc, u: esc.orden("asignada"),
}


def test_cada_cola_definida_tiene_escenario():
    assert set(ESCENARIO) == {c.clave for c in COLAS}


def _instalada_con_forma(esc):
    s = esc.solicitud("instalada")
    s.agregar_modificacion_pendiente("Número de puerta: 125")  # 19.1, as the OT's observation leaves it
    return s


@pytest.mark.parametrize(
    "rol", [Rol.ASESOR, Rol.MONITORA, Rol.TEAM_LEADER, Rol.GESTION_RED, Rol.COC, Rol.COZ, Rol.TECNICO]
)
def test_cada_cola_del_inicio_es_su_lista_filtrada(rol, client, u, esc):
    """Every queue of every role: the home's count and rows are the list's, through one definition."""
    for hacer in ESCENARIO.values():
        hacer(esc, u)
    user = u.por_rol[rol]
    client.force_login(user)
    inicio = client.get("/")
    colas = inicio.context["colas"]
    assert colas and {c.clave for c in colas} <= set(ESCENARIO)
    for cola in colas:
        assert cola.total >= 1, (rol, cola.clave)
        assert f'data-cuenta="{cola.clave}">{cola.total}</a>' in html(inicio)
        r = client.get(cola.url)
        assert r.status_code == 200, (rol, cola.url)
        assert re.search(rf"<p id=\"total-lista\">{cola.total} ", html(r)), (rol, cola.clave)
        if cola.clave not in ("servicios", "zonificar"):  # their home rows are the SIs / zonifications
            assert [f"/{'ordenes' if 'ordenes' in cola.url else 'solicitudes'}/{pk}/" for pk in filas_lista(r)] == [
                f["url"] for f in cola.filas
            ], (rol, cola.clave)
        else:
            assert {f"/solicitudes/{pk}/" for pk in filas_lista(r)} == {f["url"] for f in cola.filas}


def test_una_cola_con_plazo_muestra_y_ordena_por_vencimiento(client, u, esc):
    a = esc.solicitud("pendiente_redigitacion")
    b = esc.solicitud("pendiente_redigitacion")
    Solicitud.objects.filter(pk=a.pk).update(redigitacion_vence_at=timezone.now() + timedelta(hours=1))
    Solicitud.objects.filter(pk=b.pk).update(redigitacion_vence_at=timezone.now() - timedelta(minutes=5))
    client.force_login(u.asesor)
    r = client.get("/solicitudes/?cola=redigitacion")
    assert filas_lista(r) == [b.pk, a.pk]  # the overdue one first, as on the home
    pagina = html(r)
    assert '<th scope="col"><a href="?cola=redigitacion&amp;sort=vence" data-orden="vence">Vence</a></th>' in pagina
    assert "vencido hace 5 min" in pagina and 'class="vencido"' in pagina
    r = client.get("/solicitudes/?cola=redigitacion&sort=-vence")
    assert filas_lista(r) == [a.pk, b.pk]
    assert 'aria-sort="descending"' in html(r)
    # Without a queue with deadlines there is no such column, and asking for it is refused.
    assert 'data-orden="vence"' not in html(client.get("/solicitudes/"))
    assert client.get("/solicitudes/?sort=vence").status_code == 400


# --- filters, in the URL ---------------------------------------------------------------------------------
@pytest.fixture
def surtido(esc, u, zonas, crear_usuario):
    """Solicitudes of two zones, two asesores, two types, two states, two days."""
    otra_asesora = crear_usuario(Rol.ASESOR, "asesora_sur", team_leader=u.team_leader)
    otra_asesora.first_name, otra_asesora.last_name = "Rosa", "Quispe"
    otra_asesora.save()
    norte, sur = zonas
    s1 = esc.solicitud("registrada", numero_smartflex="SF-100100", tipo="instalacion")
    s2 = esc.solicitud("observada", numero_smartflex="SF-100200", tipo="traslado", zona=sur)
    s3 = T.crear_solicitud(
        otra_asesora,
        numero_smartflex="SF-300300",
        tipo="migracion",
        cliente_nombre="Luis",
        calle="Calle 1",
        numero_puerta="1",
        zona=sur,
        referencias="",
        caja_nap="",
        plan="",
        vendedor="",
    )
    ayer = timezone.now() - timedelta(days=1)
    Solicitud.objects.filter(pk=s1.pk).update(creado_at=ayer)
    OrdenDeTrabajo.objects.filter(solicitud=s1).update(creado_at=ayer)
    return {"s1": s1, "s2": s2, "s3": s3, "norte": norte, "sur": sur, "otra": otra_asesora}


def test_filtros_de_solicitudes(client, u, surtido):
    s1, s2, s3, sur = surtido["s1"], surtido["s2"], surtido["s3"], surtido["sur"]
    hoy = timezone.localdate()
    ayer = hoy - timedelta(days=1)
    client.force_login(u.coc)
    casos = {
        f"zona={sur.pk}": {s2.pk, s3.pk},
        f"asesor={surtido['otra'].pk}": {s3.pk},
        "tipo=traslado": {s2.pk},
        "estado=observada": {s2.pk},
        f"desde={hoy}": {s2.pk, s3.pk},
        f"hasta={ayer}": {s1.pk},
        f"desde={ayer}&hasta={ayer}": {s1.pk},
        "numero=100": {s1.pk, s2.pk},
        "numero=sf-300300": {s3.pk},
        f"numero={s1.orden.numero}": {s1.pk},  # the OT number finds its Solicitud
        f"zona={sur.pk}&tipo=migracion": {s3.pk},
    }
    for consulta, esperadas in casos.items():
        r = client.get(f"/solicitudes/?{consulta}")
        assert r.status_code == 200, consulta
        assert set(filas_lista(r)) == esperadas, consulta
        assert 'id="caja-filtros" open' in html(r) and "Filtros (en uso)" in html(r)


def test_filtros_de_ordenes(client, u, surtido):
    s1, s2, s3, sur = surtido["s1"], surtido["s2"], surtido["s3"], surtido["sur"]
    o1, o2, o3 = (OrdenDeTrabajo.objects.get(solicitud=s) for s in (s1, s2, s3))
    client.force_login(u.coc)
    for consulta, esperadas in {
        f"zona={sur.pk}": {o2.pk, o3.pk},
        f"asesor={surtido['otra'].pk}": {o3.pk},
        "tipo=traslado": {o2.pk},
        "estado=generada": {o1.pk, o2.pk, o3.pk},
        f"hasta={timezone.localdate() - timedelta(days=1)}": {o1.pk},
        f"numero={o3.numero}": {o3.pk},
        "numero=SF-100200": {o2.pk},
    }.items():
        r = client.get(f"/ordenes/?{consulta}")
        assert r.status_code == 200, consulta
        assert set(filas_lista(r)) == esperadas, consulta


def test_ordenar_conserva_los_filtros_y_las_paginas_tambien(client, u, esc, zonas):
    sur = zonas[1]
    base = esc.solicitud("registrada", zona=sur, cliente_nombre="Ana")
    clonar(base, 59)  # 60 in the south: two pages of 50
    esc.solicitud("registrada", cliente_nombre="Zoe")  # north: filtered out
    client.force_login(u.gestion_red)
    r = client.get(f"/solicitudes/?zona={sur.pk}&estado=registrada")
    pagina = html(r)
    enlace = re.search(r'<a href="([^"]+)" data-orden="numero">', pagina).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(enlace).query) == {"zona": [str(sur.pk)], "estado": ["registrada"], "sort": ["numero"]}
    siguiente = re.search(r'<a href="([^"]+)" rel="next">Siguiente</a>', pagina).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(siguiente).query) == {"zona": [str(sur.pk)], "estado": ["registrada"], "page": ["2"]}

    ordenadas = todas_las_paginas(client, f"/solicitudes/{enlace}")
    esperadas = list(Solicitud.objects.filter(zona=sur).order_by("numero_smartflex", "pk").values_list("pk", flat=True))
    assert ordenadas == esperadas and len(esperadas) == 60
    r = client.get(f"/solicitudes/{enlace}&page=2")
    assert "Página 2 de 2" in html(r)
    anterior = re.search(r'<a href="([^"]+)" rel="prev">', html(r)).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(anterior).query)["sort"] == ["numero"]  # the order survives the pages
    desc = client.get(f"/solicitudes/?zona={sur.pk}&estado=registrada&sort=-numero")
    assert filas_lista(desc) == list(reversed(esperadas))[:50]


VALORES_MALOS = [
    ("zona=999999", "Zona"),
    ("zona=abc", "Zona"),
    ("asesor=abc", "Asesor"),
    ("asesor=999999", "Asesor"),
    ("tipo=helicoptero", "Tipo"),
    ("estado=volando", "Estado"),
    ("desde=2024-02-30", "Registrada desde"),
    ("desde=9999-12-31", "Registrada desde"),
    ("hasta=0001-01-01", "Registrada hasta"),
    ("desde=2026-05-02&hasta=2026-05-01", "Registrada hasta"),
    ("cola=en_coc", "Cola de su inicio"),
    ("sort=clave_secreta", "Ordenar por"),
    ("numero=" + "9" * 61, "N° Smartflex u OT"),
]


@pytest.mark.parametrize("consulta,campo", VALORES_MALOS)
def test_un_valor_no_valido_se_explica_en_castellano(consulta, campo, client, u, esc):
    esc.solicitud("registrada")
    client.force_login(u.asesor)
    r = client.get(f"/solicitudes/?{consulta}")
    assert r.status_code == 400
    pagina = html(r)
    alerta = pagina.split('id="errores-filtro"', 1)[1].split("<details", 1)[0]
    assert "Hay filtros no válidos" in alerta and f">{campo}</a>:" in alerta
    assert re.search(
        r"(Escoja una opción válida|Introduzca una fecha válida|Use fechas entre|"
        r"«Hasta» es anterior|menos de 60 caracteres)",
        alerta,
    ), alerta
    assert filas_lista(r) == [] and "Corrija los filtros para ver la lista." in pagina


def test_valores_hostiles_nunca_dan_500(client, u, esc):
    esc.solicitud("registrada")
    client.force_login(u.coz)
    for valor in (
        "\x00",
        "%00",
        "²",
        "١٢",
        "-1",
        "99999999999999999999",
        "1e400",
        "NaN",
        "x" * 5000,
        "<script>alert(1)</script>",
        "'; DROP TABLE anulaciones_solicitud; --",
    ):
        for lista in ("/solicitudes/", "/ordenes/"):
            for campo in ("cola", "numero", "zona", "asesor", "tipo", "estado", "desde", "hasta", "sort", "page"):
                r = client.get(lista, {campo: valor})
                assert r.status_code in (200, 400), (lista, campo, valor)
                assert "<script>alert(1)</script>" not in html(r)


# --- each role within its scope ------------------------------------------------------------------------
def test_el_asesor_ve_solo_lo_suyo_y_solo_se_elige_a_si_mismo(client, u, surtido):
    client.force_login(u.asesor)
    r = client.get("/solicitudes/")
    assert set(filas_lista(r)) == {surtido["s1"].pk, surtido["s2"].pk}
    opciones = re.search(r'<select name="asesor".*?</select>', html(r), re.S).group(0)
    assert f'value="{u.asesor.pk}"' in opciones and f'value="{surtido["otra"].pk}"' not in opciones
    r = client.get(f"/solicitudes/?asesor={surtido['otra'].pk}")  # another's cases: refused, not shown
    assert r.status_code == 400 and filas_lista(r) == []
    assert set(filas_lista(client.get(f"/solicitudes/?zona={surtido['sur'].pk}"))) == {surtido["s2"].pk}
    # The team leader chooses among the team.
    client.force_login(u.team_leader)
    r = client.get(f"/solicitudes/?asesor={surtido['otra'].pk}")
    assert r.status_code == 200 and filas_lista(r) == [surtido["s3"].pk]


def test_el_coz_y_el_tecnico_ven_su_zona(client, u, surtido):
    for quien in (u.coz, u.tecnico):
        client.force_login(quien)
        r = client.get("/ordenes/")
        assert set(filas_lista(r)) == {surtido["s1"].orden.pk}  # zone Norte only
        assert filas_lista(client.get(f"/ordenes/?zona={surtido['sur'].pk}")) == []
    client.force_login(u.coz)
    assert client.get("/ordenes/?cola=tecnico").status_code == 400  # the técnico's queue is not the COZ's


def test_facturacion_no_abre_las_listas(client, u, surtido):
    client.force_login(u.facturacion)
    for url in ("/solicitudes/", "/ordenes/", "/solicitudes/?cola=revisar"):
        r = client.get(url)
        assert r.status_code == 403 and "Div. Facturación recibe las entregas mensuales" in html(r)


# --- a constant number of queries -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "rol,url",
    [
        ("gestion_red", "/solicitudes/?cola=revisar&sort=zona"),
        ("asesor", "/solicitudes/?cola=correccion&sort=-vence&tipo=instalacion"),
        ("team_leader", "/solicitudes/?estado=en_correccion&desde=2000-01-01"),
        ("monitora", "/solicitudes/?cola=servicios"),
        ("coc", "/ordenes/?cola=en_coc&sort=asesor&numero=OT"),
        ("tecnico", "/ordenes/?cola=tecnico"),
    ],
)
def test_consultas_constantes(rol, url, client, u, esc):
    base = [
        esc.solicitud("registrada"),
        esc.solicitud("en_correccion"),
        esc.servicio("abierto", destinatario="MONITORA").solicitud,
        esc.orden("en_coc").solicitud,
        esc.orden("asignada").solicitud,
    ]
    client.force_login(getattr(u, rol))
    medidas = []
    for filas in (3, 70):
        for s in base:
            clonar(s, filas - (1 if filas == 3 else 3))
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(url)
        assert r.status_code == 200 and len(filas_lista(r)) >= 3
        medidas.append(len(ctx.captured_queries))
    assert medidas[0] == medidas[1], medidas


# --- in a real browser ----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_navegador_de_y_n_mas_a_la_cola_ordenada_y_filtrada_y_compartida(
    pagina, navegador, live_server, entrar, u, esc, zonas
):
    from playwright.sync_api import expect

    sur = zonas[1]
    clonar(esc.solicitud("registrada", cliente_nombre="Ana Norte"), FILAS + 2)  # 23 in Norte
    clonar(esc.solicitud("registrada", zona=sur, cliente_nombre="Beto Sur"), 4)  # 5 in Sur
    p = pagina
    entrar(p, u.gestion_red)
    cola = p.locator("#cola-revisar")
    expect(cola.locator('[data-cuenta="revisar"]')).to_have_text("28")
    cola.get_by_role("link", name="… y 8 más: ver la cola completa").click()
    p.wait_for_url(re.compile(r"/solicitudes/\?cola=revisar$"))
    expect(p.locator("h1")).to_have_text("Solicitudes por revisar (2, 6)")
    expect(p.locator("#total-lista")).to_have_text("28 solicitudes.")
    assert p.locator("#lista tbody tr").count() == 28

    p.locator("#lista thead").get_by_role("link", name="Zona").click()  # sort: the queue stays
    p.wait_for_url(re.compile(r"cola=revisar&sort=zona$"))
    expect(p.locator("#lista th[aria-sort=ascending]")).to_contain_text("Zona")
    assert p.locator("#lista tbody tr").first.locator("td").nth(4).inner_text() == "Zona Norte"
    p.locator("#lista thead").get_by_role("link", name="Zona").click()  # again: the other way
    p.wait_for_url(re.compile(r"sort=-zona$"))
    assert p.locator("#lista tbody tr").first.locator("td").nth(4).inner_text() == "Zona Sur"

    p.locator("#caja-filtros summary").click()
    p.select_option("#id_zona", label="Zona Sur")
    p.get_by_role("button", name="Filtrar").click()
    p.wait_for_url(re.compile(r"zona="))
    expect(p.locator("#total-lista")).to_contain_text("5 solicitudes")
    compartida = p.url
    assert parse_qs(urlsplit(compartida).query) == {"cola": ["revisar"], "zona": [str(sur.pk)], "sort": ["-zona"]}

    # The URL, sent to a colleague, opens the same list.
    otro = navegador.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    q = otro.new_page()
    entrar(q, u.coc)
    q.goto(compartida)
    expect(q.locator("#total-lista")).to_contain_text("5 solicitudes")
    assert set(q.locator("#lista tbody tr td:nth-child(3)").all_inner_texts()) == {"Beto Sur"}
    expect(q.locator("#id_zona")).to_have_value(str(sur.pk))  # the form shows the filters in use
    otro.close()

    # A bad value in a kept link: a message in Spanish, no list.
    p.goto("/solicitudes/?cola=revisar&desde=2026-02-30")
    expect(p.locator("#errores-filtro")).to_contain_text("Registrada desde")
    expect(p.locator("#errores-filtro")).to_contain_text("Introduzca una fecha válida")
    expect(p.locator("#lista tbody")).to_contain_text("Corrija los filtros para ver la lista.")


@pytest.mark.django_db(transaction=True)
def test_telefono_el_tecnico_abre_su_cola_completa(telefono, entrar, u, esc):
    from playwright.sync_api import expect

    clonar(esc.orden("asignada").solicitud, FILAS + 1)
    t = telefono
    entrar(t, u.tecnico)
    t.locator('#cola-tecnico [data-cuenta="tecnico"]').click()  # the count is the link
    t.wait_for_url(re.compile(r"/ordenes/\?cola=tecnico$"))
    expect(t.locator("#total-lista")).to_have_text(f"{FILAS + 2} órdenes.")
    assert t.locator("#lista tbody tr").count() == FILAS + 2
    assert t.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    t.locator("#lista tbody tr").first.get_by_role("link").click()
    t.wait_for_url(re.compile(r"/ordenes/\d+/$"))
