"""The transition path: the one way anything changes a machine (forms, API, admin, tasks).

    introspeccion  what the machines declare; ``comprobar``, the one wording of each refusal
    camino         ``aplicar`` (lock, check, body, save, audit, effects, retry on deadlock),
                   ``Contexto``, the creations (``crear_solicitud``, ``abrir_servicio``…)
    fallos         what a database error means: retried, 409 or 503 (``clasificar``)
    auditoria      the one audit writer (single path, set-based path, Smartflex)
    en_bloque      ``aplicar_en_bloque``: transitions declared ``en_bloque``, set-based
    smartflex      the Smartflex import's bulk births and data corrections

Import from here: ``from anulaciones import transitions; transitions.aplicar(...)``.
"""

from ..errors import Conflicto, DatosInvalidos, ErrorDominio, SinPermiso, TransicionNoPermitida
from .camino import (
    INTENTOS,
    Contexto,
    abrir_servicio,
    aplicar,
    crear_solicitud,
    recibir_zonificacion,
    registrar_contacto,
    rol_de_creacion,
    usuario_sistema,
)
from .en_bloque import TransicionNoEnBloque, aplicar_en_bloque, filtro_pks
from .fallos import (
    MENSAJE_CRUCE,
    MENSAJE_SIN_BD,
    REINTENTAR_EN,
    SQLSTATES_REINTENTABLES,
    clasificar,
    es_conexion_caida,
    es_cruce,
    registrar_fallo,
    sqlstate,
)
from .introspeccion import (
    NoEncontrado,
    anula,
    comprobar,
    consecuencia,
    destinos,
    disponibles,
    etiqueta,
    fuentes,
    irreversibles,
    paso_de,
    siguientes_pasos,
    transiciones,
)
from .smartflex import CAMPOS_DATOS_SMARTFLEX, ROLES_IMPORTACION, actualizar_datos_en_bloque, crear_en_bloque

_rol_creacion = rol_de_creacion  # the name anulaciones.entregas imports

__all__ = [
    "CAMPOS_DATOS_SMARTFLEX",
    "INTENTOS",
    "MENSAJE_CRUCE",
    "MENSAJE_SIN_BD",
    "REINTENTAR_EN",
    "ROLES_IMPORTACION",
    "SQLSTATES_REINTENTABLES",
    "Conflicto",
    "Contexto",
    "DatosInvalidos",
    "ErrorDominio",
    "NoEncontrado",
    "SinPermiso",
    "TransicionNoEnBloque",
    "TransicionNoPermitida",
    "abrir_servicio",
    "actualizar_datos_en_bloque",
    "anula",
    "aplicar",
    "aplicar_en_bloque",
    "clasificar",
    "comprobar",
    "consecuencia",
    "crear_en_bloque",
    "crear_solicitud",
    "destinos",
    "disponibles",
    "es_conexion_caida",
    "es_cruce",
    "etiqueta",
    "filtro_pks",
    "fuentes",
    "irreversibles",
    "paso_de",
    "recibir_zonificacion",
    "registrar_contacto",
    "registrar_fallo",
    "rol_de_creacion",
    "siguientes_pasos",
    "sqlstate",
    "transiciones",
    "usuario_sistema",
]
