"""Import of a GIS layer (GeoJSON or CSV): zones, streets, reference points and boxes. Good rows
are recorded, each bad row reported; bounded by the upload limits of the Smartflex import."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from ..errors import DatosInvalidos
from ..importacion import limites, mensaje_tamano
from ..models import Zona
from ..models.direcciones import Origen
from .acceso import ROLES_IMPORTACION, exigir
from .escritura import campo_texto, registrar_caja, registrar_calle, registrar_punto, validar_coordenadas

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A row of a layer: (row number, {known column: value}, None), or (row number, None, its problem).
FilaCapa = tuple[int, dict[str, Any] | None, str | None]

TIPOS_IMPORTACION = {"calle", "punto_referencia", "caja_nap", "zona"}
SINONIMOS = {
    "kind": "kind",
    "tipo": "kind",
    "name": "name",
    "nombre": "name",
    "zone": "zone",
    "zona": "zone",
    "zone_name": "zone_name",
    "nombre_zona": "zone_name",
    "aliases": "aliases",
    "alias": "aliases",
    "lat": "lat",
    "latitud": "lat",
    "latitude": "lat",
    "lon": "lon",
    "lng": "lon",
    "longitud": "lon",
    "longitude": "lon",
    "codigo": "name",
    "code": "name",
}


# A GeoJSON layer nests 4 to 7 levels (collection, feature, geometry, coordinates); json.loads
# of a much deeper input raises RecursionError, so the nesting is measured before parsing.
PROFUNDIDAD_MAX_JSON = 20
_CADENA_JSON = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_LLAVES_JSON = re.compile(r"[\[\]{}]")
_PASO_JSON = {"[": 1, "{": 1, "]": -1, "}": -1}


def profundidad_json(texto: str) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings do not
    count), without parsing it."""
    llaves = _LLAVES_JSON.findall(_CADENA_JSON.sub("", texto))
    return max(accumulate(map(_PASO_JSON.__getitem__, llaves)), default=0)


def _filas_geojson(texto: str) -> Iterator[FilaCapa]:
    if profundidad_json(texto) > PROFUNDIDAD_MAX_JSON:
        raise DatosInvalidos({"archivo": f"El GeoJSON está anidado en más de {PROFUNDIDAD_MAX_JSON} niveles."})
    try:
        datos = json.loads(texto)
    except (ValueError, RecursionError) as e:
        raise DatosInvalidos({"archivo": f"No es un GeoJSON válido: {e}."}) from None
    if (
        not isinstance(datos, dict)
        or datos.get("type") != "FeatureCollection"
        or not isinstance(datos.get("features"), list)
    ):
        raise DatosInvalidos({"archivo": "El GeoJSON debe ser una FeatureCollection."})
    for i, f in enumerate(datos["features"], 1):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            yield i, None, "No es un Feature de GeoJSON."
            continue
        props = f.get("properties") or {}
        if not isinstance(props, dict):
            yield i, None, "«properties» debe ser un objeto."
            continue
        fila = {SINONIMOS[k.lower()]: v for k, v in props.items() if isinstance(k, str) and k.lower() in SINONIMOS}
        fila.pop("lat", None), fila.pop("lon", None)
        geo = f.get("geometry")
        if isinstance(geo, dict) and geo.get("type") == "Point":
            c = geo.get("coordinates")
            if not (isinstance(c, list) and len(c) >= 2):
                yield i, None, "Coordenadas del punto mal formadas."
                continue
            fila["lon"], fila["lat"] = c[0], c[1]
        elif geo is not None and fila.get("kind") not in ("zona", "calle"):
            yield i, None, f"Geometría «{geo.get('type') if isinstance(geo, dict) else geo}»: se esperaba Point."
            continue
        yield i, fila, None


def _filas_csv(texto: str) -> Iterator[FilaCapa]:
    """Rows of a CSV layer as {known column: value}. The header is checked against
    ANULACIONES_IMPORTACION_MAX_COLUMNAS before any row is read, and each row keeps only the
    known columns' positions (no dict of every column per row: linear in the file)."""
    primera = texto[: texto.find("\n")] if "\n" in texto else texto
    separador = max(",;\t", key=primera.count)
    lector = csv.reader(io.StringIO(texto), delimiter=separador)
    cabecera = next(lector, [])
    if len(cabecera) > settings.ANULACIONES_IMPORTACION_MAX_COLUMNAS:
        raise DatosInvalidos(
            {
                "archivo": f"La cabecera tiene {len(cabecera):,} columnas; el máximo es "
                f"{settings.ANULACIONES_IMPORTACION_MAX_COLUMNAS}."
            }
        )
    posiciones = [
        (j, SINONIMOS[k.strip().lower()]) for j, k in enumerate(cabecera) if k and k.strip().lower() in SINONIMOS
    ]
    for i, valores in enumerate(lector, 2):  # line 1 is the header
        if not any(v.strip() for v in valores):
            continue  # a blank line (DictReader skipped them too)
        yield i, {campo: (valores[j] if j < len(valores) else "").strip() for j, campo in posiciones}, None


def importar_capa(usuario: User, contenido: bytes | str, nombre_archivo: str = "") -> dict[str, Any]:
    """Import a zones / streets / reference points / boxes layer. Good rows are recorded, each
    bad row is reported: {"creados": {kind: n}, "errores": [(row, message)], "filas": n}."""
    exigir(usuario, ROLES_IMPORTACION, "Solo Gestión de Red importa capas del SIG.")
    lim = limites()  # the upload limits of issue 13, shared with the Smartflex import
    if len(contenido) > lim.bytes:
        raise DatosInvalidos({"archivo": mensaje_tamano(len(contenido))})
    if isinstance(contenido, bytes):
        crudo = contenido
        if b"\x00" in crudo[:8192]:
            raise DatosInvalidos({"archivo": "El archivo no es texto (GeoJSON o CSV)."})
        try:
            contenido = crudo.decode("utf-8-sig")
        except UnicodeDecodeError:  # Excel's CSV in Spanish locales: Windows-1252
            try:
                contenido = crudo.removeprefix(b"\xef\xbb\xbf").decode("cp1252")
            except UnicodeDecodeError:
                raise DatosInvalidos({"archivo": "El archivo debe estar en UTF-8 o Windows-1252."}) from None
    es_json = nombre_archivo.lower().endswith((".geojson", ".json")) or contenido.lstrip().startswith("{")
    filas = _filas_geojson(contenido) if es_json else _filas_csv(contenido)
    zonas = {z.codigo.lower(): z for z in Zona.objects.all()}
    informe: dict[str, Any] = {"creados": {t: 0 for t in sorted(TIPOS_IMPORTACION)}, "errores": [], "filas": 0}
    total_errores = 0

    def error(numero: int, mensaje: str) -> None:  # the first N are kept, the rest counted
        nonlocal total_errores
        total_errores += 1
        if len(informe["errores"]) < lim.errores:
            informe["errores"].append((numero, mensaje))

    for numero, fila, problema in filas:
        if informe["filas"] >= lim.filas:
            error(0, f"La capa tiene más de {lim.filas} filas: las siguientes no se importaron.")
            break
        informe["filas"] += 1
        if problema:
            error(numero, problema)
            continue
        assert fila is not None  # a row without a problem has its data
        try:
            with transaction.atomic():
                tipo = _importar_fila(usuario, fila, zonas)
        except DatosInvalidos as e:
            error(numero, "; ".join(f"{k}: {v}" for k, v in e.errores.items()) or e.mensaje)
        else:
            informe["creados"][tipo] += 1
    informe["total_errores"] = total_errores
    if total_errores > len(informe["errores"]):
        informe["errores"].append((0, f"Se muestran los primeros {lim.errores} de {total_errores} errores."))
    return informe


def _importar_fila(usuario: User, fila: dict[str, Any], zonas: dict[str, Zona]) -> str:
    tipo = str(fila.get("kind") or "").strip().lower()
    if tipo not in TIPOS_IMPORTACION:
        raise DatosInvalidos({"kind": f"«{tipo}» no es calle, punto_referencia, caja_nap ni zona."})
    codigo_zona = str(fila.get("zone") or "").strip()
    coords = {"latitud": fila.get("lat"), "longitud": fila.get("lon")}
    if tipo == "zona":
        errores: dict[str, str] = {}
        codigo = campo_texto(codigo_zona, "zone", errores, largo=20)
        nombre = campo_texto(fila.get("zone_name") or fila.get("name"), "name", errores, largo=120)
        if errores:
            raise DatosInvalidos(errores)
        zona = zonas.get(codigo.lower())
        if zona is None:
            zona = zonas[codigo.lower()] = Zona.objects.create(codigo=codigo, nombre=nombre)
        elif zona.nombre != nombre:
            zona.nombre = nombre
            zona.save(update_fields=["nombre"])
        return tipo
    zona = zonas.get(codigo_zona.lower())
    if zona is None and (codigo_zona or tipo != "calle"):
        raise DatosInvalidos({"zone": f"Zona «{codigo_zona}» desconocida."})
    if tipo == "calle":
        aliases = fila.get("aliases") or ""
        aliases = [str(a) for a in aliases] if isinstance(aliases, list) else str(aliases)
        registrar_calle(
            usuario, nombre=fila.get("name"), aliases=aliases, zona=zona, origen=Origen.IMPORTACION, **coords
        )
    elif tipo == "punto_referencia":
        validar_coordenadas(coords["latitud"], coords["longitud"], obligatorias=True)
        registrar_punto(usuario, nombre=fila.get("name"), zona=zona, origen=Origen.IMPORTACION, **coords)
    else:
        registrar_caja(usuario, codigo=fila.get("name"), zona=zona, origen=Origen.IMPORTACION, **coords)
    return tipo
