from django.urls import path

from . import views
from .views import acciones as vistas_acciones
from .views import busqueda as vistas_busqueda
from .views import conciliacion as vistas_conciliacion
from .views import direcciones as vistas_direcciones
from .views import entregas as vistas_entregas
from .views import importacion as vistas_importacion
from .views import indicador as vistas_indicador
from .views import notificaciones as vistas_notificaciones
from .views import riesgo as vistas_riesgo
from .views import tablero as vistas_tablero

urlpatterns = [
    path("", views.inicio, name="inicio"),
    path("indicador/", vistas_indicador.indicador, name="indicador"),
    path("indicador/casos/", vistas_indicador.casos, name="indicador_casos"),
    path("indicador/export.xlsx", vistas_indicador.exportar_xlsx, name="indicador_xlsx"),
    path("indicador.json", vistas_indicador.exportar_json, name="indicador_json"),
    path("solicitudes/", views.solicitudes, name="solicitudes"),
    path("solicitudes/nueva/", views.solicitud_nueva, name="solicitud_nueva"),
    path("solicitudes/riesgo/", vistas_riesgo.previa, name="solicitud_riesgo"),
    path("solicitudes/<int:pk>/", views.solicitud, name="solicitud"),
    path("solicitudes/<int:pk>/imprimir/", views.solicitud_imprimir, name="solicitud_imprimir"),
    path("solicitudes/<int:pk>/contacto/", views.contacto_nuevo, name="contacto_nuevo"),
    path("ordenes/", views.ordenes, name="ordenes"),
    path("ordenes/<int:pk>/", views.orden, name="orden"),
    path("ordenes/<int:pk>/imprimir/", views.orden_imprimir, name="orden_imprimir"),
    path("ordenes/<int:pk>/zonificacion/", views.zonificacion_nueva, name="zonificacion_nueva"),
    path("ordenes/<int:pk>/impedimento/", vistas_acciones.impedimento_nuevo, name="impedimento_nuevo"),
    path("accion/<str:modelo>/<int:pk>/<str:nombre>/", views.transicion, name="transicion"),
    path("entregas/", vistas_entregas.entregas, name="entregas"),
    path("entregas/generar/", vistas_entregas.entrega_generar, name="entrega_generar"),
    path("entregas/<int:pk>/descargar/", vistas_entregas.entrega_descargar, name="entrega_descargar"),
    path("entregas/<int:pk>/recibir/", vistas_entregas.entrega_recibir, name="entrega_recibir"),
    path("notificaciones/", vistas_notificaciones.notificaciones, name="notificaciones"),
    path("notificaciones/leer/", vistas_notificaciones.notificaciones_leer, name="notificaciones_leer"),
    # Tablero de Control (5.1, 5.2) and the search box
    path("tablero/", vistas_tablero.tablero, name="tablero"),
    path("tablero/export.xlsx", vistas_tablero.exportar_xlsx, name="tablero_xlsx"),
    path("tablero/export.csv", vistas_tablero.exportar_csv, name="tablero_csv"),
    path("tablero/solicitudes/<int:pk>/decidir/", vistas_tablero.decidir, name="tablero_decidir"),
    path("buscar/", vistas_busqueda.buscar, name="buscar"),
    # Risk of observation or cancellation at entry (issue 19): how the score did, month by month
    path("riesgo/evaluacion/", vistas_riesgo.evaluacion, name="riesgo_evaluacion"),
    # Smartflex import and export (issue 6)
    path("importar/", vistas_importacion.importar, name="importar"),
    path("importar/muestra.csv", vistas_importacion.muestra, name="importacion_muestra"),
    path("importar/<int:pk>/", vistas_importacion.importacion_detalle, name="importacion"),
    path("importar/<int:pk>/aceptar/", vistas_importacion.importacion_aceptar, name="importacion_aceptar"),
    path("importar/<int:pk>/errores.csv", vistas_importacion.importacion_errores_csv, name="importacion_errores"),
    path("exportar/smartflex.csv", vistas_importacion.exportar_smartflex, name="exportar_smartflex"),
    # Reconciliation with Smartflex (issue 18): the page reads; each decision posts to its own URL
    path("smartflex/conciliacion/", vistas_conciliacion.pagina, name="conciliacion"),
    path("smartflex/conciliacion/estados/", vistas_conciliacion.subir, name="conciliacion_subir"),
    path("smartflex/conciliacion/muestra.csv", vistas_conciliacion.muestra, name="conciliacion_muestra"),
    path("smartflex/conciliacion/resolver/", vistas_conciliacion.resolver, name="conciliacion_resolver"),
    path("smartflex/conciliacion/en-bloque/", vistas_conciliacion.en_bloque, name="conciliacion_en_bloque"),
    path(
        "smartflex/conciliacion/emparejamiento/",
        vistas_conciliacion.decidir_emparejamiento,
        name="conciliacion_emparejamiento",
    ),
    # Address knowledge (issue 7)
    path("solicitudes/<int:pk>/aprendido/", vistas_direcciones.aprendido, name="direcciones_aprendido"),
    path("direcciones/mapa/", vistas_direcciones.mapa, name="direcciones_mapa"),
    path("direcciones/conocimiento.geojson", vistas_direcciones.exportar_geojson, name="direcciones_geojson"),
    path("direcciones/importar/", vistas_direcciones.importar, name="direcciones_importar"),
]
