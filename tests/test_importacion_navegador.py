"""Browser test of the import page: upload the sample file and read its report; the progress of
a running import updates by itself (htmx from the installed django-htmx, no reload)."""

import pytest
from django.conf import settings as conf

from anulaciones.models import ImportacionSmartflex, Solicitud, Zona

pytestmark = pytest.mark.django_db(transaction=True)


def test_subir_muestra_e_importar_las_validas(pagina, entrar, u, tmp_path):
    for codigo in ("LPZ-M", "LPZ-C"):
        Zona.objects.create(codigo=codigo, nombre=codigo)
    # The sample plus one bad row (an unknown zone): refused, then the good rows on request.
    muestra = (conf.BASE_DIR / "docs" / "muestras" / "smartflex_muestra.csv").read_text(encoding="utf-8")
    lineas = [x for x in muestra.splitlines() if "EAL-N" not in x]
    ruta = tmp_path / "export.csv"
    ruta.write_text(
        "\n".join(lineas + ["SF-M-9,instalacion,Ana,,,Calle 1,,ZZ,,,,,asesor,,2026-11-02"]) + "\n", encoding="utf-8"
    )
    entrar(pagina, u.gestion_red)
    pagina.get_by_role("link", name="Importar").click()
    pagina.set_input_files("#id_archivo", str(ruta))
    pagina.get_by_role("button", name="Subir e importar").click()
    pagina.wait_for_url("**/importar/*/")
    pagina.get_by_text("Zona «ZZ» desconocida.").wait_for()
    assert pagina.locator("#errores tbody tr").count() == 1
    assert not Solicitud.objects.exists()
    pagina.get_by_role("button", name="Importar solo").click()
    pagina.get_by_text("Terminada").wait_for()
    assert pagina.inner_text("#imp-creadas") == "2"
    assert set(Solicitud.objects.values_list("numero_smartflex", flat=True)) == {"SF-M-0001", "SF-M-0002"}


def test_el_progreso_se_actualiza_solo(pagina, entrar, u):
    imp = ImportacionSmartflex.objects.create(
        archivo="importaciones/x.csv", nombre="x.csv", usuario=u.coc, etapa="importando", total=50000, procesadas=1000
    )
    entrar(pagina, u.coc)
    pagina.goto(f"/importar/{imp.pk}/")
    pagina.get_by_text("1000 filas procesadas de 50000").wait_for()
    ImportacionSmartflex.objects.filter(pk=imp.pk).update(procesadas=25000, creadas=24000)
    pagina.get_by_text("25000 filas procesadas de 50000").wait_for(timeout=5_000)
    assert pagina.inner_text("#imp-creadas") == "24000"
    ImportacionSmartflex.objects.filter(pk=imp.pk).update(
        etapa="terminada", procesadas=50000, creadas=50000, mensaje="50000 filas: 50000 solicitudes nuevas"
    )
    pagina.get_by_text("50000 filas: 50000 solicitudes nuevas").wait_for(timeout=5_000)
    assert pagina.locator("[hx-trigger]").count() == 0  # finished: polling stops
