from django.conf import settings
from django.db import models


def _ruta_planilla(instancia, archivo):
    return f"entregas/{archivo}"


class Entrega(models.Model):
    """The month's zonification workbook sent to Div. Facturación (21.1): one per month. The
    workbook is kept by the default storage (``anulaciones.almacenamiento``: PostgreSQL, S3 or the
    local disk), so the worker that e-mails it and the web process that serves it need not be
    the one that wrote it."""

    mes = models.DateField(unique=True, help_text="Primer día del mes entregado.")
    archivo = models.FileField(upload_to=_ruta_planilla, max_length=200)
    filas = models.PositiveIntegerField(default=0)
    generada_at = models.DateTimeField("generada", db_index=True)
    generada_por = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    enviada_at = models.DateTimeField("enviada por correo", null=True, blank=True)

    class Meta:
        ordering = ["-mes"]
        verbose_name = "entrega a Facturación"
        verbose_name_plural = "entregas a Facturación"

    def __str__(self):
        return f"Zonificaciones {self.mes:%m/%Y}"

    @property
    def nombre_archivo(self):
        return f"zonificaciones-{self.mes:%Y-%m}.xlsx"
