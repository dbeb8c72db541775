from django.conf import settings
from django.db import models
from django_fsm import FSMField, transition

from ..roles import SISTEMA, Permiso, Rol
from .auditoria import Campo, MesAnio, Nombre
from .base import Maquina


def _ruta_planilla(instancia, archivo):
    return f"entregas/{archivo}"


class Entrega(Maquina):
    """One numbered delivery of zonifications to Div. Facturación (21.1). A month has a first
    delivery and a supplementary one for the zonifications digitized after it, so none waits for
    the next month; each digitized zonification goes into exactly one (``Zonificacion.entrega``).
    Facturación acknowledges receipt (``acusar_recibo``, through the transition path, audited).

    The workbook is kept by the default storage (``anulaciones.almacenamiento``: PostgreSQL, S3 or
    the local disk), so the worker that e-mails it and the web process that serves it need not be
    the one that wrote it."""

    class Estado(models.TextChoices):
        GENERADA = "generada", "Enviada, sin acuse de recibo"
        RECIBIDA = "recibida", "Recibida por Facturación"

    E = Estado
    ROLES_CREACION = Permiso(Rol.GESTION_RED, SISTEMA)
    TRANSICION_CREACION = "generar"
    PASO_CREACION = "21.1"
    NOMBRE = Nombre("Entrega ", Campo("numero"), " de ", MesAnio("mes"))

    mes = models.DateField(help_text="Primer día del mes entregado.")
    numero = models.PositiveSmallIntegerField(
        "N°", default=1, help_text="1: la entrega del mes; 2 y siguientes: complementarias."
    )
    archivo = models.FileField(upload_to=_ruta_planilla, max_length=200, blank=True)  # written in its own transaction
    filas = models.PositiveIntegerField(default=0)
    generada_at = models.DateTimeField("generada", db_index=True)
    generada_por = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    enviada_at = models.DateTimeField("enviada por correo", null=True, blank=True)
    estado = FSMField(default=E.GENERADA, choices=Estado.choices, protected=True, db_index=True)
    recibida_at = models.DateTimeField("recibida", null=True, blank=True)
    recibida_por = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-mes", "-numero"]
        verbose_name = "entrega a Facturación"
        verbose_name_plural = "entregas a Facturación"
        constraints = [models.UniqueConstraint(fields=["mes", "numero"], name="entrega_numerada_por_mes")]

    @property
    def complementaria(self):
        return self.numero > 1

    @property
    def nombre_archivo(self):
        return f"zonificaciones-{self.mes:%Y-%m}-{self.numero}.xlsx"

    @transition(
        field=estado,
        source=E.GENERADA,
        target=E.RECIBIDA,
        permission=Permiso(Rol.FACTURACION),
        custom={"paso": "21.1", "label": "Acusar recibo"},
    )
    def acusar_recibo(self, ctx):
        self.recibida_at = ctx.ahora
        self.recibida_por = ctx.usuario
