"""Facturación's acknowledgement of a delivery (21.1) in a real browser, on a desktop and on a
phone: the delivery waits on its home, «Recibido» on the Entregas page acknowledges it, and it
leaves the home."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from anulaciones import entregas as reports
from anulaciones.models import Entrega, RegistroAuditoria

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("tamano", ["pagina", "telefono"])  # 1280×900 and 390×844
def test_facturacion_ve_la_entrega_en_su_inicio_y_la_recibe(
    request, tamano, live_server, entrar, u, esc, settings, tmp_path
):
    # live_server named here: pytest-django lets its host in (ALLOWED_HOSTS) only for the tests that
    # name it; a page fixture taken with getfixturevalue alone got 400 when run on its own.
    settings.MEDIA_ROOT = tmp_path
    p = request.getfixturevalue(tamano)
    esc.zonificacion("digitada")
    entrega = reports.generar_entrega(timezone.localdate(), u.gestion_red)
    mes = f"{entrega.mes:%m/%Y}"

    entrar(p, u.facturacion)
    cola = p.locator("#cola-entregas")
    cuenta = cola.locator('[data-cuenta="entregas"]')
    assert cuenta.inner_text() == "1"
    assert f"Entrega N° 1 de {mes}" in cola.inner_text() and "Sin acuse de recibo" in cola.inner_text()
    cuenta.click()  # the count is the link to the deliveries
    p.wait_for_url(re.compile(r"/entregas/$"))

    tarjeta = p.locator(f"#entrega-{entrega.pk}")
    assert "Sin acuse de recibo" in tarjeta.inner_text()
    boton = tarjeta.get_by_role("button", name="Recibido")
    assert boton.is_visible()
    boton.click()
    expect(p.locator(".mensajes")).to_contain_text(f"Entrega N° 1 de {mes}: recepción confirmada el")
    expect(tarjeta).to_contain_text("Recibida el")
    assert "Sin acuse de recibo" not in tarjeta.inner_text()
    assert tarjeta.get_by_role("button", name="Recibido").count() == 0
    assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll

    entrega.refresh_from_db()
    assert entrega.estado == Entrega.E.RECIBIDA and entrega.recibida_por == u.facturacion
    assert RegistroAuditoria.de_objeto(entrega).filter(transicion="acusar_recibo", rol="FACTURACION").exists()

    p.get_by_role("link", name="Inicio").first.click()  # on the phone too: the bar's link
    p.wait_for_url(re.compile(r"/$"))
    cola = p.locator("#cola-entregas")
    assert cola.locator('[data-cuenta="entregas"]').inner_text() == "0"
    assert "Todas las entregas tienen acuse de recibo." in cola.inner_text()
    assert f"Entrega N° 1 de {mes}" not in cola.inner_text()
    assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
