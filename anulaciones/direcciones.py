"""Address knowledge (issue 7): record what Gestión de Red, the COC and técnicos learn about
streets, reference points and boxes/NAP; match what an asesor types against it; export it as a
GeoJSON layer for QGIS and import the GIS's layers back.

Matching is done by the database: every name is stored with a normalized key (unaccented,
lower-case, punctuation and street-type prefixes such as "av."/"avenida"/"calle" removed,
spaces collapsed) in an indexed column. An exact key is one indexed lookup; a typo is found on
PostgreSQL as the 10 nearest names by pg_trgm distance (``<->``), read in order from a GiST
trigram index (migration 0006), and on other
backends (SQLite) among the rows (at most 500) with the same first two or last two letters and a
length within ±1 (composite indexes); a Levenshtein distance ≤ 1 (≤ 2 for long names) on those few candidates
decides. A check costs a constant number of queries whatever the size of the knowledge.
"""
import csv
import io
import json
import logging
import re
import unicodedata
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from itertools import accumulate

from django.db import connection, transaction
from django.db.models import Q, Value
from django.utils import timezone

from .errors import DatosInvalidos, SinPermiso
from .models import AliasCalle, CajaNap, Calle, Observacion, PuntoReferencia, Solicitud, Zona
from .models.direcciones import Origen
from .models.zonificacion import LAT_MAX, LAT_MIN, LON_MAX, LON_MIN
from .roles import Rol, roles_de

logger = logging.getLogger(__name__)

ROLES_REGISTRO = (Rol.GESTION_RED, Rol.COC, Rol.TECNICO)
ROLES_MAPA = (Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION)
ROLES_IMPORTACION = (Rol.GESTION_RED,)
CAUSAS_DIRECCION = (Observacion.Causa.CALLE, Observacion.Causa.CAJA_NAP)

PREFIJOS = {"av", "avenida", "avda", "calle", "c", "cl", "cll", "pasaje", "pje", "psje", "pasj"}
MAX_CANDIDATOS = 10
MAX_CANDIDATOS_SIN_TRIGRAMAS = 500

Tipo = Origen  # re-exported for callers


# --- normalization and distance ---------------------------------------------------------------
def _sin_acentos(texto):
    return "".join(c for c in unicodedata.normalize("NFKD", texto or "") if not unicodedata.combining(c))


def normalizar(texto):
    """"Av. Héroes del  Chaco" -> "heroes del chaco"; "CALLE Sucre" -> "sucre"."""
    palabras = re.sub(r"[^0-9a-zñ]+", " ", _sin_acentos(texto).lower().replace("ñ", "n")).split()
    while len(palabras) > 1 and palabras[0] in PREFIJOS:
        palabras = palabras[1:]
    return " ".join(palabras)[:200]


def normalizar_codigo(codigo):
    """"nap-01 " -> "NAP01": a box code without case, spaces or separators."""
    return re.sub(r"[^0-9A-Z]", "", _sin_acentos(codigo).upper())[:60]


def distancia(a, b, tope=2):
    """Levenshtein distance of a and b (any value above ``tope`` returned as tope + 1)."""
    if abs(len(a) - len(b)) > tope:
        return tope + 1
    previa = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        actual = [i]
        for j, cb in enumerate(b, 1):
            actual.append(min(previa[j] + 1, actual[j - 1] + 1, previa[j - 1] + (ca != cb)))
        if min(actual) > tope:
            return tope + 1
        previa = actual
    return previa[-1]


def tolerancia(n):
    return 2 if len(n) >= 12 else 1


def _trigramas():
    return connection.vendor == "postgresql"


def _candidatos(qs, n):
    """Rows of ``qs`` whose key is close to ``n`` (bounded by an index on every backend)."""
    if not n:
        return []
    if _trigramas():
        from django.contrib.postgres.search import TrigramDistance

        # Nearest names first, straight from the GiST trigram index (KNN "<->" ordering): no
        # similarity threshold, so short names with one wrong letter ("bush"/"buch") are found too.
        qs = qs.annotate(distancia_trgm=TrigramDistance("normalizado", Value(n))).order_by("distancia_trgm")
        limite = MAX_CANDIDATOS
    else:
        largo = Q(largo__gte=len(n) - 1, largo__lte=len(n) + 1)
        qs = qs.filter((Q(prefijo=n[:2]) & largo) | (Q(sufijo=n[-2:]) & largo))
        limite = MAX_CANDIDATOS_SIN_TRIGRAMAS
    return list(qs[:limite])


def _mas_cercano(filas, n):
    mejor, dist = None, None
    for fila in filas:
        d = distancia(n, fila.normalizado, tolerancia(n))
        if d <= tolerancia(n) and (dist is None or d < dist):
            mejor, dist = fila, d
    return mejor


# --- the check at registration (step 1, and the API) --------------------------------------------
def _zona_q(zona_id, campo="zona"):
    return Q(**{f"{campo}_id": zona_id}) | Q(**{f"{campo}__isnull": True}) if zona_id else Q()


def verificar(*, calle="", zona=None, referencias="", caja_nap=""):
    """Warnings for the address an asesor typed: [{campo, tipo, valor, sugerencia, mensaje}].

    - a known wrong street name (alias), exactly or with one letter wrong -> the correct name;
    - a name one letter away from a known correct one -> "¿quiso decir …?";
    - a reference point or a box known in another zone -> that zone.
    A correct name, an unknown name or a box of the same zone give no warning. At most 7 queries.
    """
    zona_id = getattr(zona, "pk", zona) or None
    advertencias = []
    n = normalizar(calle)
    if n:
        calles = Calle.objects.filter(_zona_q(zona_id))
        aliases = AliasCalle.objects.filter(_zona_q(zona_id, "calle__zona")).select_related("calle")
        if not calles.filter(normalizado=n).exists():
            alias = aliases.filter(normalizado=n).first()
            exacto = alias is not None
            if alias is None:
                alias = _mas_cercano(_candidatos(aliases, n), n)
            parecida = None if alias else _mas_cercano(_candidatos(calles, n), n)
            if alias is not None:
                correcta = alias.calle.nombre
                advertencias.append({
                    "campo": "calle", "tipo": "alias", "valor": calle, "sugerencia": correcta,
                    "mensaje": (f"«{calle}» es un nombre erróneo conocido" if exacto else
                                f"«{calle}» se parece a «{alias.nombre}», un nombre erróneo conocido")
                               + f" de la calle «{correcta}». Verifique la dirección con el cliente."})
            elif parecida is not None and parecida.normalizado != n:
                advertencias.append({
                    "campo": "calle", "tipo": "parecida", "valor": calle, "sugerencia": parecida.nombre,
                    "mensaje": f"No se conoce la calle «{calle}»: ¿quiso decir «{parecida.nombre}»?"})
    n = normalizar(referencias)
    if n and zona_id:
        puntos = list(PuntoReferencia.objects.filter(normalizado=n).select_related("zona")[:MAX_CANDIDATOS])
        if not puntos:
            cercano = _mas_cercano(_candidatos(PuntoReferencia.objects.select_related("zona"), n), n)
            puntos = [cercano] if cercano else []
        if puntos and not any(p.zona_id == zona_id for p in puntos):
            p = puntos[0]
            advertencias.append({
                "campo": "referencias", "tipo": "otra_zona", "valor": referencias, "sugerencia": p.zona.nombre,
                "mensaje": f"El punto de referencia «{p.nombre}» está registrado en la zona «{p.zona.nombre}», "
                           "no en la zona elegida."})
    codigo = normalizar_codigo(caja_nap)
    if codigo and zona_id:
        caja = CajaNap.objects.filter(codigo_normalizado=codigo).select_related("zona").first()
        if caja is not None and caja.zona_id != zona_id:
            advertencias.append({
                "campo": "caja_nap", "tipo": "otra_zona", "valor": caja_nap, "sugerencia": caja.zona.nombre,
                "mensaje": f"La caja / NAP «{caja.codigo}» pertenece a la zona «{caja.zona.nombre}», "
                           "no a la zona elegida."})
    return advertencias


def observaciones_prevenidas(zona=None):
    """Solicitudes registered with an accepted address warning and never observed."""
    qs = Solicitud.objects.filter(advertencia_aceptada=True, caso__probable_at__isnull=True)
    if zona is not None:
        qs = qs.filter(zona=zona)
    return qs.count()


# --- recording knowledge ------------------------------------------------------------------------
def _decimal(valor, campo, errores):
    if valor in (None, ""):
        return None
    try:
        d = Decimal(str(valor).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        errores[campo] = "Escriba grados decimales (por ejemplo -16.500000)."
        return None
    if not d.is_finite() or abs(d) > 1000:  # 1e400 or 1e28: quantize() below would fail (a 500)
        errores[campo] = "Escriba grados decimales (por ejemplo -16.500000)."
        return None
    return d.quantize(Decimal("0.000001"))


def validar_coordenadas(latitud, longitud, obligatorias=False):
    """(lat, lon) as Decimals inside Bolivia's bounding box, or DatosInvalidos per field."""
    errores = {}
    lat = _decimal(latitud, "latitud", errores)
    lon = _decimal(longitud, "longitud", errores)
    if not errores:
        if (lat is None) != (lon is None) or (obligatorias and lat is None):
            errores["longitud" if lon is None else "latitud"] = "Indique latitud y longitud."
        if lat is not None and not LAT_MIN <= lat <= LAT_MAX:
            errores["latitud"] = f"La latitud debe estar entre {LAT_MIN} y {LAT_MAX} (Bolivia)."
        if lon is not None and not LON_MIN <= lon <= LON_MAX:
            errores["longitud"] = f"La longitud debe estar entre {LON_MIN} y {LON_MAX} (Bolivia)."
    if errores:
        raise DatosInvalidos(errores)
    return lat, lon


def _exigir(usuario, roles, mensaje):
    if not roles_de(usuario) & set(roles):
        raise SinPermiso(mensaje)


def _texto(valor, campo, errores, largo=200, obligatorio=True):
    valor = (valor or "").strip() if isinstance(valor, str) or valor is None else str(valor).strip()
    if obligatorio and not valor:
        errores[campo] = "Este campo es obligatorio."
    elif len(valor) > largo:
        errores[campo] = f"Máximo {largo} caracteres."
    elif any(ord(c) < 32 for c in valor):
        errores[campo] = "Contiene caracteres de control."
    return valor


def registrar_calle(usuario, *, nombre, aliases=(), zona=None, solicitud=None, latitud=None, longitud=None,
                    origen=Origen.CASO):
    """A street's correct name and the wrong names people typed for it. An alias already known
    for another street now points to this one (the latest correction wins)."""
    errores = {}
    nombre = _texto(nombre, "nombre", errores)
    if isinstance(aliases, str):
        aliases = re.split(r"[;\n]", aliases)
    aliases = [_texto(a, "aliases", errores, obligatorio=False) for a in aliases]
    if not normalizar(nombre) and "nombre" not in errores:
        errores["nombre"] = "Escriba el nombre de la calle."
    lat, lon = _coordenadas_o_errores(latitud, longitud, errores)
    clave = normalizar(nombre)
    with transaction.atomic():
        calle = Calle.objects.filter(normalizado=clave, zona=zona).first()
        if calle is None:
            calle = Calle(nombre=nombre, zona=zona, solicitud=solicitud, registrado_por=usuario, origen=origen)
        if lat is not None:
            calle.latitud, calle.longitud = lat, lon
        calle.save()
        vistos = {clave}
        for alias in aliases:
            n = normalizar(alias)
            if not n or n in vistos:
                continue
            vistos.add(n)
            existente = AliasCalle.objects.filter(normalizado=n, calle__zona=zona).first()
            if existente is None:
                AliasCalle.objects.create(calle=calle, nombre=alias, solicitud=solicitud, registrado_por=usuario,
                                          origen=origen)
            elif existente.calle_id != calle.pk:
                existente.calle = calle
                existente.save(update_fields=["calle"])
        # A name that is now correct is no longer an alias in this zone.
        AliasCalle.objects.filter(normalizado=clave, calle__zona=zona).delete()
    return calle


def _coordenadas_o_errores(latitud, longitud, errores):
    """Validated (lat, lon); raises DatosInvalidos with these and every earlier field error."""
    try:
        lat, lon = validar_coordenadas(latitud, longitud)
    except DatosInvalidos as e:
        errores.update(e.errores)
    if errores:
        raise DatosInvalidos(errores)
    return lat, lon


def registrar_punto(usuario, *, nombre, zona, latitud=None, longitud=None, solicitud=None, origen=Origen.CASO):
    errores = {}
    nombre = _texto(nombre, "nombre", errores)
    if zona is None:
        errores["zona"] = "Indique la zona."
    lat, lon = _coordenadas_o_errores(latitud, longitud, errores)
    punto = PuntoReferencia.objects.filter(normalizado=normalizar(nombre), zona=zona).first()
    if punto is None:
        punto = PuntoReferencia(nombre=nombre, zona=zona, solicitud=solicitud, registrado_por=usuario, origen=origen)
    if lat is not None:
        punto.latitud, punto.longitud = lat, lon
    punto.save()
    return punto


def registrar_caja(usuario, *, codigo, zona, latitud=None, longitud=None, solicitud=None, origen=Origen.CASO):
    """A box/NAP, its zone and location; a known code takes the new zone and location."""
    errores = {}
    codigo = _texto(codigo, "codigo", errores, largo=60)
    if codigo and not normalizar_codigo(codigo):
        errores["codigo"] = "Escriba el código de la caja / NAP."
    if zona is None:
        errores["zona"] = "Indique la zona."
    lat, lon = _coordenadas_o_errores(latitud, longitud, errores)
    caja = CajaNap.objects.filter(codigo_normalizado=normalizar_codigo(codigo)).first()
    if caja is None:
        caja = CajaNap(codigo=codigo, solicitud=solicitud, registrado_por=usuario, origen=origen)
    caja.zona = zona
    if lat is not None:
        caja.latitud, caja.longitud = lat, lon
    caja.save()
    return caja


def registrar_aprendido(usuario, solicitud, *, calle="", aliases="", referencia="", ref_latitud=None,
                        ref_longitud=None, caja="", caja_latitud=None, caja_longitud=None, zona=None):
    """3.3: what was learned while solving a case's address problem, in one transaction.
    Gestión de Red, the COC and técnicos (of the case's zone) record it."""
    _exigir(usuario, ROLES_REGISTRO, "Solo Gestión de Red, el COC y los técnicos registran lo aprendido.")
    if not Solicitud.objects.visibles_para(usuario).filter(pk=solicitud.pk).exists():
        raise SinPermiso("Este caso no está a su cargo.")
    zona = zona or solicitud.zona
    textos = {"calle": calle, "referencia": referencia, "caja": caja}
    if not any((t or "").strip() for t in textos.values()):
        raise DatosInvalidos({"calle": "Registre al menos una calle, un punto de referencia o una caja."})
    hecho, errores = {}, {}
    with transaction.atomic():
        for clave, funcion in (
                ("calle", lambda: registrar_calle(usuario, nombre=calle, aliases=aliases, zona=zona,
                                                  solicitud=solicitud)),
                ("referencia", lambda: registrar_punto(usuario, nombre=referencia, zona=zona, latitud=ref_latitud,
                                                       longitud=ref_longitud, solicitud=solicitud)),
                ("caja", lambda: registrar_caja(usuario, codigo=caja, zona=zona, latitud=caja_latitud,
                                                longitud=caja_longitud, solicitud=solicitud))):
            if not (textos[clave] or "").strip():
                continue
            try:
                hecho[clave] = funcion()
            except DatosInvalidos as e:
                prefijo = {"calle": "", "referencia": "ref_", "caja": "caja_"}[clave]
                for campo, mensaje in e.errores.items():
                    destino = {"nombre": clave, "codigo": "caja", "aliases": "aliases"}.get(campo, prefijo + campo)
                    errores[destino] = mensaje
        if errores:
            transaction.set_rollback(True)
            raise DatosInvalidos(errores)
    return hecho


def aprender_de_zonificacion(zon):
    """Step 20: a zonification's corrected zone, street, reference and coordinates join the
    knowledge (called after the zonification is received, see ``_al_recibir``)."""
    usuario, zona, sol = zon.recibida_por, zon.zona_corregida, zon.solicitud
    coords = {"latitud": zon.latitud, "longitud": zon.longitud}
    if normalizar(zon.calle):
        anterior = sol.calle if normalizar(sol.calle) != normalizar(zon.calle) else ""
        registrar_calle(usuario, nombre=zon.calle, aliases=[anterior] if anterior else [], zona=zona, solicitud=sol,
                        origen=Origen.ZONIFICACION, **coords)
    if normalizar(zon.referencia):
        registrar_punto(usuario, nombre=zon.referencia[:200], zona=zona, solicitud=sol, origen=Origen.ZONIFICACION,
                        **coords)
    if normalizar_codigo(zon.caja_nap):
        registrar_caja(usuario, codigo=zon.caja_nap, zona=zona, solicitud=sol, origen=Origen.ZONIFICACION, **coords)


def _al_recibir(sender, registro, objeto, **kwargs):
    if registro.transicion == "recibir" and registro.estado_origen == "":
        try:
            aprender_de_zonificacion(objeto)
        except DatosInvalidos as e:  # the zonification stands; only this piece of knowledge is lost
            logger.warning("Zonificación %s no alimentó el conocimiento de direcciones: %s", objeto.pk, e.errores)


def conectar():
    from .models import Zonificacion
    from .signals import transicion_realizada

    transicion_realizada.connect(_al_recibir, sender=Zonificacion, dispatch_uid="direcciones_zonificacion")


# --- the GeoJSON layer (RFC 7946) ---------------------------------------------------------------
def _rango(desde, hasta):
    tz = timezone.get_current_timezone()
    q = Q()
    if desde:
        q &= Q(creado_at__gte=timezone.make_aware(datetime.combine(desde, time.min), tz))
    if hasta:
        q &= Q(creado_at__lte=timezone.make_aware(datetime.combine(hasta, time.max), tz))
    return q


def capas(zona=None, desde=None, hasta=None):
    """The querysets of the point layer: located streets, reference points and boxes."""
    filtro = _rango(desde, hasta) & Q(latitud__isnull=False, longitud__isnull=False)
    if zona is not None:
        filtro &= Q(zona=zona)
    relacionados = ("zona", "solicitud", "registrado_por")
    return [
        ("calle", Calle.objects.filter(filtro).select_related(*relacionados).prefetch_related("aliases")
         .order_by("pk")),
        ("punto_referencia", PuntoReferencia.objects.filter(filtro).select_related(*relacionados).order_by("pk")),
        ("caja_nap", CajaNap.objects.filter(filtro).select_related(*relacionados).order_by("pk")),
    ]


PROPIEDADES = ["kind", "name", "zone", "zone_name", "aliases", "source_case", "source_case_id", "origin",
               "recorded_by", "created", "created_date"]


def _feature(tipo, obj):
    local = timezone.localtime(obj.creado_at)
    nombre = obj.codigo if tipo == "caja_nap" else obj.nombre
    aliases = "; ".join(a.nombre for a in obj.aliases.all()) if tipo == "calle" else ""
    return {
        "type": "Feature",
        "id": f"{tipo}-{obj.pk}",
        "geometry": {"type": "Point", "coordinates": [float(obj.longitud), float(obj.latitud)]},
        "properties": {
            "kind": tipo, "name": nombre,
            "zone": obj.zona.codigo if obj.zona else "", "zone_name": obj.zona.nombre if obj.zona else "",
            "aliases": aliases,
            "source_case": obj.solicitud.numero_smartflex if obj.solicitud else "",
            "source_case_id": obj.solicitud_id or 0,
            "origin": obj.origen, "recorded_by": obj.registrado_por.username,
            "created": local.isoformat(timespec="seconds"), "created_date": local.date().isoformat(),
        },
    }


def geojson_partes(zona=None, desde=None, hasta=None):
    """The FeatureCollection as a stream of text chunks (flat memory for any size)."""
    yield '{"type": "FeatureCollection", "name": "conocimiento_direcciones", "features": [\n'
    primero = True
    for tipo, qs in capas(zona, desde, hasta):
        for obj in (qs if tipo == "calle" else qs.iterator(chunk_size=2000)):
            yield ("" if primero else ",\n") + json.dumps(_feature(tipo, obj), ensure_ascii=False)
            primero = False
    yield "\n]}\n"


def geojson(zona=None, desde=None, hasta=None):
    return json.loads("".join(geojson_partes(zona, desde, hasta)))


# --- import of a GIS layer (GeoJSON or CSV) -----------------------------------------------------
TIPOS_IMPORTACION = {"calle", "punto_referencia", "caja_nap", "zona"}
SINONIMOS = {"kind": "kind", "tipo": "kind", "name": "name", "nombre": "name", "zone": "zone", "zona": "zone",
             "zone_name": "zone_name", "nombre_zona": "zone_name", "aliases": "aliases", "alias": "aliases",
             "lat": "lat", "latitud": "lat", "latitude": "lat", "lon": "lon", "lng": "lon", "longitud": "lon",
             "longitude": "lon", "codigo": "name", "code": "name"}


# A GeoJSON layer nests 4 to 7 levels (collection, feature, geometry, coordinates); json.loads
# of a much deeper input raises RecursionError, so the nesting is measured before parsing.
PROFUNDIDAD_MAX_JSON = 20
_CADENA_JSON = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_LLAVES_JSON = re.compile(r"[\[\]{}]")
_PASO_JSON = {"[": 1, "{": 1, "]": -1, "}": -1}


def profundidad_json(texto):
    """How deep the arrays and objects of a JSON text nest (brackets inside strings do not
    count), without parsing it."""
    llaves = _LLAVES_JSON.findall(_CADENA_JSON.sub("", texto))
    return max(accumulate(map(_PASO_JSON.__getitem__, llaves)), default=0)


def _filas_geojson(texto):
    if profundidad_json(texto) > PROFUNDIDAD_MAX_JSON:
        raise DatosInvalidos({"archivo": f"El GeoJSON está anidado en más de {PROFUNDIDAD_MAX_JSON} niveles."})
    try:
        datos = json.loads(texto)
    except (ValueError, RecursionError) as e:
        raise DatosInvalidos({"archivo": f"No es un GeoJSON válido: {e}."}) from None
    if not isinstance(datos, dict) or datos.get("type") != "FeatureCollection" or not isinstance(
            datos.get("features"), list):
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


def _filas_csv(texto):
    """Rows of a CSV layer as {known column: value}. The header is checked against
    ANULACIONES_IMPORTACION_MAX_COLUMNAS before any row is read, and each row keeps only the
    known columns' positions (no dict of every column per row: linear in the file)."""
    from django.conf import settings

    primera = texto[:texto.find("\n")] if "\n" in texto else texto
    separador = max(",;\t", key=primera.count)
    lector = csv.reader(io.StringIO(texto), delimiter=separador)
    cabecera = next(lector, [])
    if len(cabecera) > settings.ANULACIONES_IMPORTACION_MAX_COLUMNAS:
        raise DatosInvalidos({"archivo": f"La cabecera tiene {len(cabecera):,} columnas; el máximo es "
                                         f"{settings.ANULACIONES_IMPORTACION_MAX_COLUMNAS}."})
    posiciones = [(j, SINONIMOS[k.strip().lower()]) for j, k in enumerate(cabecera)
                  if k and k.strip().lower() in SINONIMOS]
    for i, valores in enumerate(lector, 2):  # line 1 is the header
        if not any(v.strip() for v in valores):
            continue  # a blank line (DictReader skipped them too)
        yield i, {campo: (valores[j] if j < len(valores) else "").strip() for j, campo in posiciones}, None


def importar_capa(usuario, contenido, nombre_archivo=""):
    """Import a zones / streets / reference points / boxes layer. Good rows are recorded, each
    bad row is reported: {"creados": {kind: n}, "errores": [(row, message)], "filas": n}."""
    from .importacion import limites, mensaje_tamano

    _exigir(usuario, ROLES_IMPORTACION, "Solo Gestión de Red importa capas del SIG.")
    lim = limites()  # the upload limits of issue 13, shared with the Smartflex import
    if len(contenido) > lim.bytes:
        raise DatosInvalidos({"archivo": mensaje_tamano(len(contenido))})
    if isinstance(contenido, bytes):
        if b"\x00" in contenido[:8192]:
            raise DatosInvalidos({"archivo": "El archivo no es texto (GeoJSON o CSV)."})
        try:
            contenido = contenido.decode("utf-8-sig")
        except UnicodeDecodeError:  # Excel's CSV in Spanish locales: Windows-1252
            try:
                contenido = contenido.removeprefix(b"\xef\xbb\xbf").decode("cp1252")
            except UnicodeDecodeError:
                raise DatosInvalidos({"archivo": "El archivo debe estar en UTF-8 o Windows-1252."}) from None
    es_json = nombre_archivo.lower().endswith((".geojson", ".json")) or contenido.lstrip().startswith("{")
    filas = _filas_geojson(contenido) if es_json else _filas_csv(contenido)
    zonas = {z.codigo.lower(): z for z in Zona.objects.all()}
    informe = {"creados": {t: 0 for t in sorted(TIPOS_IMPORTACION)}, "errores": [], "filas": 0}
    total_errores = 0

    def error(numero, mensaje):  # the first N are kept, the rest counted
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


def _importar_fila(usuario, fila, zonas):
    tipo = str(fila.get("kind") or "").strip().lower()
    if tipo not in TIPOS_IMPORTACION:
        raise DatosInvalidos({"kind": f"«{tipo}» no es calle, punto_referencia, caja_nap ni zona."})
    codigo_zona = str(fila.get("zone") or "").strip()
    coords = {"latitud": fila.get("lat"), "longitud": fila.get("lon")}
    if tipo == "zona":
        errores = {}
        codigo = _texto(codigo_zona, "zone", errores, largo=20)
        nombre = _texto(fila.get("zone_name") or fila.get("name"), "name", errores, largo=120)
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
        registrar_calle(usuario, nombre=fila.get("name"), aliases=aliases, zona=zona,
                        origen=Origen.IMPORTACION, **coords)
    elif tipo == "punto_referencia":
        validar_coordenadas(coords["latitud"], coords["longitud"], obligatorias=True)
        registrar_punto(usuario, nombre=fila.get("name"), zona=zona, origen=Origen.IMPORTACION, **coords)
    else:
        registrar_caja(usuario, codigo=fila.get("name"), zona=zona, origen=Origen.IMPORTACION, **coords)
    return tipo
