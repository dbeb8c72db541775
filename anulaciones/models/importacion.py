from django.conf import settings
from django.db import models


def _ruta_archivo(instancia, archivo):
    return f"importaciones/{archivo}"


class ImportacionSmartflex(models.Model):
    """One upload of a Smartflex export (CSV/XLSX) and its progress, updated per batch by the
    Celery task so the page can show it. Not a machine of the procedure: ``etapa`` is the job's
    progress, the Solicitudes and OTs it creates are born through ``transitions``. The file is
    kept by the default storage (PostgreSQL, S3 or the local disk: ``anulaciones.almacenamiento``),
    so a worker on any machine reads it."""

    class Etapa(models.TextChoices):
        PENDIENTE = "pendiente", "En cola"
        VALIDANDO = "validando", "Validando"
        CON_ERRORES = "con_errores", "Con errores (nada importado)"
        IMPORTANDO = "importando", "Importando"
        TERMINADA = "terminada", "Terminada"
        FALLIDA = "fallida", "Falló"

    FINALES = (Etapa.CON_ERRORES, Etapa.TERMINADA, Etapa.FALLIDA)

    class Clase(models.TextChoices):
        SOLICITUDES = "solicitudes", "Solicitudes y OTs"
        ESTADOS = "estados", "Estados (conciliación)"

    clase = models.CharField(max_length=12, choices=Clase.choices, default=Clase.SOLICITUDES, db_default="solicitudes")
    archivo = models.FileField(upload_to=_ruta_archivo, max_length=300)
    nombre = models.CharField("archivo", max_length=255)
    usuario = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    aceptar_validas = models.BooleanField("importar las filas válidas aunque haya errores", default=False)
    etapa = models.CharField(max_length=20, choices=Etapa.choices, default=Etapa.PENDIENTE, db_index=True)
    total = models.PositiveIntegerField("filas", default=0)
    procesadas = models.PositiveIntegerField(default=0)
    creadas = models.PositiveIntegerField(default=0)
    actualizadas = models.PositiveIntegerField(default=0)
    sin_cambios = models.PositiveIntegerField(default=0)
    omitidas = models.PositiveIntegerField(default=0, help_text="Filas válidas que el procedimiento no deja aplicar.")
    con_error = models.PositiveIntegerField("filas con error", default=0)
    # A status feed (clase «estados»): differences found and re-entries paired by this import.
    diferencias = models.PositiveIntegerField(default=0, db_default=0)
    emparejadas = models.PositiveIntegerField(default=0, db_default=0)
    errores = models.JSONField(
        default=list,
        blank=True,
        help_text="[{fila, columna, mensaje}]: los primeros ANULACIONES_IMPORTACION_MAX_ERRORES.",
    )
    avisos = models.JSONField(
        default=list,
        blank=True,
        help_text="[{fila, columna, mensaje}] (filas omitidas): los primeros, como los errores.",
    )
    total_errores = models.PositiveIntegerField(
        "errores", default=0, db_default=0, help_text="Todos, también los no guardados."
    )
    total_avisos = models.PositiveIntegerField(
        "avisos", default=0, db_default=0, help_text="Todos, también los no guardados."
    )
    mensaje = models.TextField(blank=True)
    creado_at = models.DateTimeField("subida", auto_now_add=True, db_index=True)
    terminado_at = models.DateTimeField(null=True, blank=True)
    # Saved with every batch's progress: an import whose worker died (no beat for
    # ANULACIONES_IMPORTACION_LATIDO_MINUTOS) is queued again by the periodic pickup.
    latido_at = models.DateTimeField("último progreso", null=True, blank=True)

    class Meta:
        ordering = ["-creado_at", "-pk"]
        verbose_name = "importación de Smartflex"
        verbose_name_plural = "importaciones de Smartflex"

    def __str__(self):
        return f"Importación {self.pk} ({self.nombre})"

    @property
    def terminada(self):
        return self.etapa in self.FINALES

    @property
    def porcentaje(self):
        return int(self.procesadas * 100 / self.total) if self.total else 0
