from django.conf import settings
from django.db import models


class Notificacion(models.Model):
    """An in-app notice to one user (deadlines, escalations, the month's workbook). Written only
    after the transaction that caused it commits (anulaciones.notificaciones)."""

    class Tipo(models.TextChoices):
        VENCIDO = "vencido", "SI vencido"
        AVISO = "aviso", "SI por vencer"
        REDIGITACION_TARDIA = "redigitacion_tardia", "Re-digitación fuera de plazo"
        ENTREGA = "entrega", "Planilla de zonificación"
        NUEVO_SI = "nuevo_si", "SI nuevo"
        REPORTE_CAMPO = "reporte_campo", "Reporte de campo"
        ANULACION_COORDINADA = "anulacion_coordinada", "Anulación coordinada"

    usuario = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notificaciones")
    tipo = models.CharField(max_length=30, choices=Tipo.choices)
    # What the notice is about ("servicio:12", "solicitud:3", "entrega:2026-11"): with tipo and
    # usuario it makes a notice unique, so a task that runs twice notifies once.
    clave = models.CharField(max_length=60)
    titulo = models.CharField("título", max_length=200)
    texto = models.TextField(blank=True)
    url = models.CharField(max_length=200, blank=True)
    creado_at = models.DateTimeField("fecha", auto_now_add=True, db_index=True)
    leida_at = models.DateTimeField("leída", null=True, blank=True)
    correo_enviado_at = models.DateTimeField("correo enviado", null=True, blank=True)

    class Meta:
        ordering = ["-creado_at", "-pk"]
        verbose_name = "notificación"
        verbose_name_plural = "notificaciones"
        constraints = [models.UniqueConstraint(fields=["usuario", "tipo", "clave"], name="notificacion_unica")]
        indexes = [models.Index(fields=["usuario", "leida_at"])]

    def __str__(self):
        return self.titulo
