"""The month's zonification workbook for Div. Facturación (21.1), written with openpyxl in
write-only mode (rows streamed from the database, memory flat): a sheet of cases and a
summary sheet — the seed's "hoja dinámica" — with counts by zone and by correction type."""
from collections import Counter
from datetime import datetime

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..models import Zonificacion

# (header, width, value of a row)
COLUMNAS = [
    ("N° Solicitud (Smartflex)", 22, lambda z: z.solicitud.numero_smartflex),
    ("N° OT", 16, lambda z: z.orden.numero),
    ("Cliente", 30, lambda z: z.solicitud.cliente_nombre),
    ("Zona anterior", 18, lambda z: z.zona_anterior.nombre if z.zona_anterior_id else ""),
    ("Zona corregida", 18, lambda z: z.zona_corregida.nombre),
    ("Tipo de corrección", 18, lambda z: z.get_tipo_correccion_display()),
    ("Calle", 30, lambda z: z.calle),
    ("Referencia", 36, lambda z: z.referencia),
    ("Caja / NAP", 14, lambda z: z.caja_nap),
    ("Latitud", 12, lambda z: float(z.latitud) if z.latitud is not None else None),
    ("Longitud", 12, lambda z: float(z.longitud) if z.longitud is not None else None),
    ("OT ejecutada", 17, lambda z: _fecha(z.orden.ejecutada_at)),
    ("Recibida", 17, lambda z: _fecha(z.creado_at)),
    ("Digitada en Smartflex", 20, lambda z: _fecha(z.digitada_at)),
    ("Recibida por", 20, lambda z: z.recibida_por.get_full_name() or z.recibida_por.get_username()),
]
FORMATO_FECHA = "dd/mm/yyyy hh:mm"
CABECERA_FUENTE = Font(bold=True, color="FFFFFF")
CABECERA_FONDO = PatternFill("solid", fgColor="1F4E78")


def _fecha(dt):
    """Excel has no time zones: local time, naive."""
    return timezone.localtime(dt).replace(tzinfo=None) if dt else None


def filas_de(pks):
    """The zonifications of the workbook, streamed with everything a row shows (constant
    queries per chunk)."""
    return (Zonificacion.objects.filter(pk__in=pks)
            .select_related("solicitud", "orden", "zona_anterior", "zona_corregida", "recibida_por")
            .order_by("zona_corregida__nombre", "digitada_at", "pk")
            .iterator(chunk_size=2000))


def _cabecera(ws, titulos):
    fila = []
    for titulo in titulos:
        c = WriteOnlyCell(ws, value=titulo)
        c.font = CABECERA_FUENTE
        c.fill = CABECERA_FONDO
        c.alignment = Alignment(vertical="center", wrap_text=True)
        fila.append(c)
    ws.append(fila)


def escribir(destino, zonificaciones, mes):
    """Write the workbook to ``destino`` (path or file object). Returns the number of cases."""
    wb = Workbook(write_only=True)
    casos = wb.create_sheet("Casos")
    casos.freeze_panes = "A2"
    for i, (_, ancho, _) in enumerate(COLUMNAS, start=1):
        casos.column_dimensions[get_column_letter(i)].width = ancho
    _cabecera(casos, [c[0] for c in COLUMNAS])
    por_zona, por_tipo, cruce = Counter(), Counter(), Counter()
    total = 0
    for z in zonificaciones:
        fila = []
        for titulo, _, valor in COLUMNAS:
            v = valor(z)
            if isinstance(v, datetime):
                c = WriteOnlyCell(casos, value=v)
                c.number_format = FORMATO_FECHA
                v = c
            fila.append(v)
        casos.append(fila)
        zona, tipo = z.zona_corregida.nombre, z.get_tipo_correccion_display()
        por_zona[zona] += 1
        por_tipo[tipo] += 1
        cruce[zona, tipo] += 1
        total += 1
    if total:
        casos.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNAS))}{total + 1}"

    resumen = wb.create_sheet("Resumen")
    resumen.freeze_panes = "B2"
    tipos = [t.label for t in Zonificacion.TipoCorreccion if por_tipo[t.label]]
    resumen.column_dimensions["A"].width = 24
    for i in range(2, len(tipos) + 3):
        resumen.column_dimensions[get_column_letter(i)].width = 16
    _cabecera(resumen, ["Zona"] + tipos + ["Total"])
    for zona in sorted(por_zona):
        resumen.append([zona] + [cruce[zona, t] for t in tipos] + [por_zona[zona]])
    total_fila = [WriteOnlyCell(resumen, value=v) for v in ["Total"] + [por_tipo[t] for t in tipos] + [total]]
    for c in total_fila:
        c.font = Font(bold=True)
    resumen.append(total_fila)
    resumen.append([])
    resumen.append([f"Zonificaciones remitidas a Div. Facturación — {mes:%m/%Y}"])
    resumen.append([f"Generada el {timezone.localtime():%d/%m/%Y %H:%M}"])
    wb.save(destino)
    return total
