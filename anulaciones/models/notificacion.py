from django.conf import settings
from django.db import models


class Notificacion(models.Model):
    """A notice to one user, stored as a fact: its kind, its recipient and the objects it refers
    to (an SI, a Solicitud, an OT, a delivery; ``datos`` for the rest: a batch's SIs, a month).
    Its title, text and link are not stored: ``anulaciones.avisos`` renders them from the
    templates ``notificaciones/avisos/<tipo>.txt`` whenever the notice is shown or mailed, so each
    text has one source.

    A notice is an outbox row: it is written in the transaction of the change that causes it
    (a transition, a deadline sweep's batch, a delivery), and its e-mail is sent from it after the
    commit, at least once; ``correo_enviado_at`` records the send."""

    class Tipo(models.TextChoices):
        VENCIDO = "vencido", "SI vencido"
        AVISO = "aviso", "SI por vencer"
        REDIGITACION_TARDIA = "redigitacion_tardia", "Re-digitación fuera de plazo"
        ENTREGA = "entrega", "Planilla de zonificación"
        ENTREGA_PLAZO = "entrega_plazo", "Zonificaciones por entregar"
        NUEVO_SI = "nuevo_si", "SI nuevo"
        REPORTE_CAMPO = "reporte_campo", "Reporte de campo"
        ANULACION_COORDINADA = "anulacion_coordinada", "Anulación coordinada"

    usuario = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notificaciones")
    tipo = models.CharField(max_length=30, choices=Tipo.choices)
    # What the notice is about ("servicio:12", "solicitud:3", "entrega:7"): with tipo and usuario
    # it makes a notice unique, so a task that runs twice notifies once.
    clave = models.CharField(max_length=60)
    # The objects it refers to (no index: the notices are read by user, never by object).
    servicio = models.ForeignKey(
        "ServicioIngenieria", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    solicitud = models.ForeignKey(
        "Solicitud", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    orden = models.ForeignKey(
        "OrdenDeTrabajo", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    entrega = models.ForeignKey(
        "Entrega", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    datos = models.JSONField(default=dict, blank=True)
    creado_at = models.DateTimeField("fecha", auto_now_add=True, db_index=True)
    leida_at = models.DateTimeField("leída", null=True, blank=True)
    correo_enviado_at = models.DateTimeField("correo enviado", null=True, blank=True)

    class Meta:
        ordering = ["-creado_at", "-pk"]
        verbose_name = "notificación"
        verbose_name_plural = "notificaciones"
        constraints = [models.UniqueConstraint(fields=["usuario", "tipo", "clave"], name="notificacion_unica")]
        indexes = [
            models.Index(fields=["usuario", "leida_at"]),
            # the outbox: what is still to be mailed (a small, partial index)
            models.Index(
                fields=["usuario"], condition=models.Q(correo_enviado_at__isnull=True), name="notificacion_por_enviar"
            ),
        ]

    def __str__(self):
        return f"{self.get_tipo_display()} ({self.clave})"
