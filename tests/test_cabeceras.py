"""Security headers (issue 13, item 10): every page carries the Content-Security-Policy and the
Permissions-Policy, and no page has an inline script, an inline style or an event-handler
attribute left (the policy would block them); in Chromium the Tablero (with its htmx refresh),
the case page and the print view run without a single CSP violation."""

import re

import lxml.html
import pytest
from django.test import Client

from anulaciones.roles import Rol

POLITICA = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}
PERMISOS = {"camera=()", "microphone=()", "geolocation=()", "payment=()"}


def directivas(cabecera):
    res = {}
    for parte in filter(None, (p.strip() for p in cabecera.split(";"))):
        nombre, *valores = parte.split()
        res[nombre] = set(valores)
    return res


def problemas_csp(html):
    """What the policy would block in a page: inline <script>, <style>, style="", on*="" and
    javascript: URLs; scripts and sheets from another origin."""
    arbol = lxml.html.document_fromstring(html)
    hallados = []
    for el in arbol.iter():
        if not isinstance(el.tag, str):
            continue
        etiqueta = el.tag.lower()
        if etiqueta == "script":
            if not el.get("src"):
                hallados.append("inline <script>")
            elif not el.get("src").startswith("/"):
                hallados.append(f"script from {el.get('src')}")
        if etiqueta == "style":
            hallados.append("<style>")
        if etiqueta == "link" and "stylesheet" in (el.get("rel") or "") and not el.get("href", "").startswith("/"):
            hallados.append(f"sheet from {el.get('href')}")
        for atributo, valor in el.attrib.items():
            atributo = atributo.lower()
            if atributo == "style":
                hallados.append(f'style="" on <{etiqueta}>')
            if re.fullmatch(r"on[a-z]+", atributo):
                hallados.append(f"{atributo}= on <{etiqueta}>")
            if atributo in ("href", "src", "action", "formaction") and valor.strip().lower().startswith("javascript:"):
                hallados.append(f"javascript: URL on <{etiqueta}>")
    return hallados


def _paginas(esc, u):
    s = esc.solicitud("observada")
    z = esc.zonificacion("digitada")
    si = esc.servicio("abierto")
    o = z.orden
    return [
        "/",
        "/solicitudes/",
        f"/solicitudes/{s.pk}/",
        f"/solicitudes/{z.solicitud_id}/",
        f"/solicitudes/{s.pk}/imprimir/",
        f"/solicitudes/{si.solicitud_id}/",
        "/ordenes/",
        f"/ordenes/{o.pk}/",
        f"/ordenes/{o.pk}/imprimir/",
        f"/ordenes/{o.pk}/zonificacion/",
        f"/ordenes/{o.pk}/impedimento/",
        "/solicitudes/nueva/",
        f"/accion/solicitud/{s.pk}/anular/",
        f"/accion/solicitud/{s.pk}/solicitar_correccion/",
        f"/accion/servicio/{si.pk}/atender/",
        "/tablero/",
        "/tablero/?vista=vencidos",
        "/buscar/?q=SF",
        "/indicador/",
        "/indicador/casos/",
        "/entregas/",
        "/notificaciones/",
        "/importar/",
        "/direcciones/mapa/",
        f"/solicitudes/{s.pk}/aprendido/",
        "/cuentas/password_change/",
        "/no-existe/",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("rol", list(Rol.values))
def test_cada_pagina_de_cada_rol_lleva_la_politica_y_nada_en_linea(esc, u, client, rol):
    paginas = _paginas(esc, u)
    client.force_login(u.por_rol[rol])
    vistas = 0
    for url in paginas:
        r = client.get(url)
        assert r.status_code in (200, 400, 403, 404), (url, r.status_code)
        assert directivas(r["Content-Security-Policy"]) == POLITICA, url
        assert PERMISOS <= {p.strip() for p in r["Permissions-Policy"].split(",")}, url
        if r["Content-Type"].startswith("text/html"):
            assert problemas_csp(r.content.decode()) == [], (rol, url)
            vistas += r.status_code == 200
    assert vistas >= 5  # every role opens real pages, not only refusals
    # The Tablero's htmx refresh (a fragment) too.
    if rol in (Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION):
        r = client.get("/tablero/", HTTP_HX_REQUEST="true")
        assert r.status_code == 200 and problemas_csp(r.content.decode()) == []


@pytest.mark.django_db
def test_paginas_sin_sesion_y_de_bloqueo(u, settings):
    settings.ANULACIONES_LOGIN_INTENTOS = 1
    c = Client()
    for url in (
        "/cuentas/login/",
        "/cuentas/password_reset/",
        "/cuentas/password_reset/done/",
        "/cuentas/reset/MQ/x-y/",
    ):
        r = c.get(url)
        assert r.status_code == 200, url
        assert directivas(r["Content-Security-Policy"]) == POLITICA and "Permissions-Policy" in r, url
        assert problemas_csp(r.content.decode()) == [], url
    r = c.post("/cuentas/login/", {"username": "asesor", "password": "mala"})
    assert r.status_code == 429 and problemas_csp(r.content.decode()) == []
    assert "Content-Security-Policy" in r
    # API answers (JSON) carry the headers as well.
    r = c.get("/api/v1/solicitudes/")
    assert r.status_code == 401 and "Content-Security-Policy" in r and "Permissions-Policy" in r


@pytest.mark.django_db
def test_admin_y_documentacion_de_la_api(u, client):
    """The admin (Django 5.2: no inline script or style in its templates) and Swagger UI (start-up
    script from its own URL, template without inline style) keep the site's policy; Redoc is the
    one explicit exception: inline styles and blob: workers on its own view only."""
    u.gestion_red.is_staff = u.gestion_red.is_superuser = True
    u.gestion_red.save()
    client.force_login(u.gestion_red)
    for url in (
        "/admin/",
        "/admin/anulaciones/solicitud/",
        "/admin/anulaciones/zona/add/",
        "/admin/axes/accessattempt/",
        "/api/v1/docs/",
    ):
        r = client.get(url)
        assert r.status_code == 200, url
        assert directivas(r["Content-Security-Policy"]) == POLITICA, url
        assert problemas_csp(r.content.decode()) == [], url
    r = client.get("/api/v1/docs/?script")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/javascript")
    r = client.get("/api/v1/redoc/")
    politica = directivas(r["Content-Security-Policy"])
    assert politica["style-src"] == {"'self'", "'unsafe-inline'"} and politica["worker-src"] == {"'self'", "blob:"}
    assert politica["script-src"] == {"'self'"}
    assert problemas_csp(r.content.decode()) == []  # its template has none either (the library writes them)
    assert "fonts.googleapis" not in r.content.decode()


def test_check_deploy_sigue_limpio():
    """``manage.py check --deploy`` with production settings: see test_web_sesion.py, which runs it
    with the CSP, axes and the Permissions-Policy middleware installed."""
    from django.conf import settings

    assert "csp.middleware.CSPMiddleware" in settings.MIDDLEWARE
    assert "anulaciones.cabeceras.PermisosMiddleware" in settings.MIDDLEWARE
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


# --- Chromium: no CSP violation while the pages work ----------------------------------------------
def _vigilar(pagina):
    """Collect the console messages the browser writes for CSP violations and script errors, and
    every resource that failed (the browser's own /favicon.ico aside)."""
    mensajes = []
    pagina.on(
        "console",
        lambda m: (
            mensajes.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    pagina.on("pageerror", lambda e: mensajes.append(f"pageerror: {e}"))
    pagina.on(
        "response",
        lambda r: (
            mensajes.append(f"error: {r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    return mensajes


@pytest.mark.django_db(transaction=True)
def test_navegador_tablero_y_caso_sin_violaciones_csp(pagina, entrar, esc, u, settings):
    settings.ANULACIONES_TABLERO_REFRESCO = 1
    si = esc.servicio()
    mensajes = _vigilar(pagina)
    entrar(pagina, u.gestion_red)
    pagina.goto("/tablero/")
    # The htmx refresh still works under the policy (htmx from static, no eval, no injected style).
    pagina.evaluate("document.getElementById('tablero-actualizado').dataset.viejo = '1'")
    pagina.wait_for_function(
        "() => { const t = document.getElementById('tablero-actualizado'); return t && !t.dataset.viejo; }",
        timeout=8_000,
    )
    # While a row's box is open, the refresh pauses (static/js/tablero.js, not an eval'd filter).
    fila = pagina.locator(f'tr[data-solicitud="{si.solicitud.numero_smartflex}"]')
    fila.get_by_text("Anular", exact=True).click()
    fila.get_by_label("Motivo de la anulación").fill("Cliente desiste")
    pagina.wait_for_timeout(2_500)
    assert fila.get_by_label("Motivo de la anulación").input_value() == "Cliente desiste"
    # The case page, its print view (the print button is wired by static/js/impresion.js).
    pagina.goto(f"/solicitudes/{si.solicitud_id}/")
    assert pagina.locator("h1").count() >= 1
    pagina.goto(f"/solicitudes/{si.solicitud_id}/imprimir/")
    pagina.evaluate("window.impreso = false; window.print = () => { window.impreso = true; }")
    pagina.get_by_role("button", name="Imprimir").click()
    assert pagina.evaluate("window.impreso") is True
    pagina.goto("/indicador/")  # the Pareto bars and the trend chart are SVG without style attributes
    violaciones = [m for m in mensajes if "Content Security Policy" in m or "Content-Security-Policy" in m]
    assert violaciones == [], "\n".join(violaciones)
    assert [m for m in mensajes if m.startswith(("error", "pageerror"))] == [], "\n".join(mensajes)


@pytest.mark.django_db(transaction=True)
def test_navegador_admin_y_swagger_sin_violaciones_csp(pagina, entrar, esc, u):
    esc.solicitud("registrada")
    u.coc.is_staff = u.coc.is_superuser = True
    u.coc.save()
    mensajes = _vigilar(pagina)
    entrar(pagina, u.coc)
    for url in ("/admin/", "/admin/anulaciones/solicitud/", "/admin/anulaciones/zona/add/"):
        pagina.goto(url)
    pagina.goto("/api/v1/docs/")
    pagina.wait_for_selector(".swagger-ui .opblock", timeout=15_000)  # rendered from the schema
    violaciones = [m for m in mensajes if "Content Security Policy" in m or "Content-Security-Policy" in m]
    assert violaciones == [], "\n".join(violaciones)
    # Redoc renders under its own policy; the only thing refused is its «by Redocly» logo, an
    # image from cdn.redoc.ly (no other origin is allowed).
    pagina.goto("/api/v1/redoc/")
    pagina.wait_for_selector(".api-content", timeout=30_000)
    violaciones = [m for m in mensajes if "Content Security Policy" in m or "Content-Security-Policy" in m]
    assert all("cdn.redoc.ly" in m and "img-src" in m for m in violaciones), "\n".join(violaciones)
