"""The month's zonification workbook for Div. Facturación (21.1), written with openpyxl in
write-only mode (rows streamed from the database, memory flat): a sheet of cases and a
summary sheet — the seed's "hoja dinámica" — with counts by zone and by correction type."""
from collections import Counter

from django.db import connection
from django.db.models import BooleanField, DateTimeField, F, FloatField, Func, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .. import calendario
from ..models import Zonificacion

# (header, width); the values come from CAMPOS, in this order (see escribir)
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
]
# What a row reads: plain values from one query (no model instances); the last three make
# «Recibida por» (the user's full name, else the username, like get_full_name/get_username).
CAMPOS = ("solicitud__numero_smartflex", "orden__numero", "solicitud__cliente_nombre", "zona_anterior__nombre",
          "zona_corregida__nombre", "tipo_correccion", "calle", "referencia", "caja_nap", "latitud", "longitud",
          "orden__ejecutada_at", "creado_at", "digitada_at",
          "recibida_por__first_name", "recibida_por__last_name", "recibida_por__username")
FORMATO_FECHA = "dd/mm/yyyy hh:mm"
CABECERA_FUENTE = Font(bold=True, color="FFFFFF")
CABECERA_FONDO = PatternFill("solid", fgColor="1F4E78")


def filas_de(pks):
    """The zonifications of the workbook as tuples of CAMPOS, streamed from a server-side
    cursor (one query, chunks of 2,000 rows: memory flat, no model instances). Coordinates
    come as floats and dates as naive local datetimes (Excel has no time zones)."""
    tz = timezone.get_current_timezone()
    fechas = {c: F(c) for c in CAMPOS if c.endswith("_at")}
    qs = Zonificacion.objects.order_by("zona_corregida__nombre", "digitada_at", "pk")
    if connection.vendor == "postgresql":
        # One array parameter, not an IN list of every pk (compiled and sent one by one), and
        # local time computed by the database: psycopg's C loader reads the naive timestamps.
        qs = qs.filter(RawSQL(f'"{Zonificacion._meta.db_table}"."id" = ANY(%s)', (list(pks),), BooleanField()))
        fechas = {c: Func(f, Value(calendario.zona_horaria_sql()), arg_joiner=" AT TIME ZONE ", template="(%(expressions)s)",
                          output_field=DateTimeField()) for c, f in fechas.items()}
    else:
        qs = qs.filter(pk__in=pks)
    qs = qs.annotate(**{f"_{c}": f for c, f in fechas.items()},
                     **{f"_{c}": Cast(c, FloatField()) for c in ("latitud", "longitud")})
    filas = qs.values_list(*[f"_{c}" if c in fechas or c in ("latitud", "longitud") else c for c in CAMPOS])
    filas = filas.iterator(chunk_size=2000)
    if connection.vendor == "postgresql":
        return filas
    posiciones = [i for i, c in enumerate(CAMPOS) if c in fechas]
    return (tuple(v.astimezone(tz).replace(tzinfo=None) if i in posiciones and v else v for i, v in enumerate(f))
            for f in filas)


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
    for i, (_, ancho) in enumerate(COLUMNAS, start=1):
        casos.column_dimensions[get_column_letter(i)].width = ancho
    _cabecera(casos, [c[0] for c in COLUMNAS])
    por_zona, por_tipo, cruce = Counter(), Counter(), Counter()
    total = 0
    # Per-cell work kept to what openpyxl itself does: plain values go in as they are (openpyxl
    # reuses one cell for them); a date needs its own cell, built with the one style array of
    # the date format (no style lookups per cell).
    plantilla = WriteOnlyCell(casos)
    plantilla.number_format = FORMATO_FECHA
    estilo_fecha = plantilla._style
    etiquetas = dict(Zonificacion.TipoCorreccion.choices)
    agregar = casos.append

    def fecha(dt):
        return None if dt is None else Cell(casos, 1, 1, dt, estilo_fecha)

    for (numero, ot, cliente, anterior, zona, tipo, calle, referencia, caja, lat, lon, ejecutada, creada, digitada,
         nombre, apellido, usuario) in zonificaciones:
        tipo = etiquetas.get(tipo, tipo)  # a value no longer among the choices: shown as stored
        agregar((numero, ot, cliente, anterior or "", zona, tipo, calle, referencia, caja, lat, lon,
                 fecha(ejecutada), fecha(creada), fecha(digitada), f"{nombre} {apellido}".strip() or usuario))
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
