"""The Smartflex integration: import of an export of Solicitudes and OTs (CSV or XLSX) and the
export back of the period's cancellations and re-digitations (CSV).

Import, in two streaming passes over the file (bounded memory: csv module / openpyxl read_only,
batches of settings.ANULACIONES_IMPORTACION_LOTE rows):

1. validate every row (columns, required data, lengths, tipo, zone code, asesor username,
   dates, numbers duplicated inside the file, OT numbers taken by another Solicitud) and
   collect the errors as {fila, columna, mensaje}: every one is counted, the first
   ``ANULACIONES_IMPORTACION_MAX_ERRORES`` (by row) are kept. Nothing is written.
2. if there is no error, or the user chose to import the good rows: per batch, rows whose
   Smartflex number is new are born through ``transitions.crear_en_bloque`` (Solicitud + OT +
   audit rows); known ones have their data fields corrected through
   ``transitions.actualizar_datos_en_bloque`` when they differ and the Solicitud is not final;
   identical rows change nothing (so the same file twice writes nothing the second time).

Bounds (config/settings/base.py, issue 13): the file's size (``ANULACIONES_IMPORTACION_MAX_MB``), the
header's columns (``…_MAX_COLUMNAS``, checked before any per-column work: the check is linear),
the data rows (``…_MAX_FILAS``: reading stops at the first row over), every field (the model's
max_length; ``…_MAX_TEXTO`` for text without one, like ``referencias``), the errors kept. A CSV
may be UTF-8 (with or without BOM) or Windows-1252 (what Excel writes in Spanish locales), with
``,`` ``;`` or tab between fields.

The readers (``leer_filas`` with a ``Columnas`` spec), the bounds, the per-row errors
(``ErrorFila``, ``Resultado``) and the job's machinery (``ejecutar``: claim, progress, heartbeat,
report) are shared with the Smartflex status feed (``conciliacion``), which passes its own columns
and importer.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import logging
import os
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import IO, TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Field
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from . import cola, transitions
from .models import ImportacionSmartflex, OrdenDeTrabajo, RegistroAuditoria, Solicitud, Zona
from .roles import Rol

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)
T = TypeVar("T")
# A file to import: a local path.
Ruta = str | os.PathLike[str]
# A data row as read: (its number as the user sees it, {column: text}); the readers add
# ``__error__`` (the row could not be read) and ``__sobran__`` (cells past the header).
FilaLeida = tuple[int, dict[str, Any]]


class ErrorFila(TypedDict):
    """An error or warning of an import, as the page, the API and ImportacionSmartflex keep it."""

    fila: int  # 0: the file as a whole
    columna: str
    mensaje: str


# Who imports from Smartflex and exports back to it (the page and the navigation bar).
ROLES = frozenset({Rol.GESTION_RED, Rol.COC})

COLUMNAS = [
    "numero_smartflex",
    "tipo",
    "cliente_nombre",
    "cliente_documento",
    "cliente_telefono",
    "calle",
    "numero_puerta",
    "zona",
    "referencias",
    "caja_nap",
    "plan",
    "vendedor",
    "asesor",
    "numero_ot",
    "fecha_registro",
]
REQUERIDAS = ["numero_smartflex", "tipo", "cliente_nombre", "calle", "zona", "asesor"]


def _nombre_de_columna(texto: str) -> str:
    return texto.strip().lower().lstrip("\ufeff")


@dataclass(frozen=True)
class Columnas:
    """The columns of one kind of file: the valid names (in the order errors are sorted by), the
    required ones, and how a header cell's text becomes a column name (``nombre``: by default
    lower case, spaces and BOM trimmed; the status feed also folds accents and aliases)."""

    validas: tuple[str, ...]
    requeridas: tuple[str, ...]
    nombre: Callable[[str], str] = _nombre_de_columna


# The export of Solicitudes and OTs (this module's import).
SOLICITUDES = Columnas(tuple(COLUMNAS), tuple(REQUERIDAS))
FORMATOS_FECHA = [
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
]
TIPOS = {
    **{v: v for v in Solicitud.Tipo.values},
    **{e.lower(): v for v, e in Solicitud.Tipo.choices},
    "migracion": "migracion",
    "instalacion": "instalacion",
}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Lines / sheet rows read at most, blank ones included (Excel's own maximum): a file of blank
# lines or a sheet claiming row 10^9 stops here instead of being walked to its end.
MAX_LINEAS = 1_048_576
# An XLSX is a zip: its parts, uncompressed, may take at most this many times the upload limit
# (openpyxl loads the shared strings whole; a 104 KB file can hold 100 MB of one repeated text).
EXPANSION_XLSX = 20
MAX_CAMPO_CSV = csv.field_size_limit()  # 131,072 characters: a longer CSV field is a row error


def _miles(n: int) -> str:
    return f"{n:,}".replace(",", ".")


@dataclass(frozen=True)
class Limites:
    bytes: int
    columnas: int
    filas: int
    errores: int
    texto: int


def limites() -> Limites:
    """The bounds of an import, read from the settings at each call (tests change them)."""
    return Limites(
        bytes=int(settings.ANULACIONES_IMPORTACION_MAX_MB * 1024 * 1024),
        columnas=settings.ANULACIONES_IMPORTACION_MAX_COLUMNAS,
        filas=settings.ANULACIONES_IMPORTACION_MAX_FILAS,
        errores=settings.ANULACIONES_IMPORTACION_MAX_ERRORES,
        texto=settings.ANULACIONES_IMPORTACION_MAX_TEXTO,
    )


def _tamano_legible(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f}".rstrip("0").rstrip(".").replace(".", ",") + " MB"
    return f"{max(1, round(n / 1024))} KB"


def mensaje_tamano(tamano: int | None = None, maximo: int | None = None) -> str:
    """The refusal of a file too big (the pages, the JSON answer, the command); ``tamano`` when
    known (a request stopped while uploading only tells that it passed the limit)."""
    maximo = limites().bytes if maximo is None else maximo
    pesa = f"El archivo pesa {_tamano_legible(tamano)}: supera" if tamano else "El archivo supera"
    return f"{pesa} el máximo de {_tamano_legible(maximo)}. Divídalo en archivos más pequeños."


class ArchivoInvalido(Exception):
    """The file as a whole cannot be read (not a spreadsheet, empty, wrong columns, too big)."""

    def __init__(self, errores: list[ErrorFila]) -> None:
        super().__init__(errores[0]["mensaje"])
        self.errores = errores


def _error(fila: int, columna: str, mensaje: str) -> ErrorFila:
    return {"fila": fila, "columna": columna, "mensaje": mensaje}


def _corto(valor: object, largo: int = 60) -> str:
    """A value quoted in a message: never the whole of a huge cell."""
    valor = str(valor)
    return valor if len(valor) <= largo else f"{valor[:largo]}… ({_miles(len(valor))} caracteres)"


# --- reading: (row number as the user sees it, {column: text}) ------------------------------------
def _texto(valor: object) -> str:
    if valor is None:
        return ""
    if isinstance(valor, float) and valor.is_integer():
        return str(int(valor))
    if isinstance(valor, datetime):
        return valor.strftime("%Y-%m-%d %H:%M:%S")
    return str(valor).strip()


def _cabecera(celdas: Iterable[object], lim: Limites, columnas: Columnas = SOLICITUDES) -> list[str]:
    """The header's column names, or ArchivoInvalido. Linear: the width is checked before any
    per-column work, and repeated names are counted in one pass."""
    todas = ", ".join(columnas.validas)
    celdas = list(celdas)
    while celdas and (celdas[-1] is None or (isinstance(celdas[-1], str) and not celdas[-1].strip())):
        celdas.pop()
    if len(celdas) > lim.columnas:  # an XLSX is read only one column past the limit
        cuantas = f" ({_miles(len(celdas))})" if len(celdas) > lim.columnas + 1 else ""
        raise ArchivoInvalido(
            [
                _error(
                    1,
                    "",
                    f"La cabecera tiene más de {lim.columnas} columnas{cuantas}. Columnas válidas: {todas}.",
                )
            ]
        )
    cab = [columnas.nombre(_texto(c)) for c in celdas]
    errores: list[ErrorFila] = []
    validas = set(columnas.validas)
    for c in cab:
        if c not in validas:
            errores.append(_error(1, _corto(c) or "(vacía)", f"Columna desconocida. Columnas válidas: {todas}."))
    presentes = set(cab)
    for c in columnas.requeridas:
        if c not in presentes:
            errores.append(_error(1, c, "Falta esta columna obligatoria."))
    for c, veces in Counter(cab).items():
        if veces > 1:
            errores.append(_error(1, _corto(c) or "(vacía)", "Columna repetida."))
    if errores:
        raise ArchivoInvalido(errores)
    return cab


def _contar_filas(filas: Iterable[FilaLeida], lim: Limites) -> Iterator[FilaLeida]:
    """Pass the rows through, refusing the file at the first data row over the limit."""
    for n, (numero, datos) in enumerate(filas, start=1):
        if n > lim.filas:
            raise ArchivoInvalido(
                [
                    _error(
                        0,
                        "",
                        f"El archivo tiene más de {_miles(lim.filas)} filas de datos. "
                        "Divídalo en archivos más pequeños.",
                    )
                ]
            )
        yield numero, datos


def leer_filas(ruta: Ruta, lim: Limites | None = None, columnas: Columnas = SOLICITUDES) -> Iterator[FilaLeida]:
    """Stream the rows of a CSV or XLSX file with these ``columnas``, within the limits
    (``limites()`` by default)."""
    lim = lim or limites()
    tamano = os.path.getsize(ruta)
    if tamano == 0:
        raise ArchivoInvalido([_error(0, "", "El archivo está vacío.")])
    if tamano > lim.bytes:
        raise ArchivoInvalido([_error(0, "", mensaje_tamano(tamano, lim.bytes))])
    with open(ruta, "rb") as f:
        inicio = f.read(4)
    lector = _leer_xlsx(ruta, lim, columnas) if inicio.startswith(b"PK\x03\x04") else _leer_csv(ruta, lim, columnas)
    yield from _contar_filas(lector, lim)


def _codificacion(f: IO[bytes]) -> tuple[str | None, int]:
    """(encoding, BOM length) of a CSV: UTF-8 when the whole file decodes as UTF-8 (one streamed
    pass, no copy kept), else Windows-1252; a UTF-8 BOM is skipped either way. None when the
    start holds a NUL byte: a binary file (an image, a .xls), not text."""
    if b"\x00" in f.read(8192):
        return None, 0
    f.seek(0)
    bom = len(codecs.BOM_UTF8) if f.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8 else 0
    f.seek(bom)
    decodificador = codecs.getincrementaldecoder("utf-8")()
    try:
        while bloque := f.read(1 << 20):
            decodificador.decode(bloque)
        decodificador.decode(b"", final=True)
        codificacion = "utf-8"
    except UnicodeDecodeError:
        codificacion = "cp1252"
    f.seek(bom)
    return codificacion, bom


def _leer_csv(ruta: Ruta, lim: Limites, columnas: Columnas = SOLICITUDES) -> Iterator[FilaLeida]:
    no_es = [_error(0, "", "El archivo no es una planilla CSV (UTF-8 o Windows-1252) ni XLSX.")]
    with open(ruta, "rb") as binario:
        codificacion, _ = _codificacion(binario)
        if codificacion is None:
            raise ArchivoInvalido(no_es)
        texto = io.TextIOWrapper(binario, encoding=codificacion, newline="")
        try:
            primera = texto.readline()
            separador = max(",;\t", key=primera.count)
            lector = csv.reader(itertools.chain([primera], texto), delimiter=separador)
            try:
                cab = _cabecera(next(lector), lim, columnas)
            except StopIteration:
                raise ArchivoInvalido([_error(0, "", "El archivo está vacío.")]) from None
            except csv.Error:
                raise ArchivoInvalido(no_es) from None
            tope = max(MAX_LINEAS, 2 * lim.filas)
            while True:
                try:
                    celdas, error = next(lector), None
                except StopIteration:
                    break
                except csv.Error as e:  # a field over 131,072 characters, a NUL: this row only
                    celdas, error = None, _mensaje_csv(e)
                if lector.line_num > tope:
                    raise ArchivoInvalido([_error(0, "", f"El archivo tiene más de {_miles(tope)} líneas.")])
                if error:
                    yield lector.line_num, {"__error__": error}
                elif celdas is not None and any(c.strip() for c in celdas):
                    yield lector.line_num, _fila(cab, celdas)
        except UnicodeDecodeError:
            raise ArchivoInvalido(no_es) from None


def _mensaje_csv(error: csv.Error) -> str:
    if "field larger" in str(error):
        return f"Un campo tiene más de {_miles(MAX_CAMPO_CSV)} caracteres: la fila no se importa."
    return f"La fila no se puede leer como CSV ({error})."


def _fila(cab: list[str], celdas: Sequence[object]) -> dict[str, Any]:
    datos: dict[str, Any] = {c: _texto(v) for c, v in zip(cab, celdas, strict=False)}
    if len(celdas) > len(cab) and any(_texto(v) for v in celdas[len(cab) :]):
        datos["__sobran__"] = True
    return datos


def _comprobar_zip(ruta: Ruta, lim: Limites) -> None:
    try:
        with zipfile.ZipFile(ruta) as z:
            descomprimido = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # openpyxl says what is wrong
    if descomprimido > lim.bytes * EXPANSION_XLSX:
        raise ArchivoInvalido(
            [
                _error(
                    0,
                    "",
                    f"El XLSX ocupa {_tamano_legible(descomprimido)} descomprimido "
                    f"(máximo {_tamano_legible(lim.bytes * EXPANSION_XLSX)}). Guárdelo "
                    "como CSV o divídalo.",
                )
            ]
        )


def _leer_xlsx(ruta: Ruta, lim: Limites, columnas: Columnas = SOLICITUDES) -> Iterator[FilaLeida]:
    from openpyxl import load_workbook

    _comprobar_zip(ruta, lim)
    try:
        wb = load_workbook(ruta, read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - zip, XML or openpyxl errors: all mean "not an XLSX"
        raise ArchivoInvalido(
            [_error(0, "", f"El archivo no es una planilla XLSX válida ({type(e).__name__}).")]
        ) from None
    try:
        hoja = wb.worksheets[0]
        # Never wider than the column limit (+1 to see a cell past it): a sheet whose dimension
        # claims 16,384 columns is not padded to that width on every row.
        filas = hoja.iter_rows(max_col=lim.columnas + 1, values_only=True)
        cab = None
        tope = max(MAX_LINEAS, 2 * lim.filas)
        for numero, celdas in enumerate(filas, start=1):
            if numero > tope:
                raise ArchivoInvalido([_error(0, "", f"La hoja tiene más de {_miles(tope)} filas.")])
            if cab is None:
                cab = _cabecera(celdas, lim, columnas)
                continue
            if not any(_texto(c) for c in celdas):
                continue
            yield numero, _fila(cab, celdas)
        if cab is None:
            raise ArchivoInvalido([_error(0, "", "El archivo está vacío.")])
    finally:
        wb.close()


# --- validation -------------------------------------------------------------------------------
class Validador:
    def __init__(self, lim: Limites | None = None) -> None:
        lim = lim or limites()
        self.zonas = dict(Zona.objects.filter(activa=True).values_list("codigo", "pk"))
        User = get_user_model()
        self.asesores = dict(User.objects.filter(groups__name=Rol.ASESOR, is_active=True).values_list("username", "pk"))
        # Every column has a length: the model field's max_length, else the text limit
        # (referencias is a TextField: without it a 104 KB XLSX stored a 100 MB text).
        campos = {f.name: f for f in Solicitud._meta.concrete_fields}
        self.largos: dict[str, int] = {c: largo for c in COLUMNAS if c in campos and (largo := campos[c].max_length)}
        self.largos["numero_ot"] = OrdenDeTrabajo._meta.get_field("numero").max_length or lim.texto
        self.largos["zona"] = Zona._meta.get_field("codigo").max_length or lim.texto
        usuario = cast("Field[Any, Any]", User._meta.get_field(User.USERNAME_FIELD))  # a field, not a relation
        self.largos["asesor"] = usuario.max_length or lim.texto
        for c in COLUMNAS:
            self.largos.setdefault(c, lim.texto)
        self.numeros: dict[str, int] = {}  # numero_smartflex -> first row
        self.ots: dict[str, int] = {}
        self.tz = timezone.get_default_timezone()
        self.manana = timezone.localdate() + timedelta(days=1)

    def fecha(self, texto: str) -> datetime | None:
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

    def fila(self, n: int, f: dict[str, Any]) -> tuple[dict[str, Any], list[ErrorFila], list[ErrorFila]]:
        """(data for the engine, [errors]) of one row; duplicates are checked across the file."""
        errores: list[ErrorFila] = []
        datos: dict[str, Any] = {}
        if "__error__" in f:
            return {}, [_error(n, "", f["__error__"])], []
        if f.pop("__sobran__", False):
            errores.append(_error(n, "", "La fila tiene más celdas que columnas la cabecera."))
        for c, valor in list(f.items()):
            if len(valor) > self.largos[c]:
                errores.append(_error(n, c, f"Más de {_miles(self.largos[c])} caracteres ({_miles(len(valor))})."))
                f[c] = ""  # not looked up, not quoted, not kept
            elif CONTROL.search(valor):
                errores.append(_error(n, c, "Contiene caracteres de control."))
                f[c] = ""
        for c in REQUERIDAS:
            if not f.get(c) and not any(e["columna"] == c for e in errores):
                errores.append(_error(n, c, "Dato obligatorio vacío."))
        for c in (
            "cliente_nombre",
            "cliente_documento",
            "cliente_telefono",
            "calle",
            "numero_puerta",
            "referencias",
            "caja_nap",
            "plan",
            "vendedor",
        ):
            if c in f:  # a column absent from the file leaves the data as it is
                datos[c] = f[c]
        numero = f.get("numero_smartflex", "")
        datos["numero_smartflex"] = numero
        if f.get("tipo"):
            tipo = TIPOS.get(f["tipo"].strip().lower())
            if tipo is None:
                errores.append(
                    _error(n, "tipo", f"Tipo «{_corto(f['tipo'])}» desconocido: {', '.join(Solicitud.Tipo.values)}.")
                )
            datos["tipo"] = tipo
        if f.get("zona"):
            datos["zona_id"] = self.zonas.get(f["zona"])
            if datos["zona_id"] is None:
                errores.append(_error(n, "zona", f"Zona «{_corto(f['zona'])}» desconocida."))
        if f.get("asesor"):
            datos["asesor_id"] = self.asesores.get(f["asesor"])
            if datos["asesor_id"] is None:
                errores.append(_error(n, "asesor", f"«{_corto(f['asesor'])}» no es un asesor activo."))
        if f.get("fecha_registro"):
            datos["creado_at"] = self.fecha(f["fecha_registro"])
            if datos["creado_at"] is None:
                errores.append(
                    _error(
                        n,
                        "fecha_registro",
                        f"Fecha «{_corto(f['fecha_registro'])}» inválida (AAAA-MM-DD o DD/MM/AAAA, no futura).",
                    )
                )
        datos["numero_ot"] = f.get("numero_ot", "")
        duplicadas: list[ErrorFila] = []
        for clave, campo, vistos in (
            (numero, "numero_smartflex", self.numeros),
            (datos["numero_ot"], "numero_ot", self.ots),
        ):
            if not clave:
                continue
            if clave in vistos:
                primera = vistos[clave]
                errores.append(_error(n, campo, f"«{clave}» repetido en el archivo (también en la fila {primera})."))
                duplicadas.append(_error(primera, campo, f"«{clave}» repetido en el archivo (también en la fila {n})."))
            else:
                vistos[clave] = n
        return datos, errores, duplicadas


def _conflictos_ot(lote: list[tuple[int, dict[str, Any]]]) -> list[ErrorFila]:
    """Rows whose OT number belongs to another Solicitud in the database, or whose known
    Solicitud has an OT with another number (one query for the batch)."""
    errores: list[ErrorFila] = []
    numeros = [d["numero_smartflex"] for _, d in lote]
    ots = {d["numero_ot"] or f"OT-{d['numero_smartflex']}": (n, d) for n, d in lote}
    # Two index lookups in one UNION query: an OR across the join scans both tables whole.
    campos = ("numero", "solicitud__numero_smartflex")
    existentes = dict(
        OrdenDeTrabajo.objects.filter(numero__in=list(ots))
        .order_by()
        .values_list(*campos)
        .union(OrdenDeTrabajo.objects.filter(solicitud__numero_smartflex__in=numeros).order_by().values_list(*campos))
    )
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
    """Counters of an import; ``errores`` / ``avisos`` keep the first ``maximo`` by row (the
    rest are only counted in ``total_errores`` / ``total_avisos``) so memory stays bounded."""

    total: int = 0
    procesadas: int = 0
    creadas: int = 0
    actualizadas: int = 0
    sin_cambios: int = 0
    omitidas: int = 0
    con_error: int = 0
    errores: list[ErrorFila] = field(default_factory=list)
    avisos: list[ErrorFila] = field(default_factory=list)
    total_errores: int = 0
    total_avisos: int = 0
    # A status feed (``conciliacion``): differences opened, applied automatically, re-entries paired.
    diferencias: int = 0
    automaticas: int = 0
    emparejadas: int = 0
    importado: bool = False
    maximo: int = field(default_factory=lambda: limites().errores)
    # The file's columns, in the order the kept errors are sorted by (within a row).
    columnas: tuple[str, ...] = SOLICITUDES.validas

    def error(self, e: ErrorFila) -> None:
        self.total_errores += 1
        self._guardar(self.errores, e)

    def aviso(self, e: ErrorFila) -> None:
        self.total_avisos += 1
        self._guardar(self.avisos, e)

    def _guardar(self, lista: list[ErrorFila], e: ErrorFila) -> None:
        lista.append(e)
        if len(lista) >= 2 * self.maximo + 100:  # amortized: sort and cut now and then
            self._recortar(lista)

    def _recortar(self, lista: list[ErrorFila]) -> None:
        orden = {c: i for i, c in enumerate(self.columnas)}
        lista.sort(key=lambda e: (e["fila"], orden.get(e["columna"], 99)))
        del lista[self.maximo :]

    def cerrar(self) -> None:
        self._recortar(self.errores)
        self._recortar(self.avisos)

    def archivo_invalido(self, errores: list[ErrorFila]) -> None:
        """The file as a whole was refused: its errors replace the rows' ones."""
        self.errores, self.total_errores = [], 0
        for e in errores:
            self.error(e)
        self.cerrar()
        self.total = self.procesadas = 0  # no row was taken into account
        self.con_error = len({e["fila"] for e in errores})


def _lotes(iterable: Iterable[T], n: int) -> Iterator[list[T]]:
    lote: list[T] = []
    for x in iterable:
        lote.append(x)
        if len(lote) >= n:
            yield lote
            lote = []
    if lote:
        yield lote


def validar(ruta: Ruta, resultado: Resultado, progreso: Callable[[Resultado], None] | None = None) -> set[int]:
    """Pass 1: the errors of the file, nothing written. Returns the set of bad row numbers."""
    v = Validador()
    malas: set[int] = set()
    tam = settings.ANULACIONES_IMPORTACION_LOTE
    for lote in _lotes(leer_filas(ruta), tam):
        validas: list[tuple[int, dict[str, Any]]] = []
        for n, f in lote:
            datos, errores, duplicadas = v.fila(n, f)
            resultado.total += 1
            if errores:
                for e in errores:
                    resultado.error(e)
                malas.add(n)
            else:
                validas.append((n, datos))
            for e in duplicadas:
                resultado.error(e)
                malas.add(e["fila"])
        for e in _conflictos_ot([(n, d) for n, d in validas if n not in malas]):
            resultado.error(e)
            malas.add(e["fila"])
        resultado.procesadas = resultado.total
        resultado.con_error = len(malas)
        if progreso:
            progreso(resultado)
    if resultado.total == 0:
        raise ArchivoInvalido([_error(0, "", "El archivo no tiene filas de datos.")])
    resultado.cerrar()
    return malas


def aplicar_filas(
    ruta: Ruta,
    usuario: User,
    malas: set[int],
    resultado: Resultado,
    nota: str,
    progreso: Callable[[Resultado], None] | None = None,
) -> Resultado:
    """Pass 2: births and data corrections, batch by batch, through the engine."""
    v = Validador()
    tam = settings.ANULACIONES_IMPORTACION_LOTE
    resultado.procesadas = 0
    for lote in _lotes(((n, f) for n, f in leer_filas(ruta) if n not in malas), tam):
        filas = [(n, v.fila(n, f)[0]) for n, f in lote]
        conocidas = {
            s.numero_smartflex: s
            for s in Solicitud.objects.filter(numero_smartflex__in=[d["numero_smartflex"] for _, d in filas])
        }
        nuevas: list[dict[str, Any]] = []
        cambios: dict[int, dict[str, Any]] = {}
        fila_de: dict[int, int] = {}
        for n, d in filas:
            s = conocidas.get(d["numero_smartflex"])
            if s is None:
                nuevas.append({k: val for k, val in d.items() if k != "numero_ot" or val})
                continue
            diferentes = {c: d[c] for c in transitions.CAMPOS_DATOS_SMARTFLEX if c in d and getattr(s, c) != d[c]}
            for c, campo in (("zona_id", "zona"), ("asesor_id", "asesor")):
                if d.get(c) != getattr(s, c):
                    resultado.aviso(
                        _error(
                            n,
                            campo,
                            f"No se cambia desde Smartflex ({campo} de una solicitud "
                            "ya registrada: corríjala por zonificación o en la aplicación).",
                        )
                    )
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
            resultado.aviso(_error(fila_de[pk], "", motivo))
        resultado.procesadas += len(lote)
        if progreso:
            progreso(resultado)
    resultado.cerrar()
    resultado.importado = True
    return resultado


def importar(
    ruta: Ruta,
    usuario: User,
    *,
    aceptar_validas: bool = False,
    nombre: str = "",
    progreso: Callable[[Resultado], None] | None = None,
    etapa: Callable[[str], None] | None = None,
) -> Resultado:
    """Validate, then import unless there are errors and ``aceptar_validas`` is false. ``ruta``:
    a local path (the command, the task's local copy of the stored file)."""
    resultado = Resultado()
    malas = primera_pasada(ruta, resultado, validar, aceptar_validas=aceptar_validas, progreso=progreso, etapa=etapa)
    if malas is None:
        return resultado
    nota = f"Importado de Smartflex ({nombre or ruta})."
    return aplicar_filas(ruta, usuario, malas, resultado, nota, progreso)


def primera_pasada(
    ruta: Ruta,
    resultado: Resultado,
    validar: Callable[[Ruta, Resultado, Callable[[Resultado], None] | None], set[int]],
    *,
    aceptar_validas: bool,
    progreso: Callable[[Resultado], None] | None,
    etapa: Callable[[str], None] | None,
) -> set[int] | None:
    """Pass 1 of an import (Solicitudes, or the status feed's ``validar``) and its verdict: the
    bad rows to skip in pass 2, or None when nothing is to be written (the file refused whole, or
    errors the person did not accept). Tells ``etapa`` when pass 2 starts."""
    try:
        malas = validar(ruta, resultado, progreso)
    except ArchivoInvalido as e:
        resultado.archivo_invalido(e.errores)
        return None
    if resultado.total_errores and not aceptar_validas:
        return None
    if etapa:
        etapa(ImportacionSmartflex.Etapa.IMPORTANDO)
    return malas


@contextmanager
def copia_local(archivo: FieldFile) -> Iterator[str]:
    """A local path with the bytes of a stored file (any storage: PostgreSQL, S3, disk), copied in
    chunks to a temporary file of this machine and removed afterwards: the import reads it twice
    and openpyxl needs a seekable file."""
    sufijo = os.path.splitext(archivo.name or "")[1].lower()[:10]
    with tempfile.NamedTemporaryFile(suffix=sufijo, delete=False) as tmp:
        try:
            with archivo.open("rb") as origen:
                for parte in origen.chunks():
                    tmp.write(parte)
        except BaseException:
            os.unlink(tmp.name)
            raise
    try:
        yield tmp.name
    finally:
        os.unlink(tmp.name)


def encolar_importacion(imp: ImportacionSmartflex) -> cola.Envio:
    """Queue the uploaded import ``imp`` (the task ``importar_smartflex``) after the commit. With
    the broker down the import stays «en cola» and the periodic pickup
    (``tasks.recuperar_pendientes``) queues it when the broker is back. Returns the ``cola.Envio``:
    the page tells the user when it was not published."""
    return cola.encolar("importar_smartflex", imp.pk)


class Importador(Protocol):
    """What a job runs on its local copy of the file: ``importar`` here, ``conciliacion.importar``
    for a status feed; it calls ``progreso`` after every batch and ``etapa`` when it starts writing."""

    def __call__(
        self,
        ruta: str,
        imp: ImportacionSmartflex,
        progreso: Callable[[Resultado], None],
        etapa: Callable[[str], None],
    ) -> Resultado: ...


def _importar_solicitudes(
    ruta: str, imp: ImportacionSmartflex, progreso: Callable[[Resultado], None], etapa: Callable[[str], None]
) -> Resultado:
    return importar(
        ruta, imp.usuario, aceptar_validas=imp.aceptar_validas, nombre=imp.nombre, progreso=progreso, etapa=etapa
    )


def ejecutar(
    importacion_id: int,
    importador: Importador = _importar_solicitudes,
    resumir: Callable[[Resultado], str] | None = None,
) -> str | None:
    """Run an uploaded import, saving its progress after every batch for the page (the task
    ``importar_smartflex``). Returns its final stage, or the stage another worker holds it in.
    The claim, progress, heartbeat and final report are the same for every kind of file:
    ``importador`` and ``resumir`` (``resumen`` by default) are what differ (a status feed:
    ``conciliacion.ejecutar``)."""
    # Claimed «en cola» → «validando» by one conditional UPDATE: a second message for the same
    # import (the periodic pickup's, or a redelivery) finds it taken and does nothing.
    E = ImportacionSmartflex.Etapa
    if not ImportacionSmartflex.objects.filter(pk=importacion_id, etapa=E.PENDIENTE).update(
        etapa=E.VALIDANDO, latido_at=timezone.now()
    ):
        return ImportacionSmartflex.objects.filter(pk=importacion_id).values_list("etapa", flat=True).first()
    imp = ImportacionSmartflex.objects.select_related("usuario").get(pk=importacion_id)
    campos = [
        "etapa",
        "total",
        "procesadas",
        "creadas",
        "actualizadas",
        "sin_cambios",
        "omitidas",
        "con_error",
        "total_errores",
        "total_avisos",
        "diferencias",
        "emparejadas",
        "latido_at",
    ]

    def progreso(r: Resultado) -> None:
        for c in campos[1:-1]:
            setattr(imp, c, getattr(r, c))
        imp.latido_at = timezone.now()  # the heartbeat the periodic pickup watches
        imp.save(update_fields=campos)

    def etapa(valor: str) -> None:
        imp.etapa, imp.latido_at = valor, timezone.now()
        imp.save(update_fields=["etapa", "latido_at"])

    try:
        with copia_local(imp.archivo) as ruta:
            r = importador(ruta, imp, progreso, etapa)
    except Exception as e:  # a batch failed (e.g. a number taken meanwhile): earlier batches stay
        log.exception("Importación %s falló", imp.pk)
        imp.etapa, imp.mensaje, imp.terminado_at = imp.Etapa.FALLIDA, f"{type(e).__name__}: {e}"[:2000], timezone.now()
        imp.save(update_fields=["etapa", "mensaje", "terminado_at"])
        raise
    progreso(r)
    imp.errores = r.errores
    imp.avisos = r.avisos
    imp.etapa = imp.Etapa.TERMINADA if r.importado else imp.Etapa.CON_ERRORES
    imp.mensaje = (resumir or resumen)(r)
    imp.terminado_at = timezone.now()
    imp.save()
    return imp.etapa


def _no_guardados(r: Resultado) -> str:
    partes: list[str] = []
    if r.total_errores > len(r.errores):
        partes.append(f"se guardan los primeros {_miles(len(r.errores))} de {_miles(r.total_errores)} errores")
    if r.total_avisos > len(r.avisos):
        partes.append(f"los primeros {_miles(len(r.avisos))} de {_miles(r.total_avisos)} avisos")
    return f" ({', '.join(partes)})" if partes else ""


def resumen(r: Resultado) -> str:
    if not r.importado:
        if r.total == 0 or (r.errores and r.errores[0]["fila"] == 0):
            return "No se importó nada: " + (r.errores[0]["mensaje"] if r.errores else "archivo vacío.")
        return (
            f"No se importó nada: {r.con_error} de {r.total} filas tienen errores. Corrija el archivo o "
            f"importe solo las filas válidas.{_no_guardados(r)}"
        )
    return (
        f"{r.total} filas: {r.creadas} solicitudes nuevas, {r.actualizadas} actualizadas, {r.sin_cambios} "
        f"sin cambios, {r.omitidas} omitidas, {r.con_error} con errores (no importadas).{_no_guardados(r)}"
    )


# --- export back to Smartflex ------------------------------------------------------------------
COLUMNAS_EXPORTACION = [
    "numero_smartflex",
    "numero_ot",
    "accion",
    "fecha",
    "motivo",
    "nuevo_numero_smartflex",
    "zona",
    "asesor",
    # Issue 18 (round trip), last so that consumers keep their column positions: «aplicacion» (the
    # procedure in the application) or «conciliacion» (a decision of the reconciliation with
    # Smartflex: a cancellation imported from it, a re-entry linked, or Smartflex's side flagged).
    "origen",
]


def exportacion(desde: date, hasta: date) -> Iterator[list[str]]:
    """Rows (lists) of the Solicitudes cancelled or re-digitated in [desde, hasta] (local dates),
    dated by their audit row, then what reconciliation resolved in the period for Smartflex to
    act on (``diferencias.filas_exportacion``); streamed in chunks, a constant number of queries."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import OuterRef, Subquery

    from . import diferencias
    from .selectors import dia_local

    inicio, fin = dia_local(desde)[0], dia_local(hasta)[1]
    ct = ContentType.objects.get_for_model(Solicitud)
    fecha = (
        RegistroAuditoria.objects.filter(content_type=ct, object_id=OuterRef("pk"), estado_destino=OuterRef("estado"))
        .order_by("-creado_at")
        .values("creado_at")[:1]
    )
    finales = [Solicitud.E.ANULADA, Solicitud.E.REDIGITADA]
    # Start from the period's audit rows (indexed by date), not from every cancellation ever.
    del_periodo = RegistroAuditoria.objects.filter(
        content_type=ct, estado_destino__in=finales, creado_at__gte=inicio, creado_at__lt=fin
    ).values("object_id")
    qs = (
        Solicitud.objects.filter(estado__in=finales, pk__in=del_periodo)
        .annotate(fecha_evento=Subquery(fecha))
        .filter(fecha_evento__gte=inicio, fecha_evento__lt=fin)
    )
    filas = (
        qs.annotate(de_conciliacion=diferencias.origen_conciliacion())
        .select_related("orden", "zona", "asesor", "reemplazada_por")
        .order_by("fecha_evento", "pk")
    )
    yield COLUMNAS_EXPORTACION
    for s in filas.iterator(chunk_size=2000):
        redigitada = s.estado == Solicitud.E.REDIGITADA
        yield [
            s.numero_smartflex,
            getattr(getattr(s, "orden", None), "numero", ""),
            "REDIGITACION" if redigitada else "ANULACION",
            timezone.localtime(s.fecha_evento).strftime("%Y-%m-%d %H:%M:%S"),
            s.motivo_anulacion,
            s.reemplazada_por.numero_smartflex if redigitada and s.reemplazada_por else "",
            s.zona.codigo,
            s.asesor.username,
            diferencias.ORIGEN_CONCILIACION if s.de_conciliacion else diferencias.ORIGEN_APLICACION,
        ]
    yield from diferencias.filas_exportacion(inicio, fin, ya_exportadas=qs.values("pk"))
