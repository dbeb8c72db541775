from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_fsm import FSMField, transition

from ..roles import SISTEMA, Permiso, Rol
from .auditoria import Campo, Nombre, NumeroOT
from .base import Maquina

# Bolivia's bounding box, decimal degrees (WGS84).
LAT_MIN, LAT_MAX = Decimal("-22.91"), Decimal("-9.67")
LON_MIN, LON_MAX = Decimal("-69.65"), Decimal("-57.45")


class Zonificacion(Maquina):
    """Zonification form for an executed OT (20), entered in Smartflex (20.3) and sent to
    Div. Facturación in the month's workbook (21.1)."""

    class Estado(models.TextChoices):
        RECIBIDA = "recibida", "Recibida"
        DIGITADA = "digitada", "Digitada en Smartflex"
        REMITIDA = "remitida", "Remitida a Facturación"

    class TipoCorreccion(models.TextChoices):
        ZONA = "zona", "Zona"
        CALLE = "calle", "Calle"
        REFERENCIA = "referencia", "Referencia"
        CAJA_NAP = "caja_nap", "Caja / NAP"
        COORDENADAS = "coordenadas", "Coordenadas"

    E = Estado
    ROLES_CREACION = Permiso(Rol.GESTION_RED)
    TRANSICION_CREACION = "recibir"
    PASO_CREACION = "20.1"
    NOMBRE = Nombre("Zonificación ", Campo("pk"), " de la ", NumeroOT("orden__numero"), caso="solicitud__caso_id")

    orden = models.ForeignKey("OrdenDeTrabajo", on_delete=models.PROTECT, related_name="zonificaciones")
    solicitud = models.ForeignKey("Solicitud", on_delete=models.PROTECT, related_name="zonificaciones")
    tipo_correccion = models.CharField(
        "tipo de corrección", max_length=20, choices=TipoCorreccion.choices, default=TipoCorreccion.ZONA, db_index=True
    )
    zona_anterior = models.ForeignKey("Zona", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    zona_corregida = models.ForeignKey("Zona", on_delete=models.PROTECT, related_name="zonificaciones")
    calle = models.CharField(max_length=200, blank=True)
    referencia = models.TextField(blank=True)
    caja_nap = models.CharField("caja / NAP", max_length=60, blank=True)
    latitud = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(LAT_MIN), MaxValueValidator(LAT_MAX)],
    )
    longitud = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(LON_MIN), MaxValueValidator(LON_MAX)],
    )
    estado = FSMField(default=E.RECIBIDA, choices=Estado.choices, protected=True, db_index=True)
    recibida_por = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    digitada_at = models.DateTimeField("digitada", null=True, blank=True, db_index=True)
    remitida_at = models.DateTimeField("remitida", null=True, blank=True)
    # The one numbered delivery it went to Facturación in (21.1), set with «remitir».
    entrega = models.ForeignKey(
        "Entrega", null=True, blank=True, on_delete=models.PROTECT, related_name="zonificaciones"
    )

    class Meta:
        ordering = ["-creado_at"]
        verbose_name = "zonificación"
        verbose_name_plural = "zonificaciones"

    @property
    def caso_id_auditoria(self):
        return self.solicitud.caso_id

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.orden_id and self.orden.estado != "ejecutada":
            raise ValidationError({"orden": "La zonificación corresponde a una OT ya ejecutada (20.1)."})
        if (self.latitud is None) != (self.longitud is None):
            raise ValidationError({"longitud": "Indique latitud y longitud, o ninguna de las dos."})

    @transition(
        field=estado,
        source=E.RECIBIDA,
        target=E.DIGITADA,
        permission=Permiso(Rol.GESTION_RED),
        custom={"paso": "20.3", "label": "Digitar en Smartflex"},
    )
    def digitar(self, ctx):
        self.digitada_at = ctx.ahora

    # Internal: taken only by the build of a delivery (``entregas.generar_entrega``), which names
    # the delivery; never offered as a button or an API endpoint, so no zonification is ever
    # remitida outside a delivery.
    @transition(
        field=estado,
        source=E.DIGITADA,
        target=E.REMITIDA,
        permission=Permiso(Rol.GESTION_RED, SISTEMA),
        custom={"paso": "21.1", "label": "Remitir a Facturación", "interna": True, "en_bloque": True},
    )
    def remitir(self, ctx, entrega):
        self.remitida_at = ctx.ahora
        self.entrega_id = entrega.pk
