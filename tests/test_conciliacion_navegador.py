"""The reconciliation with Smartflex in a real browser, on a phone (issue 18): Gestión de Red uploads a
status feed from the page, follows the import to its end, finds the difference on the list and resolves
it; the figure changes and the page never scrolls sideways."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from anulaciones.models import Diferencia, Emparejamiento, EstadoSmartflex, ImportacionSmartflex, Solicitud

from .test_accesibilidad import AXE, ETIQUETAS, GRAVES, axe_graves, informe

pytestmark = pytest.mark.django_db(transaction=True)


def test_subir_ver_y_resolver_en_el_telefono(telefono, live_server, entrar, u, esc, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    p = telefono
    s = esc.solicitud("registrada")
    ayer = timezone.localtime(timezone.now() - timezone.timedelta(days=1)).strftime("%d/%m/%Y %H:%M")
    feed = tmp_path / "estados-smartflex.csv"
    feed.write_bytes(
        (
            "tipo;numero;estado;fecha;motivo;usuario\r\n"
            f"solicitud;{s.numero_smartflex};Anulada;{ayer};Cliente desiste;sf.operador1\r\n"
        ).encode("cp1252")
    )

    entrar(p, u.gestion_red)
    p.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Conciliación").click()
    p.wait_for_url(re.compile(r"/smartflex/conciliacion/$"))
    expect(p.locator("#conciliado-con")).to_have_text("Aún no se importó ningún archivo de estados de Smartflex.")
    p.set_input_files("#id_archivo", str(feed))
    p.get_by_role("button", name="Subir e importar estados").click()
    p.wait_for_url(re.compile(r"/importar/\d+/$"))
    p.get_by_text("Terminada").wait_for()
    assert ImportacionSmartflex.objects.get().clase == "estados"

    p.goto("/smartflex/conciliacion/")
    expect(p.locator("#cifra-faltantes")).to_contain_text("faltan en la aplicación: 1 (meta: 0)")
    dif = Diferencia.objects.get()
    fila = p.locator(f"#diferencia-{dif.pk}")
    expect(fila).to_contain_text(s.numero_smartflex)
    expect(fila).to_contain_text("Cliente desiste")
    assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    fila.get_by_text("Registrar la anulación de Smartflex", exact=True).first.click()  # opens the box
    fila.get_by_label("Nota (opcional)").first.fill("Confirmado por teléfono")
    fila.get_by_role("button", name="Registrar la anulación de Smartflex").click()
    expect(p.locator(".mensajes")).to_contain_text(f"Solicitud {s.numero_smartflex}: anulación registrada")
    expect(p.locator("#cifra-faltantes")).to_contain_text("faltan en la aplicación: 0 (meta: 0)")
    expect(p.locator(f"#diferencia-{dif.pk}")).to_have_count(0)
    assert Solicitud.objects.get(pk=s.pk).estado == "anulada"
    assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("tamano", ["pagina", "telefono"])
def test_axe_con_filas_y_formularios_abiertos(request, tamano, live_server, entrar, u, esc):
    """WCAG 2.1 AA (axe, as tests/test_accesibilidad.py) on the page with rows of every kind, a
    proposed re-entry and a refused decision shown again with its form open."""
    p = request.getfixturevalue(tamano)
    s = esc.solicitud("registrada")
    f = EstadoSmartflex.objects.create(
        objeto="solicitud", numero=s.numero_smartflex, estado="anulada", fecha=timezone.now(), solicitud=s, clave="a"
    )
    dif = Diferencia.objects.create(fuente=f, clase="anulada_en_smartflex", solicitud=s)
    sola = EstadoSmartflex.objects.create(
        objeto="ot", numero="OT-99", estado="anulada", fecha=timezone.now(), clave="b"
    )
    Diferencia.objects.create(fuente=sola, clase="sin_caso")
    a = esc.solicitud("anulada", cliente_documento="4455667", calle="Av. Arce", numero_puerta="100")
    b = esc.solicitud("registrada", cliente_documento="4455667", calle="Av. Arce", numero_puerta="100")
    Emparejamiento.objects.create(anulada=a, nueva=b, confianza=80, motivos=["Mismo documento (4455667)"])
    entrar(p, u.coc)
    p.goto("/smartflex/conciliacion/")
    fila = p.locator(f"#diferencia-{dif.pk}")
    fila.get_by_text("Marcar como error de Smartflex", exact=True).first.click()
    fila.get_by_label("Por qué el dato de Smartflex es el equivocado").fill(" ")  # refused: blank
    fila.get_by_role("button", name="Marcar como error de Smartflex").click()
    expect(p.locator(".mensajes")).to_contain_text("Explique por qué el dato de Smartflex es el equivocado.")
    # With a message shown (the layout's list of messages included).
    r = AXE.run(
        p,
        options={"runOnly": {"type": "tag", "values": ETIQUETAS}, "resultTypes": ["violations"]},
    )
    violaciones = [v for v in r.response["violations"] if v["impact"] in GRAVES]
    assert not violaciones, informe(p.url, violaciones)
    p.goto("/smartflex/conciliacion/?vista=todas")
    violaciones = axe_graves(p)
    assert not violaciones, informe(p.url, violaciones)
