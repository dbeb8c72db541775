"""Reconciliation with Smartflex (issue 18): the status feed as Smartflex last reported it, the
differences between it and the application, and the re-entries proposed as re-digitations.

None of these is a machine of the procedure: a difference is resolved, and a pair linked,
through the transitions of the Solicitud (``transitions``), which audit them; these rows only
remember what was seen and who decided what about it."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class EstadoSmartflex(models.Model):
    """The latest status Smartflex reported for one Solicitud or OT number: one row per
    (objeto, numero), replaced only by a row of a later ``fecha`` (ties broken by the status —
    anulada after ejecutada after registrada — then by ``clave``, a digest of the row's
    content), so importing the same feed twice, or its parts in any order, ends in the same
    rows."""

    class Objeto(models.TextChoices):
        SOLICITUD = "solicitud", "Solicitud"
        OT = "ot", "OT"

    class Estado(models.TextChoices):
        REGISTRADA = "registrada", "Registrada / en curso"
        ANULADA = "anulada", "Anulada"
        EJECUTADA = "ejecutada", "Ejecutada / instalada"

    objeto = models.CharField(max_length=10, choices=Objeto.choices)
    numero = models.CharField("número", max_length=30)
    estado = models.CharField(max_length=10, choices=Estado.choices)
    estado_texto = models.CharField("estado en Smartflex", max_length=60, blank=True)
    fecha = models.DateTimeField("fecha del estado")
    motivo = models.TextField(blank=True)
    usuario = models.CharField("usuario de Smartflex", max_length=150, blank=True)
    cliente_documento = models.CharField(max_length=30, blank=True)
    cliente_telefono = models.CharField(max_length=40, blank=True)
    direccion = models.CharField("dirección", max_length=300, blank=True)
    cliente_nombre = models.CharField(max_length=200, blank=True)
    zona = models.CharField(max_length=20, blank=True)
    asesor = models.CharField(max_length=150, blank=True)
    clave = models.CharField(max_length=64, help_text="Resumen del contenido: desempata dos filas de la misma fecha.")
    # The application's Solicitud the number belongs to (the Solicitud's own number, or the
    # Solicitud of the OT), when known: matched on import and again when it changes.
    solicitud = models.ForeignKey(
        "Solicitud", null=True, blank=True, on_delete=models.SET_NULL, related_name="estados_smartflex"
    )
    importacion = models.ForeignKey(
        "ImportacionSmartflex", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actualizado_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "estado en Smartflex"
        verbose_name_plural = "estados en Smartflex"
        constraints = [models.UniqueConstraint(fields=["objeto", "numero"], name="anul_estado_sf_unico")]
        indexes = [models.Index(fields=["estado", "fecha"], name="anul_estado_sf_fecha")]

    def __str__(self):
        return f"{self.get_objeto_display()} {self.numero}: {self.get_estado_display()} ({self.fecha:%d/%m/%Y})"


class Diferencia(models.Model):
    """A status of Smartflex that disagrees with the application's state, waiting for a person
    (or applied by itself when ``ANULACIONES_SMARTFLEX_AUTOMATICO`` names its class). An open
    difference that stops holding (the two systems agree again) is removed, not resolved: the
    resolved ones are the decisions taken."""

    class Clase(models.TextChoices):
        ANULADA_EN_SMARTFLEX = "anulada_en_smartflex", "Anulada en Smartflex, vigente en la aplicación"
        SIN_CASO = "sin_caso", "Anulada en Smartflex, sin caso en la aplicación"
        ANULADA_EN_APLICACION = "anulada_en_aplicacion", "Anulada en la aplicación, vigente en Smartflex"
        EJECUTADA_EN_SMARTFLEX = "ejecutada_en_smartflex", "Ejecutada en Smartflex, no en la aplicación"

    class Estado(models.TextChoices):
        ABIERTA = "abierta", "Abierta"
        ANULACION_REGISTRADA = "anulacion_registrada", "Anulación registrada en la aplicación"
        CASO_CREADO = "caso_creado", "Caso creado en la aplicación"
        ERROR_SMARTFLEX = "error_smartflex", "Error de Smartflex"

    # Classes that are a cancellation Smartflex knows and the application does not (the figure
    # «anulaciones de Smartflex que faltan», target 0 after reconciliation).
    FALTANTES = (Clase.ANULADA_EN_SMARTFLEX, Clase.SIN_CASO)

    fuente = models.ForeignKey(EstadoSmartflex, on_delete=models.PROTECT, related_name="diferencias")
    clase = models.CharField(max_length=30, choices=Clase.choices)
    estado = models.CharField(max_length=30, choices=Estado.choices, default=Estado.ABIERTA)
    solicitud = models.ForeignKey(
        "Solicitud", null=True, blank=True, on_delete=models.PROTECT, related_name="diferencias_smartflex"
    )
    estado_aplicacion = models.CharField("estado en la aplicación", max_length=30, blank=True)
    detectada_at = models.DateTimeField("detectada", auto_now_add=True)
    resuelta_at = models.DateTimeField("resuelta", null=True, blank=True)
    resuelta_por = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    automatica = models.BooleanField("aplicada sin intervención", default=False)
    nota = models.TextField(blank=True)

    class Meta:
        ordering = ["-detectada_at", "-pk"]
        verbose_name = "diferencia con Smartflex"
        verbose_name_plural = "diferencias con Smartflex"
        constraints = [
            models.UniqueConstraint(
                fields=["fuente"], condition=Q(estado="abierta"), name="anul_diferencia_abierta_unica"
            )
        ]
        indexes = [
            models.Index(fields=["estado", "detectada_at"], name="anul_dif_estado_detectada"),
            models.Index(fields=["estado", "resuelta_at"], name="anul_dif_estado_resuelta"),
        ]

    def __str__(self):
        return f"{self.fuente.numero}: {self.get_clase_display()}"


class Emparejamiento(models.Model):
    """A new Solicitud proposed as the re-digitation of a cancelled one of the same customer
    (same document, phone or normalized address, registered within
    ``ANULACIONES_SMARTFLEX_VENTANA_HORAS`` after the cancellation). ``confianza`` 0–100 and its
    ``motivos`` are shown; linking it is the transition ``vincular_redigitacion``."""

    class Estado(models.TextChoices):
        PROPUESTO = "propuesto", "Propuesto"
        VINCULADO = "vinculado", "Vinculado"
        DESCARTADO = "descartado", "Descartado"

    anulada = models.ForeignKey("Solicitud", on_delete=models.CASCADE, related_name="emparejamientos_anulada")
    nueva = models.ForeignKey("Solicitud", on_delete=models.CASCADE, related_name="emparejamientos_nueva")
    confianza = models.PositiveSmallIntegerField()
    motivos = models.JSONField(default=list, blank=True)
    estado = models.CharField(max_length=12, choices=Estado.choices, default=Estado.PROPUESTO)
    automatico = models.BooleanField("vinculado automáticamente", default=False)
    creado_at = models.DateTimeField(auto_now_add=True)
    resuelto_at = models.DateTimeField(null=True, blank=True)
    resuelto_por = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-confianza", "-creado_at", "-pk"]
        verbose_name = "re-digitación propuesta"
        verbose_name_plural = "re-digitaciones propuestas"
        constraints = [models.UniqueConstraint(fields=["anulada", "nueva"], name="anul_emparejamiento_unico")]
        indexes = [models.Index(fields=["estado", "creado_at"], name="anul_emp_estado_creado")]

    def __str__(self):
        return f"{self.anulada_id} → {self.nueva_id} ({self.confianza} %)"
