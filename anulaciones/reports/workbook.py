"""The month's zonification workbook for Div. Facturación (21.1), written with xlsxwriter in
``constant_memory`` mode (each row goes to the file as it is written: memory flat) from a lean
query (tuples, not model instances): a sheet of cases and a summary sheet — the seed's "hoja
dinámica" — with counts by zone and by correction type.

Measured against the floor (the same rows by hand-written SQL into xlsxwriter): BENCHMARKS.md."""
from collections import Counter
from datetime import datetime

import xlsxwriter
from django.contrib.auth import get_user_model
from django.utils import timezone

from ..models import Zonificacion

TIPOS = dict(Zonificacion.TipoCorreccion.choices)
# (header, width, value of a row: the tuple of CAMPOS)
COLUMNAS = [
    ("N° Solicitud (Smartflex)", 22, lambda f: f[0]),
    ("N° OT", 16, lambda f: f[1]),
    ("Cliente", 30, lambda f: f[2]),
    ("Zona anterior", 18, lambda f: f[3] or ""),
    ("Zona corregida", 18, lambda f: f[4]),
    ("Tipo de corrección", 18, lambda f: TIPOS.get(f[5], f[5])),
    ("Calle", 30, lambda f: f[6]),
    ("Referencia", 36, lambda f: f[7]),
    ("Caja / NAP", 14, lambda f: f[8]),
    ("Latitud", 12, lambda f: float(f[9]) if f[9] is not None else None),
    ("Longitud", 12, lambda f: float(f[10]) if f[10] is not None else None),
    ("OT ejecutada", 17, lambda f, tz=None: _fecha(f[11], tz)),
    ("Recibida", 17, lambda f, tz=None: _fecha(f[12], tz)),
    ("Digitada en Smartflex", 20, lambda f, tz=None: _fecha(f[13], tz)),
    ("Recibida por", 20, lambda f: " ".join(x for x in (f[14], f[15]) if x).strip() or f[16]),
]
CAMPOS = ("solicitud__numero_smartflex", "orden__numero", "solicitud__cliente_nombre", "zona_anterior__nombre",
          "zona_corregida__nombre", "tipo_correccion", "calle", "referencia", "caja_nap", "latitud", "longitud",
          "orden__ejecutada_at", "creado_at", "digitada_at", "recibida_por__first_name",
          "recibida_por__last_name", "recibida_por__" + get_user_model().USERNAME_FIELD)
FORMATO_FECHA = "dd/mm/yyyy hh:mm"
CABECERA = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78", "pattern": 1, "valign": "vcenter",
            "text_wrap": True}


def _fecha(dt, tz=None):
    """Excel has no time zones: local time, naive."""
    return dt.astimezone(tz or timezone.get_current_timezone()).replace(tzinfo=None) if dt else None


def filas_de(pks):
    """The zonifications of the workbook as tuples of CAMPOS, streamed (constant queries per
    chunk)."""
    return (Zonificacion.objects.filter(pk__in=pks)
            .order_by("zona_corregida__nombre", "digitada_at", "pk")
            .values_list(*CAMPOS).iterator(chunk_size=2000))


def _anchos(ws, anchos):
    # Widths in pixels (7 per character): the file then stores exactly ``ancho`` characters,
    # as openpyxl did.
    for i, ancho in enumerate(anchos):
        ws.set_column_pixels(i, i, ancho * 7)


def escribir(destino, zonificaciones, mes):
    """Write the workbook to ``destino`` (path or file object). Returns the number of cases."""
    wb = xlsxwriter.Workbook(destino, {"constant_memory": True, "in_memory": False})
    cabecera, fecha = wb.add_format(CABECERA), wb.add_format({"num_format": FORMATO_FECHA})
    negrita = wb.add_format({"bold": True})
    casos = wb.add_worksheet("Casos")
    casos.freeze_panes(1, 0)
    _anchos(casos, [c[1] for c in COLUMNAS])
    casos.write_row(0, 0, [c[0] for c in COLUMNAS], cabecera)
    valores = [c[2] for c in COLUMNAS]
    fechas = {11, 12, 13}  # the date columns: converted with one time zone object
    tz = timezone.get_current_timezone()
    por_zona, por_tipo, cruce = Counter(), Counter(), Counter()
    total = 0
    for f in zonificaciones:
        total += 1
        for col, valor in enumerate(valores):
            v = _fecha(f[col], tz) if col in fechas else valor(f)
            if v is None or v == "":
                continue
            if isinstance(v, datetime):
                casos.write_datetime(total, col, v, fecha)
            elif isinstance(v, str):
                casos.write_string(total, col, v)
            else:
                casos.write_number(total, col, v)
        zona, tipo = f[4], TIPOS.get(f[5], f[5])
        por_zona[zona] += 1
        por_tipo[tipo] += 1
        cruce[zona, tipo] += 1
    if total:
        casos.autofilter(0, 0, total, len(COLUMNAS) - 1)

    resumen = wb.add_worksheet("Resumen")
    resumen.freeze_panes(1, 1)
    tipos = [t.label for t in Zonificacion.TipoCorreccion if por_tipo[t.label]]
    _anchos(resumen, [24] + [16] * (len(tipos) + 1))
    resumen.write_row(0, 0, ["Zona"] + tipos + ["Total"], cabecera)
    fila = 1
    for zona in sorted(por_zona):
        resumen.write_row(fila, 0, [zona] + [cruce[zona, t] for t in tipos] + [por_zona[zona]])
        fila += 1
    resumen.write_row(fila, 0, ["Total"] + [por_tipo[t] for t in tipos] + [total], negrita)
    resumen.write_string(fila + 2, 0, f"Zonificaciones remitidas a Div. Facturación — {mes:%m/%Y}")
    resumen.write_string(fila + 3, 0, f"Generada el {timezone.localtime():%d/%m/%Y %H:%M}")
    wb.close()
    return total
