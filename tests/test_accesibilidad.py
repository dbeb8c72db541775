"""WCAG 2.1 AA (issue 15.11) in a real browser: axe-core (bundled by axe-playwright-python, no
network) over every kind of page each of the nine roles opens — home, lists, case and OT pages in
each state, the Tablero and its views, indicator, deliveries, notices, imports, map, search, the
page of every step it may take, the account pages — and over the pages seen logged out: no
serious or critical violation. A transition form completed with the keyboard alone, with the
focus always visible."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from anulaciones.models import Observacion, Solicitud
from anulaciones.roles import Rol

from .recorrido import ROLES, datos_demo, paginas_de

pytestmark = pytest.mark.django_db(transaction=True)

ETIQUETAS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
GRAVES = {"serious", "critical"}
AXE = Axe()

# Pages each role must have been through (the crawl found its way): besides its home, the account
# pages and the notices. A path (or a regular expression of paths).
ESPERADAS = {
    Rol.ASESOR: ["/solicitudes/", "/solicitudes/nueva/", r"/solicitudes/\d+/", r"/accion/solicitud/\d+/\w+/"],
    Rol.MONITORA: ["/solicitudes/", "/solicitudes/nueva/", "/buscar/?q=SF"],
    Rol.TEAM_LEADER: ["/solicitudes/", "/solicitudes/nueva/", r"/solicitudes/\d+/"],
    Rol.GESTION_RED: [
        "/tablero/",
        "/indicador/",
        "/entregas/",
        "/importar/",
        "/direcciones/mapa/",
        "/direcciones/importar/",
        r"/importar/\d+/",
        r"/ordenes/\d+/zonificacion/",
        r"/accion/solicitud/\d+/observar/",
        r"/accion/orden/\d+/asignar/",
    ],
    Rol.COC: ["/tablero/", "/indicador/", "/importar/", r"/accion/orden/\d+/ratificar_anulacion/"],
    Rol.COZ: ["/ordenes/", r"/ordenes/\d+/", r"/accion/orden/\d+/direccionar_a_coc/"],
    Rol.TECNICO: [
        "/ordenes/",
        r"/ordenes/\d+/",
        r"/accion/orden/\d+/reportar_observacion/",
        r"/accion/orden/\d+/ejecutar/",
    ],
    Rol.JEFE_DIVISION: ["/tablero/", "/indicador/", r"/indicador/casos/"],
    Rol.FACTURACION: ["/entregas/"],
}


def axe_graves(page):
    """axe over the page as shown: the violations of impact serious or critical."""
    r = AXE.run(page, options={"runOnly": {"type": "tag", "values": ETIQUETAS}, "resultTypes": ["violations"]})
    assert r.response["passes"], "axe did not run"
    return [v for v in r.response["violations"] if v["impact"] in GRAVES]


def informe(url, violaciones):
    lineas = []
    for v in violaciones:
        lineas.append(f"{url}: {v['id']} ({v['impact']}): {v['help']}")
        for n in v["nodes"][:5]:
            lineas.append(f"    {', '.join(map(str, n['target']))}: {n['html'][:200]}")
            lineas.append("      " + " ".join(n.get("failureSummary", "").split())[:400])
    return "\n".join(lineas)


def revisar(page, urls):
    fallos = []
    for url in urls:
        respuesta = page.goto(url)
        assert respuesta.ok, (url, respuesta.status)
        violaciones = axe_graves(page)
        if violaciones:
            fallos.append(informe(url, violaciones))
    return fallos


@pytest.mark.parametrize("rol", ROLES)
def test_axe_sin_violaciones_graves_en_cada_pagina_del_rol(rol, esc, u, client, pagina, entrar):
    datos_demo(esc)
    user = u.por_rol[rol]
    urls = paginas_de(client, user)
    for esperada in ["/", "/notificaciones/", "/cuentas/password_change/", *ESPERADAS[rol]]:
        assert any(re.fullmatch(esperada, re.sub(r"\?.*", "", url)) or url == esperada for url in urls), (
            rol,
            esperada,
            urls,
        )
    entrar(pagina, user)
    fallos = revisar(pagina, urls)
    assert not fallos, f"{rol}: {len(fallos)} of {len(urls)} pages with serious or critical violations\n" + "\n".join(
        fallos
    )


def test_axe_sin_violaciones_graves_sin_sesion(u, pagina):
    """The pages seen logged out: login (with its error), password reset, logged out."""
    p = pagina
    fallos = revisar(p, ["/cuentas/login/", "/cuentas/password_reset/"])
    p.goto("/cuentas/login/")
    p.fill("#id_username", u.coc.username)
    p.fill("#id_password", "equivocada")
    p.click("button[type=submit]")
    p.wait_for_load_state()
    assert p.locator(".errorlist, .errornote, [role=alert]").count() or "incorrect" in p.content().lower()
    violaciones = axe_graves(p)
    if violaciones:
        fallos.append(informe("login con error", violaciones))
    p.fill("#id_username", u.coc.username)
    p.fill("#id_password", "x")
    p.click("button[type=submit]")
    p.wait_for_url(lambda url: "/cuentas/login/" not in url)
    p.get_by_role("button", name="Salir").click()
    p.wait_for_load_state()
    violaciones = axe_graves(p)
    if violaciones:
        fallos.append(informe(p.url, violaciones))
    assert not fallos, "\n".join(fallos)


FOCO_VISIBLE = """() => {
  const el = document.activeElement;
  const st = getComputedStyle(el);
  const anillo = st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2;
  const sombra = st.boxShadow && st.boxShadow !== 'none';
  return {etiqueta: el.tagName.toLowerCase(), id: el.id, texto: (el.textContent || '').trim().slice(0, 40),
          visible: anillo || sombra};
}"""


def tabular_hasta(page, condicion, maximo=60, atras=False):
    """Press Tab (Shift+Tab) until the focused element matches ``condicion`` (a JS predicate on
    the element); every element the focus passes through must show it."""
    for _ in range(maximo):
        page.keyboard.press("Shift+Tab" if atras else "Tab")
        foco = page.evaluate(FOCO_VISIBLE)
        assert foco["visible"], f"focus not visible on {foco}"
        if page.evaluate(f"(el => ({condicion}))(document.activeElement)"):
            return foco
    raise AssertionError(f"the keyboard never reached {condicion}")


def test_observar_una_solicitud_solo_con_el_teclado(esc, u, pagina, entrar):
    """The COC observes a Solicitud without the mouse: from the case page, Tab to «Observar»,
    Enter; in the form, the cause chosen with the arrow keys, the detail typed, a Shift+Tab back
    and forth, Enter on the button. The focus is visible on every stop."""
    sol = esc.solicitud("registrada")
    p = pagina
    entrar(p, u.coc)
    p.goto(f"/solicitudes/{sol.pk}/")
    tabular_hasta(p, "el.dataset && el.dataset.transicion === 'observar'")
    p.keyboard.press("Enter")
    p.wait_for_url(re.compile(rf"^[^?]*/accion/solicitud/{sol.pk}/observar/"))
    tabular_hasta(p, "el.id === 'id_causa'")
    p.keyboard.press("ArrowDown")  # the first cause
    assert p.eval_on_selector("#id_causa", "s => s.value") != ""
    tabular_hasta(p, "el.id === 'id_detalle'")
    p.keyboard.type("La calle no existe en el plano")
    tabular_hasta(p, "el.id === 'id_causa'", atras=True)
    tabular_hasta(p, "el.id === 'id_detalle'")
    tabular_hasta(p, "el.type === 'submit' && el.textContent.trim() === 'Observar'")
    p.keyboard.press("Enter")
    p.wait_for_url(re.compile(rf"^[^?]*/solicitudes/{sol.pk}/$"))
    sol.refresh_from_db()
    assert sol.estado == Solicitud.E.OBSERVADA
    assert Observacion.objects.filter(solicitud=sol, detalle="La calle no existe en el plano").exists()
    assert "Observada" in p.locator("h1").inner_text()
