"""Phone first for the field (issue 15.10): on a 390×844 screen the bar takes at most a sixth of
the height, and every page the técnico and the COZ open — home, lists, case and OT pages in each
state, the page of each step they may take, print sheets, notices, search, account — needs no
sideways scroll and has no button (nor button-styled link, submit or disclosure) under 44 px."""

import re

import pytest

from anulaciones.roles import Rol

from .recorrido import datos_demo, paginas_de
from .test_accesibilidad import axe_graves

pytestmark = pytest.mark.django_db(transaction=True)

ANCHO, ALTO, DEDO = 390, 844, 44

MEDIDAS = """() => {
  const visible = el => {
    const r = el.getBoundingClientRect(), st = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && st.visibility !== 'hidden';
  };
  const barra = document.querySelector('header.barra');
  const pequenos = [...document.querySelectorAll(
      'button, input[type=submit], input[type=button], input[type=reset], .boton, [role=button], summary')]
    .filter(visible).filter(el => el.getBoundingClientRect().height < DEDO - 0.5)
    .map(el => `${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''} «${el.textContent.trim().slice(0, 40)}» ${el.getBoundingClientRect().height.toFixed(1)} px`);
  const anchos = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > ANCHO + 0.5 && visible(el) && !el.closest('nav'))
    .slice(0, 5).map(el => `${el.tagName.toLowerCase()}.${el.className} right=${el.getBoundingClientRect().right.toFixed(0)}`);
  return {barra: barra ? barra.getBoundingClientRect().height : null,
          ancho: document.scrollingElement.scrollWidth, pequenos, anchos};
}""".replace("DEDO", str(DEDO)).replace("ANCHO", str(ANCHO))


def medir(page):
    return page.evaluate(MEDIDAS)


@pytest.mark.parametrize("rol", [Rol.TECNICO, Rol.COZ])
def test_cada_pagina_del_campo_cabe_en_el_telefono(rol, esc, u, client, telefono, entrar):
    datos_demo(esc)
    user = u.por_rol[rol]
    urls = paginas_de(client, user)
    # The field's pages are there: home, its OTs, an OT page and the page of its steps.
    rutas = [re.sub(r"\?.*", "", x) for x in urls]
    assert "/" in rutas and "/ordenes/" in rutas and any(re.fullmatch(r"/ordenes/\d+/", r) for r in rutas)
    assert any(r.startswith("/accion/orden/") for r in rutas), urls
    t = telefono
    assert t.viewport_size == {"width": ANCHO, "height": ALTO}
    entrar(t, user)
    fallos = []
    for url in urls:
        t.goto(url)
        m = medir(t)
        if "/imprimir/" not in url:  # the print sheets have no bar, only «Imprimir» and «Volver»
            if m["barra"] is None or m["barra"] > ALTO / 6:
                fallos.append(f"{url}: the bar is {m['barra']} px high (at most {ALTO / 6:.0f})")
        if m["ancho"] > ANCHO:
            fallos.append(f"{url}: {m['ancho']} px wide: {m['anchos']}")
        fallos += [f"{url}: {p}" for p in m["pequenos"]]
    assert not fallos, "\n".join(fallos)


def test_el_menu_del_telefono_abre_busqueda_y_cuenta(esc, u, telefono, entrar):
    """On the phone the navigation links stay in view; «Menú» opens the search box and the
    account links (then closes them), and the técnico searches and logs out from there."""
    ot = esc.orden("asignada")
    t = telefono
    entrar(t, u.tecnico)
    boton = t.get_by_role("button", name="Menú")
    assert boton.is_visible() and boton.get_attribute("aria-expanded") == "false"
    assert t.get_by_role("link", name="Órdenes de trabajo").is_visible()
    assert t.locator(".barra .notificaciones").is_visible()
    buscar = t.locator("#buscar-q")
    salir = t.get_by_role("button", name="Salir")
    assert not buscar.is_visible() and not salir.is_visible()
    assert t.locator("header.barra").bounding_box()["height"] <= ALTO / 6

    boton.click()
    assert boton.get_attribute("aria-expanded") == "true"
    assert buscar.is_visible() and salir.is_visible()
    assert t.get_by_role("link", name="Cambiar contraseña").is_visible()
    assert t.evaluate("document.scrollingElement.scrollWidth") <= ANCHO
    for control in (boton, salir, t.locator(".barra .buscar button")):
        assert control.bounding_box()["height"] >= DEDO
    assert not axe_graves(t), "axe: serious or critical violations with the phone's menu open"
    buscar.fill(ot.numero)
    buscar.press("Enter")
    t.wait_for_url(re.compile(r"/(buscar/\?q=|solicitudes/\d+/|ordenes/\d+/)"))  # an exact number opens its case
    assert ot.solicitud.numero_smartflex in t.locator("main").inner_text()

    t.get_by_role("button", name="Menú").click()
    t.keyboard.press("Escape")  # closes it again, the focus back on «Menú»
    assert not t.locator("#buscar-q").is_visible()
    assert t.evaluate("document.activeElement.classList.contains('menu-boton')")
    t.get_by_role("button", name="Menú").click()
    t.get_by_role("button", name="Salir").click()
    t.wait_for_url(re.compile(r"/cuentas/"))


def test_en_el_escritorio_no_hay_menu(u, pagina, entrar):
    """On a desktop the bar shows everything at once: no «Menú»."""
    entrar(pagina, u.tecnico)
    assert pagina.get_by_role("button", name="Menú").count() == 0
    assert pagina.locator("#buscar-q").is_visible() and pagina.get_by_role("button", name="Salir").is_visible()
