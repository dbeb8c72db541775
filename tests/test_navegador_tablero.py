"""Browser tests of the Tablero de Control: its auto-refresh keeps filters and page (c), and an
SI the asesor closes leaves it without anyone reloading."""

import re

import pytest

from anulaciones import transitions as T

pytestmark = pytest.mark.django_db(transaction=True)


def filas(page):
    return page.eval_on_selector_all(
        "#tabla-tablero tbody tr[data-solicitud]", "trs => trs.map(tr => tr.dataset.solicitud)"
    )


def esperar_refresco(page):
    """Wait until the table has been swapped by the htmx refresh (its timestamp node is new)."""
    page.evaluate("document.getElementById('tablero-actualizado').dataset.viejo = '1'")
    page.wait_for_function(
        "() => { const t = document.getElementById('tablero-actualizado'); return t && !t.dataset.viejo; }",
        timeout=8_000,
    )


@pytest.fixture
def refresco_rapido(settings):
    settings.ANULACIONES_TABLERO_REFRESCO = 1
    settings.ANULACIONES_TABLERO_POR_PAGINA = 2


def test_filtros_y_pagina_sobreviven_al_refresco(pagina, entrar, esc, u, refresco_rapido):
    a_asesor = [esc.servicio() for _ in range(5)]
    esc.servicio(destinatario="MONITORA")
    entrar(pagina, u.gestion_red)
    pagina.goto("/tablero/")
    assert len(filas(pagina)) == 2

    # Filter by destinatario with the form, then go to page 2.
    pagina.get_by_text("Filtros", exact=True).click()
    pagina.get_by_label("Destinatario").select_option("ASESOR")
    pagina.get_by_role("button", name="Filtrar").click()
    pagina.wait_for_url(re.compile(r"destinatario=ASESOR"))
    pagina.locator(".pagination a", has_text=re.compile(r"^\s*2\s*$")).click()
    pagina.wait_for_url(re.compile(r"page=2"))
    url = pagina.url
    esperadas = [si.solicitud.numero_smartflex for si in a_asesor[2:4]]
    assert filas(pagina) == esperadas
    pagina.evaluate("window.sinRecargar = true")

    # A new SI arrives while the page is open: the refresh shows it in the count, on the
    # same filtered page, without reloading the page.
    nuevo = esc.servicio()
    esperar_refresco(pagina)
    pagina.wait_for_function("() => document.querySelector('.actualizado').textContent.includes('6 Servicios')")
    assert pagina.url == url
    assert filas(pagina) == esperadas
    assert pagina.get_by_label("Destinatario").input_value() == "ASESOR"
    assert pagina.evaluate("window.sinRecargar") is True
    esperar_refresco(pagina)  # and it keeps refreshing with the same query
    assert filas(pagina) == esperadas
    pagina.locator(".pagination a", has_text=re.compile(r"^\s*3\s*$")).click()
    pagina.wait_for_url(re.compile(r"page=3"))
    assert filas(pagina) == [a_asesor[4].solicitud.numero_smartflex, nuevo.solicitud.numero_smartflex]


def test_si_cerrado_por_el_asesor_sale_del_tablero(pagina, entrar, esc, u, refresco_rapido):
    si = esc.servicio()
    otro = esc.servicio()
    entrar(pagina, u.gestion_red)
    pagina.goto("/tablero/")
    assert filas(pagina) == [si.solicitud.numero_smartflex, otro.solicitud.numero_smartflex]
    pagina.evaluate("window.sinRecargar = true")

    T.aplicar(si.solicitud, "digitar_modificacion", u.asesor, modificacion="Calle: Av. Juan Pablo II")  # 4.1-4.2

    pagina.wait_for_function(
        f"() => !document.querySelector('tr[data-solicitud=\"{si.solicitud.numero_smartflex}\"]')", timeout=8_000
    )
    assert filas(pagina) == [otro.solicitud.numero_smartflex]
    assert pagina.evaluate("window.sinRecargar") is True
    # It is listed among today's attended ones.
    pagina.get_by_role("link", name="Atendidos hoy").click()
    pagina.wait_for_url(re.compile(r"vista=atendidos_hoy"))
    assert filas(pagina) == [si.solicitud.numero_smartflex]


def test_anular_desde_la_fila_en_el_navegador(pagina, entrar, esc, u, refresco_rapido):
    """The SI is still in its day and nobody called the subscriber: the row asks for a
    justification (and says why); the typed text survives the refresh; the case is cancelled
    with it."""
    si = esc.servicio()
    entrar(pagina, u.gestion_red)
    pagina.goto("/tablero/?destinatario=ASESOR")
    fila = pagina.locator(f'tr[data-solicitud="{si.solicitud.numero_smartflex}"]')
    fila.get_by_text("Anular", exact=True).click()  # opens the reason box; the refresh pauses
    fila.get_by_label("Motivo de la anulación").fill("Cliente desiste")
    assert "no hay intento de contacto" in fila.locator(".accion-anular .ayuda").inner_text()
    justificacion = fila.get_by_label("Justificación")
    assert justificacion.evaluate("el => el.required") is True
    justificacion.fill("El cliente pidió la baja por escrito")
    pagina.wait_for_timeout(1_000)  # a refresh (every 1 s) would have wiped the typed reason
    assert fila.get_by_label("Motivo de la anulación").input_value() == "Cliente desiste"
    assert fila.get_by_label("Justificación").input_value() == "El cliente pidió la baja por escrito"
    fila.get_by_role("button", name="Confirmar anulación").click()
    pagina.get_by_role("button", name="Confirmar: Anular").click()  # issue 15.7: asked once
    pagina.wait_for_url(re.compile(r"/tablero/\?destinatario=ASESOR$"))
    assert "anulada" in pagina.locator(".mensajes").inner_text()
    si.solicitud.refresh_from_db()
    assert si.solicitud.estado == "anulada"
    assert si.solicitud.justificacion_anulacion == "El cliente pidió la baja por escrito"
    assert filas(pagina) == []


def test_intento_de_contacto_desde_la_fila(pagina, entrar, esc, u, refresco_rapido):
    """3.3 where the decision is made: the attempt is recorded from the row and the Tablero
    comes back with its filters; the justification then asks only about the SI's day."""
    si = esc.servicio()
    entrar(pagina, u.coc)
    pagina.goto("/tablero/?destinatario=ASESOR")
    fila = pagina.locator(f'tr[data-solicitud="{si.solicitud.numero_smartflex}"]')
    fila.get_by_text("Intento de contacto (3.3)", exact=True).click()
    fila.get_by_label("Canal").select_option("llamada")
    fila.get_by_label("Resultado").select_option("sin_respuesta")
    pagina.wait_for_timeout(1_000)  # paused while open
    fila.get_by_role("button", name="Registrar intento de contacto").click()
    pagina.wait_for_url(re.compile(r"/tablero/\?destinatario=ASESOR$"))
    assert "Intento de contacto registrado" in pagina.locator(".mensajes").inner_text()
    contacto = si.solicitud.contactos.get()
    assert (contacto.canal, contacto.resultado, contacto.usuario) == ("llamada", "sin_respuesta", u.coc)
    fila = pagina.locator(f'tr[data-solicitud="{si.solicitud.numero_smartflex}"]')
    ayuda = fila.locator(".accion-anular .ayuda").text_content()  # inside the closed box
    assert "aún está en plazo" in ayuda and "intento de contacto" not in ayuda
