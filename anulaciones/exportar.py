"""What the application writes for others to open (CSV and XLSX downloads, the monthly workbook):
streaming CSV, and user text kept as text (OWASP "CSV injection").

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one) as a formula. Every text value that comes from a person or from an imported
file goes through ``texto_csv`` (CSV: a leading apostrophe, which spreadsheets show as text) or
``celda_xlsx`` (XLSX: an inline string cell marked «quotePrefix», never a formula cell).
Numbers, dates and the application's own texts pass unchanged.
"""

import csv

# The characters a spreadsheet may read as the start of a formula (OWASP).
INICIO_DE_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def es_peligroso(valor):
    return isinstance(valor, str) and valor.startswith(INICIO_DE_FORMULA)


def texto_csv(valor):
    """``valor`` for a CSV cell: a text that a spreadsheet would run as a formula gets a leading
    apostrophe; anything else is returned as it is."""
    return "'" + valor if es_peligroso(valor) else valor


def fila_csv(fila):
    return [texto_csv(v) for v in fila]


# Texts openpyxl would store as an error cell, not as text.
CODIGOS_DE_ERROR = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})


def celda_xlsx(hoja, valor):
    """``valor`` for ``hoja.append`` (openpyxl, also write-only): a text that starts like a
    formula (openpyxl would store any text starting with ``=`` as a formula) or that reads like an
    Excel error code (``#N/A``: stored as an error) becomes a text cell with Excel's quote prefix;
    anything else is returned as it is (no cell object: the cheap path for the rows of a large
    export)."""
    if not (es_peligroso(valor) or (isinstance(valor, str) and valor in CODIGOS_DE_ERROR)):
        return valor
    from openpyxl.cell import WriteOnlyCell

    celda = WriteOnlyCell(hoja, value=valor)
    celda.data_type = "s"
    celda.quotePrefix = True
    return celda


def fila_xlsx(hoja, fila):
    return [celda_xlsx(hoja, v) for v in fila]


class _Eco:
    def write(self, valor):
        return valor


def csv_en_flujo(filas):
    """Encode rows as CSV lines one by one (for StreamingHttpResponse); UTF-8 with BOM so that
    spreadsheets read the accents. Every text cell goes through ``texto_csv``."""
    escritor = csv.writer(_Eco())
    yield "\ufeff"
    for fila in filas:
        yield escritor.writerow(fila_csv(fila))
