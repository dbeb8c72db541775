"""What a database error means for the path and for whoever answers the user (issue 13).

- A deadlock or serialization failure (``es_cruce``): the database rolled the transaction back;
  the path runs it again (``camino._en_transaccion``), and what still fails is a 409.
- A connection that died or a database that cannot be reached (``es_conexion_caida``): 503 with
  ``Retry-After`` — nothing is known to be saved.

``clasificar`` is the one mapping; the API's exception handler and the pages' middleware answer
with it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import DatabaseError, InterfaceError, OperationalError

from ..contadores import contar_fallo_bd

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request

log = logging.getLogger(__name__)

# SQLSTATEs after which PostgreSQL rolled the whole transaction back and running it again may
# succeed: deadlock_detected, serialization_failure.
SQLSTATES_REINTENTABLES = {"40P01": "bloqueo mutuo", "40001": "fallo de serialización"}
MENSAJE_CRUCE = (
    "Otra operación sobre el mismo caso se cruzó con esta y no pudo completarse; no se guardó "
    "ningún cambio. Revise el estado actual y vuelva a intentarlo."
)
MENSAJE_SIN_BD = (
    "La base de datos no respondió (la conexión se cortó o no está disponible). No se pudo "
    "confirmar si esta operación se guardó: revise el estado actual y, si hace falta, vuelva a "
    "intentarlo en unos segundos."
)
REINTENTAR_EN = 5  # seconds, the Retry-After of a 503


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (psycopg 3 ``sqlstate``, psycopg2 ``pgcode``), or None."""
    for e in (exc, getattr(exc, "__cause__", None)):
        codigo = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if codigo:
            return codigo
    return None


def es_cruce(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the database rolled the transaction back."""
    return isinstance(exc, DatabaseError) and sqlstate(exc) in SQLSTATES_REINTENTABLES


def es_conexion_caida(exc: BaseException) -> bool:
    """A broken or unreachable database connection (not a deadlock, not bad data)."""
    return isinstance(exc, (OperationalError, InterfaceError)) and not es_cruce(exc)


def clasificar(exc: BaseException) -> tuple[int, str] | None:
    """(status, message) for a database fault, or None for anything else."""
    if es_cruce(exc):
        return 409, MENSAJE_CRUCE
    if es_conexion_caida(exc):
        return 503, MENSAJE_SIN_BD
    return None


def registrar_fallo(request: HttpRequest | Request, exc: BaseException, status: int) -> None:
    """Log a database fault answered ``status`` and count it (metric anulaciones_fallos_bd_total):
    called once per answered fault, by the pages' middleware and by the API's handler."""
    contar_fallo_bd(status)
    log.warning(
        "%s %s: %s (SQLSTATE %s) -> %s", request.method, request.path, type(exc).__name__, sqlstate(exc), status
    )
