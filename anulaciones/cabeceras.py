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
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                      "microphone=(), payment=(), usb=()")


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
