from django.contrib import admin
from django.urls import include, path

from anulaciones import metricas
from anulaciones.views import EntrarView
from anulaciones.views.cuentas import CambiarContrasenaView, RestablecerView

admin.site.site_header = "Anulaciones — COM-DSC-P10"
admin.site.site_title = "Anulaciones"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("anulaciones.api.urls")),
    # Health (issue 20): /salud/vivo, /salud/listo for probes, /salud/detalle for staff.
    path("salud/", include("anulaciones.salud")),
    # Throttled by django-axes (anulaciones/views/cuentas.py): login, password change, password reset.
    path("cuentas/login/", EntrarView.as_view(), name="login"),
    path("cuentas/password_change/", CambiarContrasenaView.as_view(), name="password_change"),
    path("cuentas/password_reset/", RestablecerView.as_view(), name="password_reset"),
    path("cuentas/", include("django.contrib.auth.urls")),
    # Prometheus (issue 20.3): Bearer ANULACIONES_METRICAS_TOKEN; a 404 while it is not set.
    path("metricas", metricas.exponer, name="metricas"),
    path("", include("anulaciones.urls")),
]
