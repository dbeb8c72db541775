from django.db import models


class EjecucionPeriodica(models.Model):
    """The last run of one periodic task (issue 20, the dead man's switch on the clocks): one row
    per Celery task name, written once per run when the run ends (``operacion.registrar_ejecucion``).
    ``anulaciones.operacion.relojes_atrasados`` reads it to tell a stopped beat or worker."""

    nombre = models.CharField(max_length=100, unique=True)  # Celery task name
    iniciada_at = models.DateTimeField(null=True)  # last start
    terminada_at = models.DateTimeField(null=True)  # last successful finish
    duracion = models.FloatField(null=True)  # seconds of the last successful run
    fallida_at = models.DateTimeField(null=True)  # last failure
    # When the staff were e-mailed about this clock being late; cleared by its next successful
    # run, so a new outage after a recovery is e-mailed again.
    avisada_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = "ejecución periódica"
        verbose_name_plural = "ejecuciones periódicas"

    def __str__(self):
        return self.nombre
