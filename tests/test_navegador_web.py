"""The procedure in a real browser (Debian's Chromium, headless) against the live server."""

import re

import pytest

from anulaciones.models import OrdenDeTrabajo, ServicioIngenieria, Solicitud

pytestmark = pytest.mark.django_db(transaction=True)


def salir(page):
    page.get_by_role("button", name="Salir").click()
    page.wait_for_url(re.compile(r"/cuentas/login/"))


def sin_desplazamiento_horizontal(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_registro_observacion_si_y_modificacion_desde_el_inicio(pagina, entrar, u, zona):
    p = pagina
    # 1. The asesor registers the Solicitud.
    entrar(p, u.asesor)
    p.get_by_role("link", name="Registrar solicitud (1)").click()
    p.fill("#id_numero_smartflex", "SF-NAV-001")
    p.select_option("#id_tipo", "instalacion")
    p.fill("#id_cliente_nombre", "Juana Mamani")
    p.fill("#id_calle", "Av. Busch")
    p.fill("#id_numero_puerta", "123")
    p.select_option("#id_zona", label=zona.nombre)
    p.fill("#id_plan", "Fibra 100")
    p.get_by_role("button", name="Registrar").click()
    p.wait_for_url(re.compile(r"/solicitudes/\d+/$"))
    assert "Solicitud SF-NAV-001" in p.locator("h1").inner_text()
    sol = Solicitud.objects.get(numero_smartflex="SF-NAV-001")
    assert sol.estado == "registrada" and sol.asesor == u.asesor
    salir(p)

    # 2. Gestión de Red finds it in its queue, observes it and opens an SI to the asesor.
    entrar(p, u.gestion_red)
    p.locator("#cola-revisar").get_by_role("link", name="Solicitud SF-NAV-001").click()
    p.locator('a[data-transicion="observar"]').click()
    p.select_option("#id_causa", "calle")
    p.fill("#id_detalle", "La calle no existe en el plano")
    p.get_by_role("button", name="Observar").click()
    p.wait_for_url(re.compile(rf"/solicitudes/{sol.pk}/$"))
    assert "Observada" in p.locator("h1").inner_text()
    p.locator('a[data-transicion="solicitar_correccion"]').click()
    p.check("input[name=destinatarios][value=ASESOR]")  # step 7 may address several; here the asesor
    p.fill("#id_requerido", "Nombre correcto de la calle y referencia")
    p.get_by_role("button", name="Solicitar corrección (SI)").click()
    p.wait_for_url(re.compile(rf"/solicitudes/{sol.pk}/$"))
    si = ServicioIngenieria.objects.get(solicitud=sol)
    assert si.estado == "abierto" and si.destinatario == "ASESOR"
    p.goto("/tablero/")  # 5.1: the open SI is on the Tablero de Control
    assert "SF-NAV-001" in p.locator("table").inner_text()
    salir(p)

    # 3. The asesor sees it on her home page, with the time left, and digits the modification.
    entrar(p, u.asesor)
    cola = p.locator("#cola-correccion")
    assert cola.locator('[data-cuenta="correccion"]').inner_text() == "1"
    assert "quedan" in cola.inner_text()
    cola.get_by_role("link", name="Solicitud SF-NAV-001").click()
    p.locator('a[data-transicion="digitar_modificacion"]').click()
    p.fill("#id_modificacion", "Calle correcta: Av. Juan Pablo II, frente a la plaza")
    p.get_by_role("button", name="Digitar modificación").click()
    p.wait_for_url(re.compile(rf"/solicitudes/{sol.pk}/$"))
    assert "Corregida" in p.locator("h1").inner_text()
    assert p.locator(f'[data-estado-si="{si.pk}"]').inner_text() == "Atendido"

    # 4. The SI is closed (atendido) and the case left the asesor's queue.
    si.refresh_from_db()
    assert si.estado == "atendido" and not si.fuera_de_plazo
    p.goto("/")
    assert p.locator('[data-cuenta="correccion"]').inner_text() == "0"
    # The case page shows one timeline across the Solicitud, its OT and the SI.
    p.goto(f"/solicitudes/{sol.pk}/")
    linea = p.locator("#linea-tiempo").inner_text()
    for hecho in (
        "registró la solicitud SF-NAV-001",
        "se generó la OT",
        "observó la solicitud SF-NAV-001",
        "pidió corregir la solicitud SF-NAV-001 y abrió un Servicio de Ingeniería al asesor",
        f"se abrió el SI {si.pk} (Corrección) al asesor",
        "digitó la modificación de la solicitud SF-NAV-001",
        f"el SI {si.pk} (Corrección) pasó a «Atendido»",
    ):
        assert hecho in linea, hecho
    salir(p)

    # 5. The answered SI has left Gestión de Red's Tablero de Control.
    entrar(p, u.gestion_red)
    p.goto("/tablero/")
    assert "SF-NAV-001" not in p.locator("main").inner_text()


def test_b_reporte_del_tecnico_en_el_telefono_coz_y_coc_ratifica(telefono, pagina, entrar, u, esc):
    ot = esc.orden("asignada")
    t = telefono
    # 1. The técnico, on a phone, opens the OT from his home page and reports from the field.
    entrar(t, u.tecnico)
    assert sin_desplazamiento_horizontal(t)
    t.locator("#cola-tecnico").get_by_role("link", name=str(ot)).click()
    assert sin_desplazamiento_horizontal(t)
    t.locator('a[data-transicion="reportar_observacion"]').click()
    t.select_option("#id_causa", "caja_nap")
    t.fill("#id_observacion", "No hay caja NAP en el poste indicado")
    t.fill("#id_equipos", "ONT no instalada")
    assert sin_desplazamiento_horizontal(t)
    boton = t.get_by_role("button", name="Reportar observación de campo")
    caja = boton.bounding_box()
    assert caja["width"] >= 300 and caja["height"] >= 40  # a finger-sized button on a 390 px screen
    boton.click()
    t.wait_for_url(re.compile(rf"/ordenes/{ot.pk}/$"))
    assert "Observada en campo" in t.locator("h1").inner_text()
    t.locator('a[data-transicion="reportar_a_coz"]').click()
    t.get_by_label("Anular la OT (17)").check()
    t.get_by_role("button", name="Reportar al COZ").click()
    t.wait_for_url(re.compile(rf"/ordenes/{ot.pk}/$"))
    ot.refresh_from_db()
    assert ot.estado == "reportada_coz" and ot.propuesta == "anular"

    # 2. The COZ of the zone verifies it and sends it to the COC.
    p = pagina
    entrar(p, u.coz)
    p.locator("#cola-coz").get_by_role("link", name=str(ot)).click()
    p.locator('button[data-transicion="direccionar_a_coc"]').click()
    p.wait_for_url(re.compile(rf"/ordenes/{ot.pk}/$"))
    ot.refresh_from_db()
    assert ot.estado == "en_coc"
    salir(p)

    # 3. The COC ratifies the cancellation: the OT and its Solicitud are anuladas.
    entrar(p, u.coc)
    p.locator("#cola-en_coc").get_by_role("link", name=str(ot)).click()
    p.locator('a[data-transicion="ratificar_anulacion"]').click()
    p.fill("#id_motivo", "Sin factibilidad: no hay caja en la zona")
    p.get_by_role("button", name="Ratificar anulación").click()
    p.get_by_role("button", name="Confirmar: Ratificar anulación").click()  # issue 15.7: asked once
    p.wait_for_url(re.compile(rf"/ordenes/{ot.pk}/$"))
    assert "Anulada" in p.locator("h1").inner_text()
    ot = OrdenDeTrabajo.objects.select_related("solicitud").get(pk=ot.pk)
    assert ot.estado == "anulada" and ot.solicitud.estado == "anulada"
    assert p.locator("[data-transicion]").count() == 0  # nothing left to do on a final OT


def test_login_con_error_y_formulario_invalido_en_el_navegador(pagina, u):
    p = pagina
    p.goto("/cuentas/login/")
    p.fill("#id_username", "asesor")
    p.fill("#id_password", "equivocada")
    p.click("button[type=submit]")
    # wait for the answer to the POST (content() read mid-navigation is empty)
    p.get_by_text("Usuario o contraseña incorrectos").wait_for()
    p.fill("#id_password", "x")
    p.click("button[type=submit]")
    p.wait_for_url(lambda url: "/cuentas/login/" not in url)
    p.goto("/solicitudes/nueva/")
    p.fill("#id_cliente_nombre", "Dato que no se pierde")
    p.get_by_role("button", name="Registrar").click()
    assert p.locator("#id_numero_smartflex_error").is_visible()
    assert p.input_value("#id_cliente_nombre") == "Dato que no se pierde"
