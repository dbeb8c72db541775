"""Issue 14, items 4 and 5: the month's workbook for Div. Facturación (reports/workbook.py) is one
Billing can pivot and filter, and carries what it needs to stop a charge.

- «Casos» is an Excel table (named, filterable) with the client's document, phone and plan.
- «Resumen» is a grid of live formulas over «Casos» (cases by corrected zone × correction type,
  totals, cases visible with the filter): LibreOffice (Debian's libreoffice-calc, headless)
  converts the file and computes them; after an edit of «Casos» they follow the edit.
- No cell written from user text is a formula (``celda_xlsx``).

The zonifications are built through the transition path (an executed OT, 20.1 recibir, digitar)."""

import os
import shutil
import subprocess
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from anulaciones import transitions as T
from anulaciones.models import Zona, Zonificacion
from anulaciones.reports import workbook

pytestmark = pytest.mark.django_db
LP = ZoneInfo("America/La_Paz")
NOV = date(2026, 11, 1)
ENLACE = '=HYPERLINK("http://x","y")'
SOFFICE = os.environ.get("SOFFICE_PATH") or shutil.which("soffice") or "/usr/bin/soffice"
ETIQUETAS = [t.label for t in Zonificacion.TipoCorreccion]
# LibreOffice profile setting: recalculate every formula of an OOXML file on load (0 = always),
# so the values read back are LibreOffice's, never a cached result.
RECALCULAR_SIEMPRE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


# --- LibreOffice ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory):
    """``convertir(ruta) -> ruta``: the file opened and saved again as XLSX by LibreOffice
    headless, with a profile of this session's own (parallel runs do not share one). Missing
    LibreOffice: skipped, or failed with FAIL_ON_SKIP=1 (CI installs it, like conftest's rule)."""
    if not (os.path.isfile(SOFFICE) and os.access(SOFFICE, os.X_OK)):
        mensaje = f"LibreOffice not found at {SOFFICE} (apt-get install libreoffice-calc)"
        if os.environ.get("FAIL_ON_SKIP") == "1":
            pytest.fail(mensaje)
        pytest.skip(mensaje)
    perfil = tmp_path_factory.mktemp("perfil-libreoffice")
    (perfil / "user").mkdir()
    (perfil / "user" / "registrymodifications.xcu").write_text(RECALCULAR_SIEMPRE)

    def convertir(ruta):
        salida = ruta.parent / f"convertido-{ruta.stem}"
        salida.mkdir()
        r = subprocess.run(
            [
                SOFFICE,
                f"-env:UserInstallation={perfil.as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                "xlsx",
                "--outdir",
                str(salida),
                str(ruta),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        convertido = salida / ruta.name
        assert r.returncode == 0 and convertido.exists(), (r.returncode, r.stdout, r.stderr)
        return convertido

    return convertir


# --- data ---------------------------------------------------------------------------------------
def zonificacion(u, nueva_solicitud, zona, tipo, digitada_el, calle="Calle Murillo", **solicitud):
    """A zonification recibida (20.1) and digitada, through the transition path."""
    o = nueva_solicitud(**solicitud).orden
    T.aplicar(o, "asignar", u.gestion_red)
    T.aplicar(o, "ejecutar", u.tecnico)
    z = T.recibir_zonificacion(
        o,
        u.gestion_red,
        zona_corregida=zona,
        tipo_correccion=tipo,
        calle=calle,
        referencia="Esquina plaza",
        caja_nap="NAP-07",
        latitud="-16.500000",
        longitud="-68.150000",
    )
    with time_machine.travel(digitada_el, tick=False):
        T.aplicar(z, "digitar", u.gestion_red)
    return z


@pytest.fixture
def datos(u, nueva_solicitud, zonas):
    """Seven cases in three zones (one whose name starts like a formula and holds a COUNTIFS
    wildcard), with user text that starts like formulas in the client's name and the street."""
    norte, sur = zonas
    rara = Zona.objects.create(codigo="Z3", nombre="@Centro* ~norte?")
    casos = [
        (
            norte,
            "calle",
            dict(cliente_nombre=ENLACE, cliente_documento="4567890 LP", cliente_telefono="71234567", plan="Fibra 200"),
            "+1",
        ),
        (
            norte,
            "zona",
            dict(cliente_documento="1234567", cliente_telefono="+59170000001", plan="Fibra 100"),
            "Av. Arce",
        ),
        (norte, "calle", dict(cliente_documento="-12", plan="=1+1"), "Calle Murillo"),
        (
            sur,
            "caja_nap",
            dict(cliente_documento="7654321 CB", cliente_telefono="62222222", plan="Fibra 300"),
            "Calle Sucre",
        ),
        (sur, "calle", dict(cliente_documento="", cliente_telefono="", plan=""), "@calle"),
        (rara, "coordenadas", dict(cliente_documento="555", plan="Fibra 50"), "Calle Bolívar"),
        (rara, "coordenadas", dict(cliente_documento="556", plan="Fibra 50"), "Calle Potosí"),
    ]
    return [
        zonificacion(u, nueva_solicitud, zona, tipo, datetime(2026, 11, 3 + i, 9, i, tzinfo=LP), calle=calle, **sol)
        for i, (zona, tipo, sol, calle) in enumerate(casos)
    ]


def escribir(ruta, zonificaciones, **extra):
    return workbook.escribir(ruta, workbook.filas_de([z.pk for z in zonificaciones]), NOV, **extra)


def en_bd(zonificaciones):
    return Zonificacion.objects.filter(pk__in=[z.pk for z in zonificaciones]).select_related(
        "solicitud", "orden", "zona_anterior", "zona_corregida"
    )


def casos_de(hoja):
    """The «Casos» rows as dicts by header."""
    filas = list(hoja.iter_rows(values_only=True))
    return [dict(zip(filas[0], f, strict=False)) for f in filas[1:]]


def grilla(hoja):
    """The summary's grid: header, {zone: {column: value}}, and the lines below it by label."""
    filas = list(hoja.iter_rows(values_only=True))
    i = workbook.FILA_CABECERA_RESUMEN - 1
    cabecera = list(filas[i])
    tabla, lineas = {}, {}
    for f in filas[i + 1 :]:
        if f[0] is None:
            break
        tabla[f[0]] = dict(zip(cabecera[1:], f[1:], strict=False))
    for f in filas[i + 1 + len(tabla) :]:
        if f[0] is not None and f[1] is not None:
            lineas[f[0]] = f[1]
    return cabecera, tabla, lineas


def esperado(casos):
    """The grid a pivot of these cases gives: {zone: {"Corrección: type": n, "Total": n}}."""
    cuenta = Counter((c["Zona corregida"], c["Tipo de corrección"]) for c in casos)
    zonas = sorted({c["Zona corregida"] for c in casos})
    tabla = {
        z: {**{f"Corrección: {t}": cuenta[z, t] for t in ETIQUETAS}, "Total": sum(cuenta[z, t] for t in ETIQUETAS)}
        for z in zonas
    }
    tabla["Total"] = {k: sum(tabla[z][k] for z in zonas) for k in tabla[zonas[0]]}
    return tabla


# --- «Casos» --------------------------------------------------------------------------------------
def test_casos_es_una_tabla_de_excel_con_los_datos_para_dar_de_baja_el_cobro(datos, tmp_path):
    ruta = tmp_path / "planilla.xlsx"
    assert escribir(ruta, datos) == 7
    wb = load_workbook(ruta)
    assert wb.sheetnames == ["Casos", "Resumen"]
    hoja = wb["Casos"]
    cabecera = [c.value for c in hoja[1]]
    assert cabecera == [c[0] for c in workbook.COLUMNAS]
    assert len({c.lower() for c in cabecera}) == len(cabecera)  # unique, as Excel compares them
    # one table over the header and every row; its own filter, none on the sheet (overlap = repair)
    assert list(hoja.tables) == [workbook.TABLA]
    tabla = hoja.tables[workbook.TABLA]
    assert tabla.ref == f"A1:{chr(ord('A') + len(cabecera) - 1)}8"
    assert tabla.displayName == workbook.TABLA and tabla.headerRowCount == 1
    assert tabla.column_names == cabecera
    assert tabla.autoFilter.ref == tabla.ref and hoja.auto_filter.ref is None
    assert tabla.tableStyleInfo.showRowStripes
    assert hoja.freeze_panes == "A2"

    casos = {c["N° OT"]: c for c in casos_de(hoja)}
    assert len(casos) == 7
    for z in en_bd(datos):
        c = casos[z.orden.numero]
        s = z.solicitud
        assert c["N° Solicitud (Smartflex)"] == s.numero_smartflex and c["Cliente"] == s.cliente_nombre
        # what Billing needs to find the line and stop the charge ("" is written as an empty cell)
        assert c["Documento del cliente"] == (s.cliente_documento or None)
        assert c["Teléfono del cliente"] == (s.cliente_telefono or None)
        assert c["Plan"] == (s.plan or None)
        assert (c["Zona anterior"], c["Zona corregida"]) == (z.zona_anterior.nombre, z.zona_corregida.nombre)
        assert c["Tipo de corrección"] == z.get_tipo_correccion_display() and c["Calle"] == z.calle
        # each row its own dates (the date cells are reused from row to row)
        assert c["Digitada en Smartflex"] == z.digitada_at.astimezone(LP).replace(tzinfo=None)
        assert (
            hoja.cell(row=2, column=cabecera.index("Digitada en Smartflex") + 1).number_format == workbook.FORMATO_FECHA
        )
    assert {c["Documento del cliente"] for c in casos.values()} >= {"4567890 LP", "1234567", "7654321 CB"}
    assert {c["Plan"] for c in casos.values()} >= {"Fibra 100", "Fibra 200", "Fibra 300"}
    assert {c["Teléfono del cliente"] for c in casos.values()} >= {"71234567", "62222222"}


def test_un_mes_sin_casos_lleva_la_cabecera_y_ninguna_tabla(db, tmp_path):
    ruta = tmp_path / "vacia.xlsx"
    assert workbook.escribir(ruta, iter(()), NOV) == 0
    wb = load_workbook(ruta)
    assert [c.value for c in wb["Casos"][1]] == [c[0] for c in workbook.COLUMNAS]
    assert wb["Casos"].max_row == 1 and not wb["Casos"].tables
    cabecera, tabla, lineas = grilla(wb["Resumen"])
    assert cabecera[0] == "Zona corregida" and list(tabla) == ["Total"]
    assert set(tabla["Total"].values()) == {0}  # no SUM over zero rows: it would refer to itself
    assert lineas == {
        "Casos en la hoja «Casos»": "=COUNTA(Casos!$A:$A)-1",
        "Casos visibles con el filtro actual": "=SUBTOTAL(103,Casos!$A:$A)-1",
    }


# --- «Resumen» -----------------------------------------------------------------------------------
def test_resumen_cabecera_sin_repetidos_y_todo_formulas(datos, tmp_path):
    ruta = tmp_path / "planilla.xlsx"
    escribir(ruta, datos)
    hoja = load_workbook(ruta)["Resumen"]
    assert hoja["A1"].value == "Zonificaciones remitidas a Div. Facturación — 11/2026 — Entrega N° 1"
    assert hoja["A2"].value.startswith("Generada el ")
    cabecera, tabla, lineas = grilla(hoja)
    # the old header read «Zona | Zona | Calle …»
    assert cabecera == ["Zona corregida"] + [f"Corrección: {t}" for t in ETIQUETAS] + ["Total"]
    assert len(set(cabecera)) == len(cabecera)
    assert hoja.freeze_panes == f"B{workbook.FILA_CABECERA_RESUMEN + 1}"
    # every zone of the data (sorted), then the totals; every count a formula over «Casos»
    assert list(tabla) == ["@Centro* ~norte?", "Zona Norte", "Zona Sur", "Total"]
    for zona, fila in tabla.items():
        for columna, valor in fila.items():
            if zona == "Total" or columna == "Total":
                assert valor.startswith("=SUM("), (zona, columna, valor)
            else:
                assert valor.startswith("=COUNTIFS(Casos!$E:$E,") and ",Casos!$F:$F," in valor, valor
    assert tabla["Zona Norte"]["Corrección: Calle"] == '=COUNTIFS(Casos!$E:$E,"=Zona Norte",Casos!$F:$F,"=Calle")'
    # a zone name: an exact criterion (its wildcards escaped), and a text cell, not a formula
    assert (
        tabla["@Centro* ~norte?"]["Corrección: Zona"]
        == '=COUNTIFS(Casos!$E:$E,"=@Centro~* ~~norte~?",Casos!$F:$F,"=Zona")'
    )
    celda = next(c for c in hoja["A"] if c.value == "@Centro* ~norte?")
    assert celda.data_type == "s" and celda.quotePrefix
    assert lineas == {
        "Casos en la hoja «Casos»": "=COUNTA(Casos!$A:$A)-1",
        "Casos visibles con el filtro actual": "=SUBTOTAL(103,Casos!$A:$A)-1",
    }


def test_entrega_complementaria_en_el_titulo(datos, tmp_path):
    ruta = tmp_path / "segunda.xlsx"
    escribir(ruta, datos[:2], numero=2)
    assert load_workbook(ruta)["Resumen"]["A1"].value == (
        "Zonificaciones remitidas a Div. Facturación — 11/2026 — Entrega N° 2 (complementaria)"
    )
    assert workbook.titulo_entrega(NOV) == "Zonificaciones remitidas a Div. Facturación — 11/2026 — Entrega N° 1"


def test_libreoffice_calcula_el_resumen_y_sigue_las_ediciones_y_el_filtro(datos, tmp_path, libreoffice):
    ruta = tmp_path / "planilla.xlsx"
    escribir(ruta, datos)
    convertido = load_workbook(libreoffice(ruta), data_only=True)
    casos = casos_de(convertido["Casos"])
    # the counts LibreOffice computed are those of the data
    en_datos = [
        {"Zona corregida": z.zona_corregida.nombre, "Tipo de corrección": z.get_tipo_correccion_display()}
        for z in en_bd(datos)
    ]
    _, tabla, lineas = grilla(convertido["Resumen"])
    assert tabla == esperado(en_datos) == esperado(casos)
    assert tabla["Total"]["Total"] == 7
    assert tabla["Zona Norte"] == {
        "Corrección: Zona": 1,
        "Corrección: Calle": 2,
        "Corrección: Referencia": 0,
        "Corrección: Caja / NAP": 0,
        "Corrección: Coordenadas": 0,
        "Total": 3,
    }
    assert tabla["@Centro* ~norte?"]["Corrección: Coordenadas"] == 2  # an exact match, wildcards and all
    assert lineas == {"Casos en la hoja «Casos»": 7, "Casos visibles con el filtro actual": 7}
    assert list(convertido["Casos"].tables) == [workbook.TABLA]  # LibreOffice kept the table

    # Billing edits «Casos» (a case moved to another zone and type) and filters it (the filter
    # hides rows): the summary follows.
    editado = load_workbook(ruta)
    hoja = editado["Casos"]
    cabecera = [c.value for c in hoja[1]]
    fila = next(c.row for c in hoja["E"] if c.value == "Zona Norte")
    hoja.cell(row=fila, column=cabecera.index("Zona corregida") + 1, value="Zona Sur")
    hoja.cell(row=fila, column=cabecera.index("Tipo de corrección") + 1, value="Referencia")
    for r in (2, 3):
        hoja.row_dimensions[r].hidden = True
    ruta_editada = tmp_path / "editada.xlsx"
    editado.save(ruta_editada)
    convertido = load_workbook(libreoffice(ruta_editada), data_only=True)
    casos_editados = casos_de(convertido["Casos"])
    assert Counter(c["Zona corregida"] for c in casos_editados) != Counter(c["Zona corregida"] for c in casos)
    _, tabla_editada, lineas = grilla(convertido["Resumen"])
    assert tabla_editada == esperado(casos_editados) != tabla
    assert tabla_editada["Zona Sur"]["Corrección: Referencia"] == 1
    assert tabla_editada["Zona Norte"]["Total"] == tabla["Zona Norte"]["Total"] - 1
    assert tabla_editada["Zona Sur"]["Total"] == tabla["Zona Sur"]["Total"] + 1
    assert lineas == {"Casos en la hoja «Casos»": 7, "Casos visibles con el filtro actual": 5}


# --- user text stays text (item 5) -----------------------------------------------------------------
def test_el_texto_del_usuario_nunca_es_formula(datos, tmp_path, libreoffice):
    ruta = tmp_path / "planilla.xlsx"
    escribir(ruta, datos)
    peligrosos = {ENLACE, "+1", "-12", "=1+1", "+59170000001", "@calle", "@Centro* ~norte?"}

    hoja = load_workbook(ruta)["Casos"]
    celdas = [c for f in hoja.iter_rows() for c in f if c.value is not None]
    assert [c.coordinate for c in celdas if c.data_type == "f"] == []
    for texto in peligrosos:
        suyas = [c for c in celdas if c.value == texto]
        assert suyas and all(c.data_type == "s" and c.quotePrefix for c in suyas), texto
    assert not [c.value for c in celdas if c.quotePrefix and c.value not in peligrosos]  # the fast path

    convertido = load_workbook(libreoffice(ruta), data_only=True)
    celdas = {(c.value, c.data_type) for f in convertido["Casos"].iter_rows(min_row=2) for c in f}
    for texto in peligrosos:
        assert (texto, "s") in celdas, texto
    cliente = next(c for c in casos_de(convertido["Casos"]) if c["Cliente"] == ENLACE)
    assert (cliente["Calle"], cliente["Documento del cliente"]) == ("+1", "4567890 LP")
    assert (ENLACE, "s") not in {(c.value, c.data_type) for c in convertido["Resumen"]["A"]}  # not a zone
    assert ("@Centro* ~norte?", "s") in {(c.value, c.data_type) for c in convertido["Resumen"]["A"]}
