from django.db import models


class ArchivoGuardado(models.Model):
    """The bytes of one stored file (an uploaded Smartflex import, a monthly workbook) when the
    files live in PostgreSQL (``anulaciones.almacenamiento.AlmacenamientoBD``): every web and
    worker process, on any machine, reads the same row. ``nombre`` is the storage name the
    FileField keeps (``importaciones/x.csv``, ``entregas/zonificaciones-2026-11.xlsx``)."""

    nombre = models.CharField(max_length=300, unique=True)
    contenido = models.BinaryField()
    tamano = models.PositiveBigIntegerField("tamaño (bytes)", default=0)
    creado_at = models.DateTimeField("guardado", auto_now_add=True)

    class Meta:
        verbose_name = "archivo guardado"
        verbose_name_plural = "archivos guardados"

    def __str__(self):
        return self.nombre
