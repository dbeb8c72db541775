"""The month's zonification workbook for Div. Facturación (21.1), written with openpyxl in
write-only mode (rows streamed from the database, memory flat).

- «Casos»: one row per case, an Excel table («Zonificaciones»: named, filterable, striped).
- «Resumen»: the seed's "hoja dinámica". openpyxl cannot author a pivot table that Excel and
  LibreOffice are sure to open without repair, so the summary is a grid of live formulas over
  «Casos»: cases by corrected zone (rows) and correction type (columns), COUNTIFS for every count
  and SUM for the totals, plus the cases left visible by the table's filter (SUBTOTAL): when
  Billing edits «Casos» the summary recalculates, when it filters «Casos» the visible count follows.

Every text that comes from a person or an imported file goes through ``celda_xlsx``: it stays
text, never a formula (OWASP "CSV injection")."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import IO, TYPE_CHECKING, Any

from django.db import connection
from django.db.models import BooleanField, DateTimeField, F, FloatField, Func, Value
from django.db.models.expressions import Combinable, RawSQL
from django.db.models.functions import Cast
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from .. import calendario
from ..exportar import celda_xlsx
from ..models import Zonificacion

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# (header, width); the values come from CAMPOS, in this order (see escribir). The headers are
# the table's column names: unique, and equal to the header cells.
COLUMNAS = [
    ("N° Solicitud (Smartflex)", 22),
    ("N° OT", 16),
    ("Cliente", 30),
    ("Zona anterior", 18),
    ("Zona corregida", 18),
    ("Tipo de corrección", 18),
    ("Calle", 30),
    ("Referencia", 36),
    ("Caja / NAP", 14),
    ("Latitud", 12),
    ("Longitud", 12),
    ("OT ejecutada", 17),
    ("Recibida", 17),
    ("Digitada en Smartflex", 20),
    ("Recibida por", 20),
    # What Billing needs to find the line and stop the charge (the Smartflex import carries no
    # service or account number). Appended: the earlier columns keep their places.
    ("Documento del cliente", 16),
    ("Teléfono del cliente", 16),
    ("Plan", 22),
]
# What a row reads: plain values from one query (no model instances); first name, last name and
# username make «Recibida por» (the full name, else the username, like get_full_name/get_username).
CAMPOS = (
    "solicitud__numero_smartflex",
    "orden__numero",
    "solicitud__cliente_nombre",
    "zona_anterior__nombre",
    "zona_corregida__nombre",
    "tipo_correccion",
    "calle",
    "referencia",
    "caja_nap",
    "latitud",
    "longitud",
    "orden__ejecutada_at",
    "creado_at",
    "digitada_at",
    "recibida_por__first_name",
    "recibida_por__last_name",
    "recibida_por__username",
    "solicitud__cliente_documento",
    "solicitud__cliente_telefono",
    "solicitud__plan",
)
FORMATO_FECHA = "dd/mm/yyyy hh:mm"
CABECERA_FUENTE = Font(bold=True, color="FFFFFF")
CABECERA_FONDO = PatternFill("solid", fgColor="1F4E78")
NEGRITA = Font(bold=True)
TABLA = "Zonificaciones"  # the «Casos» table's name
# «Resumen»: the rows above the grid (title, date, blank), then the grid's header
FILA_CABECERA_RESUMEN = 4


def _columna(titulo: str) -> str:
    """The «Casos» column letter of a header."""
    return get_column_letter(next(i for i, (t, _) in enumerate(COLUMNAS, start=1) if t == titulo))


def filas_de(pks: Iterable[int]) -> Iterator[tuple[Any, ...]]:
    """The zonifications of the workbook as tuples of CAMPOS, streamed from a server-side
    cursor (one query, chunks of 2,000 rows: memory flat, no model instances). Coordinates
    come as floats and dates as naive local datetimes (Excel has no time zones)."""
    tz = timezone.get_current_timezone()
    fechas: dict[str, Combinable] = {c: F(c) for c in CAMPOS if c.endswith("_at")}
    qs = Zonificacion.objects.order_by("zona_corregida__nombre", "digitada_at", "pk")
    if connection.vendor == "postgresql":
        # One array parameter, not an IN list of every pk (compiled and sent one by one), and
        # local time computed by the database: psycopg's C loader reads the naive timestamps.
        qs = qs.filter(RawSQL(f'"{Zonificacion._meta.db_table}"."id" = ANY(%s)', (list(pks),), BooleanField()))
        fechas = {
            c: Func(
                f,
                Value(calendario.zona_horaria_sql()),
                arg_joiner=" AT TIME ZONE ",
                template="(%(expressions)s)",
                output_field=DateTimeField(),
            )
            for c, f in fechas.items()
        }
    else:
        qs = qs.filter(pk__in=pks)
    qs = qs.annotate(
        **{f"_{c}": f for c, f in fechas.items()}, **{f"_{c}": Cast(c, FloatField()) for c in ("latitud", "longitud")}
    )
    filas = qs.values_list(*[f"_{c}" if c in fechas or c in ("latitud", "longitud") else c for c in CAMPOS]).iterator(
        chunk_size=2000
    )
    if connection.vendor == "postgresql":
        return filas
    posiciones = [i for i, c in enumerate(CAMPOS) if c in fechas]
    return (
        tuple(v.astimezone(tz).replace(tzinfo=None) if i in posiciones and v else v for i, v in enumerate(f))
        for f in filas
    )


def _cabecera(ws: WriteOnlyWorksheet, titulos: Iterable[str]) -> None:
    fila: list[WriteOnlyCell] = []
    for titulo in titulos:
        c = WriteOnlyCell(ws, value=titulo)
        c.font = CABECERA_FUENTE
        c.fill = CABECERA_FONDO
        c.alignment = Alignment(vertical="center", wrap_text=True)
        fila.append(c)
    ws.append(fila)


def _negrita(ws: WriteOnlyWorksheet, valor: object) -> WriteOnlyCell:
    c = WriteOnlyCell(ws, value=valor)
    c.font = NEGRITA
    return c


def _criterio(texto: str) -> str:
    """A COUNTIFS criterion that matches exactly ``texto`` (as a formula string literal): a
    leading «=» so that a text starting with an operator is not read as one, wildcards escaped
    (``~``), quotes doubled."""
    for especial in "~*?":
        texto = texto.replace(especial, "~" + especial)
    return '"=' + texto.replace('"', '""') + '"'


def titulo_entrega(mes: date, numero: int = 1) -> str:
    """«Zonificaciones remitidas a Div. Facturación — 11/2026 — Entrega N° 2 (complementaria)»."""
    return f"Zonificaciones remitidas a Div. Facturación — {mes:%m/%Y} — Entrega N° {numero}" + (
        " (complementaria)" if numero > 1 else ""
    )


def escribir(destino: str | IO[bytes], zonificaciones: Iterable[tuple[Any, ...]], mes: date, numero: int = 1) -> int:
    """Write the workbook to ``destino`` (path or file object): the rows of ``zonificaciones``
    (tuples of CAMPOS, as ``filas_de`` yields them) for the month ``mes``, delivery ``numero``
    of the month (1 the first, then the supplementary ones). Returns the number of cases."""
    wb = Workbook(write_only=True)
    casos = wb.create_sheet("Casos")
    casos.freeze_panes = "A2"
    for i, (_, ancho) in enumerate(COLUMNAS, start=1):
        casos.column_dimensions[get_column_letter(i)].width = ancho
    titulos = [c[0] for c in COLUMNAS]
    _cabecera(casos, titulos)
    # Per-cell work kept to what openpyxl itself does: plain values go in as they are (openpyxl
    # reuses one cell for them); a text only gets a cell of its own when it starts like a formula
    # (celda_xlsx); a date needs a cell with the date format: three cells, built once with the
    # one style array of the format and given each row's dates (openpyxl writes a row's cells
    # when it is appended, before the next row reuses them).
    plantilla = WriteOnlyCell(casos)
    plantilla.number_format = FORMATO_FECHA
    f1, f2, f3 = (Cell(casos, 1, 1, None, plantilla._style) for _ in range(3))
    etiquetas = dict(Zonificacion.TipoCorreccion.choices)
    agregar = casos.append
    t = celda_xlsx
    zonas: set[str | None] = set()
    tipos_vistos: set[str | None] = set()
    agregar_zona, agregar_tipo = zonas.add, tipos_vistos.add
    total = 0

    def fecha(celda: Cell, dt: datetime | None) -> Cell | None:
        if dt is None:
            return None
        celda.value = dt
        return celda

    for (
        numero_sf,
        ot,
        cliente,
        anterior,
        zona,
        tipo,
        calle,
        referencia,
        caja,
        lat,
        lon,
        ejecutada,
        creada,
        digitada,
        nombre,
        apellido,
        usuario,
        documento,
        telefono,
        plan,
    ) in zonificaciones:
        tipo = etiquetas.get(tipo, tipo)  # a value no longer among the choices: shown as stored
        agregar(
            (
                t(casos, numero_sf),
                t(casos, ot),
                t(casos, cliente),
                t(casos, anterior),
                t(casos, zona),
                t(casos, tipo),
                t(casos, calle),
                t(casos, referencia),
                t(casos, caja),
                lat,
                lon,
                fecha(f1, ejecutada),
                fecha(f2, creada),
                fecha(f3, digitada),
                t(casos, f"{nombre} {apellido}".strip() or usuario),
                t(casos, documento),
                t(casos, telefono),
                t(casos, plan),
            )
        )
        agregar_zona(zona)
        agregar_tipo(tipo)
        total += 1
    if total:
        # An Excel table (its own filter: no sheet auto-filter, Excel would repair the overlap);
        # none for an empty month (a table needs a data row).
        ref = f"A1:{get_column_letter(len(COLUMNAS))}{total + 1}"
        tabla = Table(
            displayName=TABLA,
            ref=ref,
            autoFilter=AutoFilter(ref=ref),
            tableStyleInfo=TableStyleInfo(
                name="TableStyleMedium2",
                showRowStripes=True,
                showColumnStripes=False,
                showFirstColumn=False,
                showLastColumn=False,
            ),
        )
        tabla.tableColumns = [TableColumn(id=i, name=titulo) for i, titulo in enumerate(titulos, start=1)]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "In write-only mode you must add table columns manually")
            casos.add_table(tabla)

    _resumen(
        wb.create_sheet("Resumen"),
        sorted(z for z in zonas if z is not None),
        list(etiquetas.values()) + sorted(t for t in tipos_vistos - set(etiquetas.values()) if t is not None),
        mes,
        numero,
    )
    wb.save(destino)
    return total


def _resumen(ws: WriteOnlyWorksheet, zonas: list[str], tipos: list[str], mes: date, numero: int) -> None:
    """The summary: title; the grid zone × correction type of COUNTIFS over «Casos» (every type
    of the model, and any legacy one in the data, so an edit in «Casos» to any type shows); the
    totals as SUMs; the cases in «Casos» and those visible with the table's filter."""
    zona_col = f"Casos!${_columna('Zona corregida')}:${_columna('Zona corregida')}"
    tipo_col = f"Casos!${_columna('Tipo de corrección')}:${_columna('Tipo de corrección')}"
    primera_col = "Casos!$A:$A"
    ws.freeze_panes = f"B{FILA_CABECERA_RESUMEN + 1}"
    ws.column_dimensions["A"].width = 34
    for i in range(2, len(tipos) + 3):
        ws.column_dimensions[get_column_letter(i)].width = 16
    titulo = WriteOnlyCell(ws, value=titulo_entrega(mes, numero))
    titulo.font = Font(bold=True, size=13)
    ws.append([titulo])
    ws.append([f"Generada el {timezone.localtime():%d/%m/%Y %H:%M}"])
    ws.append([])
    _cabecera(ws, ["Zona corregida"] + [f"Corrección: {t}" for t in tipos] + ["Total"])
    ultima_tipo = get_column_letter(len(tipos) + 1)
    primera = FILA_CABECERA_RESUMEN + 1
    for fila, zona in enumerate(zonas, start=primera):
        ws.append(
            [celda_xlsx(ws, zona)]
            + [f"=COUNTIFS({zona_col},{_criterio(zona)},{tipo_col},{_criterio(t)})" for t in tipos]
            + [f"=SUM(B{fila}:{ultima_tipo}{fila})"]
        )
    ultima = primera + len(zonas) - 1
    totales: list[str] | list[int]
    if zonas:
        totales = [
            f"=SUM({get_column_letter(c)}{primera}:{get_column_letter(c)}{ultima})" for c in range(2, len(tipos) + 3)
        ]
    else:
        totales = [0] * (len(tipos) + 1)  # no rows to add up (a SUM over none would refer to itself)
    ws.append([_negrita(ws, v) for v in ["Total"] + totales])
    ws.append([])
    # COUNTA/SUBTOTAL over the whole first column, less its header: rows Billing adds to the
    # table count too. SUBTOTAL(103, …) leaves out the rows the filter hides.
    ws.append(["Casos en la hoja «Casos»", f"=COUNTA({primera_col})-1"])
    ws.append(["Casos visibles con el filtro actual", f"=SUBTOTAL(103,{primera_col})-1"])
    ws.append([])
    ws.append(
        [
            "Los conteos son fórmulas sobre la hoja «Casos» y se recalculan al editarla; «Casos visibles» "
            "cuenta solo las filas que deja ver el filtro."
        ]
    )
