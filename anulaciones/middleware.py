"""Database faults are answers, never a 500 (issue 13).

- A deadlock or serialization failure that escaped the transition path's retries
  (``transitions.camino``) -> 409: nothing was saved, the user may try again.
- A database connection that died under the request (``pg_terminate_backend``, a PostgreSQL
  restart or failover, the network) or a database that cannot be reached -> 503 with
  ``Retry-After``. Django closes the broken connection when the request ends, and
  ``CONN_HEALTH_CHECKS`` makes the next request start on a fresh one.

Pages get a short Spanish HTML page; requests under /api/ get the API's JSON error shape
``{"detail": "...", "errores": {}}`` (the API's own handler, ``api.errores.manejar_excepcion``,
answers the same for errors inside its views).

``process_exception`` answers what a view raises. Anything raised outside the view but inside
this middleware (a session saved by SessionMiddleware after the view, a template rendered late)
reaches Django's 500 handler first: ``got_request_exception`` notes the exception on the request
and ``__call__`` replaces that 500 with the same answer. Place this middleware near the top of
MIDDLEWARE so that it wraps the ones that use the database.
"""

import sys

from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape

from .transitions import REINTENTAR_EN, clasificar, registrar_fallo

_ATRIBUTO = "_anulaciones_error_bd"


def respuesta_de_fallo(request, status, mensaje):
    if request.path_info.startswith("/api/"):
        respuesta = JsonResponse(
            {"detail": mensaje, "errores": {}}, status=status, json_dumps_params={"ensure_ascii": False}
        )
    else:
        titulo = "Operación cruzada con otra" if status == 409 else "Servicio no disponible por un momento"
        respuesta = HttpResponse(
            f'<!doctype html><html lang="es"><head><meta charset="utf-8"><title>{titulo}</title></head>'
            f"<body><main><h1>{titulo}</h1><p>{escape(mensaje)}</p>"
            f'<p><a href="{escape(request.get_full_path())}">Volver a intentar</a></p></main></body></html>',
            status=status,
            content_type="text/html; charset=utf-8",
        )
    if status == 503:
        respuesta["Retry-After"] = str(REINTENTAR_EN)
    respuesta["Cache-Control"] = "no-store"
    return respuesta


class FallosDeBaseDeDatos:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        respuesta = self.get_response(request)
        exc = getattr(request, _ATRIBUTO, None)
        if exc is not None and respuesta.status_code >= 500:
            fallo = clasificar(exc)
            if fallo:
                return respuesta_de_fallo(request, *fallo)
        return respuesta

    def process_exception(self, request, exception):
        fallo = clasificar(exception)
        if fallo is None:
            return None
        registrar_fallo(request, exception, fallo[0])
        return respuesta_de_fallo(request, *fallo)


@receiver(got_request_exception, dispatch_uid="anulaciones_fallos_bd")
def _anotar_error_bd(sender, request=None, **kwargs):
    """Django is about to answer 500: remember a database fault for ``FallosDeBaseDeDatos``."""
    exc = sys.exc_info()[1]
    fallo = clasificar(exc) if request is not None and exc is not None else None
    if fallo:
        registrar_fallo(request, exc, fallo[0])
        setattr(request, _ATRIBUTO, exc)
