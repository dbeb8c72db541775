"""Representations (read) and inputs (creation, each transition's body).

The body of each transition is generated from the signature of its method on the machine
(``transitions.transiciones(Model)``): one field per parameter, required when it has no
default, typed by its name (``CAMPOS``). Unknown keys are refused with a message per field.
"""

import inspect

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import selectors, transitions
from ..models import Entrega, Observacion, OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zona, Zonificacion
from ..roles import Rol

User = get_user_model()
MAX_ENTERO = 2**31 - 1


# --- output ----------------------------------------------------------------------------------
class TransicionDisponibleSerializer(serializers.Serializer):
    nombre = serializers.CharField()
    etiqueta = serializers.CharField()
    url = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errores = serializers.DictField(child=serializers.JSONField(), help_text="Un mensaje por campo.")


class MaquinaSerializer(serializers.ModelSerializer):
    """Common ground: state with its label, version (send it back to detect conflicts) and the
    transitions the caller may take now."""

    estado_display = serializers.CharField(source="get_estado_display", read_only=True)
    transiciones_disponibles = serializers.SerializerMethodField()
    RECURSO = ""

    @extend_schema_field(TransicionDisponibleSerializer(many=True))
    def get_transiciones_disponibles(self, obj):
        request = self.context.get("request")
        if request is None:
            return []
        base = f"/api/v1/{self.RECURSO}/{obj.pk}/"
        return [
            {"nombre": n, "etiqueta": e, "url": f"{base}{n}/"} for n, e in transitions.disponibles(obj, request.user)
        ]


class MotivoRiesgoSerializer(serializers.Serializer):
    """One reason that weighs in a risk score (issue 19)."""

    texto = serializers.CharField(
        help_text="La razón en palabras, p. ej. «la calle «Av. Arce» fue observada o anulada en 6 de 9 solicitudes»."
    )
    factor = serializers.CharField(help_text="calle, caja, zona, asesor, plan o tipo.")
    peso = serializers.FloatField(help_text="Su aporte al puntaje (escala logit; cuanto mayor, más pesa).")


class SolicitudSerializer(MaquinaSerializer):
    RECURSO = "solicitudes"
    riesgo = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Probabilidad estimada (0-1) de que sea observada o anulada, calculada al registrarla con el "
        "historial de la aplicación; null sin historial.",
    )
    riesgo_banda = serializers.ChoiceField(
        choices=[("alto", "Alto"), ("medio", "Medio"), ("bajo", "Bajo"), ("", "Sin puntaje")],
        read_only=True,
        help_text="alto, medio, bajo (relativas a la tasa base) o vacío sin puntaje.",
    )
    riesgo_motivos = MotivoRiesgoSerializer(many=True, read_only=True, help_text="Las 2-3 razones que más pesan.")
    riesgo_sugerencias = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Qué bajaría el riesgo."
    )
    riesgo_aceptado = serializers.BooleanField(
        read_only=True, help_text="true: con riesgo alto en el formulario, se registró de todos modos."
    )
    zona = serializers.SlugRelatedField(slug_field="codigo", read_only=True)
    zona_nombre = serializers.CharField(source="zona.nombre", read_only=True)
    asesor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    orden = serializers.SerializerMethodField()
    numero_ot = serializers.SerializerMethodField()
    reemplazada_por = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Solicitud
        fields = [
            "id",
            "numero_smartflex",
            "tipo",
            "estado",
            "estado_display",
            "version",
            "cliente_nombre",
            "cliente_documento",
            "cliente_telefono",
            "calle",
            "numero_puerta",
            "zona",
            "zona_nombre",
            "referencias",
            "caja_nap",
            "plan",
            "vendedor",
            "asesor",
            "observaciones",
            "modificacion_pendiente",
            "motivo_anulacion",
            "justificacion_anulacion",
            "caso",
            "reemplazada_por",
            "orden",
            "numero_ot",
            "redigitacion_vence_at",
            "redigitacion_explicacion",
            "redigitacion_tardia",
            "creado_at",
            "actualizado_at",
            "advertencias_direccion",
            "advertencia_aceptada",
            "riesgo",
            "riesgo_banda",
            "riesgo_motivos",
            "riesgo_sugerencias",
            "riesgo_aceptado",
            "transiciones_disponibles",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_orden(self, obj):
        orden = getattr(obj, "orden", None)
        return orden.pk if orden else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_numero_ot(self, obj):
        orden = getattr(obj, "orden", None)
        return orden.numero if orden else None


class OrdenSerializer(MaquinaSerializer):
    RECURSO = "ordenes"
    zona = serializers.SlugRelatedField(slug_field="codigo", read_only=True)
    numero_smartflex = serializers.CharField(source="solicitud.numero_smartflex", read_only=True)
    tecnico = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    propuesta = serializers.CharField(read_only=True, help_text="gestionar (16), anular (17) o vacío.")

    class Meta:
        model = OrdenDeTrabajo
        fields = [
            "id",
            "numero",
            "estado",
            "estado_display",
            "version",
            "solicitud",
            "numero_smartflex",
            "zona",
            "tecnico",
            "datos_comerciales",
            "datos_tecnicos",
            "equipos",
            "observacion_campo",
            "solicitudes_adicionales",
            "propuesta",
            "motivo_anulacion",
            "anulacion_coordinada_at",
            "anulacion_confirmada_at",
            "ejecutada_at",
            "creado_at",
            "actualizado_at",
            "transiciones_disponibles",
        ]
        read_only_fields = fields


class ServicioSerializer(MaquinaSerializer):
    RECURSO = "servicios"
    numero_smartflex = serializers.CharField(source="solicitud.numero_smartflex", read_only=True)
    asesor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    impedimento = serializers.CharField(
        read_only=True, help_text="Solo tipo impedimento (20.2): cierre_ot, comercial o sistema; vacío en los demás."
    )
    vencido = serializers.SerializerMethodField()

    class Meta:
        model = ServicioIngenieria
        fields = [
            "id",
            "tipo",
            "impedimento",
            "estado",
            "estado_display",
            "version",
            "solicitud",
            "numero_smartflex",
            "orden",
            "destinatario",
            "requerido",
            "vendedor",
            "asesor",
            "vence_at",
            "vence_explicacion",
            "vencido",
            "cerrado_at",
            "respuesta",
            "fuera_de_plazo",
            "creado_at",
            "actualizado_at",
            "transiciones_disponibles",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_vencido(self, obj):
        return obj.esta_vencido()


class ZonificacionSerializer(MaquinaSerializer):
    RECURSO = "zonificaciones"
    zona_anterior = serializers.SlugRelatedField(slug_field="codigo", read_only=True, allow_null=True)
    zona_corregida = serializers.SlugRelatedField(slug_field="codigo", read_only=True)
    numero_ot = serializers.CharField(source="orden.numero", read_only=True)

    class Meta:
        model = Zonificacion
        fields = [
            "id",
            "estado",
            "estado_display",
            "version",
            "orden",
            "numero_ot",
            "solicitud",
            "tipo_correccion",
            "zona_anterior",
            "zona_corregida",
            "calle",
            "referencia",
            "caja_nap",
            "latitud",
            "longitud",
            "digitada_at",
            "remitida_at",
            "creado_at",
            "actualizado_at",
            "transiciones_disponibles",
        ]
        read_only_fields = fields


class EntregaSerializer(serializers.ModelSerializer):
    """A numbered delivery of zonifications to Div. Facturación (21.1)."""

    mes = serializers.SerializerMethodField()
    complementaria = serializers.BooleanField(read_only=True, help_text="true desde la entrega N° 2 del mes.")
    estado_display = serializers.CharField(source="get_estado_display", read_only=True)
    generada_por = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Usuario que la generó («sistema»: la tarea horaria)."
    )
    recibida_por = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Usuario de Facturación que acusó recibo."
    )
    descarga = serializers.SerializerMethodField()

    class Meta:
        model = Entrega
        fields = [
            "id",
            "mes",
            "numero",
            "complementaria",
            "filas",
            "generada_at",
            "generada_por",
            "enviada_at",
            "estado",
            "estado_display",
            "recibida_at",
            "recibida_por",
            "version",
            "descarga",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$", "example": "2026-11"})
    def get_mes(self, obj):
        return f"{obj.mes:%Y-%m}"

    @extend_schema_field(OpenApiTypes.URI)
    def get_descarga(self, obj):
        from django.urls import reverse

        ruta = reverse("api-entrega-planilla", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(ruta) if request is not None else ruta


class DetalleSerializer(serializers.Serializer):
    detail = serializers.CharField()


# --- input -----------------------------------------------------------------------------------
def _con_nulos(valor):
    """True if a NUL character hides anywhere in the value (PostgreSQL text cannot hold one)."""
    if isinstance(valor, str):
        return "\x00" in valor
    if isinstance(valor, dict):
        listas = (valor.getlist(k) if hasattr(valor, "getlist") else [valor[k]] for k in valor)
        return any(_con_nulos(str(k)) for k in valor) or any(_con_nulos(v) for vs in listas for v in vs)
    if isinstance(valor, (list, tuple)):
        return any(_con_nulos(v) for v in valor)
    return False


class EstrictoMixin:
    """Unknown keys are an error (a typo must not be silently ignored); so is a NUL character."""

    def to_internal_value(self, data):
        desconocidos = {}
        if isinstance(data, dict):
            nulos = {
                str(k): ["No se admiten caracteres nulos."]
                for k in data
                if _con_nulos(str(k)) or _con_nulos(data.getlist(k) if hasattr(data, "getlist") else data[k])
            }
            if nulos:
                raise serializers.ValidationError(nulos)
            desconocidos = {str(k): ["Dato no reconocido."] for k in sorted(map(str, data)) if k not in self.fields}
        try:
            valor = super().to_internal_value(data)
        except serializers.ValidationError as e:
            if isinstance(e.detail, dict):
                raise serializers.ValidationError({**e.detail, **desconocidos}) from None
            raise
        if desconocidos:
            raise serializers.ValidationError(desconocidos)
        return valor


class SolicitudNuevaSerializer(EstrictoMixin, serializers.ModelSerializer):
    """Step 1 data (also the ``nueva`` of a re-digitation)."""

    zona = serializers.SlugRelatedField(
        slug_field="codigo", queryset=Zona.objects.filter(activa=True), help_text="Código de la zona."
    )
    asesor = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(groups__name=Rol.ASESOR, is_active=True),
        required=False,
        help_text="Usuario del asesor (por defecto, quien registra si es asesor).",
    )
    numero_ot = serializers.CharField(
        max_length=30, required=False, help_text="N° de OT (por defecto OT-<N° Smartflex>)."
    )

    class Meta:
        model = Solicitud
        fields = [
            "numero_smartflex",
            "tipo",
            "cliente_nombre",
            "cliente_documento",
            "cliente_telefono",
            "calle",
            "numero_puerta",
            "zona",
            "referencias",
            "caja_nap",
            "plan",
            "vendedor",
            "asesor",
            "numero_ot",
        ]

    def validate_numero_ot(self, valor):
        if OrdenDeTrabajo.objects.filter(numero=valor).exists():
            raise serializers.ValidationError("Ya existe una orden de trabajo con este número.")
        return valor


def _usuarios_tecnicos():
    return User.objects.filter(groups__name=Rol.TECNICO, is_active=True)


def _destinatarios():
    return ServicioIngenieria._meta.get_field("destinatario").choices


# The items are the one enum of SI recipients the schema already has for ``destinatario`` (one
# name per choice set: no second "DestinatariosEnum").
@extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/DestinatarioEnum"}})
class ListaDestinatarios(serializers.ListField):
    pass


# Field of a transition parameter, by name (the machines' vocabulary).
CAMPOS = {
    "causa": lambda **kw: serializers.ChoiceField(choices=Observacion.Causa.choices, **kw),
    "alcance": lambda **kw: serializers.ChoiceField(choices=Observacion.Alcance.choices, **kw),
    "subsanable": lambda **kw: serializers.BooleanField(**kw),
    "destinatario": lambda **kw: serializers.ChoiceField(choices=_destinatarios(), **kw),
    # Step 7: one SI per recipient (Monitoras, Team Leader and Gestión de Red at once).
    "destinatarios": lambda **kw: ListaDestinatarios(
        child=serializers.ChoiceField(choices=_destinatarios()),
        max_length=len(ServicioIngenieria.DESTINATARIOS),
        help_text="Varios destinatarios: un SI para cada uno (se suma a «destinatario»).",
        **kw,
    ),
    "impedimento": lambda **kw: serializers.ChoiceField(choices=ServicioIngenieria.Impedimento.choices, **kw),
    "propuesta": lambda **kw: serializers.ChoiceField(choices=OrdenDeTrabajo.Propuesta.choices, **kw),
    "tecnico": lambda **kw: serializers.SlugRelatedField(
        slug_field="username", queryset=_usuarios_tecnicos(), allow_null=True, **kw
    ),
    "nueva": lambda **kw: SolicitudNuevaSerializer(**kw),
    # 19.2 linking an already registered re-entry (issue 18): its Smartflex number.
    "numero_nueva": lambda **kw: serializers.CharField(
        max_length=Solicitud._meta.get_field("numero_smartflex").max_length, trim_whitespace=True, **kw
    ),
}
TEXTOS_LARGOS = 10_000


def _campo(parametro):
    kw = {}
    if parametro.default is not inspect.Parameter.empty:
        kw["required"] = False
    fabrica = CAMPOS.get(parametro.name)
    if fabrica is not None:
        return fabrica(**kw)
    return serializers.CharField(max_length=TEXTOS_LARGOS, allow_blank=True, trim_whitespace=True, **kw)


class TransicionBaseSerializer(EstrictoMixin, serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ENTERO,
        help_text="La versión que el cliente leyó; si el objeto cambió desde entonces, 409.",
    )
    nota = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Nota para el registro de auditoría."
    )


def serializer_de_transicion(modelo, nombre):
    """The body of ``POST /api/v1/<resource>/<id>/<nombre>/``, from the method's signature."""
    metodo = getattr(modelo, nombre).__wrapped__
    params = list(inspect.signature(metodo).parameters.values())[2:]  # self, ctx
    atributos = {p.name: _campo(p) for p in params}
    nombre_clase = "".join(p.capitalize() for p in f"{modelo.__name__}_{nombre}".split("_")) + "Serializer"
    t = transitions.transiciones(modelo)[nombre]
    atributos["__doc__"] = f"{t.custom.get('label', nombre)} (paso {transitions.paso_de(t, None)})."
    return type(nombre_clase, (TransicionBaseSerializer,), atributos)


class ImpedimentoSerializer(EstrictoMixin, serializers.Serializer):
    """Step 20.2: an SI of tipo ``impedimento`` (OT not closed by Operations, commercial
    impediment, system problem) on an executed OT."""

    impedimento = serializers.ChoiceField(choices=ServicioIngenieria.Impedimento.choices)
    destinatario = serializers.ChoiceField(
        choices=_destinatarios(),
        required=False,
        help_text="Por defecto: COC para la falta de cierre de OT, Gestión de Red para los demás.",
    )
    requerido = serializers.CharField(
        max_length=TEXTOS_LARGOS,
        trim_whitespace=True,
        help_text="Qué impide digitar la zonificación y qué se pide para resolverlo.",
    )


def _validar_mes(valor):
    try:
        return selectors.mes_de(valor)
    except ValueError as e:
        raise serializers.ValidationError(str(e)) from None


class EntregaNuevaSerializer(EstrictoMixin, serializers.Serializer):
    """The next numbered delivery of a month (21.1)."""

    mes = serializers.CharField(max_length=7, trim_whitespace=False, help_text="El mes a entregar, AAAA-MM.")

    def validate_mes(self, valor):
        return _validar_mes(valor)


# --- risk of observation or cancellation at entry (issue 19) ---------------------------------------
class RiesgoPreviaEntradaSerializer(EstrictoMixin, serializers.Serializer):
    """The registration's data (the body of POST /api/v1/solicitudes/) to score before registering:
    only the street, box/NAP, zone, plan, type and asesor count; the other fields are accepted
    and ignored, so the same body can be sent to both."""

    calle = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    caja_nap = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    zona = serializers.SlugRelatedField(
        slug_field="codigo",
        queryset=Zona.objects.filter(activa=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="Código de la zona.",
    )
    plan = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    tipo = serializers.ChoiceField(choices=Solicitud.Tipo.choices, required=False, allow_blank=True, default="")
    asesor = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(groups__name=Rol.ASESOR, is_active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="Usuario del asesor (por defecto, quien consulta si es asesor).",
    )
    # Read by the registration, not by the score.
    numero_smartflex = serializers.CharField(max_length=TEXTOS_LARGOS, required=False, allow_blank=True)
    cliente_nombre = serializers.CharField(max_length=TEXTOS_LARGOS, required=False, allow_blank=True)
    cliente_documento = serializers.CharField(max_length=TEXTOS_LARGOS, required=False, allow_blank=True)
    cliente_telefono = serializers.CharField(max_length=TEXTOS_LARGOS, required=False, allow_blank=True)
    numero_puerta = serializers.CharField(max_length=TEXTOS_LARGOS, required=False, allow_blank=True)
    referencias = serializers.CharField(max_length=TEXTOS_LARGOS, required=False, allow_blank=True)
    vendedor = serializers.CharField(max_length=TEXTOS_LARGOS, required=False, allow_blank=True)
    numero_ot = serializers.CharField(max_length=TEXTOS_LARGOS, required=False, allow_blank=True)
    aceptar_advertencias = serializers.BooleanField(required=False)


class RiesgoPreviaSerializer(serializers.Serializer):
    """The score of unsaved registration data (nothing is written)."""

    riesgo = serializers.FloatField(allow_null=True, help_text="Probabilidad estimada (0-1); null sin historial.")
    # The values of the Solicitud's «riesgo_banda» (a text here: one name per choice set in the schema).
    banda = serializers.CharField(help_text="alto, medio, bajo o vacío sin historial (como «riesgo_banda»).")
    banda_texto = serializers.CharField()
    motivos = MotivoRiesgoSerializer(many=True)
    sugerencias = serializers.ListField(child=serializers.CharField())


class DecilSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="Solicitudes en el 10 % de puntaje más alto.")
    problemas = serializers.IntegerField(help_text="Cuántas de ellas fueron observadas o anuladas.")
    tasa = serializers.FloatField(allow_null=True, help_text="problemas / n.")


class AltoSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="Solicitudes que habrían salido con riesgo «alto».")
    precision = serializers.FloatField(allow_null=True, help_text="De ellas, la parte observada o anulada.")
    recall = serializers.FloatField(
        allow_null=True, help_text="De las observadas o anuladas del mes, la parte que habría salido «alto»."
    )


class BandaEvaluadaSerializer(serializers.Serializer):
    banda = serializers.CharField(help_text="alto, medio, bajo o vacío (sin puntaje).")
    banda_texto = serializers.CharField()
    n = serializers.IntegerField()
    riesgo_medio = serializers.FloatField(allow_null=True, help_text="El riesgo medio estimado en la banda.")
    tasa_observada = serializers.FloatField(allow_null=True, help_text="La parte observada o anulada en la banda.")


class HistoriaRiesgoSerializer(serializers.Serializer):
    solicitudes = serializers.IntegerField(help_text="Solicitudes registradas antes del mes.")
    problemas = serializers.IntegerField(help_text="De ellas, observadas o anuladas antes del mes.")
    tasa = serializers.FloatField(allow_null=True, help_text="problemas / solicitudes: la tasa base del puntaje.")


class EvaluacionRiesgoSerializer(serializers.Serializer):
    """How the risk score did in a month: scored with the data before the month, against what
    happened by its end (never data after it)."""

    mes = serializers.CharField(help_text="AAAA-MM.")
    solicitudes = serializers.IntegerField(help_text="Solicitudes registradas en el mes.")
    problemas = serializers.IntegerField(help_text="De ellas, observadas o anuladas antes de fin de mes.")
    tasa_base = serializers.FloatField(allow_null=True, help_text="problemas / solicitudes.")
    decil_superior = DecilSerializer()
    alto = AltoSerializer()
    bandas = BandaEvaluadaSerializer(many=True, help_text="Calibración: riesgo estimado y tasa observada por banda.")
    historia = HistoriaRiesgoSerializer(help_text="El historial anterior al mes con el que se puntuó.")
    corte_datos = serializers.DateTimeField(help_text="Los puntajes usan solo datos anteriores a este instante.")
    fin_resultados = serializers.DateTimeField(help_text="Lo que pasó se cuenta hasta antes de este instante.")
