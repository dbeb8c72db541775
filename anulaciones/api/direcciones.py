"""Address knowledge in the API (issue 7): the GeoJSON layer for QGIS, the address check of step 1,
and the check applied when a Solicitud is registered through the API."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import direcciones as D
from ..errors import DatosInvalidos, SinPermiso
from ..forms import FiltroDireccionesForm
from ..models import Zona
from ..roles import roles_de
from .serializers import ErrorSerializer, SolicitudNuevaSerializer

ERRORES = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer}


class SolicitudRegistroSerializer(SolicitudNuevaSerializer):
    """Step 1 through the API: the address is checked against the knowledge; with warnings the
    Solicitud is saved only when ``aceptar_advertencias`` is true, and the warnings are kept on it."""

    aceptar_advertencias = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Registrar aunque haya advertencias de dirección (quedan registradas en la solicitud).",
    )

    class Meta(SolicitudNuevaSerializer.Meta):
        fields = [*SolicitudNuevaSerializer.Meta.fields, "aceptar_advertencias"]


def con_advertencias(datos):
    """The creation data with the address warnings; DatosInvalidos (400) when there are warnings
    the caller did not accept."""
    datos = dict(datos)
    aceptar = datos.pop("aceptar_advertencias", False)
    advertencias = D.verificar(
        calle=datos.get("calle", ""),
        zona=datos.get("zona"),
        referencias=datos.get("referencias", ""),
        caja_nap=datos.get("caja_nap", ""),
    )
    if advertencias and not aceptar:
        errores = {}
        for a in advertencias:
            errores[a["campo"]] = f"{errores[a['campo']]} {a['mensaje']}" if a["campo"] in errores else a["mensaje"]
        errores["aceptar_advertencias"] = (
            "Hay advertencias de dirección: corrija los datos o envíe "
            "aceptar_advertencias=true para registrar de todos modos."
        )
        raise DatosInvalidos(errores, "Advertencias de dirección.")
    if advertencias:
        datos.update(advertencias_direccion=advertencias, advertencia_aceptada=True)
    return datos


class VerificarSerializer(serializers.Serializer):
    calle = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    zona = serializers.SlugRelatedField(
        slug_field="codigo",
        queryset=Zona.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Código de la zona.",
    )
    referencias = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    caja_nap = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")


class AdvertenciaSerializer(serializers.Serializer):
    campo = serializers.CharField()
    tipo = serializers.ChoiceField(choices=["alias", "parecida", "otra_zona"])
    valor = serializers.CharField()
    sugerencia = serializers.CharField()
    mensaje = serializers.CharField()


class AdvertenciasSerializer(serializers.Serializer):
    advertencias = AdvertenciaSerializer(many=True)


class VerificarDireccionView(APIView):
    """The address check of step 1: what the asesor typed against the knowledge."""

    @extend_schema(
        request=VerificarSerializer,
        responses={200: AdvertenciasSerializer, **ERRORES},
        tags=["direcciones"],
        description="Advertencias para la calle, las referencias y la caja / NAP "
        "escritas (sin acentos ni mayúsculas, tolera una letra errada). No registra nada.",
    )
    def post(self, request):
        if not roles_de(request.user):
            raise SinPermiso("Su usuario no tiene un rol del procedimiento.")
        entrada = VerificarSerializer(data=request.data)
        entrada.is_valid(raise_exception=True)
        return Response({"advertencias": D.verificar(**entrada.validated_data)})


class GeoJSONView(APIView):
    """The knowledge as an RFC 7946 FeatureCollection of points (WGS84 [lon, lat]) for QGIS."""

    @extend_schema(
        parameters=[
            OpenApiParameter("zona", OpenApiTypes.STR, description="Código de la zona"),
            OpenApiParameter("desde", OpenApiTypes.DATE, description="Registrado desde AAAA-MM-DD"),
            OpenApiParameter("hasta", OpenApiTypes.DATE, description="Registrado hasta AAAA-MM-DD"),
        ],
        responses={(200, "application/geo+json"): OpenApiTypes.OBJECT, **ERRORES},
        tags=["direcciones"],
    )
    def get(self, request):
        if not roles_de(request.user) & set(D.ROLES_MAPA):
            raise SinPermiso("Solo Gestión de Red, el COC y el Jefe de División descargan la capa.")
        form = FiltroDireccionesForm(request.query_params)
        if not form.is_valid():
            raise DatosInvalidos({k: " ".join(v) for k, v in form.errors.items()})
        d = form.cleaned_data
        return D.respuesta_geojson(d.get("zona"), d.get("desde"), d.get("hasta"))
