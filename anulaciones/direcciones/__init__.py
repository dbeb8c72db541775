"""Address knowledge (issue 7): record what Gestión de Red, the COC and técnicos learn about
streets, reference points and boxes/NAP; match what an asesor types against it; export it as a
GeoJSON layer for QGIS and import the GIS's layers back.

Matching is done by the database: every name is stored with a normalized key (unaccented,
lower-case, punctuation and street-type prefixes such as "av."/"avenida"/"calle" removed,
spaces collapsed; ``anulaciones.texto``) in an indexed column. An exact key is one indexed
lookup; a typo is found on PostgreSQL as the 10 nearest names by pg_trgm distance (``<->``), read
in order from a GiST trigram index (migration 0006), and on other backends (SQLite) among the
rows (at most 500) with the same first two or last two letters and a length within ±1
(composite indexes); a Levenshtein distance ≤ 1 (≤ 2 for long names) on those few candidates
decides. A check costs a constant number of queries whatever the size of the knowledge.

Modules: ``acceso`` (who may), ``coincidencia`` (the check), ``escritura`` (recording),
``senales`` (zonifications feed it), ``geojson`` (the export), ``capas_sig`` (the import).
Callers use this package's names.
"""

from ..texto import PREFIJOS, normalizar, normalizar_codigo
from .acceso import ROLES_IMPORTACION, ROLES_MAPA, ROLES_REGISTRO
from .capas_sig import (
    PROFUNDIDAD_MAX_JSON,
    SINONIMOS,
    TIPOS_IMPORTACION,
    _filas_csv,
    _filas_geojson,
    importar_capa,
    profundidad_json,
)
from .coincidencia import (
    CAUSAS_DIRECCION,
    MAX_CANDIDATOS,
    MAX_CANDIDATOS_SIN_TRIGRAMAS,
    _candidatos,
    _zona_q,
    distancia,
    observaciones_prevenidas,
    tolerancia,
    verificar,
)
from .escritura import (
    aprender_de_zonificacion,
    registrar_aprendido,
    registrar_caja,
    registrar_calle,
    registrar_punto,
    validar_coordenadas,
)
from .geojson import PROPIEDADES, capas, geojson, geojson_partes, rango, respuesta_geojson
from .senales import conectar

__all__ = [
    "CAUSAS_DIRECCION",
    "MAX_CANDIDATOS",
    "MAX_CANDIDATOS_SIN_TRIGRAMAS",
    "PREFIJOS",
    "PROFUNDIDAD_MAX_JSON",
    "PROPIEDADES",
    "ROLES_IMPORTACION",
    "ROLES_MAPA",
    "ROLES_REGISTRO",
    "SINONIMOS",
    "TIPOS_IMPORTACION",
    "_candidatos",
    "_filas_csv",
    "_filas_geojson",
    "_zona_q",
    "aprender_de_zonificacion",
    "capas",
    "conectar",
    "distancia",
    "geojson",
    "geojson_partes",
    "importar_capa",
    "normalizar",
    "normalizar_codigo",
    "observaciones_prevenidas",
    "profundidad_json",
    "rango",
    "registrar_aprendido",
    "registrar_caja",
    "registrar_calle",
    "registrar_punto",
    "respuesta_geojson",
    "tolerancia",
    "validar_coordenadas",
    "verificar",
]
