"""Reconciliation with Smartflex (issue 18), part 1: the status feed and the differences it shows.

Smartflex is the commercial system of record; the seed measures the indicator «en sistema
Smartflex». A cancellation made there directly is invisible to the application until Smartflex
tells it. This module imports the statuses Smartflex reports (a file: the page, the API, the
command ``importar_estados_smartflex``, or the drop folder ``ANULACIONES_SMARTFLEX_CARPETA``),
keeps the latest one per number (``EstadoSmartflex``) and opens a ``Diferencia`` where it
disagrees with the application. It never changes a Solicitud's state: a person resolves a
difference (``diferencias``), unless ``ANULACIONES_SMARTFLEX_AUTOMATICO`` names its class.

The feed's columns (header names in any case; accents, spaces, dots and dashes are tolerated:
«Número», «FECHA», «Cliente documento» are ``numero``, ``fecha``, ``cliente_documento``):

====================== ========= ================================================================
column                 required  content
====================== ========= ================================================================
``tipo``               no        ``solicitud`` (also ``sol``) or ``ot`` (also ``orden``, ``orden de
                                 trabajo``): what ``numero`` is. Absent or empty: ``solicitud``.
``numero``             yes       the Smartflex number of the Solicitud, or the OT's number.
``estado``             yes       Smartflex's status, mapped to three (``ESTADOS``):
                                 registrada, pendiente, generada, asignada, en curso, vigente →
                                 **registrada**; anulada, anulado, cancelada, cancelado →
                                 **anulada**; ejecutada, ejecutado, instalada, instalado,
                                 finalizada, finalizado → **ejecutada**. Any other word is a row error.
``fecha``              yes       when the status was reached: ``DD/MM/AAAA`` or ``AAAA-MM-DD``, with
                                 an optional ``HH:MM[:SS]``, or ISO 8601 (with or without offset);
                                 local time (``TIME_ZONE``) unless it says otherwise; a date alone
                                 is noon; seconds are the precision. Not before 2000, not after
                                 tomorrow.
``motivo``             no        the reason of a cancellation.
``usuario``            no        the Smartflex user who made the change.
``cliente_documento``  no        the customer's keys: they pair re-entries (``emparejamiento``).
``cliente_telefono``   no
``direccion``          no
``cliente_nombre``     no        with ``zona`` (zone code) and ``asesor`` (username): the data of a
``zona``               no        case created for a cancellation that exists only in Smartflex
``asesor``             no        (class ``sin_caso``).
====================== ========= ================================================================

Aliases (``ALIAS``): ``nro`` and ``numero_smartflex`` → ``numero``; ``objeto`` → ``tipo``;
``fecha_estado`` → ``fecha``; ``documento`` → ``cliente_documento``; ``telefono`` →
``cliente_telefono``. Any other column is refused, like a repeated one.

The file is read like the import of Solicitudes (``importacion``: CSV in UTF-8, with or without
BOM, or Windows-1252, separated by ``,`` ``;`` or tab; XLSX, first sheet; the same limits of size,
columns, rows and text), in two streaming passes (bounded memory):

1. validation of every row; with any error nothing is written (unless the user chose to import
   the valid rows), and each error says its row and column.
2. per batch of ``ANULACIONES_IMPORTACION_LOTE`` rows, in one transaction each: the rows are
   stored with an order-independent upsert — one row per (``tipo``, ``numero``), replaced only by
   a row whose (``fecha``, ``clave``) is greater, ``clave`` being a digest of the row's content —
   so several rows of one number (in one file or across files) leave the latest, whatever the
   order they came in; then each stored row of the batch is matched to the application (a
   Solicitud by ``numero_smartflex``, an OT by its number → its Solicitud) and compared
   (``detectar``). The same feed twice, or its halves in either order, ends in the same rows and
   the same open differences. A job stopped in the middle is run again from the start by the
   pickup: what it had written is written again identically.

Differences (``Diferencia.Clase``), from the stored (latest) status and the application's current
state (for an OT row: the OT's state and its Solicitud's):

- Smartflex ``anulada``, the case not cancelled in the application (Solicitud not ``anulada``,
  ``pendiente_redigitacion`` nor ``redigitada``, and OT not ``anulada``): ``anulada_en_smartflex``.
- Smartflex ``anulada``, number unknown: ``sin_caso``.
- Smartflex ``registrada`` or ``ejecutada``, the application ``anulada`` (Solicitud or OT; a
  re-digitation pending or done is not a cancellation Smartflex must know): ``anulada_en_aplicacion``.
- Smartflex ``ejecutada``, the application neither ``instalada`` (OT ``ejecutada``) nor cancelled:
  ``ejecutada_en_smartflex``.
- anything else: none. A ``registrada``/``ejecutada`` row of an unknown number is a warning of
  its row («Número desconocido en la aplicación: impórtelo como solicitud.»).

At most one difference per stored row is open: it is opened when missing, its class and the
application's state follow the data, and it is removed when it no longer holds (nobody decided on
it). A resolved one is never touched, and the same difference is not opened again for the same
Smartflex data once a person resolved it (only a later status of that number can open a new one).

After the rows: the classes named by ``ANULACIONES_SMARTFLEX_AUTOMATICO`` are applied
(``diferencias.aplicar_automaticas``) and the re-entries are paired (``emparejamiento.emparejar``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time as reloj_de_pared
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Field, Q
from django.utils import timezone

from . import diferencias, emparejamiento, importacion
from .errors import DatosInvalidos
from .espanol import cuenta
from .importacion import (
    CONTROL,
    FORMATOS_FECHA,
    ArchivoInvalido,
    Columnas,
    ErrorFila,
    Resultado,
    Ruta,
    _corto,
    _error,
    _lotes,
    _miles,
    primera_pasada,
)
from .models import Diferencia, EstadoSmartflex, ImportacionSmartflex
from .transitions import usuario_sistema

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

# --- the feed's columns ---------------------------------------------------------------------------
COLUMNAS = [
    "tipo",
    "numero",
    "estado",
    "fecha",
    "motivo",
    "usuario",
    "cliente_documento",
    "cliente_telefono",
    "direccion",
    "cliente_nombre",
    "zona",
    "asesor",
]
REQUERIDAS = ["numero", "estado", "fecha"]
# Other names a Smartflex export or a person may give a column (after folding accents and spaces).
ALIAS = {
    "nro": "numero",
    "numero_smartflex": "numero",
    "objeto": "tipo",
    "fecha_estado": "fecha",
    "documento": "cliente_documento",
    "telefono": "cliente_telefono",
}
_NO_ALFANUMERICO = re.compile(r"[^a-z0-9]+")


def _plegar(texto: str) -> str:
    """Lower case without accents, runs of anything else than letters and digits as one ``_``:
    «Número », «N.º documento» and «FECHA-ESTADO» compare as numero, n_o_documento, fecha_estado."""
    sin_tildes = "".join(c for c in unicodedata.normalize("NFKD", texto.lower()) if not unicodedata.combining(c))
    return _NO_ALFANUMERICO.sub("_", sin_tildes).strip("_")


def nombre_de_columna(texto: str) -> str:
    """The column a header cell names (``ALIAS`` applied)."""
    nombre = _plegar(texto.lstrip("\ufeff"))
    return ALIAS.get(nombre, nombre)


ESTADOS_COLUMNAS = Columnas(tuple(COLUMNAS), tuple(REQUERIDAS), nombre_de_columna)

# Smartflex's words (folded: lower case, no accents, one space) → the three statuses kept.
_E = EstadoSmartflex.Estado
ESTADOS: dict[str, str] = {
    **dict.fromkeys(
        ["registrada", "registrado", "pendiente", "generada", "asignada", "en curso", "vigente"], _E.REGISTRADA
    ),
    **dict.fromkeys(["anulada", "anulado", "cancelada", "cancelado"], _E.ANULADA),
    **dict.fromkeys(["ejecutada", "ejecutado", "instalada", "instalado", "finalizada", "finalizado"], _E.EJECUTADA),
}
_O = EstadoSmartflex.Objeto
OBJETOS: dict[str, str] = {
    "solicitud": _O.SOLICITUD,
    "sol": _O.SOLICITUD,
    "ot": _O.OT,
    "orden": _O.OT,
    "orden de trabajo": _O.OT,
}
AVISO_DESCONOCIDO = "Número desconocido en la aplicación: impórtelo como solicitud."
AVISO_OT_DESCONOCIDA = (
    "OT desconocida en la aplicación: su anulación se concilia por la fila de su solicitud, o al importar la OT."
)
# The stored fields a row carries, in the order of its digest (``clave``).
CAMPOS = [
    "objeto",
    "numero",
    "estado",
    "estado_texto",
    "fecha",
    "motivo",
    "usuario",
    "cliente_documento",
    "cliente_telefono",
    "direccion",
    "cliente_nombre",
    "zona",
    "asesor",
]
_TEXTOS = CAMPOS[5:]  # motivo … asesor: free text, kept as written
Clave = tuple[str, str]  # (objeto, numero)


def _palabra(texto: str) -> str:
    return " ".join(_plegar(texto).split("_"))


def _lista(palabras: Iterable[str]) -> str:
    return ", ".join(palabras)


# --- validation ----------------------------------------------------------------------------------
# The two shapes Smartflex writes (DD/MM/AAAA and AAAA-MM-DD, with an optional HH:MM[:SS]) read
# by one regular expression each: trying every strptime format in turn raised (and caught) an
# exception per miss — a quarter of a 100,000-row import's time. Anything else takes that path.
_DMA = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?: ([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?")
_AMD = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?")


def _fecha_rapida(texto: str) -> datetime | None:
    """A naive local datetime of the two usual shapes (a date alone is noon: the middle of its
    day in any time zone), or None (another shape, or no such date: the formats decide)."""
    m = _DMA.fullmatch(texto)
    if m is not None:
        dia, mes, anio = int(m[1]), int(m[2]), int(m[3])
    elif (m := _AMD.fullmatch(texto)) is not None:
        anio, mes, dia = int(m[1]), int(m[2]), int(m[3])
    else:
        return None
    try:
        if m[4] is None:
            return datetime(anio, mes, dia, 12, 0)
        return datetime(anio, mes, dia, int(m[4]), int(m[5]), int(m[6] or 0))
    except ValueError:
        return None


class Validador:
    """One row of the feed → the data to store, or its errors. Rows of the same number are not
    an error: the latest wins when they are stored."""

    def __init__(self, lim: importacion.Limites | None = None) -> None:
        lim = lim or importacion.limites()
        campos = {f.name: f for f in EstadoSmartflex._meta.concrete_fields}
        self.largos: dict[str, int] = {}
        for c in COLUMNAS:
            campo = campos.get(c)
            self.largos[c] = (campo.max_length if campo is not None else None) or lim.texto
        self.largos["tipo"] = 30
        self.largos["estado"] = EstadoSmartflex._meta.get_field("estado_texto").max_length or lim.texto
        self.largos["fecha"] = 40
        self.tz = timezone.get_default_timezone()
        self.manana = timezone.localdate() + timedelta(days=1)

    def fecha(self, texto: str) -> datetime | None:
        valor = _fecha_rapida(texto)
        if valor is None:
            valor = self._fecha_por_formatos(texto)
        if valor is None:
            return None
        valor = valor.replace(microsecond=0)
        valor = timezone.make_aware(valor, self.tz) if timezone.is_naive(valor) else valor.astimezone(self.tz)
        if valor.date() > self.manana or valor.year < 2000:
            return None
        return valor

    @staticmethod
    def _fecha_por_formatos(texto: str) -> datetime | None:
        valor: datetime | None = None
        for formato in FORMATOS_FECHA:
            try:
                valor = datetime.strptime(texto, formato)
            except ValueError:
                continue
            if formato in ("%Y-%m-%d", "%d/%m/%Y"):
                valor = datetime.combine(valor.date(), time(12, 0))
            break
        if valor is None:
            try:
                valor = datetime.fromisoformat(texto)
            except ValueError:
                return None
        return valor

    def fila(self, n: int, f: dict[str, Any]) -> tuple[dict[str, Any] | None, list[ErrorFila]]:
        if "__error__" in f:
            return None, [_error(n, "", f["__error__"])]
        errores: list[ErrorFila] = []
        if f.pop("__sobran__", False):
            errores.append(_error(n, "", "La fila tiene más celdas que columnas la cabecera."))
        for c, valor in list(f.items()):
            if len(valor) > self.largos[c]:
                errores.append(_error(n, c, f"Más de {_miles(self.largos[c])} caracteres ({_miles(len(valor))})."))
                f[c] = ""
            elif CONTROL.search(valor):
                errores.append(_error(n, c, "Contiene caracteres de control."))
                f[c] = ""
        for c in REQUERIDAS:
            if not f.get(c) and not any(e["columna"] == c for e in errores):
                errores.append(_error(n, c, "Dato obligatorio vacío."))
        datos: dict[str, Any] = {c: f.get(c, "") for c in _TEXTOS}
        datos["numero"] = f.get("numero", "")
        datos["objeto"] = _O.SOLICITUD
        if f.get("tipo"):
            objeto = OBJETOS.get(_palabra(f["tipo"]))
            if objeto is None:
                errores.append(_error(n, "tipo", f"Tipo «{_corto(f['tipo'])}» desconocido: use solicitud u ot."))
            else:
                datos["objeto"] = objeto
        if f.get("estado"):
            estado = ESTADOS.get(_palabra(f["estado"]))
            if estado is None:
                errores.append(
                    _error(n, "estado", f"Estado «{_corto(f['estado'])}» desconocido: use {_lista(ESTADOS)}.")
                )
            datos["estado"], datos["estado_texto"] = estado, f["estado"]
        if f.get("fecha"):
            datos["fecha"] = self.fecha(f["fecha"])
            if datos["fecha"] is None:
                errores.append(
                    _error(
                        n,
                        "fecha",
                        f"Fecha «{_corto(f['fecha'])}» inválida (DD/MM/AAAA o AAAA-MM-DD, con hora HH:MM "
                        "opcional; no anterior a 2000 ni posterior a mañana).",
                    )
                )
        if errores:
            return None, errores
        datos["clave"] = clave(datos)
        return datos, []


def clave(datos: Mapping[str, Any]) -> str:
    """The digest of a row's content (its fecha in UTC, to the second): equal rows have equal
    claves, and two different rows of the same fecha are ordered by it, the same in any order."""
    partes = []
    for c in CAMPOS:
        valor = datos[c]
        if c == "fecha":
            valor = valor.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        partes.append(str(valor))
    return hashlib.sha1("\x1f".join(partes).encode(), usedforsecurity=False).hexdigest()


# --- storing: the order-independent upsert --------------------------------------------------------
_INSERTADOS = [*CAMPOS, "clave", "importacion", "actualizado_at"]


def _campo(nombre: str) -> Field[Any, Any]:
    return cast("Field[Any, Any]", EstadoSmartflex._meta.get_field(nombre))  # a column, not a relation


def _columna(nombre: str) -> str:
    return connection.ops.quote_name(_campo(nombre).column or nombre)


def _sql_upsert(filas: int) -> str:
    """The upsert of ``filas`` rows: on PostgreSQL one array parameter per column (``unnest``: a
    short statement whatever the batch, no 16,000 placeholders to convert), elsewhere VALUES."""
    tabla = connection.ops.quote_name(EstadoSmartflex._meta.db_table)
    columnas = [_columna(c) for c in _INSERTADOS]
    if connection.vendor == "postgresql":
        tipos = [_campo(c).db_type(connection) for c in _INSERTADOS]
        origen = "SELECT * FROM unnest(" + ", ".join(f"%s::{t}[]" for t in tipos) + ")"
    else:
        valores = "(" + ", ".join(["%s"] * len(columnas)) + ")"
        origen = f"VALUES {', '.join([valores] * filas)}"
    actualizar = ", ".join(f"{c} = excluded.{c}" for c in columnas[2:])
    fecha, clave_, estado = _columna("fecha"), _columna("clave"), _columna("estado")

    def rango(t: str) -> str:  # RANGO in SQL
        return f"CASE {t}.{estado} " + " ".join(f"WHEN '{e}' THEN {r}" for e, r in RANGO.items()) + " END"

    return (
        f"INSERT INTO {tabla} ({', '.join(columnas)}) {origen} "
        f"ON CONFLICT ({columnas[0]}, {columnas[1]}) DO UPDATE SET {actualizar} "
        f"WHERE (excluded.{fecha}, {rango('excluded')}, excluded.{clave_}) "
        f"> ({tabla}.{fecha}, {rango(tabla)}, {tabla}.{clave_})"
    )


def guardar(filas: list[dict[str, Any]], importacion_id: int | None = None) -> None:
    """Store rows (one per number: the caller keeps the latest of a batch) with one upsert per
    statement-sized chunk: a stored row is replaced only by a greater (fecha, RANGO, clave). PostgreSQL
    and SQLite ≥ 3.24 (row values: ≥ 3.15)."""
    campos = [_campo(c) for c in _INSERTADOS]
    ahora = timezone.now()
    por_sentencia = max(1, 30_000 // len(campos))  # SQLite's 32,766 and PostgreSQL's 65,535 parameters
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one array per column, the whole batch at once
            columnas: list[list[Any]] = [[] for _ in campos]
            for d in filas:
                valores = {**d, "importacion": importacion_id, "actualizado_at": ahora}
                for lista, c, campo in zip(columnas, _INSERTADOS, campos, strict=True):
                    lista.append(campo.get_db_prep_save(valores[c], connection))
            if filas:
                cursor.execute(_sql_upsert(len(filas)), columnas)
            return
        for parte in _lotes(filas, por_sentencia):
            parametros: list[Any] = []
            for d in parte:
                valores = {**d, "importacion": importacion_id, "actualizado_at": ahora}
                parametros += [
                    campo.get_db_prep_save(valores[c], connection) for c, campo in zip(_INSERTADOS, campos, strict=True)
                ]
            cursor.execute(_sql_upsert(len(parte)), parametros)


# --- the whole import --------------------------------------------------------------------------
def _nuevo_resultado() -> Resultado:
    return Resultado(columnas=ESTADOS_COLUMNAS.validas)


def _leer(ruta: Ruta) -> Iterator[importacion.FilaLeida]:
    return importacion.leer_filas(ruta, columnas=ESTADOS_COLUMNAS)


def validar(ruta: Ruta, resultado: Resultado, progreso: Callable[[Resultado], None] | None = None) -> set[int]:
    """Pass 1: every row's errors, nothing written. Returns the bad row numbers."""
    v = Validador()
    malas: set[int] = set()
    for lote in _lotes(_leer(ruta), settings.ANULACIONES_IMPORTACION_LOTE):
        for n, f in lote:
            resultado.total += 1
            _, errores = v.fila(n, f)
            for e in errores:
                resultado.error(e)
            if errores:
                malas.add(n)
        resultado.procesadas = resultado.total
        resultado.con_error = len(malas)
        if progreso:
            progreso(resultado)
    if resultado.total == 0:
        raise ArchivoInvalido([_error(0, "", "El archivo no tiene filas de datos.")])
    resultado.cerrar()
    return malas


# Two statuses of one number at the same instant (a date alone is noon: «registrada» and «anulada»
# of the same day tie) are ordered by how far along the procedure they are, then by content: a
# cancellation is never lost to a registration of its own day by the toss of a digest.
RANGO: dict[str, int] = {_E.REGISTRADA: 0, _E.EJECUTADA: 1, _E.ANULADA: 2}


def _orden(d: Mapping[str, Any]) -> tuple[datetime, int, str]:
    return d["fecha"], RANGO[d["estado"]], d["clave"]


def _aplicar_lote(lote: list[tuple[int, dict[str, Any]]], resultado: Resultado, importacion_id: int | None) -> None:
    """Store one batch of valid rows, match and compare them, in one transaction."""
    ultimas: dict[Clave, dict[str, Any]] = {}
    for _, d in lote:
        k = (d["objeto"], d["numero"])
        if k not in ultimas or _orden(d) > _orden(ultimas[k]):
            ultimas[k] = d
    if not ultimas:
        return
    numeros = Q()
    for objeto in (_O.SOLICITUD, _O.OT):
        deste = [n for o, n in ultimas if o == objeto]
        if deste:
            numeros |= Q(objeto=objeto, numero__in=deste)
    with transaction.atomic():
        guardadas = {
            (o, n): (f, RANGO[e], c)
            for o, n, f, e, c in EstadoSmartflex.objects.filter(numeros).values_list(
                "objeto", "numero", "fecha", "estado", "clave"
            )
        }
        for k, d in ultimas.items():
            if k not in guardadas:
                resultado.creadas += 1
            elif _orden(d) > guardadas[k]:
                resultado.actualizadas += 1
            else:
                resultado.sin_cambios += 1
        resultado.sin_cambios += len(lote) - len(ultimas)  # older rows of a number in this batch
        guardar(list(ultimas.values()), importacion_id)
        fuentes = diferencias.fuentes(EstadoSmartflex.objects.filter(numeros))
        app = diferencias.coincidencias(ultimas)
        abiertas, _ = diferencias.detectar_fuentes(fuentes, app)
    resultado.diferencias += abiertas
    for n, d in lote:
        if (d["objeto"], d["numero"]) in app:
            continue
        if d["objeto"] == _O.OT and d["estado"] == _E.ANULADA:
            resultado.aviso(_error(n, "numero", AVISO_OT_DESCONOCIDA))
        elif d["estado"] != _E.ANULADA:
            resultado.aviso(_error(n, "numero", AVISO_DESCONOCIDO))


def aplicar_filas(
    ruta: Ruta,
    malas: set[int],
    resultado: Resultado,
    importacion_id: int | None = None,
    progreso: Callable[[Resultado], None] | None = None,
) -> Resultado:
    """Pass 2: the valid rows stored and compared, batch by batch."""
    v = Validador()
    resultado.procesadas = 0
    inicio = timezone.now()
    validas = ((n, f) for n, f in _leer(ruta) if n not in malas)
    for lote in _lotes(validas, settings.ANULACIONES_IMPORTACION_LOTE):
        filas = []
        for n, f in lote:
            datos, _ = v.fila(n, f)
            if datos is not None:  # always, once validated (a file changed meanwhile: skipped)
                filas.append((n, datos))
        _aplicar_lote(filas, resultado, importacion_id)
        resultado.procesadas += len(lote)
        if progreso:
            progreso(resultado)
    # The differences this feed left open: one opened by an earlier batch (an older status of a
    # number) and removed by a later one (its newer status) is not counted.
    abiertas = Diferencia.objects.filter(estado=Diferencia.Estado.ABIERTA, detectada_at__gte=inicio)
    resultado.diferencias = abiertas.count()
    return resultado


def _despues(resultado: Resultado) -> None:
    """What follows a feed: the differences a setting marks as safe, applied; re-entries paired."""
    # Taken by the system user whoever imported: the setting decided them, not this person
    # (``diferencias``: a person's own role would have to allow each, and the drop folder has none).
    resultado.automaticas = diferencias.aplicar_automaticas()
    resultado.emparejadas = emparejamiento.emparejar()


def importar(
    ruta: Ruta,
    usuario: User,
    *,
    nombre: str = "",
    importacion: ImportacionSmartflex | None = None,
    progreso: Callable[[Resultado], None] | None = None,
    etapa: Callable[[str], None] | None = None,
    aceptar_validas: bool = False,
) -> Resultado:
    """Validate the feed at ``ruta`` (a local path), then store it and detect the differences,
    unless it has errors and ``aceptar_validas`` is false (nothing written). ``importacion``: the
    job whose rows these are (kept on each stored row). ``usuario`` and ``nombre`` are who imports
    and what, as for every import; the feed itself writes no transition in anyone's name (the
    automatic applications after it are the system user's: ``_despues``)."""
    resultado = _nuevo_resultado()
    malas = primera_pasada(ruta, resultado, validar, aceptar_validas=aceptar_validas, progreso=progreso, etapa=etapa)
    if malas is None:
        return resultado
    aplicar_filas(ruta, malas, resultado, importacion.pk if importacion else None, progreso)
    _despues(resultado)
    resultado.cerrar()
    resultado.importado = True
    return resultado


def resumen(r: Resultado) -> str:
    """The job's summary, in Spanish (the page, the command)."""
    if not r.importado:
        return importacion.resumen(r)
    partes = [
        f"{cuenta(r.total, 'fila', 'filas')}: {cuenta(r.creadas, 'número nuevo', 'números nuevos')}, "
        f"{_miles(r.actualizadas)} con un estado más reciente, {_miles(r.sin_cambios)} sin cambios, "
        f"{_miles(r.con_error)} con errores (no importadas).",
        f"{cuenta(r.diferencias, 'diferencia nueva', 'diferencias nuevas')} con la aplicación.",
    ]
    if r.automaticas:
        partes.append(f"{cuenta(r.automaticas, 'aplicada', 'aplicadas')} automáticamente.")
    if r.emparejadas:
        partes.append(f"{cuenta(r.emparejadas, 're-digitación propuesta', 're-digitaciones propuestas')}.")
    if r.total_avisos:
        partes.append(f"{cuenta(r.total_avisos, 'aviso', 'avisos')}.")
    return " ".join(partes) + importacion._no_guardados(r)


def _importar_trabajo(
    ruta: str, imp: ImportacionSmartflex, progreso: Callable[[Resultado], None], etapa: Callable[[str], None]
) -> Resultado:
    return importar(
        ruta,
        imp.usuario,
        nombre=imp.nombre,
        importacion=imp,
        progreso=progreso,
        etapa=etapa,
        aceptar_validas=imp.aceptar_validas,
    )


def ejecutar(importacion_id: int) -> str | None:
    """Run an uploaded status feed (``clase`` «estados»): the same claim, progress, heartbeat and
    recovery as any Smartflex import (``importacion.ejecutar``). The task ``importar_smartflex``."""
    return importacion.ejecutar(importacion_id, _importar_trabajo, resumen)


# --- how a feed arrives: the page/API upload, the drop folder -----------------------------------
EXTENSIONES = (".csv", ".xlsx")


def subir_estados(
    archivo_subido: UploadedFile | File[Any], usuario: User, *, aceptar_validas: bool = False, encolar: bool = True
) -> ImportacionSmartflex:
    """Store an uploaded feed as an import job («estados») and queue it (after the commit). The
    returned job has ``publicado`` = False when the broker did not take it (it stays «en cola» for
    the periodic pickup: the page may say so). DatosInvalidos: not a CSV/XLSX, or too big.
    ``encolar=False``: the caller runs it (``ejecutar``), as the command does: every feed, whatever
    way it came, is a job, so the indicator can say as of which one it is reconciled."""
    nombre = archivo_subido.name or "estados.csv"
    if archivo_subido.size is not None and archivo_subido.size > importacion.limites().bytes:
        raise DatosInvalidos({"archivo": importacion.mensaje_tamano(archivo_subido.size)})
    if not nombre.lower().endswith((*EXTENSIONES, ".txt")):
        raise DatosInvalidos({"archivo": "Suba un archivo .csv o .xlsx de estados exportado de Smartflex."})
    imp = ImportacionSmartflex.objects.create(
        clase=ImportacionSmartflex.Clase.ESTADOS,
        archivo=archivo_subido,
        nombre=nombre[:255],
        usuario=usuario,
        aceptar_validas=aceptar_validas,
    )
    if encolar:
        envio = importacion.encolar_importacion(imp)
        setattr(imp, "publicado", envio.publicado)  # noqa: B010 - not a model field: this request only
    return imp


# A file younger than this may still be being written (a partial upload): left for the next pickup.
ESPERA_CARPETA_SEGUNDOS = 10
PROCESADOS, CON_ERRORES, EN_CURSO = "procesados", "con_errores", "en_curso"


def _mover(ruta: str, carpeta: str) -> str:
    """Move ``ruta`` into ``carpeta`` (created), under a free name: «f.csv», «f-2.csv»…"""
    os.makedirs(carpeta, exist_ok=True)
    base, ext = os.path.splitext(os.path.basename(ruta))
    destino = os.path.join(carpeta, base + ext)
    n = 1
    while os.path.exists(destino):
        n += 1
        destino = os.path.join(carpeta, f"{base}-{n}{ext}")
    shutil.move(ruta, destino)
    return destino


def recoger_carpeta() -> list[int]:
    """The drop folder ``ANULACIONES_SMARTFLEX_CARPETA``: each *.csv / *.xlsx in it (not one
    modified in the last ``ESPERA_CARPETA_SEGUNDOS``: a copy in progress) becomes an import job
    «estados» of the system user; the file is moved to ``procesados/``, or to ``con_errores/``
    when it cannot be stored (too big, unreadable). Returns the jobs created, for the caller to
    queue. Each file is claimed by an atomic rename into ``en_curso/``, so two pickups at once
    never take the same file; one left there by a pickup that died is taken again later
    (importing a feed twice is harmless)."""
    carpeta = settings.ANULACIONES_SMARTFLEX_CARPETA
    if not carpeta or not os.path.isdir(carpeta):
        return []
    en_curso = os.path.join(carpeta, EN_CURSO)
    ahora = reloj_de_pared.time()
    # Claims older than the import heartbeat's limit: their pickup died between claim and store.
    if os.path.isdir(en_curso):
        limite = ahora - settings.ANULACIONES_IMPORTACION_LATIDO_MINUTOS * 60
        for nombre in sorted(os.listdir(en_curso)):
            ruta = os.path.join(en_curso, nombre)
            try:
                if os.path.getmtime(ruta) < limite:
                    _mover(ruta, carpeta)
            except OSError:
                continue
    creadas: list[int] = []
    sistema = None
    for nombre in sorted(os.listdir(carpeta)):
        ruta = os.path.join(carpeta, nombre)
        if not nombre.lower().endswith(EXTENSIONES) or not os.path.isfile(ruta):
            continue
        try:
            if ahora - os.path.getmtime(ruta) < ESPERA_CARPETA_SEGUNDOS:
                continue
            os.makedirs(en_curso, exist_ok=True)
            tomado = os.path.join(en_curso, nombre)
            if os.path.exists(tomado):
                continue
            os.rename(ruta, tomado)  # the claim: atomic, a second pickup finds the file gone
            os.utime(tomado)  # the claim's time, for a claim left by a dead pickup
        except OSError:
            continue
        sistema = sistema or usuario_sistema()
        try:
            if os.path.getsize(tomado) > importacion.limites().bytes:
                raise ValueError(importacion.mensaje_tamano(os.path.getsize(tomado)))
            with transaction.atomic(), open(tomado, "rb") as f:
                imp = ImportacionSmartflex(
                    clase=ImportacionSmartflex.Clase.ESTADOS, nombre=nombre[:255], usuario=sistema
                )
                imp.archivo.save(nombre, File(f, name=nombre), save=False)
                imp.save()
        except Exception:
            log.exception("Carpeta de Smartflex: %s no se pudo guardar; pasa a %s/", nombre, CON_ERRORES)
            _mover(tomado, os.path.join(carpeta, CON_ERRORES))
            continue
        _mover(tomado, os.path.join(carpeta, PROCESADOS))
        creadas.append(imp.pk)
    return creadas
