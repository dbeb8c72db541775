"""Issue 12 in a real browser (Debian's Chromium, headless): the COC asks three recipients at
once for a correction (7), and a cancellation refused for lack of a justification (5.2 / 3.3)
keeps what was typed and goes through once justified."""

import re

import pytest

from anulaciones import transitions as T
from anulaciones.models import ServicioIngenieria, Solicitud

pytestmark = pytest.mark.django_db(transaction=True)


def salir(page):
    page.get_by_role("button", name="Salir").click()
    page.wait_for_url(re.compile(r"/cuentas/login/"))


def test_coc_pide_correccion_a_tres_destinatarios_y_cada_uno_la_ve(pagina, entrar, u, esc):
    s = esc.solicitud("registrada")
    T.aplicar(s, "observar", u.coc, causa="calle", detalle="Calle mal escrita")
    p = pagina
    entrar(p, u.coc)
    p.goto(f"/solicitudes/{s.pk}/")
    p.locator('a[data-transicion="solicitar_correccion"]').click()
    assert p.get_by_label("Asesor Comercial / Ejecutivo de Ventas").is_checked()  # the default
    p.get_by_label("Asesor Comercial / Ejecutivo de Ventas").uncheck()
    p.get_by_label("Monitora Atención al Cliente / Plataforma").check()
    p.get_by_label("Team Leader Ventas").check()
    p.get_by_label("Depto. Gestión de Red").check()
    p.fill("#id_requerido", "Nombre correcto de la calle y caja más cercana")
    p.get_by_role("button", name="Solicitar corrección (SI)").click()
    p.wait_for_url(re.compile(rf"/solicitudes/{s.pk}/$"))
    assert "En corrección" in p.locator("h1").inner_text()
    sis = {si.destinatario: si for si in ServicioIngenieria.objects.filter(solicitud=s)}
    assert set(sis) == {"MONITORA", "TEAM_LEADER", "GESTION_RED"}
    salir(p)

    for quien, rol in ((u.monitora, "MONITORA"), (u.team_leader, "TEAM_LEADER"), (u.gestion_red, "GESTION_RED")):
        entrar(p, quien)
        cola = p.locator("#cola-servicios")
        assert cola.locator('[data-cuenta="servicios"]').inner_text() == "1"
        assert str(sis[rol]) in cola.inner_text() and "caja más cercana" in cola.inner_text()
        salir(p)


def test_anular_sin_justificacion_conserva_lo_escrito_y_luego_anula(pagina, entrar, u, esc):
    s = esc.solicitud("observada")
    p = pagina
    entrar(p, u.gestion_red)
    p.goto(f"/solicitudes/{s.pk}/")
    p.locator('a[data-transicion="anular"]').click()
    assert "Obligatoria en este caso" in p.locator("#id_justificacion_ayuda").inner_text()
    p.fill("#id_motivo", "Cliente no ubicable en la dirección")
    p.get_by_role("button", name="Anular").click()
    error = p.locator("#id_justificacion_error")
    assert error.is_visible() and "3.3" in error.inner_text()
    assert p.locator("#id_justificacion").get_attribute("aria-invalid") == "true"
    assert p.input_value("#id_motivo") == "Cliente no ubicable en la dirección"
    assert Solicitud.objects.get(pk=s.pk).estado == "observada"

    p.fill("#id_justificacion", "Tres visitas sin encontrar el domicilio")
    p.get_by_role("button", name="Anular").click()
    p.get_by_role("button", name="Confirmar: Anular").click()  # issue 15.7: asked once
    p.wait_for_url(re.compile(rf"/solicitudes/{s.pk}/$"))
    assert "Anulada" in p.locator("h1").inner_text()
    assert p.locator("#justificacion-anulacion").inner_text() == "Tres visitas sin encontrar el domicilio"
    assert "La solicitud concluyó" in p.locator("#que-sigue").inner_text()
