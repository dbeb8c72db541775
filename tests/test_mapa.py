"""Issue 15, item 12: a map that helps. Its labels never overlap (placed around their symbol or
left out, deterministically), it opens on every zone, and the open observed cases it cannot
place are listed beside it, each with the page where its location is added."""

import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anulaciones import direcciones as D
from anulaciones import transitions as T
from anulaciones.models import CajaNap
from anulaciones.roles import Rol
from anulaciones.views.direcciones import ABAJO, ANCHO, BAJA, LETRA, SUBE, ancho_texto, colocar_etiquetas

_n = itertools.count(1)


def _cajas(colocadas, marcas):
    return [(x, y - SUBE * LETRA, x + ancho_texto(marcas[i][3]), y + BAJA * LETRA) for i, (x, y) in colocadas.items()]


def _se_cortan(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_colocar_etiquetas_sin_superponer_deterministas_y_por_importancia():
    # 30 names piled on one spot, a case among them, and a few lone points around.
    marcas = [("punto_referencia", 300 + i % 3, 200 + i % 2, f"Unidad Educativa San Andrés {i}") for i in range(30)]
    marcas.insert(17, ("caso", 301, 201, "SF-2611-00042"))
    marcas += [("caja_nap", 60, 60, "NAP-01"), ("calle", 700, 400, "Avenida Costanera del Sur")]
    colocadas = colocar_etiquetas(marcas)
    assert colocadas == colocar_etiquetas(marcas)  # same data, same map
    assert 17 in colocadas  # the observed case's number is shown before the names piled with it
    assert len(marcas) - 2 in colocadas and len(marcas) - 1 in colocadas  # lone points keep their label
    assert 4 <= len(colocadas) < 20  # the pile is thinned, not dropped
    cajas = _cajas(colocadas, marcas)
    assert not [par for par in itertools.combinations(cajas, 2) if _se_cortan(*par)]
    for x0, y0, x1, y1 in cajas:  # inside the map, above the legend
        assert x0 >= 0 and y0 >= 0 and x1 <= ANCHO and y1 <= ABAJO
    # the long name at the right edge was moved to the left of its symbol instead of leaving the map
    x, _ = colocadas[len(marcas) - 1]
    assert x + ancho_texto("Avenida Costanera del Sur") <= 700


def test_ancho_estimado_cubre_nombres_anchos():
    assert ancho_texto("WWWW") > ancho_texto("iiii") * 3
    assert ancho_texto("Ñandú") == pytest.approx(ancho_texto("Nandu"))
    assert ancho_texto("東京") >= 2 * LETRA  # unknown glyphs are taken as wide


def _poblar(u, zonas, n=12):
    """n reference points and boxes crowded in each zone, and one located observed case."""
    for z, (lat, lon) in zip(zonas, [(-16.5000, -68.1300), (-16.5400, -68.0800)], strict=False):
        for i in range(n):
            k = next(_n)
            D.registrar_punto(
                u.gestion_red,
                nombre=f"Mercado {z.codigo} número {k}",
                zona=z,
                latitud=f"{lat - (i % 4) * 0.002:.6f}",
                longitud=f"{lon + (i // 4) * 0.003:.6f}",
            )
            D.registrar_caja(
                u.gestion_red,
                codigo=f"NAP-{z.codigo}-{k}",
                zona=z,
                latitud=f"{lat - (i % 4) * 0.002 - 0.0004:.6f}",
                longitud=f"{lon + (i // 4) * 0.003 + 0.0006:.6f}",
            )


def _sin_ubicar(esc, u, zona, numero="SF-SIN-UBICAR", caja="NAP-NUEVA-7"):
    s = esc.solicitud("registrada", zona=zona, numero_smartflex=numero, caja_nap=caja)
    T.aplicar(s, "observar", u.gestion_red, causa="caja_nap", detalle="La caja no figura en el plano")
    return s


def test_mapa_abre_en_todas_las_zonas_y_lista_los_casos_sin_coordenadas(
    client, u, esc, zonas, django_assert_max_num_queries
):
    _poblar(u, zonas, 3)
    caso = _sin_ubicar(esc, u, zonas[1])
    cerrado = esc.solicitud("anulada", zona=zonas[1], numero_smartflex="SF-CERRADO", caja_nap="NAP-NUEVA-8")
    client.force_login(u.gestion_red)
    with CaptureQueriesContext(connection) as pocas:
        r = client.get("/direcciones/mapa/")
    consultas = len(pocas)
    pagina = r.content.decode()
    assert r.status_code == 200 and "Todas las zonas" in pagina and consultas > 5
    assert "Mercado Z1" in pagina and "Mercado Z2" in pagina  # both zones on the default map
    lista = pagina.split('id="sin-ubicar"')[1].split("</aside>")[0]
    assert "SF-SIN-UBICAR" in lista and f"/solicitudes/{caso.pk}/aprendido/" in lista
    assert cerrado.numero_smartflex not in lista  # only open cases wait for a location

    r = client.get("/direcciones/mapa/", {"zona": zonas[0].codigo})  # a zone narrows it
    assert "Mercado Z1" in r.content.decode() and "Mercado Z2" not in r.content.decode()
    assert "SF-SIN-UBICAR" not in r.content.decode()

    # Located by its box: it leaves the list and appears on the map.
    D.registrar_caja(u.gestion_red, codigo="NAP-NUEVA-7", zona=zonas[1], latitud="-16.541", longitud="-68.081")
    pagina = client.get("/direcciones/mapa/").content.decode()
    assert "SF-SIN-UBICAR" not in pagina.split('id="sin-ubicar"')[1].split("</aside>")[0]
    assert "<title>SF-SIN-UBICAR</title>" in pagina

    _poblar(u, zonas, 15)
    for i in range(5):
        _sin_ubicar(esc, u, zonas[i % 2], numero=f"SF-SU-{i}", caja=f"NAP-X-{i}")
    with django_assert_max_num_queries(consultas):
        r = client.get("/direcciones/mapa/")
    assert r.content.decode().count('class="ubicar"') == 5

    client.force_login(u.jefe_division)  # reads the list; the link to add is for those who add
    lista = client.get("/direcciones/mapa/").content.decode().split('id="sin-ubicar"')[1].split("</aside>")[0]
    assert "SF-SU-0" in lista and "aprendido" not in lista


# --- in the browser -------------------------------------------------------------------------------
CAJAS_ETIQUETAS = """() => [...document.querySelectorAll('svg.mapa text.etiqueta')].map(t => {
    const b = t.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height, t.textContent]; })"""


@pytest.mark.django_db(transaction=True)
def test_navegador_etiquetas_sin_superponer_todas_las_zonas_y_ubicar_un_caso(pagina, entrar, u, esc, zonas):
    p = pagina
    _poblar(u, zonas, 16)
    caso = _sin_ubicar(esc, u, zonas[1])
    entrar(p, u.gestion_red)
    p.goto("/direcciones/mapa/")
    assert "Todas las zonas" in p.locator("h1").inner_text()
    assert p.locator("#id_zona").input_value() == ""  # «Todas»
    nombres = p.locator("svg.mapa g.marca title").all_text_contents()
    assert any(n.startswith("Mercado Z1") for n in nombres) and any(n.startswith("Mercado Z2") for n in nombres)

    cajas = p.evaluate(CAJAS_ETIQUETAS)
    assert len(cajas) >= 8  # names are shown where they fit ...
    assert len(cajas) < len(nombres)  # ... and the crowded ones are thinned
    choques = [(a[4], b[4]) for a, b in itertools.combinations(cajas, 2) if _se_cortan(a, b)]
    assert choques == []
    ancho, alto = p.evaluate(
        "() => { const v = document.querySelector('svg.mapa').viewBox.baseVal; return [v.width, v.height]; }"
    )
    assert all(0 <= c[0] and c[2] <= ancho and 0 <= c[1] and c[3] <= alto for c in cajas)

    # The case with no coordinates is listed beside the map (to its right on a desktop) ...
    item = p.locator("#sin-ubicar li", has_text="SF-SIN-UBICAR")
    assert item.count() == 1
    mapa, lista = p.locator("svg.mapa").bounding_box(), p.locator("#sin-ubicar").bounding_box()
    assert lista["x"] >= mapa["x"] + mapa["width"] - 1 and lista["y"] < mapa["y"] + mapa["height"]
    # ... and its link leads to where its location is added; once added, the map shows it.
    item.get_by_role("link", name="Añadir coordenadas de SF-SIN-UBICAR").click()
    p.wait_for_url(re.compile(rf"/solicitudes/{caso.pk}/aprendido/$"))
    assert p.locator("#id_caja").input_value() == "NAP-NUEVA-7"
    p.fill("#id_caja_latitud", "-16.5412")
    p.fill("#id_caja_longitud", "-68.0815")
    p.get_by_role("button", name="Registrar lo aprendido").click()
    p.wait_for_url(re.compile(rf"/solicitudes/{caso.pk}/$"))
    assert CajaNap.objects.get(codigo="NAP-NUEVA-7").latitud is not None
    p.goto("/direcciones/mapa/")
    assert p.locator("#sin-ubicar li", has_text="SF-SIN-UBICAR").count() == 0
    assert "SF-SIN-UBICAR" in p.locator("svg.mapa g.marca[data-tipo=caso] title").all_text_contents()


@pytest.mark.django_db(transaction=True)
def test_navegador_cada_rol_del_mapa_lo_abre(pagina, entrar, u, esc, zonas):
    _poblar(u, zonas, 2)
    _sin_ubicar(esc, u, zonas[0])
    p = pagina
    for rol in D.ROLES_MAPA:  # Gestión de Red, the COC and the jefe de división
        p.context.clear_cookies()
        entrar(p, u.por_rol[rol])
        r = p.goto("/direcciones/mapa/")
        assert r.status == 200, rol
        assert p.locator("svg.mapa text.etiqueta").count() > 0, rol
        assert p.locator("#sin-ubicar li", has_text="SF-SIN-UBICAR").count() == 1, rol
    p.context.clear_cookies()
    entrar(p, u.asesor)
    assert p.goto("/direcciones/mapa/").status == 403
    assert Rol.COC in D.ROLES_MAPA
