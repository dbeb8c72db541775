"""Reconciliation with Smartflex in the API (issue 18): the page /smartflex/conciliacion/ for machine
clients. Thin, like the rest of the API: parse, call one service (``conciliacion``, ``diferencias``,
``emparejamiento``), represent; the domain errors become 400/403/404/409 (``api.errores``).

- ``GET  /api/v1/smartflex/diferencias/`` (filters of ``filters.DiferenciaFilter``) and
  ``POST /api/v1/smartflex/diferencias/{id}/resolver/`` {accion, nota, zona, asesor}.
- ``GET  /api/v1/smartflex/emparejamientos/`` and ``POST …/{id}/vincular/``, ``POST …/{id}/descartar/``.
- ``POST /api/v1/smartflex/estados/`` (multipart ``archivo``): 202 with the import job to poll,
  ``GET /api/v1/smartflex/importaciones/{id}/``.
- ``GET  /api/v1/smartflex/cifras/?mes=AAAA-MM``.

Who: Gestión de Red and the COC; the jefe de división reads (lists and figures); others 403. The
import jobs are read by those who import (``importacion.ROLES``)."""

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import conciliacion, diferencias, emparejamiento, importacion, selectors
from ..errors import DatosInvalidos, SinPermiso
from ..filters import DiferenciaFilter, EmparejamientoFilter
from ..models import Diferencia, Emparejamiento, EstadoSmartflex, ImportacionSmartflex, Zona
from ..navegacion import ROLES_CONCILIACION, ROLES_CONCILIAR
from ..reports.indicador import Periodo, texto_conciliacion
from ..roles import Rol, roles_de
from .serializers import ErrorSerializer, EstrictoMixin
from .views import CABECERA_IF_MATCH, ERRORES_ESCRITURA, ERRORES_LECTURA, version_de_if_match

TAG = "smartflex"
LEEN = "Roles: GESTION_RED, COC; JEFE_DIVISION solo lee."
ACTUAN = "Roles: GESTION_RED, COC."
# What a multipart request carries besides the file (as the import page: views/importacion.py).
HOLGURA_MULTIPART = 64 * 1024
MAX_NOTA = 2000


def _leer(request):
    if not roles_de(request.user) & ROLES_CONCILIACION:
        raise SinPermiso("Solo Gestión de Red, el COC y el Jefe de División consultan la conciliación con Smartflex.")


def _actuar(request):
    if not roles_de(request.user) & ROLES_CONCILIAR:
        raise SinPermiso("Solo Gestión de Red y el COC resuelven la conciliación con Smartflex.")


# --- representations -------------------------------------------------------------------------------
class EstadoSmartflexSerializer(serializers.ModelSerializer):
    estado_display = serializers.CharField(source="get_estado_display", read_only=True)

    class Meta:
        model = EstadoSmartflex
        fields = [
            "objeto",
            "numero",
            "estado",
            "estado_display",
            "estado_texto",
            "fecha",
            "motivo",
            "usuario",
            "cliente_documento",
            "cliente_telefono",
            "direccion",
            "cliente_nombre",
            "zona",
            "asesor",
        ]


class AccionSerializer(serializers.Serializer):
    accion = serializers.CharField()
    etiqueta = serializers.CharField()


class DiferenciaSerializer(serializers.ModelSerializer):
    """A difference: what Smartflex says (``fuente``), the application's Solicitud as it is now,
    and either the actions of its class (open) or who resolved it, when and how."""

    clase_display = serializers.CharField(source="get_clase_display", read_only=True)
    estado_display = serializers.CharField(source="get_estado_display", read_only=True)
    fuente = EstadoSmartflexSerializer(read_only=True)
    solicitud_numero = serializers.SerializerMethodField()
    aplicacion = serializers.SerializerMethodField(help_text="El estado actual de la solicitud y su OT, en palabras.")
    resuelta_por = serializers.SerializerMethodField()
    acciones = serializers.SerializerMethodField(help_text="Las acciones que la resuelven (abierta), en orden.")

    class Meta:
        model = Diferencia
        fields = [
            "id",
            "clase",
            "clase_display",
            "estado",
            "estado_display",
            "fuente",
            "solicitud",
            "solicitud_numero",
            "estado_aplicacion",
            "aplicacion",
            "detectada_at",
            "resuelta_at",
            "resuelta_por",
            "automatica",
            "nota",
            "acciones",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_solicitud_numero(self, obj):
        return obj.solicitud.numero_smartflex if obj.solicitud_id else None

    def get_aplicacion(self, obj) -> str:
        from ..tables import texto_aplicacion

        return texto_aplicacion(obj)

    @extend_schema_field(OpenApiTypes.STR)
    def get_resuelta_por(self, obj):
        return obj.resuelta_por.username if obj.resuelta_por_id else None

    @extend_schema_field(AccionSerializer(many=True))
    def get_acciones(self, obj):
        if obj.estado != Diferencia.Estado.ABIERTA:
            return []
        return [
            {"accion": a, "etiqueta": diferencias.ETIQUETAS_ACCION.get(a, a)}
            for a in diferencias.ACCIONES.get(obj.clase, ())
        ]


class SolicitudCortaSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    numero_smartflex = serializers.CharField()
    estado = serializers.CharField()
    estado_display = serializers.CharField(source="get_estado_display")
    version = serializers.IntegerField()
    creado_at = serializers.DateTimeField()
    cancelada_at = serializers.DateTimeField(allow_null=True, help_text="Cuándo se anuló el caso (null si no).")


class EmparejamientoSerializer(serializers.ModelSerializer):
    """A re-entry proposed as the re-digitation of a cancelled Solicitud: both Solicitudes, the
    confidence (0–100) with its level and reasons, and what was decided."""

    estado_display = serializers.CharField(source="get_estado_display", read_only=True)
    nivel = serializers.SerializerMethodField(help_text="alta (≥ 80: mismo documento y dirección), media (≥ 50), baja.")
    anulada = SolicitudCortaSerializer(read_only=True)
    nueva = SolicitudCortaSerializer(read_only=True)
    motivos = serializers.ListField(child=serializers.CharField(), read_only=True)
    resuelto_por = serializers.SerializerMethodField()

    class Meta:
        model = Emparejamiento
        fields = [
            "id",
            "estado",
            "estado_display",
            "confianza",
            "nivel",
            "motivos",
            "anulada",
            "nueva",
            "automatico",
            "creado_at",
            "resuelto_at",
            "resuelto_por",
        ]

    def get_nivel(self, obj) -> str:
        return emparejamiento.nivel(obj.confianza)

    @extend_schema_field(OpenApiTypes.STR)
    def get_resuelto_por(self, obj):
        return obj.resuelto_por.username if obj.resuelto_por_id else None


class ErrorFilaSerializer(serializers.Serializer):
    fila = serializers.IntegerField()
    columna = serializers.CharField()
    mensaje = serializers.CharField()


class ImportacionSerializer(serializers.ModelSerializer):
    """An import job (a status feed, clase «estados», or Solicitudes): poll it until ``terminada``."""

    etapa_display = serializers.CharField(source="get_etapa_display", read_only=True)
    terminada = serializers.BooleanField(read_only=True)
    usuario = serializers.SerializerMethodField()
    errores = ErrorFilaSerializer(many=True, read_only=True)
    avisos = ErrorFilaSerializer(many=True, read_only=True)
    pagina = serializers.SerializerMethodField(help_text="La página de la importación (progreso y errores).")

    class Meta:
        model = ImportacionSmartflex
        fields = [
            "id",
            "clase",
            "nombre",
            "usuario",
            "etapa",
            "etapa_display",
            "terminada",
            "total",
            "procesadas",
            "creadas",
            "actualizadas",
            "sin_cambios",
            "omitidas",
            "con_error",
            "diferencias",
            "emparejadas",
            "total_errores",
            "errores",
            "total_avisos",
            "avisos",
            "mensaje",
            "creado_at",
            "terminado_at",
            "pagina",
        ]

    def get_usuario(self, obj) -> str:
        return obj.usuario.username

    def get_pagina(self, obj) -> str:
        ruta = reverse("importacion", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(ruta) if request is not None else ruta


class ImportacionEncoladaSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    etapa = serializers.CharField()
    url = serializers.CharField(help_text="GET: el progreso de la importación (hasta «terminada»).")
    pagina = serializers.CharField(help_text="La misma importación en la aplicación.")
    publicado = serializers.BooleanField(
        help_text="false: el servicio de tareas no respondió; queda en cola y se importa cuando vuelva."
    )


class UltimaImportacionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    nombre = serializers.CharField()
    terminado_at = serializers.DateTimeField(allow_null=True)


class PeriodoSerializer(serializers.Serializer):
    desde = serializers.DateField()
    hasta = serializers.DateField()
    etiqueta = serializers.CharField()


class CifrasSerializer(serializers.Serializer):
    periodo = PeriodoSerializer()
    faltantes = serializers.IntegerField(help_text="Anulaciones de Smartflex que faltan en la aplicación (meta: 0).")
    abiertas = serializers.IntegerField()
    abiertas_por_clase = serializers.DictField(child=serializers.IntegerField())
    detectadas = serializers.IntegerField(help_text="Diferencias detectadas en el periodo.")
    resueltas = serializers.IntegerField(help_text="Diferencias resueltas en el periodo.")
    resueltas_automaticas = serializers.IntegerField()
    vinculadas = serializers.IntegerField(help_text="Re-digitaciones vinculadas en el periodo.")
    vinculadas_automaticas = serializers.IntegerField()
    porcentaje_automatico = serializers.FloatField(allow_null=True, help_text="% de las vinculadas, automáticas.")
    ultima_importacion = UltimaImportacionSerializer(allow_null=True)
    estados_hasta = serializers.DateTimeField(allow_null=True, help_text="El estado más reciente de Smartflex.")
    conciliado_con = serializers.CharField(help_text="«Conciliado con el archivo X del …», o que aún no hay archivo.")


# --- inputs -----------------------------------------------------------------------------------------
class ResolverSerializer(EstrictoMixin, serializers.Serializer):
    accion = serializers.ChoiceField(choices=list(diferencias.ETIQUETAS_ACCION.items()))
    nota = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_NOTA,
        help_text="Obligatoria para «error_smartflex»: por qué el dato de Smartflex es el equivocado.",
    )
    zona = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=30,
        help_text="crear_caso: el código de la zona (o su id), si Smartflex no indicó una zona activa.",
    )
    asesor = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=150,
        help_text="crear_caso: el nombre de usuario del asesor (o su id), si Smartflex no indicó uno activo.",
    )


class VincularSerializer(EstrictoMixin, serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        help_text="La versión leída de la solicitud anulada (``anulada.version``): si cambió, 409.",
    )


class DescartarSerializer(EstrictoMixin, serializers.Serializer):
    motivo = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_NOTA)


class EstadosSerializer(EstrictoMixin, serializers.Serializer):
    archivo = serializers.FileField(help_text="CSV (UTF-8 o Windows-1252; «,» o «;») o XLSX de estados de Smartflex.")
    aceptar_validas = serializers.BooleanField(
        required=False, default=False, help_text="Importar las filas válidas aunque haya errores."
    )


def _id_de(modelo_qs, valor, campo, nombre):
    """The pk of a zone or asesor named by its code / username, or its id; 400 when unknown."""
    valor = (valor or "").strip()
    if not valor:
        return None
    q = Q(**{campo: valor})
    if valor.isascii() and valor.isdigit() and len(valor) <= 18:
        q |= Q(pk=int(valor))
    pk = modelo_qs.filter(q).values_list("pk", flat=True).first()
    if pk is None:
        que, como = ("una zona activa", "su código") if nombre == "zona" else ("un asesor", "su nombre de usuario")
        raise DatosInvalidos({nombre: f"«{valor[:40]}» no es {que} de la aplicación: indique {como} o su id."})
    return pk


class _Lista(generics.ListAPIView):
    """A reconciliation list: the roles that read the page (after authentication: 401 first)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        _leer(request)


# --- differences ------------------------------------------------------------------------------------
@extend_schema(
    tags=[TAG],
    responses={200: DiferenciaSerializer(many=True), **ERRORES_LECTURA},
    summary="Diferencias con Smartflex",
    description="Las diferencias entre los estados de Smartflex y la aplicación, el estado más reciente de "
    "Smartflex primero. Sin «estado» ni «vista», las abiertas; cada abierta trae sus «acciones». " + LEEN,
)
class DiferenciasView(_Lista):
    serializer_class = DiferenciaSerializer
    filterset_class = DiferenciaFilter

    def get_queryset(self):
        return selectors.diferencias_lista()


class ResolverView(APIView):
    @extend_schema(
        operation_id="smartflex_diferencias_resolver",
        tags=[TAG],
        request=ResolverSerializer,
        responses={200: DiferenciaSerializer, **ERRORES_ESCRITURA},
        summary="Resolver una diferencia con Smartflex",
        description="«registrar_anulacion» (anulada en Smartflex: la anulación se registra en la aplicación con su "
        "fecha real, auditada como importada), «crear_caso» (anulada solo en Smartflex: el caso nace probable y "
        "anulado; «zona» y «asesor» si Smartflex no los indicó) o «error_smartflex» (con «nota»: el dato de "
        "Smartflex es el equivocado; va en la exportación a Smartflex). 400: la acción no es de su clase o faltan "
        "datos; 409: ya resuelta por otra persona (quién y cuándo) o la transición no se puede tomar. " + ACTUAN,
    )
    def post(self, request, pk):
        _actuar(request)
        get_object_or_404(Diferencia, pk=pk)
        entrada = ResolverSerializer(data=request.data)
        entrada.is_valid(raise_exception=True)
        d = entrada.validated_data
        zona = _id_de(Zona.objects.filter(activa=True), d["zona"], "codigo", "zona")
        asesor = _id_de(get_user_model().objects.filter(groups__name=Rol.ASESOR), d["asesor"], "username", "asesor")
        diferencias.resolver(pk, d["accion"], request.user, nota=d["nota"], zona_id=zona, asesor_id=asesor)
        dif = selectors.diferencias_lista().get(pk=pk)
        return Response(DiferenciaSerializer(dif, context={"request": request}).data)


# --- proposed re-entries -------------------------------------------------------------------------
@extend_schema(
    tags=[TAG],
    responses={200: EmparejamientoSerializer(many=True), **ERRORES_LECTURA},
    summary="Re-digitaciones propuestas",
    description="Solicitudes nuevas propuestas como re-digitación de una anulada del mismo cliente, la de mayor "
    "confianza primero. Sin «estado», las propuestas (esperan una decisión). " + LEEN,
)
class EmparejamientosView(_Lista):
    serializer_class = EmparejamientoSerializer
    filterset_class = EmparejamientoFilter

    def get_queryset(self):
        return selectors.emparejamientos_lista()


class VincularView(APIView):
    @extend_schema(
        operation_id="smartflex_emparejamientos_vincular",
        tags=[TAG],
        request=VincularSerializer,
        responses={200: EmparejamientoSerializer, **ERRORES_ESCRITURA},
        parameters=[CABECERA_IF_MATCH],
        summary="Vincular una re-digitación propuesta (19.2)",
        description="La solicitud nueva pasa a ser la re-digitación de la anulada y se une a su caso; el plazo de 2 "
        "horas se juzga con las horas reales. «version» (o If-Match) es la de la solicitud anulada. 409: ya "
        "decidida, o la anulada cambió. " + ACTUAN,
    )
    def post(self, request, pk):
        _actuar(request)
        get_object_or_404(Emparejamiento, pk=pk)
        entrada = VincularSerializer(data=request.data)
        entrada.is_valid(raise_exception=True)
        version = entrada.validated_data.get("version")
        etiqueta = version_de_if_match(request)
        if etiqueta is not None and version is not None and etiqueta != version:
            raise DatosInvalidos(
                {
                    "If-Match": f"If-Match nombra la versión {etiqueta} y el cuerpo la {version}: "
                    "envíe una sola, la que leyó."
                }
            )
        emparejamiento.vincular(pk, request.user, version=etiqueta if etiqueta is not None else version)
        emp = selectors.emparejamientos_lista().get(pk=pk)
        return Response(EmparejamientoSerializer(emp, context={"request": request}).data)


class DescartarView(APIView):
    @extend_schema(
        operation_id="smartflex_emparejamientos_descartar",
        tags=[TAG],
        request=DescartarSerializer,
        responses={200: EmparejamientoSerializer, **ERRORES_ESCRITURA},
        summary="Descartar una re-digitación propuesta",
        description="La solicitud nueva no es la re-digitación de la anulada: no se vuelve a proponer. «motivo», "
        "opcional, queda entre sus motivos. 409: ya decidida. " + ACTUAN,
    )
    def post(self, request, pk):
        _actuar(request)
        get_object_or_404(Emparejamiento, pk=pk)
        entrada = DescartarSerializer(data=request.data)
        entrada.is_valid(raise_exception=True)
        emparejamiento.descartar(pk, request.user, motivo=entrada.validated_data["motivo"])
        emp = selectors.emparejamientos_lista().get(pk=pk)
        return Response(EmparejamientoSerializer(emp, context={"request": request}).data)


# --- the status feed --------------------------------------------------------------------------------
class EstadosView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="smartflex_estados_subir",
        tags=[TAG],
        request={"multipart/form-data": EstadosSerializer},
        responses={
            202: ImportacionEncoladaSerializer,
            413: ErrorSerializer,
            **ERRORES_LECTURA,
        },
        summary="Importar un archivo de estados de Smartflex",
        description="Guarda el archivo y encola su importación: 202 con el id y la URL para seguir su progreso "
        "(GET /api/v1/smartflex/importaciones/{id}/). Las columnas, en docs/api.md. Si alguna fila tiene errores "
        "no se importa nada, salvo «aceptar_validas». 413: el archivo supera ANULACIONES_IMPORTACION_MAX_MB. " + ACTUAN,
    )
    def post(self, request):
        _actuar(request)
        limite = importacion.limites().bytes
        try:
            largo = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            largo = 0
        if largo > limite + HOLGURA_MULTIPART:  # refused before the body is read
            mensaje = importacion.mensaje_tamano()
            return Response(
                {"detail": mensaje, "errores": {"archivo": mensaje}}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        entrada = EstadosSerializer(data=request.data)
        entrada.is_valid(raise_exception=True)
        archivo = entrada.validated_data["archivo"]
        if archivo.size is not None and archivo.size > limite:
            mensaje = importacion.mensaje_tamano(archivo.size)
            return Response(
                {"detail": mensaje, "errores": {"archivo": mensaje}}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        imp = conciliacion.subir_estados(
            archivo, request.user, aceptar_validas=entrada.validated_data["aceptar_validas"]
        )
        url = request.build_absolute_uri(reverse("api-smartflex-importacion", args=[imp.pk]))
        return Response(
            {
                "id": imp.pk,
                "etapa": imp.etapa,
                "url": url,
                "pagina": request.build_absolute_uri(reverse("importacion", args=[imp.pk])),
                "publicado": getattr(imp, "publicado", None) is not False,
            },
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )


class ImportacionView(APIView):
    @extend_schema(
        operation_id="smartflex_importaciones_detalle",
        tags=[TAG],
        responses={200: ImportacionSerializer, **ERRORES_LECTURA},
        summary="Progreso de una importación de Smartflex",
        description="Etapa, filas procesadas y contadores (estados: «diferencias», «emparejadas»), los primeros "
        "errores y avisos por fila. «terminada»: true cuando acabó (terminada, con errores o fallida). Roles: "
        "GESTION_RED, COC.",
    )
    def get(self, request, pk):
        if not roles_de(request.user) & importacion.ROLES:
            raise SinPermiso("Solo Gestión de Red y el COC importan desde Smartflex.")
        imp = get_object_or_404(ImportacionSmartflex.objects.select_related("usuario"), pk=pk)
        return Response(ImportacionSerializer(imp, context={"request": request}).data)


# --- the figures ------------------------------------------------------------------------------------
class CifrasView(APIView):
    @extend_schema(
        operation_id="smartflex_cifras",
        tags=[TAG],
        parameters=[
            OpenApiParameter(
                "mes",
                OpenApiTypes.STR,
                pattern=r"^[0-9]{4}-[0-9]{2}$",
                description="El mes de las cifras del periodo, AAAA-MM (por defecto, el mes en curso).",
            )
        ],
        responses={200: CifrasSerializer, **ERRORES_LECTURA},
        summary="Cifras de la conciliación con Smartflex",
        description="Anulaciones de Smartflex que faltan en la aplicación (meta 0), diferencias abiertas por clase, "
        "detectadas y resueltas en el mes (cuántas automáticamente), re-digitaciones vinculadas y la parte "
        "vinculada automáticamente, y con qué archivo de estados está conciliado. " + LEEN,
    )
    def get(self, request):
        _leer(request)
        texto = request.query_params.get("mes")
        if texto is None or not texto.strip():
            periodo = Periodo.actual()
        else:
            try:
                mes = selectors.mes_de(texto)
            except ValueError as e:
                raise DatosInvalidos({"mes": str(e)}) from None
            periodo = Periodo.mes(mes.year, mes.month)
        c = diferencias.cifras(periodo)
        datos = {
            "periodo": {"desde": periodo.desde, "hasta": periodo.hasta, "etiqueta": periodo.etiqueta},
            "faltantes": c.faltantes,
            "abiertas": c.abiertas,
            "abiertas_por_clase": c.abiertas_por_clase,
            "detectadas": c.detectadas,
            "resueltas": c.resueltas,
            "resueltas_automaticas": c.resueltas_automaticas,
            "vinculadas": c.vinculadas,
            "vinculadas_automaticas": c.vinculadas_automaticas,
            "porcentaje_automatico": c.porcentaje_automatico,
            "ultima_importacion": c.ultima_importacion,
            "estados_hasta": c.estados_hasta,
            "conciliado_con": texto_conciliacion(c)["de_archivo"],
        }
        return Response(CifrasSerializer(datos).data)
