"""JSON, never HTML, under /api/: a client of the API reads every answer in the API's one error
shape ``{"detail": "...", "errores": {}}`` (``anulaciones.api.errores``), even when the request
never reaches DRF's exception handler:

- a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` -> 413. Django enforces that limit only when
  ``request.body`` / ``request.POST`` is read (``RequestDataTooBig``, answered with an HTML 400);
  DRF's JSON parser reads the stream and would not enforce it at all. So a non-multipart body is
  refused up front by its Content-Length, and a multipart one whose fields exceed the limit when
  the view raises ``RequestDataTooBig`` (files are limited by each upload form, not here).
- any server error -> 500 (still a bug: Django logs it and sends ``got_request_exception`` as
  usual; only the body the client gets changes, from the HTML error page to JSON).

Pages outside /api/ keep their Spanish HTML error pages.
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

PREFIJO = "/api/"
ERROR_INTERNO = "Error interno del servidor; el incidente quedó registrado."

logger = logging.getLogger("django.security.RequestDataTooBig")


def es_api(request):
    return request.path_info.startswith(PREFIJO)


def error_json(detalle, status):
    return JsonResponse({"detail": detalle, "errores": {}}, status=status, json_dumps_params={"ensure_ascii": False})


def demasiado_grande(request):
    limite = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    logger.warning("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE: %s", request.path)
    return error_json(f"El cuerpo de la solicitud es demasiado grande (máximo {limite} bytes).", 413)


def _largo(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _es_json(respuesta):
    tipo = respuesta.get("Content-Type", "").split(";")[0].strip().lower()
    return tipo == "application/json" or tipo.endswith("+json")


class ErroresJsonApi:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not es_api(request):
            return self.get_response(request)
        limite = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if (
            limite is not None
            and _largo(request) > limite
            and not request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/")
        ):
            return demasiado_grande(request)
        respuesta = self.get_response(request)
        if respuesta.status_code >= 500 and not _es_json(respuesta):
            return error_json(ERROR_INTERNO, respuesta.status_code)
        return respuesta

    def process_exception(self, request, exception):
        if es_api(request) and isinstance(exception, RequestDataTooBig):
            return demasiado_grande(request)
        return None  # anything else: Django logs it and answers 500, turned into JSON above
