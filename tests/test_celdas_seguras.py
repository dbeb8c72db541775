"""Issue 14, item 5 "Safe cells": no cell of a CSV or XLSX the application writes starts with
``=``, ``+``, ``-`` or ``@`` from user text unescaped (OWASP CSV injection). A CSV cell gets a
leading apostrophe; an XLSX cell is a text cell with Excel's quote prefix, never a formula.
One test per export (the monthly workbook has its own, with reports/workbook.py), each built
through the transition path with dangerous text in the fields the export writes."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from anulaciones import importacion
from anulaciones import transitions as T
from anulaciones.exportar import celda_xlsx, csv_en_flujo, es_peligroso, fila_csv, fila_xlsx, texto_csv
from anulaciones.models import ImportacionSmartflex, ServicioIngenieria, Zona

pytestmark = pytest.mark.django_db

ENLACE = '=HYPERLINK("http://x","y")'
SUMA = "+1+2"
RESTA = "-3+4"
ARROBA = "@SUM(A1)"
PELIGROSOS = (ENLACE, SUMA, RESTA, ARROBA)


def filas_csv(respuesta):
    assert respuesta.status_code == 200 and respuesta["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(respuesta.streaming_content).decode("utf-8-sig"))))


def celdas_xlsx(contenido):
    """Every non-empty cell of every sheet (full load: the quote prefix is a style)."""
    libro = load_workbook(io.BytesIO(contenido))
    return [c for hoja in libro.worksheets for fila in hoja.iter_rows() for c in fila if c.value is not None]


def comprobar_xlsx(contenido, esperados):
    """No formula anywhere; each expected text is there, as written, as a quote-prefixed text cell."""
    celdas = celdas_xlsx(contenido)
    assert [c.coordinate for c in celdas if c.data_type == "f"] == []
    for texto in esperados:
        suyas = [c for c in celdas if c.value == texto]
        assert suyas, texto
        assert all(c.data_type == "s" and c.quotePrefix for c in suyas), texto
    # Nothing else is touched: the application's own texts and the numbers carry no prefix.
    assert not [c.value for c in celdas if c.quotePrefix and not es_peligroso(c.value)]


@pytest.fixture
def zona_peligrosa(db):
    return Zona.objects.create(codigo=RESTA, nombre=ENLACE)


# --- the helpers ------------------------------------------------------------------------------
def test_ayudantes_escapan_solo_el_texto_que_empieza_como_formula():
    for texto in PELIGROSOS + ("\t=1+1", "\r=1+1"):
        assert texto_csv(texto) == "'" + texto
    for valor in (
        "Juana Mamani",
        "",
        "'=ya escapado",
        " =1",
        "1-2",
        "SF-0001",
        "vencido hace 1 h",
        -5,
        -3.25,
        Decimal("-16.500000"),
        0,
        None,
        True,
    ):
        assert texto_csv(valor) is valor
    assert fila_csv([ENLACE, -1, Decimal("-68.15"), "ok"]) == ["'" + ENLACE, -1, Decimal("-68.15"), "ok"]

    lineas = "".join(csv_en_flujo([["a", "b", "c", "d"], [ENLACE, ARROBA, Decimal("-16.5"), -7]]))
    assert lineas.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(lineas.lstrip("\ufeff")))) == [
        ["a", "b", "c", "d"],
        ["'" + ENLACE, "'" + ARROBA, "-16.5", "-7"],
    ]

    libro = Workbook(write_only=True)
    hoja = libro.create_sheet("x")
    assert celda_xlsx(hoja, "texto") == "texto" and celda_xlsx(hoja, -2) == -2
    assert celda_xlsx(hoja, Decimal("-1.5")) == Decimal("-1.5")
    hoja.append(fila_xlsx(hoja, list(PELIGROSOS) + [-5, Decimal("-16.5"), "ok"]))
    salida = io.BytesIO()
    libro.save(salida)
    fila = list(load_workbook(io.BytesIO(salida.getvalue())).active.iter_rows())[0]
    assert [c.value for c in fila] == list(PELIGROSOS) + [-5, -16.5, "ok"]
    assert [(c.data_type, bool(c.quotePrefix)) for c in fila] == [("s", True)] * 4 + [("n", False)] * 2 + [("s", False)]

    # a text that reads like an Excel error code stays text, not an error cell
    libro = Workbook(write_only=True)
    hoja = libro.create_sheet("x")
    hoja.append(fila_xlsx(hoja, ["#N/A", "#REF!", "# 5"]))
    salida = io.BytesIO()
    libro.save(salida)
    fila = list(load_workbook(io.BytesIO(salida.getvalue())).active.iter_rows())[0]
    assert [(c.value, c.data_type) for c in fila] == [("#N/A", "s"), ("#REF!", "s"), ("# 5", "s")]


# --- Tablero de Control -------------------------------------------------------------------------
@pytest.fixture
def servicio_peligroso(esc, u, zona_peligrosa):
    """An open SI whose Solicitud number, zone and asesor's name start like formulas."""
    u.asesor.first_name = ARROBA
    u.asesor.save(update_fields=["first_name"])
    s = esc.solicitud("observada", numero_smartflex=SUMA, zona=zona_peligrosa)
    T.aplicar(s, "solicitar_correccion", u.gestion_red, destinatario="ASESOR", requerido=RESTA)
    return ServicioIngenieria.objects.get(solicitud=s)


def test_tablero_csv(client, u, servicio_peligroso):
    client.force_login(u.gestion_red)
    filas = filas_csv(client.get("/tablero/export.csv"))
    cab, fila = filas[0], filas[1]
    assert len(filas) == 2
    assert fila[cab.index("Solicitud")] == "'" + SUMA
    assert fila[cab.index("Zona")] == "'" + ENLACE
    assert fila[cab.index("Asesor")] == "'" + ARROBA
    # The application's own values are left as they are.
    assert fila[cab.index("Tipo")] == "Corrección" and fila[cab.index("Estado")] == "Abierto"
    assert fila[cab.index("Abierto")][:2].isdigit() and not fila[cab.index("Tiempo restante")].startswith("'")


def test_tablero_xlsx(client, u, servicio_peligroso):
    client.force_login(u.gestion_red)
    r = client.get("/tablero/export.xlsx")
    assert r.status_code == 200
    contenido = b"".join(r.streaming_content)
    comprobar_xlsx(contenido, [SUMA, ENLACE, ARROBA])
    cab, fila = list(load_workbook(io.BytesIO(contenido)).active.iter_rows(values_only=True))
    fila = dict(zip(cab, fila, strict=False))
    assert (fila["Solicitud"], fila["Zona"], fila["Asesor"]) == (SUMA, ENLACE, ARROBA)
    assert hasattr(fila["Abierto"], "year") and fila["Estado"] == "Abierto"  # the application's own: unchanged


# --- the indicator (XLSX; the indicator has no CSV, its JSON is not a spreadsheet) ---------------
def test_indicador_xlsx(client, esc, u, zona_peligrosa):
    u.asesor.first_name = ARROBA
    u.asesor.save(update_fields=["first_name"])
    s = esc.solicitud("observada", zona=zona_peligrosa)
    T.aplicar(s, "anular", u.gestion_red, motivo=SUMA, justificacion=RESTA)
    esc.solicitud("observada")
    client.force_login(u.jefe_division)
    r = client.get(reverse("indicador_xlsx"))
    assert r.status_code == 200
    comprobar_xlsx(r.content, [ENLACE, ARROBA])
    libro = load_workbook(io.BytesIO(r.content))
    assert ENLACE in [f[0] for f in libro["Zona"].iter_rows(values_only=True)]
    assert ARROBA in [f[0] for f in libro["Asesor"].iter_rows(values_only=True)]
    assert ARROBA in [f[0] for f in libro["Observadas por asesor"].iter_rows(values_only=True)]


# --- the export to Smartflex ------------------------------------------------------------------------
def test_exportacion_smartflex_csv(client, esc, u, zona_peligrosa):
    u.asesor.username = ARROBA
    u.asesor.save(update_fields=["username"])
    s = esc.solicitud("observada", numero_smartflex=SUMA, zona=zona_peligrosa)
    T.aplicar(s, "anular", u.gestion_red, motivo=ENLACE, justificacion="El cliente llamó")
    client.force_login(u.gestion_red)
    hoy = timezone.localdate().isoformat()
    filas = filas_csv(client.get("/exportar/smartflex.csv", {"desde": hoy, "hasta": hoy}))
    assert filas[0] == importacion.COLUMNAS_EXPORTACION and len(filas) == 2
    fila = dict(zip(filas[0], filas[1], strict=False))
    assert fila["numero_smartflex"] == "'" + SUMA
    assert fila["motivo"] == "'" + ENLACE
    assert fila["zona"] == "'" + RESTA
    assert fila["asesor"] == "'" + ARROBA
    assert fila["accion"] == "ANULACION" and fila["fecha"].startswith(hoy)  # the application's own: unchanged
    assert fila["numero_ot"] == f"OT-{SUMA}"  # not at the start of its cell: left as it is


# --- the error report of an import ----------------------------------------------------------------------
def test_errores_de_importacion_csv(client, u, zona, tmp_path, django_capture_on_commit_callbacks):
    """Unknown columns are reported by name: the uploaded file's header is the user text that
    starts a cell of the error report (row values only appear inside «…» in a message)."""
    extra = [ENLACE, SUMA, RESTA, ARROBA]
    ruta = tmp_path / "smartflex.csv"
    with open(ruta, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(importacion.COLUMNAS + extra)
        w.writerow(["SF-1", "instalacion", "Juana"] + [""] * (len(importacion.COLUMNAS) - 3) + extra)
    client.force_login(u.gestion_red)
    with django_capture_on_commit_callbacks(execute=True), open(ruta, "rb") as f:
        assert client.post("/importar/", {"archivo": f}).status_code == 302
    imp = ImportacionSmartflex.objects.get()
    assert imp.etapa == "con_errores"
    filas = filas_csv(client.get(f"/importar/{imp.pk}/errores.csv"))
    assert filas[0] == ["fila", "columna", "mensaje"]
    columnas = [f[1] for f in filas[1:]]
    # The header is read in lower case: the names come back as the importer saw them.
    assert columnas == ["'" + c.lower() for c in extra]
    assert {f[0] for f in filas[1:]} == {"1"} and all(f[2].startswith("Columna desconocida") for f in filas[1:])
