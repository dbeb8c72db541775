"""One exception handler: domain errors and DRF errors as one JSON shape.

    {"detail": "message", "errores": {"field": "message", ...}}

DatosInvalidos -> 400, SinPermiso -> 403, NoEncontrado -> 404, TransicionNoPermitida and
Conflicto -> 409. Nothing a client sends becomes a 500. Database faults (issue 13): a deadlock
or serialization failure -> 409, a dead or unreachable database connection -> 503 with
``Retry-After`` (``transitions.clasificar``; ``anulaciones.middleware`` answers the same outside
the API's views).
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ..errors import ErrorDominio
from ..transitions import REINTENTAR_EN, clasificar, registrar_fallo


def _plano(detalle):
    """DRF error details -> str, or nested dict for nested serializers."""
    if isinstance(detalle, dict):
        return {str(k): _plano(v) for k, v in detalle.items()}
    if isinstance(detalle, (list, tuple)):
        if detalle and all(isinstance(d, dict) for d in detalle):
            return [_plano(d) for d in detalle]
        return " ".join(str(_plano(d)) for d in detalle)
    return str(detalle)


def manejar_excepcion(exc, context):
    fallo = clasificar(exc)
    if fallo is not None:  # before DataError: a DatabaseError, but the database's fault, not the client's
        status_bd, mensaje = fallo
        if context.get("request") is not None:
            registrar_fallo(context["request"], exc, status_bd)
        respuesta = Response({"detail": mensaje, "errores": {}}, status=status_bd)
        if status_bd == 503:
            respuesta["Retry-After"] = str(REINTENTAR_EN)
        respuesta["Cache-Control"] = "no-store"
        return respuesta
    if isinstance(exc, ErrorDominio):
        return Response(
            {"detail": exc.mensaje, "errores": {k: str(v) for k, v in exc.errores.items()}}, status=exc.codigo_http
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(getattr(exc, "message_dict", None) or {"__all__": exc.messages})
    if isinstance(exc, exceptions.ValidationError):
        errores = _plano(exc.detail)
        if not isinstance(errores, dict):
            errores = {"non_field_errors": errores}
        return Response(
            {"detail": "Revise los datos ingresados.", "errores": errores}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, DataError):  # a value the database cannot hold (too long a number, NUL…)
        return Response(
            {"detail": "Un dato no es válido para el sistema.", "errores": {}}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, exceptions.ParseError):
        return Response(
            {"detail": f"El cuerpo no es JSON válido: {exc.detail}", "errores": {}}, status=status.HTTP_400_BAD_REQUEST
        )
    respuesta = exception_handler(exc, context)
    if respuesta is not None:
        detalle = respuesta.data.get("detail") if isinstance(respuesta.data, dict) else respuesta.data
        respuesta.data = {"detail": str(detalle), "errores": {}}
        return respuesta
    if isinstance(exc, (Http404, PermissionDenied)):  # pragma: no cover - DRF handles both above
        return None
    return None
