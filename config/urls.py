from django.contrib import admin
from django.urls import include, path

from anulaciones.views import EntrarView

admin.site.site_header = "Anulaciones — COM-DSC-P10"
admin.site.site_title = "Anulaciones"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("anulaciones.api.urls")),
    path("cuentas/login/", EntrarView.as_view(), name="login"),  # throttled login
    path("cuentas/", include("django.contrib.auth.urls")),
    path("", include("anulaciones.urls")),
]
