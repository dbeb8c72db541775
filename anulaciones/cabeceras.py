"""Security headers of every response (issue 13).

- ``Content-Security-Policy``: django-csp's middleware with the policy of
  ``settings.CONTENT_SECURITY_POLICY`` (only this origin; no inline script, style or event
  handler: the pages keep their CSS in ``static/css/`` and their few scripts in ``static/js/``).
  Explicit exceptions, each on its own view: the Redoc page of the API (``csp_documentacion_redoc``).
- ``Permissions-Policy``: ``PermisosMiddleware`` — no page uses the camera, the microphone, the
  position, payments or USB; the browser refuses them to every page and frame.
"""

from csp.constants import SELF
from csp.decorators import csp_update
from django.conf import settings

# No page asks for any of these (the técnico types coordinates; nothing reads the phone's
# position): refuse them all. A future "use my position" button needs geolocation=(self).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)


class PermisosMiddleware:
    """Adds ``Permissions-Policy`` (``settings.ANULACIONES_PERMISSIONS_POLICY``, default above)
    to every response that does not set its own."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.politica = getattr(settings, "ANULACIONES_PERMISSIONS_POLICY", PERMISSIONS_POLICY)

    def __call__(self, request):
        respuesta = self.get_response(request)
        if self.politica and "Permissions-Policy" not in respuesta:
            respuesta["Permissions-Policy"] = self.politica
        return respuesta


# Redoc (drf-spectacular-sidecar) renders with styled-components, which writes its CSS into
# <style> elements at run time, and builds its search index in a Web Worker from a blob: URL.
# Its page (``/api/v1/redoc/``, logged-in users only) therefore adds inline styles and blob:
# workers to the policy; scripts stay 'self' only (its template has no inline script).
csp_documentacion_redoc = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": [SELF, "blob:"]})


class LimiteDeCuerpo:
    """No request body larger than what its page accepts is ever read (issue 13): every path but
    the two upload pages takes up to DATA_UPLOAD_MAX_MEMORY_SIZE; the upload pages (Smartflex
    import, GIS layer) answer an oversize file themselves, with their form (an upload handler stops
    storing it at ANULACIONES_IMPORTACION_MAX_MB), and only a body over twice that is cut here.
    Judged by Content-Length before anything parses the body
    (the CSRF check reads ``request.POST``, which would spool a multipart file part to disk):
    413 — JSON under /api/, a Spanish page elsewhere. Behind a proxy, set its body limit too
    (nginx ``client_max_body_size``) for chunked bodies without a Content-Length."""

    RUTAS_DE_CARGA = ("/importar/", "/direcciones/importar/")
    HOLGURA = 64 * 1024  # the multipart envelope and the form's other fields

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.http import HttpResponse, JsonResponse

        try:
            largo = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            largo = 0
        if request.path in self.RUTAS_DE_CARGA:  # up to here the page answers with its own form
            limite = int(2 * settings.ANULACIONES_IMPORTACION_MAX_MB * 1024 * 1024) + 1024 * 1024
        else:
            limite = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
        if largo > limite + self.HOLGURA:
            mensaje = f"El envío ({largo / 1048576:.1f} MB) supera el máximo de {limite / 1048576:.1f} MB."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": mensaje, "errores": {}}, status=413)
            return HttpResponse(mensaje, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
