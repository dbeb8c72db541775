"""The Smartflex integration: import of an export of Solicitudes and OTs (CSV or XLSX) and the
export back of the period's cancellations and re-digitations (CSV).

Import, in two streaming passes over the file (bounded memory: csv module / openpyxl read_only,
batches of settings.ANULACIONES_IMPORTACION_LOTE rows):

1. validate every row (columns, required data, lengths, tipo, zone code, asesor username,
   dates, numbers duplicated inside the file, OT numbers taken by another Solicitud) and
   collect every error as {fila, columna, mensaje}. Nothing is written.
2. if there is no error, or the user chose to import the good rows: per batch, rows whose
   Smartflex number is new are born through ``transitions.crear_en_bloque`` (Solicitud + OT +
   audit rows); known ones have their data fields corrected through
   ``transitions.actualizar_datos_en_bloque`` when they differ and the Solicitud is not final;
   identical rows change nothing (so the same file twice writes nothing the second time).
"""
import csv
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from . import transitions
from .models import ImportacionSmartflex, OrdenDeTrabajo, RegistroAuditoria, Solicitud, Zona
from .roles import Rol

log = logging.getLogger(__name__)

COLUMNAS = ["numero_smartflex", "tipo", "cliente_nombre", "cliente_documento", "cliente_telefono", "calle",
            "numero_puerta", "zona", "referencias", "caja_nap", "plan", "vendedor", "asesor", "numero_ot",
            "fecha_registro"]
REQUERIDAS = ["numero_smartflex", "tipo", "cliente_nombre", "calle", "zona", "asesor"]
FORMATOS_FECHA = ["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y",
                  "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"]
TIPOS = {**{v: v for v in Solicitud.Tipo.values}, **{l.lower(): v for v, l in Solicitud.Tipo.choices},
         "migracion": "migracion", "instalacion": "instalacion"}
MAX_ERRORES_GUARDADOS = 100_000
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ArchivoInvalido(Exception):
    """The file as a whole cannot be read (not a spreadsheet, empty, wrong columns)."""

    def __init__(self, errores):
        super().__init__(errores[0]["mensaje"])
        self.errores = errores


def _error(fila, columna, mensaje):
    return {"fila": fila, "columna": columna, "mensaje": mensaje}


# --- reading: (row number as the user sees it, {column: text}) ------------------------------------
def _texto(valor):
    if valor is None:
        return ""
    if isinstance(valor, float) and valor.is_integer():
        return str(int(valor))
    if isinstance(valor, datetime):
        return valor.strftime("%Y-%m-%d %H:%M:%S")
    return str(valor).strip()


def _cabecera(celdas):
    cab = [_texto(c).strip().lower().lstrip("\ufeff") for c in celdas]
    while cab and not cab[-1]:
        cab.pop()
    errores = []
    desconocidas = [c for c in cab if c not in COLUMNAS]
    faltan = [c for c in REQUERIDAS if c not in cab]
    for c in desconocidas:
        errores.append(_error(1, c or "(vacía)", f"Columna desconocida. Columnas válidas: {', '.join(COLUMNAS)}."))
    for c in faltan:
        errores.append(_error(1, c, "Falta esta columna obligatoria."))
    for c in {c for c in cab if cab.count(c) > 1}:
        errores.append(_error(1, c, "Columna repetida."))
    if errores:
        raise ArchivoInvalido(errores)
    return cab


def leer_filas(ruta):
    """Stream the rows of a CSV (UTF-8, separated by , ; or tab) or XLSX file."""
    with open(ruta, "rb") as f:
        inicio = f.read(4)
    if inicio == b"":
        raise ArchivoInvalido([_error(0, "", "El archivo está vacío.")])
    if inicio.startswith(b"PK\x03\x04"):
        yield from _leer_xlsx(ruta)
    else:
        yield from _leer_csv(ruta)


def _leer_csv(ruta):
    no_es = [_error(0, "", "El archivo no es una planilla CSV (UTF-8) ni XLSX.")]
    try:
        with open(ruta, encoding="utf-8-sig", newline="") as f:
            primera = f.readline()
            if "\x00" in primera:
                raise ArchivoInvalido(no_es)
            separador = max(",;\t", key=primera.count)
            f.seek(0)
            lector = csv.reader(f, delimiter=separador)
            try:
                cab = _cabecera(next(lector))
            except StopIteration:
                raise ArchivoInvalido([_error(0, "", "El archivo está vacío.")]) from None
            for celdas in lector:
                if not any(c.strip() for c in celdas):
                    continue
                yield lector.line_num, _fila(cab, celdas, lector.line_num)
    except (UnicodeDecodeError, csv.Error):
        raise ArchivoInvalido(no_es) from None


def _fila(cab, celdas, numero):
    datos = {c: _texto(v) for c, v in zip(cab, celdas)}
    if len(celdas) > len(cab) and any(_texto(v) for v in celdas[len(cab):]):
        datos["__sobran__"] = True
    return datos


def _leer_xlsx(ruta):
    from openpyxl import load_workbook

    try:
        wb = load_workbook(open(ruta, "rb"), read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - zip, XML or openpyxl errors: all mean "not an XLSX"
        raise ArchivoInvalido([_error(0, "", f"El archivo no es una planilla XLSX válida ({type(e).__name__}).")]) from None
    try:
        hoja = wb.worksheets[0]
        filas = hoja.iter_rows(values_only=True)
        cab = None
        for numero, celdas in enumerate(filas, start=1):
            if cab is None:
                cab = _cabecera(celdas)
                continue
            if not any(_texto(c) for c in celdas):
                continue
            yield numero, _fila(cab, celdas, numero)
        if cab is None:
            raise ArchivoInvalido([_error(0, "", "El archivo está vacío.")])
    finally:
        wb.close()


# --- validation -------------------------------------------------------------------------------
class Validador:
    def __init__(self):
        self.zonas = dict(Zona.objects.filter(activa=True).values_list("codigo", "pk"))
        self.asesores = dict(get_user_model().objects.filter(groups__name=Rol.ASESOR, is_active=True)
                             .values_list("username", "pk"))
        self.largos = {f.name: f.max_length for f in Solicitud._meta.concrete_fields if f.max_length}
        self.largos["numero_ot"] = OrdenDeTrabajo._meta.get_field("numero").max_length
        self.numeros = {}  # numero_smartflex -> first row
        self.ots = {}
        self.tz = timezone.get_default_timezone()
        self.manana = timezone.localdate() + timedelta(days=1)

    def fecha(self, texto):
        for formato in FORMATOS_FECHA:
            try:
                valor = datetime.strptime(texto, formato)
            except ValueError:
                continue
            if valor.date() > self.manana or valor.year < 2000:
                return None
            if formato in ("%Y-%m-%d", "%d/%m/%Y"):
                valor = datetime.combine(valor.date(), time(12, 0))
            return timezone.make_aware(valor, self.tz)
        return None

    def fila(self, n, f):
        """(data for the engine, [errors]) of one row; duplicates are checked across the file."""
        errores, datos = [], {}
        if f.pop("__sobran__", False):
            errores.append(_error(n, "", "La fila tiene más celdas que columnas la cabecera."))
        for c, valor in list(f.items()):
            if CONTROL.search(valor):
                errores.append(_error(n, c, "Contiene caracteres de control."))
                f[c] = ""
        for c in REQUERIDAS:
            if not f.get(c):
                errores.append(_error(n, c, "Dato obligatorio vacío."))
        for c, largo in self.largos.items():
            if c in f and len(f[c]) > largo:
                errores.append(_error(n, c, f"Más de {largo} caracteres."))
        for c in ("cliente_nombre", "cliente_documento", "cliente_telefono", "calle", "numero_puerta", "referencias",
                  "caja_nap", "plan", "vendedor"):
            if c in f:  # a column absent from the file leaves the data as it is
                datos[c] = f[c]
        numero = f.get("numero_smartflex", "")
        datos["numero_smartflex"] = numero
        if f.get("tipo"):
            tipo = TIPOS.get(f["tipo"].strip().lower())
            if tipo is None:
                errores.append(_error(n, "tipo", f"Tipo «{f['tipo']}» desconocido: {', '.join(Solicitud.Tipo.values)}."))
            datos["tipo"] = tipo
        if f.get("zona"):
            datos["zona_id"] = self.zonas.get(f["zona"])
            if datos["zona_id"] is None:
                errores.append(_error(n, "zona", f"Zona «{f['zona']}» desconocida."))
        if f.get("asesor"):
            datos["asesor_id"] = self.asesores.get(f["asesor"])
            if datos["asesor_id"] is None:
                errores.append(_error(n, "asesor", f"«{f['asesor']}» no es un asesor activo."))
        if f.get("fecha_registro"):
            datos["creado_at"] = self.fecha(f["fecha_registro"])
            if datos["creado_at"] is None:
                errores.append(_error(n, "fecha_registro", f"Fecha «{f['fecha_registro']}» inválida (AAAA-MM-DD o "
                                                            "DD/MM/AAAA, no futura)."))
        datos["numero_ot"] = f.get("numero_ot", "")
        duplicadas = []
        for clave, campo, vistos in ((numero, "numero_smartflex", self.numeros),
                                     (datos["numero_ot"], "numero_ot", self.ots)):
            if not clave:
                continue
            if clave in vistos:
                primera = vistos[clave]
                errores.append(_error(n, campo, f"«{clave}» repetido en el archivo (también en la fila {primera})."))
                duplicadas.append(_error(primera, campo, f"«{clave}» repetido en el archivo (también en la fila {n})."))
            else:
                vistos[clave] = n
        return datos, errores, duplicadas


def _conflictos_ot(lote):
    """Rows whose OT number belongs to another Solicitud in the database, or whose known
    Solicitud has an OT with another number (one query for the batch)."""
    errores = []
    numeros = [d["numero_smartflex"] for _, d in lote]
    ots = {d["numero_ot"] or f"OT-{d['numero_smartflex']}": (n, d) for n, d in lote}
    # Two index lookups in one UNION query: an OR across the join made PostgreSQL scan and hash
    # both tables whole for every batch (~230 ms a batch at 165k OTs, growing with the data).
    campos = ("numero", "solicitud__numero_smartflex")
    existentes = dict(OrdenDeTrabajo.objects.filter(numero__in=list(ots)).order_by().values_list(*campos).union(
        OrdenDeTrabajo.objects.filter(solicitud__numero_smartflex__in=numeros).order_by().values_list(*campos)))
    ot_de = {sf: ot for ot, sf in existentes.items()}
    for n, d in lote:
        ot = d["numero_ot"] or f"OT-{d['numero_smartflex']}"
        duena = existentes.get(ot)
        if duena is not None and duena != d["numero_smartflex"]:
            errores.append(_error(n, "numero_ot", f"La OT {ot} ya pertenece a la solicitud {duena}."))
        elif d["numero_ot"] and d["numero_smartflex"] in ot_de and ot_de[d["numero_smartflex"]] != d["numero_ot"]:
            errores.append(_error(n, "numero_ot", f"La solicitud ya tiene la OT {ot_de[d['numero_smartflex']]}."))
    return errores


# --- the whole import ------------------------------------------------------------------------
@dataclass
class Resultado:
    total: int = 0
    procesadas: int = 0
    creadas: int = 0
    actualizadas: int = 0
    sin_cambios: int = 0
    omitidas: int = 0
    errores: list = field(default_factory=list)
    avisos: list = field(default_factory=list)
    importado: bool = False

    @property
    def con_error(self):
        return len({e["fila"] for e in self.errores})


def _lotes(iterable, n):
    lote = []
    for x in iterable:
        lote.append(x)
        if len(lote) >= n:
            yield lote
            lote = []
    if lote:
        yield lote


def validar(ruta, resultado, progreso=None):
    """Pass 1: every error of the file, nothing written. Returns the set of bad row numbers."""
    v = Validador()
    malas = set()
    tam = settings.ANULACIONES_IMPORTACION_LOTE
    for lote in _lotes(leer_filas(ruta), tam):
        validas = []
        for n, f in lote:
            datos, errores, duplicadas = v.fila(n, f)
            resultado.total += 1
            if errores:
                resultado.errores.extend(errores)
                malas.add(n)
            else:
                validas.append((n, datos))
            for e in duplicadas:
                resultado.errores.append(e)
                malas.add(e["fila"])
        for e in _conflictos_ot([(n, d) for n, d in validas if n not in malas]):
            resultado.errores.append(e)
            malas.add(e["fila"])
        resultado.procesadas = resultado.total
        if progreso:
            progreso(resultado)
    if resultado.total == 0:
        raise ArchivoInvalido([_error(0, "", "El archivo no tiene filas de datos.")])
    resultado.errores.sort(key=lambda e: (e["fila"], COLUMNAS.index(e["columna"]) if e["columna"] in COLUMNAS else 99))
    return malas


def aplicar_filas(ruta, usuario, malas, resultado, nota, progreso=None):
    """Pass 2: births and data corrections, batch by batch, through the engine."""
    v = Validador()
    tam = settings.ANULACIONES_IMPORTACION_LOTE
    resultado.procesadas = 0
    for lote in _lotes(((n, f) for n, f in leer_filas(ruta) if n not in malas), tam):
        filas = [(n, v.fila(n, f)[0]) for n, f in lote]
        conocidas = {s.numero_smartflex: s for s in Solicitud.objects.filter(
            numero_smartflex__in=[d["numero_smartflex"] for _, d in filas])}
        nuevas, cambios, fila_de = [], {}, {}
        for n, d in filas:
            s = conocidas.get(d["numero_smartflex"])
            if s is None:
                nuevas.append({k: val for k, val in d.items() if k != "numero_ot" or val})
                continue
            diferentes = {c: d[c] for c in transitions.CAMPOS_DATOS_SMARTFLEX if c in d and getattr(s, c) != d[c]}
            for c, campo in (("zona_id", "zona"), ("asesor_id", "asesor")):
                if d.get(c) != getattr(s, c):
                    resultado.avisos.append(_error(n, campo, f"No se cambia desde Smartflex ({campo} de una solicitud "
                                                             "ya registrada: corríjala por zonificación o en la aplicación)."))
            if not diferentes:
                resultado.sin_cambios += 1
            else:
                cambios[s.pk] = diferentes
                fila_de[s.pk] = n
        if nuevas:
            resultado.creadas += len(transitions.crear_en_bloque(usuario, nuevas, nota=nota))
        hechas, omitidas = transitions.actualizar_datos_en_bloque(usuario, cambios, nota=nota)
        resultado.actualizadas += len(hechas)
        resultado.omitidas += len(omitidas)
        for pk, motivo in omitidas.items():
            resultado.avisos.append(_error(fila_de[pk], "", motivo))
        resultado.procesadas += len(lote)
        if progreso:
            progreso(resultado)
    resultado.importado = True
    return resultado


def importar(ruta, usuario, *, aceptar_validas=False, nombre="", progreso=None, etapa=None):
    """Validate, then import unless there are errors and ``aceptar_validas`` is false."""
    resultado = Resultado()
    try:
        malas = validar(ruta, resultado, progreso)
    except ArchivoInvalido as e:
        resultado.errores = e.errores
        return resultado
    if resultado.errores and not aceptar_validas:
        return resultado
    if etapa:
        etapa(ImportacionSmartflex.Etapa.IMPORTANDO)
    nota = f"Importado de Smartflex ({nombre or ruta})."
    return aplicar_filas(ruta, usuario, malas, resultado, nota, progreso)


@shared_task(acks_late=True)
def importar_smartflex(importacion_id):
    """Run an uploaded import, saving its progress after every batch for the page."""
    imp = ImportacionSmartflex.objects.select_related("usuario").get(pk=importacion_id)
    if imp.terminada and not (imp.etapa == imp.Etapa.CON_ERRORES and imp.aceptar_validas):
        return imp.etapa
    campos = ["etapa", "total", "procesadas", "creadas", "actualizadas", "sin_cambios", "omitidas", "con_error"]

    def progreso(r):
        for c in campos[1:]:
            setattr(imp, c, getattr(r, c))
        imp.save(update_fields=campos)

    def etapa(valor):
        imp.etapa = valor
        imp.save(update_fields=["etapa"])

    etapa(imp.Etapa.VALIDANDO)
    try:
        r = importar(imp.archivo.path, imp.usuario, aceptar_validas=imp.aceptar_validas, nombre=imp.nombre,
                     progreso=progreso, etapa=etapa)
    except Exception as e:  # a batch failed (e.g. a number taken meanwhile): earlier batches stay
        log.exception("Importación %s falló", imp.pk)
        imp.etapa, imp.mensaje, imp.terminado_at = imp.Etapa.FALLIDA, f"{type(e).__name__}: {e}"[:2000], timezone.now()
        imp.save(update_fields=["etapa", "mensaje", "terminado_at"])
        raise
    progreso(r)
    imp.errores = r.errores[:MAX_ERRORES_GUARDADOS]
    imp.avisos = r.avisos[:MAX_ERRORES_GUARDADOS]
    imp.etapa = imp.Etapa.TERMINADA if r.importado else imp.Etapa.CON_ERRORES
    imp.mensaje = resumen(r)
    imp.terminado_at = timezone.now()
    imp.save()
    return imp.etapa


def resumen(r):
    if not r.importado:
        if r.total == 0:
            return "No se importó nada: " + (r.errores[0]["mensaje"] if r.errores else "archivo vacío.")
        return (f"No se importó nada: {r.con_error} de {r.total} filas tienen errores. Corrija el archivo o "
                "importe solo las filas válidas.")
    return (f"{r.total} filas: {r.creadas} solicitudes nuevas, {r.actualizadas} actualizadas, {r.sin_cambios} "
            f"sin cambios, {r.omitidas} omitidas, {r.con_error} con errores (no importadas).")


# --- export back to Smartflex ------------------------------------------------------------------
COLUMNAS_EXPORTACION = ["numero_smartflex", "numero_ot", "accion", "fecha", "motivo", "nuevo_numero_smartflex",
                        "zona", "asesor"]


def exportacion(desde, hasta):
    """Rows (lists) of the Solicitudes cancelled or re-digitated in [desde, hasta] (local dates),
    dated by their audit row; streamed in chunks, a constant number of queries."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import OuterRef, Subquery

    from .selectors import dia_local

    inicio, fin = dia_local(desde)[0], dia_local(hasta)[1]
    ct = ContentType.objects.get_for_model(Solicitud)
    fecha = (RegistroAuditoria.objects.filter(content_type=ct, object_id=OuterRef("pk"),
                                              estado_destino=OuterRef("estado"))
             .order_by("-creado_at").values("creado_at")[:1])
    finales = [Solicitud.E.ANULADA, Solicitud.E.REDIGITADA]
    # Start from the period's audit rows (indexed by date), not from every cancellation ever.
    del_periodo = RegistroAuditoria.objects.filter(content_type=ct, estado_destino__in=finales,
                                                   creado_at__gte=inicio, creado_at__lt=fin).values("object_id")
    qs = (Solicitud.objects.filter(estado__in=finales, pk__in=del_periodo)
          .annotate(fecha_evento=Subquery(fecha)).filter(fecha_evento__gte=inicio, fecha_evento__lt=fin)
          .select_related("orden", "zona", "asesor", "reemplazada_por").order_by("fecha_evento", "pk"))
    yield COLUMNAS_EXPORTACION
    for s in qs.iterator(chunk_size=2000):
        redigitada = s.estado == Solicitud.E.REDIGITADA
        yield [s.numero_smartflex, getattr(getattr(s, "orden", None), "numero", ""),
               "REDIGITACION" if redigitada else "ANULACION",
               timezone.localtime(s.fecha_evento).strftime("%Y-%m-%d %H:%M:%S"), s.motivo_anulacion,
               s.reemplazada_por.numero_smartflex if redigitada and s.reemplazada_por else "",
               s.zona.codigo, s.asesor.username]
