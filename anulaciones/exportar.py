"""Streaming CSV for downloads (Tablero, import reports, the export back to Smartflex)."""
import csv


class _Eco:
    def write(self, valor):
        return valor


def csv_en_flujo(filas):
    """Encode rows as CSV lines one by one (for StreamingHttpResponse); UTF-8 with BOM so that
    spreadsheets read the accents."""
    escritor = csv.writer(_Eco())
    yield "\ufeff"
    for fila in filas:
        yield escritor.writerow(fila)
