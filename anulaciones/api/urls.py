from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from . import direcciones, views

router = SimpleRouter()
router.register("solicitudes", views.SolicitudViewSet, basename="api-solicitud")
router.register("ordenes", views.OrdenViewSet, basename="api-orden")
router.register("servicios", views.ServicioViewSet, basename="api-servicio")
router.register("zonificaciones", views.ZonificacionViewSet, basename="api-zonificacion")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("indicador/", views.IndicadorView.as_view(), name="api-indicador"),
    path("ordenes/<int:pk>/impedimento/", views.ImpedimentoView.as_view(), name="api-ordenes-impedimento"),
    path("direcciones/geojson/", direcciones.GeoJSONView.as_view(), name="api-direcciones-geojson"),
    path("direcciones/verificar/", direcciones.VerificarDireccionView.as_view(), name="api-direcciones-verificar"),
    *[path(f"{recurso}/<int:pk>/{nombre}/", vista, name=f"api-{recurso}-{nombre}")
      for recurso, nombre, vista in views.vistas_de_transicion()],
    *router.urls,
    re_path(r"^.*$", views.no_encontrado),  # anything else under /api/v1/: a JSON 404, never HTML
]
