"""Endpoints: read through the models' ``visibles_para`` scopes (out of scope -> 404), write
through ``transitions`` (crear_solicitud, aplicar). Thin: parse, call one function, represent.

Lost updates (issue 13): an object's representation carries ``ETag: "<version>"``; a transition
takes that tag back in ``If-Match`` (or the same number as ``version`` in the body) and answers
409 when the object moved on since (``transitions.aplicar``'s version check)."""

import re

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import riesgo, selectors, transitions
from ..errors import DatosInvalidos, SinPermiso, TransicionNoPermitida
from ..filters import EntregaFilter, OrdenListaFilter, ServicioApiFilter, SolicitudListaFilter, ZonificacionFilter
from ..models import Entrega, OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion
from ..navegacion import ROLES_RIESGO
from ..reports import indicador as ind
from ..roles import Rol, roles_de
from .direcciones import SolicitudRegistroSerializer, con_advertencias
from .serializers import (
    DetalleSerializer,
    EntregaNuevaSerializer,
    EntregaSerializer,
    ErrorSerializer,
    EvaluacionRiesgoSerializer,
    ImpedimentoSerializer,
    OrdenSerializer,
    RiesgoPreviaEntradaSerializer,
    RiesgoPreviaSerializer,
    ServicioSerializer,
    SolicitudSerializer,
    ZonificacionSerializer,
    serializer_de_transicion,
)

ID = "[0-9]{1,18}"  # an id that fits a bigint; anything else is a 404 from the URL resolver


# --- ETag / If-Match: the object's version as its entity tag ----------------------------------------
# Strong tag "<version>". The version grows by one on every transition and data correction, so the
# tag names the object's state and data; fields computed for the caller (transiciones_disponibles,
# vencido) may differ between two reads of one version. If-Match accepts one tag, weak or strong
# (W/"3" is read as "3"), or "*" (any version: no check).
ETIQUETA = re.compile(r'^\s*(?:W/)?"([0-9]{1,18})"\s*$')
IF_MATCH_PATRON = r'^(\*|(W/)?"[0-9]{1,18}")$'


def etag(obj):
    return f'"{obj.version}"'


def version_de_if_match(request):
    """The version named by the request's If-Match header: None when absent or "*"; 400 when
    it is not one entity tag of a version."""
    valor = request.headers.get("If-Match")
    if valor is None or valor.strip() == "*":
        return None
    coincide = ETIQUETA.match(valor)
    if coincide is None:
        raise DatosInvalidos(
            {
                "If-Match": 'Envíe una sola etiqueta de versión entre comillas, p. ej. "3" '
                "(la cabecera ETag del objeto), o *."
            }
        )
    return int(coincide.group(1))


CABECERA_ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[200],
    description='La versión del objeto como etiqueta de entidad, p. ej. "3": devuélvala en If-Match al '
    "pedir una transición.",
)
CABECERA_IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    pattern=IF_MATCH_PATRON,
    description='La ETag del objeto que el cliente leyó (p. ej. "3"), o «version» en el cuerpo: si el objeto '
    "cambió desde entonces, 409. Sin ninguna de las dos, la transición se aplica al estado actual, "
    "sea cual sea. Ambas distintas, o una etiqueta mal formada: 400.",
)
ERRORES_LECTURA = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
ERRORES_ESCRITURA = {**ERRORES_LECTURA, 409: ErrorSerializer}


# --- querysets: one per resource, scoped by the caller: the selectors of the pages' lists --------
def solicitudes(user):
    return selectors.solicitudes_lista(user=user, acciones=True)


def ordenes(user):
    return selectors.ordenes_lista(user=user)


def servicios(user):
    return selectors.servicios_tablero(user=user)


def zonificaciones(user):
    return selectors.zonificaciones_lista(user=user)


RECURSOS = {
    # resource: (model, queryset, representation)
    "solicitudes": (Solicitud, solicitudes, SolicitudSerializer),
    "ordenes": (OrdenDeTrabajo, ordenes, OrdenSerializer),
    "servicios": (ServicioIngenieria, servicios, ServicioSerializer),
    "zonificaciones": (Zonificacion, zonificaciones, ZonificacionSerializer),
}


class LecturaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = ID
    recurso = ""

    def get_queryset(self):
        return RECURSOS[self.recurso][1](self.request.user)

    def filter_queryset(self, queryset):
        # The FilterSet (the page's, with its defaults: the Tablero's open SIs) narrows the list; an
        # object is found by its id whatever its state.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        return Response(self.get_serializer(obj).data, headers={"ETag": etag(obj)})


def _con_errores(vista, serializer):
    return extend_schema_view(
        list=extend_schema(responses={200: serializer(many=True), **ERRORES_LECTURA}),
        retrieve=extend_schema(responses={200: serializer, **ERRORES_LECTURA}, parameters=[CABECERA_ETAG]),
    )(vista)


class SolicitudViewSet(mixins.CreateModelMixin, LecturaViewSet):
    """Solicitudes de servicio (paso 1) visibles para quien consulta."""

    recurso = "solicitudes"
    serializer_class = SolicitudSerializer
    filterset_class = SolicitudListaFilter

    def get_serializer_class(self):
        return SolicitudRegistroSerializer if self.action == "create" else SolicitudSerializer

    @extend_schema(
        request=SolicitudRegistroSerializer,
        responses={201: SolicitudSerializer, **ERRORES_ESCRITURA},
        description="Paso 1: registra la solicitud y su OT (generada). Roles: ASESOR (propias), "
        "MONITORA, TEAM_LEADER (de su equipo).",
    )
    def create(self, request, *args, **kwargs):
        if not roles_de(request.user) & {Rol.ASESOR, Rol.MONITORA, Rol.TEAM_LEADER}:
            raise SinPermiso("Su rol no permite registrar solicitudes.")
        entrada = SolicitudRegistroSerializer(data=request.data)
        entrada.is_valid(raise_exception=True)
        datos = con_advertencias(entrada.validated_data)  # issue 7: the address check of step 1
        nueva = transitions.crear_solicitud(request.user, **datos)
        nueva = solicitudes(request.user).filter(pk=nueva.pk).first() or nueva
        return Response(SolicitudSerializer(nueva, context={"request": request}).data, status=status.HTTP_201_CREATED)


SolicitudViewSet = _con_errores(SolicitudViewSet, SolicitudSerializer)


class OrdenViewSet(LecturaViewSet):
    """Órdenes de trabajo (COZ y Técnico: solo las de su zona)."""

    recurso = "ordenes"
    serializer_class = OrdenSerializer
    filterset_class = OrdenListaFilter


OrdenViewSet = _con_errores(OrdenViewSet, OrdenSerializer)


class ServicioViewSet(LecturaViewSet):
    """Servicios de Ingeniería (SI) con su plazo ``vence_at``: la lista del Tablero de Control, con sus
    filtros y vistas rápidas; sin ``estado`` (ni ``vista=atendidos_hoy``), los abiertos y vencidos."""

    recurso = "servicios"
    serializer_class = ServicioSerializer
    filterset_class = ServicioApiFilter


ServicioViewSet = _con_errores(ServicioViewSet, ServicioSerializer)


class ZonificacionViewSet(LecturaViewSet):
    """Zonificaciones (pasos 20-21)."""

    recurso = "zonificaciones"
    serializer_class = ZonificacionSerializer
    filterset_class = ZonificacionFilter


ZonificacionViewSet = _con_errores(ZonificacionViewSet, ZonificacionSerializer)


# --- transitions -------------------------------------------------------------------------------
class TransicionView(APIView):
    """``POST /api/v1/<resource>/<id>/<transition>/``: one transition through ``transitions.aplicar``."""

    recurso = modelo = nombre = entrada = salida = None

    def post(self, request, pk):
        _, consulta, salida = RECURSOS[self.recurso]
        # The endpoint's one read of the row, in the caller's scope (404). The path's own refusals
        # (role 403, state or condition 409) come before the body is read, so a caller without the
        # role gets 403 whatever it sent.
        obj = get_object_or_404(consulta(request.user), pk=pk)
        rechazo = transitions.comprobar(obj, self.nombre, request.user)
        if rechazo is not None:
            raise rechazo
        entrada = self.entrada(data=request.data)
        entrada.is_valid(raise_exception=True)
        datos = dict(entrada.validated_data)
        version = datos.pop("version", None)
        etiqueta = version_de_if_match(request)
        if etiqueta is not None and version is not None and etiqueta != version:
            raise DatosInvalidos(
                {
                    "If-Match": f"If-Match nombra la versión {etiqueta} y el cuerpo la {version}: "
                    "envíe una sola, la que leyó."
                }
            )
        if etiqueta is not None:
            version = etiqueta
        nota = datos.pop("nota", "")
        # The answer is the row as the path locked and saved it, its effects included (no read back;
        # the zones and users read above come with it).
        obj = transitions.aplicar(obj, self.nombre, request.user, nota=nota, version=version, refrescar=False, **datos)
        return Response(salida(obj, context={"request": request}).data, headers={"ETag": etag(obj)})


def vistas_de_transicion():
    """[(resource, name, view)] for every transition of every machine, each documented in the
    schema with its own request body."""
    res = []
    for recurso, (modelo, _, salida) in RECURSOS.items():
        for nombre, t in transitions.transiciones(modelo).items():
            if t.custom.get("interna"):
                continue  # «remitir»: only a delivery takes it (POST /api/v1/entregas/)
            entrada = serializer_de_transicion(modelo, nombre)
            roles = ", ".join(str(r) for r in getattr(t.permission, "roles", ())) or "destinatario del SI"
            fuentes = ", ".join(transitions.fuentes(modelo, nombre))
            descripcion = (
                f"{t.custom.get('label', nombre)} — paso {transitions.paso_de(t, None)}. "
                f"Desde: {fuentes} → {' / '.join(transitions.destinos(t))}. Roles: {roles}."
            )

            def post(self, request, pk):
                return TransicionView.post(self, request, pk)

            post = extend_schema(
                operation_id=f"{recurso}_{nombre}",
                request=entrada,
                responses={200: salida, **ERRORES_ESCRITURA},
                summary=t.custom.get("label", nombre),
                parameters=[CABECERA_IF_MATCH, CABECERA_ETAG],
                description=descripcion,
                tags=[recurso],
            )(post)
            clase = type(
                f"{modelo.__name__}{nombre.title().replace('_', '')}View",
                (TransicionView,),
                {
                    "recurso": recurso,
                    "modelo": modelo,
                    "nombre": nombre,
                    "entrada": entrada,
                    "salida": salida,
                    "post": post,
                },
            )
            res.append((recurso, nombre, clase.as_view()))
    return res


# --- impediments (20.2) ----------------------------------------------------------------------------
class ImpedimentoView(APIView):
    """``POST /api/v1/ordenes/<id>/impedimento/``: an SI of tipo ``impedimento`` (20.2) on an
    executed OT, through ``transitions.abrir_servicio`` (checked and audited like any creation).
    The same rules as the page ``/ordenes/<id>/impedimento/``: scope (404), role (403), the OT
    executed (409), then the body (400); without ``destinatario`` it goes to the COC for an OT not
    closed by Operations, otherwise to Gestión de Red (``ImpedimentoForm.POR_DEFECTO``)."""

    @extend_schema(
        operation_id="ordenes_impedimento",
        request=ImpedimentoSerializer,
        responses={201: ServicioSerializer, **ERRORES_ESCRITURA},
        tags=["ordenes"],
        summary="Reportar un impedimento (SI, paso 20.2)",
        description="Abre un Servicio de Ingeniería de tipo «impedimento» sobre una OT ejecutada (falta de cierre "
        "de OT por el Centro de Operaciones, impedimento comercial o problema de sistema), con lo que "
        "se requiere del destinatario; vence al cierre del día hábil. Sin destinatario: el COC para "
        "la falta de cierre de OT, Gestión de Red para los demás. Roles: GESTION_RED, COC.",
    )
    def post(self, request, pk):
        from ..forms import ImpedimentoForm

        orden = get_object_or_404(ordenes(request.user), pk=pk)
        if (
            ServicioIngenieria.ROLES_CREACION.rol_para(ServicioIngenieria(solicitud=orden.solicitud), request.user)
            is None
        ):
            raise SinPermiso("Solo Gestión de Red y el COC reportan impedimentos (20.2).")
        if orden.estado != OrdenDeTrabajo.Estado.EJECUTADA:
            raise TransicionNoPermitida(
                f"Los impedimentos (20.2) se reportan sobre una OT ejecutada; {orden} está "
                f"«{orden.get_estado_display()}»."
            )
        entrada = ImpedimentoSerializer(data=request.data)
        entrada.is_valid(raise_exception=True)
        datos = dict(entrada.validated_data)
        if not datos.get("destinatario"):
            datos["destinatario"] = ImpedimentoForm.POR_DEFECTO.get(datos["impedimento"], Rol.GESTION_RED)
        si = transitions.abrir_servicio(
            orden.solicitud, request.user, tipo=ServicioIngenieria.Tipo.IMPEDIMENTO, **datos
        )
        si = servicios(request.user).get(pk=si.pk)
        return Response(ServicioSerializer(si, context={"request": request}).data, status=status.HTTP_201_CREATED)


# --- deliveries to Div. Facturación (21.1) ----------------------------------------------------------
def _precondicion(request, version):
    """The version a client read, from If-Match or the body's ``version`` (the same rules as the
    transitions of the other resources): None when neither was sent."""
    etiqueta = version_de_if_match(request)
    if etiqueta is not None and version is not None and etiqueta != version:
        raise DatosInvalidos(
            {
                "If-Match": f"If-Match nombra la versión {etiqueta} y el cuerpo la {version}: "
                "envíe una sola, la que leyó."
            }
        )
    return etiqueta if etiqueta is not None else version


EntregaRecibirSerializer = serializer_de_transicion(Entrega, "acusar_recibo")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@extend_schema_view(
    list=extend_schema(
        responses={200: EntregaSerializer(many=True), **ERRORES_LECTURA},
        parameters=[
            OpenApiParameter(
                "mes",
                OpenApiTypes.STR,
                pattern=r"^[0-9]{4}-[0-9]{2}$",
                description="Solo las entregas de ese mes, AAAA-MM.",
            )
        ],
        description="Las entregas numeradas de zonificaciones a Div. Facturación (21.1), del mes "
        "más reciente al más antiguo y, dentro del mes, por número. Roles: FACTURACION, "
        "GESTION_RED.",
    ),
    retrieve=extend_schema(
        responses={200: EntregaSerializer, **ERRORES_LECTURA},
        parameters=[CABECERA_ETAG],
        description="Una entrega. «descarga»: la planilla (GET, token o sesión). Roles: FACTURACION, GESTION_RED.",
    ),
)
class EntregaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Entregas a Div. Facturación (21.1): list, detail, build the next one of a month
    (GESTION_RED) and acknowledge receipt (FACTURACION, ``acusar_recibo`` through
    ``transitions.aplicar``: audited, If-Match / ``version`` as on every transition). Other roles: 403."""

    lookup_value_regex = ID
    serializer_class = EntregaSerializer
    filterset_class = EntregaFilter

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication first (401 without credentials)
        from ..entregas import ROLES_VEN

        if not roles_de(request.user) & ROLES_VEN:
            raise SinPermiso("Solo Div. Facturación y Gestión de Red ven las entregas.")

    def get_queryset(self):
        return selectors.entregas_lista()

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        return Response(self.get_serializer(obj).data, headers={"ETag": etag(obj)})

    @extend_schema(
        operation_id="entregas_generar",
        request=EntregaNuevaSerializer,
        responses={201: EntregaSerializer, 200: DetalleSerializer, **ERRORES_ESCRITURA},
        summary="Generar la siguiente entrega del mes (21.1)",
        description="Genera la siguiente entrega numerada del mes: la N° 1, o una complementaria con lo digitado "
        'después de la última. 201 con la entrega; 200 con {"detail"} cuando no hay zonificaciones '
        "digitadas pendientes de entrega (no se genera una entrega vacía, salvo la N° 1 del mes). "
        "Rol: GESTION_RED.",
    )
    def create(self, request, *args, **kwargs):
        from ..entregas import generar_entrega, sin_nada_que_entregar

        if Rol.GESTION_RED not in roles_de(request.user):
            raise SinPermiso("Solo Gestión de Red genera las entregas a Facturación.")
        entrada = EntregaNuevaSerializer(data=request.data)
        entrada.is_valid(raise_exception=True)
        mes = entrada.validated_data["mes"]
        entrega = generar_entrega(mes, request.user)
        if entrega is None:
            return Response({"detail": sin_nada_que_entregar(mes)}, status=status.HTTP_200_OK)
        entrega = self.get_queryset().get(pk=entrega.pk)
        datos = self.get_serializer(entrega).data
        donde = request.build_absolute_uri(reverse("api-entrega-detail", args=[entrega.pk]))
        return Response(datos, status=status.HTTP_201_CREATED, headers={"ETag": etag(entrega), "Location": donde})

    @extend_schema(
        operation_id="entregas_planilla",
        request=None,
        responses={(200, XLSX): OpenApiTypes.BINARY, **ERRORES_LECTURA},
        summary="Descargar la planilla de la entrega (21.1)",
        description="El libro xlsx de la entrega (hojas «Casos» y «Resumen»), con el token o la sesión. Roles: "
        "FACTURACION, GESTION_RED.",
    )
    @action(detail=True, methods=["get"], url_path="planilla", filterset_class=None)
    def planilla(self, request, pk=None):
        from django.http import FileResponse, Http404

        entrega = self.get_object()
        if not entrega.archivo:
            raise Http404("La entrega no tiene planilla guardada.")
        try:  # from the default storage (PostgreSQL, S3 or disk): whichever process wrote it
            archivo = entrega.archivo.open("rb")
        except FileNotFoundError:
            raise Http404("El archivo de esa entrega no está guardado.") from None
        return FileResponse(archivo, as_attachment=True, filename=entrega.nombre_archivo, content_type=XLSX)

    @extend_schema(
        operation_id="entregas_recibir",
        request=EntregaRecibirSerializer,
        responses={200: EntregaSerializer, **ERRORES_ESCRITURA},
        parameters=[CABECERA_IF_MATCH, CABECERA_ETAG],
        summary="Acusar recibo de una entrega (21.1)",
        description="Facturación confirma la recepción de la entrega (transición «acusar_recibo»: generada → "
        "recibida, auditada). 409 si ya fue recibida o si cambió desde la versión leída (If-Match o "
        "«version»). Rol: FACTURACION.",
    )
    @action(detail=True, methods=["post"], url_path="recibir", filterset_class=None)
    def recibir(self, request, pk=None):
        from ..entregas import ya_recibida

        entrega = self.get_object()
        t = transitions.transiciones(Entrega)["acusar_recibo"]
        if t.permission.rol_para(entrega, request.user) is None:
            raise SinPermiso("Solo Div. Facturación confirma la recepción de una entrega.")
        if entrega.estado != Entrega.E.GENERADA:
            raise TransicionNoPermitida(ya_recibida(entrega))
        entrada = EntregaRecibirSerializer(data=request.data)
        entrada.is_valid(raise_exception=True)
        datos = dict(entrada.validated_data)
        version = _precondicion(request, datos.pop("version", None))
        transitions.aplicar(
            entrega, "acusar_recibo", request.user, nota=datos.pop("nota", ""), version=version, refrescar=False
        )
        entrega = self.get_queryset().get(pk=entrega.pk)
        return Response(self.get_serializer(entrega).data, headers={"ETag": etag(entrega)})


# --- indicator -------------------------------------------------------------------------------------
class IndicadorParametros(serializers.Serializer):
    desde = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])
    hasta = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])

    def validate(self, datos):
        desde, hasta = datos.get("desde"), datos.get("hasta")
        if bool(desde) != bool(hasta):
            raise serializers.ValidationError({"hasta" if desde else "desde": "Indique las dos fechas del rango."})
        if desde and hasta:
            if desde > hasta:
                raise serializers.ValidationError({"desde": "«desde» es posterior a «hasta»."})
            if (hasta - desde).days > 3660:
                raise serializers.ValidationError({"hasta": "El rango no puede superar diez años."})
        for campo in ("desde", "hasta"):
            if datos.get(campo) and not selectors.fecha_admisible(datos[campo]):
                raise serializers.ValidationError({campo: selectors.FECHAS_MENSAJE})
        return datos


class IndicadorView(APIView):
    """Indicador III.2 = casos probables no anulados × 100 / casos probables, con sus desgloses.
    Cada ``indicador`` lleva ``valor`` (dos decimales, redondeado hacia el veredicto), ``texto``,
    ``veredicto``, ``provisional`` y ``rango`` (con casos abiertos: mínimo con todos anulados,
    máximo con todos salvados)."""

    ROLES = {Rol.JEFE_DIVISION, Rol.GESTION_RED, Rol.COC}

    @extend_schema(
        parameters=[
            OpenApiParameter("desde", OpenApiTypes.DATE, description="AAAA-MM-DD (por defecto: mes actual)"),
            OpenApiParameter("hasta", OpenApiTypes.DATE, description="AAAA-MM-DD, inclusive"),
        ],
        responses={200: OpenApiTypes.OBJECT, **ERRORES_LECTURA},
        description="El informe III.2 del periodo (el de /indicador.json). Cada fila (total, tendencia, "
        "desgloses) trae sus cuentas (probables, no_anulados, anulados, abiertos, sin_contacto, "
        "sin_contacto_justificados) y su «indicador»: {valor, texto, veredicto, provisional, rango}; "
        "«rango» es null o {minimo, maximo, texto, veredicto_minimo}; «aviso_provisional» lo dice "
        "en palabras. Dos decimales, redondeados hacia el veredicto.",
    )
    def get(self, request):
        if not roles_de(request.user) & self.ROLES:
            raise SinPermiso("Solo el Jefe de División, Gestión de Red y el COC ven el indicador.")
        params = IndicadorParametros(data=request.query_params)
        if not params.is_valid():
            raise DatosInvalidos({k: " ".join(map(str, v)) for k, v in params.errors.items()})
        d = params.validated_data
        periodo = ind.Periodo(d["desde"], d["hasta"]) if d.get("desde") else ind.Periodo.actual()
        return Response(ind.como_json(ind.informe(periodo)))


# --- risk of observation or cancellation at entry (issue 19) ---------------------------------------
class RiesgoPreviaView(APIView):
    """``POST /api/v1/solicitudes/riesgo/``: the risk of registration data before registering."""

    @extend_schema(
        operation_id="solicitudes_riesgo",
        request=RiesgoPreviaEntradaSerializer,
        responses={200: RiesgoPreviaSerializer, **ERRORES_LECTURA},
        tags=["solicitudes"],
        summary="Riesgo de observación o anulación de una solicitud por registrar (19)",
        description="Con el cuerpo del registro (POST /api/v1/solicitudes/; solo cuentan calle, caja_nap, zona, "
        "plan, tipo y asesor), el puntaje que tendría: probabilidad estimada de ser observada o anulada según el "
        "historial de la aplicación, su banda (bajo, medio, alto, relativas a la tasa base), las razones que más "
        "pesan y qué lo bajaría. No registra nada. Roles: ASESOR, MONITORA, TEAM_LEADER (el asesor: uno de su "
        "equipo, o uno mismo).",
    )
    def post(self, request):
        if not selectors.registra_solicitudes(request.user):
            raise SinPermiso("Su rol no registra solicitudes.")
        entrada = RiesgoPreviaEntradaSerializer(data=request.data)
        entrada.is_valid(raise_exception=True)
        d = entrada.validated_data
        asesor = d.get("asesor")
        if asesor is not None and not selectors.asesores_registrables(request.user).filter(pk=asesor.pk).exists():
            raise DatosInvalidos({"asesor": "No registra solicitudes para ese asesor."})
        if asesor is None and Rol.ASESOR in roles_de(request.user):
            asesor = request.user
        datos = {
            "calle": d["calle"],
            "caja_nap": d["caja_nap"],
            "zona": d["zona"],
            "plan": d["plan"],
            "tipo": d["tipo"],
            "asesor": asesor,
        }
        return Response(RiesgoPreviaSerializer(riesgo.vista_previa(datos)).data)


class EvaluacionRiesgoView(APIView):
    """``GET /api/v1/riesgo/evaluacion/?mes=AAAA-MM``: the page /riesgo/evaluacion/ as JSON."""

    @extend_schema(
        operation_id="riesgo_evaluacion",
        parameters=[
            OpenApiParameter(
                "mes",
                OpenApiTypes.STR,
                pattern=r"^[0-9]{4}-[0-9]{2}$",
                description="El mes evaluado, AAAA-MM (por defecto, el último mes completo).",
            )
        ],
        responses={200: EvaluacionRiesgoSerializer, **ERRORES_LECTURA},
        tags=["riesgo"],
        summary="Evaluación del puntaje de riesgo en un mes (19.4)",
        description="Las solicitudes registradas en el mes, puntuadas solo con datos anteriores al mes, contra lo "
        "que pasó hasta su fin: tasa base, tasa del decil de puntaje más alto, precisión y cobertura (recall) en "
        "«alto» y calibración por banda. Nunca lee datos posteriores al mes. Roles: GESTION_RED, JEFE_DIVISION.",
    )
    def get(self, request):
        if not roles_de(request.user) & ROLES_RIESGO:
            raise SinPermiso("Solo Gestión de Red y el Jefe de División ven la evaluación del riesgo.")
        mes, error = selectors.mes_evaluado(request.query_params.get("mes"))
        if error:
            raise DatosInvalidos({"mes": error})
        return Response(EvaluacionRiesgoSerializer(riesgo.evaluar_guardada(mes)).data)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
def no_encontrado(request, *args, **kwargs):
    return Response({"detail": "No encontrado.", "errores": {}}, status=status.HTTP_404_NOT_FOUND)
