"""The jefe's walk through the report in a real browser: the month's number and verdict, a
zone and a cause down to the cases, and the workbook."""

import re

import pytest
from openpyxl import load_workbook

from anulaciones import transitions as T

pytestmark = pytest.mark.django_db(transaction=True)


def test_jefe_ve_el_indicador_baja_a_los_casos_y_descarga_el_libro(pagina, entrar, esc, u, zonas, tmp_path):
    for i in range(3):
        esc.solicitud("observada", numero_smartflex=f"SF-N-{i}")
    s = esc.solicitud("observada", zona=zonas[1], numero_smartflex="SF-SUR-ANULADA")
    T.aplicar(s, "anular", u.gestion_red, motivo="Cliente desiste", justificacion="Pidió anular por escrito")

    entrar(pagina, u.jefe_division)
    pagina.goto("/indicador/")
    assert pagina.locator("#valor-indicador").inner_text() == "75,00 %"
    assert "Observado" in pagina.locator("#veredicto").inner_text()
    # The three observed cases are still open: the figure says it is provisional, with its range.
    assert "provisional: 3 casos abiertos; entre 0,00 % y 75,00 %" in pagina.locator("#provisional").inner_text()
    # probable, anulado, salvado, no anulado, abierto, provisional: one row each
    assert pagina.locator("#tabla-definiciones tbody tr").count() == 6
    assert "Salvado" in pagina.locator("#tabla-definiciones").inner_text()
    assert pagina.locator("svg.tendencia").is_visible()

    # A zone, down to its cases.
    fila = pagina.locator("#desglose-zona tbody tr", has_text="Zona Sur")
    fila.locator("td").nth(2).get_by_role("link").click()  # its anulados
    pagina.wait_for_url(re.compile(r"/indicador/casos/"))
    assert pagina.locator("#total-casos").inner_text() == "1"
    assert pagina.locator("tr.caso").count() == 1 and "SF-SUR-ANULADA" in pagina.content()
    pagina.get_by_role("link", name="Volver al indicador").click()

    # A cause, down to its cases.
    fila = pagina.locator("#desglose-causa tbody tr", has_text="Nombre de calle")
    fila.locator("td").nth(0).get_by_role("link").click()  # its probables
    pagina.wait_for_url(re.compile(r"/indicador/casos/"))
    assert pagina.locator("tr.caso").count() == 4
    pagina.get_by_role("link", name="Volver al indicador").click()

    with pagina.expect_download() as descarga:
        pagina.get_by_role("link", name=re.compile("Descargar libro Excel")).click()
    destino = tmp_path / descarga.value.suggested_filename
    descarga.value.save_as(destino)
    wb = load_workbook(destino, read_only=True)
    assert "Zona" in wb.sheetnames and "Causa" in wb.sheetnames
    resumen = list(wb["Resumen"].iter_rows(values_only=True))
    assert resumen[5][:3] == (4, 3, 1)
    assert resumen[5][6:11] == (75.0, "observado", "Sí", 0.0, 75.0)
