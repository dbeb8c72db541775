from django.contrib.auth.decorators import login_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from ..cabeceras import csp_documentacion_redoc
from . import conciliacion, direcciones, views

router = SimpleRouter()
router.register("solicitudes", views.SolicitudViewSet, basename="api-solicitud")
router.register("ordenes", views.OrdenViewSet, basename="api-orden")
router.register("servicios", views.ServicioViewSet, basename="api-servicio")
router.register("zonificaciones", views.ZonificacionViewSet, basename="api-zonificacion")
router.register("entregas", views.EntregaViewSet, basename="api-entrega")

urlpatterns = [
    # Schema and documentation need a login (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]: the schema
    # answers 401 without credentials); the two pages send a browser to the login page first.
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI with its start-up script served from this same URL (?script): no inline script,
    # and a template without inline style, so it passes the site's Content-Security-Policy.
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html")),
        name="api-docs",
    ),
    # Redoc writes its styles inline and starts from an inline script: its own, explicit policy.
    path(
        "redoc/",
        csp_documentacion_redoc(
            login_required(SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"))
        ),
        name="api-redoc",
    ),
    path("indicador/", views.IndicadorView.as_view(), name="api-indicador"),
    # Risk of observation or cancellation at entry (issue 19)
    path("solicitudes/riesgo/", views.RiesgoPreviaView.as_view(), name="api-solicitudes-riesgo"),
    path("riesgo/evaluacion/", views.EvaluacionRiesgoView.as_view(), name="api-riesgo-evaluacion"),
    path("ordenes/<int:pk>/impedimento/", views.ImpedimentoView.as_view(), name="api-ordenes-impedimento"),
    path("direcciones/geojson/", direcciones.GeoJSONView.as_view(), name="api-direcciones-geojson"),
    path("direcciones/verificar/", direcciones.VerificarDireccionView.as_view(), name="api-direcciones-verificar"),
    # Reconciliation with Smartflex (issue 18)
    path("smartflex/diferencias/", conciliacion.DiferenciasView.as_view(), name="api-smartflex-diferencias"),
    path(
        "smartflex/diferencias/<int:pk>/resolver/",
        conciliacion.ResolverView.as_view(),
        name="api-smartflex-diferencias-resolver",
    ),
    path(
        "smartflex/emparejamientos/", conciliacion.EmparejamientosView.as_view(), name="api-smartflex-emparejamientos"
    ),
    path(
        "smartflex/emparejamientos/<int:pk>/vincular/",
        conciliacion.VincularView.as_view(),
        name="api-smartflex-emparejamientos-vincular",
    ),
    path(
        "smartflex/emparejamientos/<int:pk>/descartar/",
        conciliacion.DescartarView.as_view(),
        name="api-smartflex-emparejamientos-descartar",
    ),
    path("smartflex/estados/", conciliacion.EstadosView.as_view(), name="api-smartflex-estados"),
    path("smartflex/importaciones/<int:pk>/", conciliacion.ImportacionView.as_view(), name="api-smartflex-importacion"),
    path("smartflex/cifras/", conciliacion.CifrasView.as_view(), name="api-smartflex-cifras"),
    *[
        path(f"{recurso}/<int:pk>/{nombre}/", vista, name=f"api-{recurso}-{nombre}")
        for recurso, nombre, vista in views.vistas_de_transicion()
    ],
    *router.urls,
    # anything else under /api/v1/: a JSON 404, never HTML ([\s\S], not ".": a %0A newline too)
    re_path(r"^[\s\S]*$", views.no_encontrado),
]
