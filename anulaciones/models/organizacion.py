from django.conf import settings
from django.db import models


class Zona(models.Model):
    codigo = models.CharField("código", max_length=20, unique=True)
    nombre = models.CharField(max_length=120)
    activa = models.BooleanField(default=True)

    class Meta:
        ordering = ["nombre"]
        verbose_name = "zona"
        verbose_name_plural = "zonas"

    def __str__(self):
        return self.nombre


class Perfil(models.Model):
    """Who a user is in the procedure beyond the role: zone (COZ, TECNICO) and team (ASESOR)."""

    usuario = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="perfil")
    zona = models.ForeignKey(
        Zona,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="miembros",
        help_text="Obligatoria para COZ y Técnico: solo ven las órdenes de su zona.",
    )
    team_leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="equipo",
        help_text="Team Leader del asesor.",
    )

    class Meta:
        verbose_name = "perfil"
        verbose_name_plural = "perfiles"

    def __str__(self):
        return f"Perfil de {self.usuario}"


class Feriado(models.Model):
    """A non-working day for the same-day deadline (besides ANULACIONES_FERIADOS)."""

    fecha = models.DateField(unique=True)
    nombre = models.CharField(max_length=120)

    class Meta:
        ordering = ["fecha"]
        verbose_name = "feriado"
        verbose_name_plural = "feriados"

    def __str__(self):
        return f"{self.fecha:%d/%m/%Y} {self.nombre}"


class Caso(models.Model):
    """A Solicitud together with the Solicitudes that re-digit it (the unit of the indicator)."""

    creado_at = models.DateTimeField("creado", auto_now_add=True)
    probable_at = models.DateTimeField(
        "probable de anulación desde",
        null=True,
        blank=True,
        db_index=True,
        help_text="Fecha de la primera observación (pasos 2, 6 o 14): define el periodo del indicador.",
    )

    class Meta:
        verbose_name = "caso"
        verbose_name_plural = "casos"

    def __str__(self):
        return f"Caso {self.pk}"

    @classmethod
    def marcar_probable(cls, caso_id, ahora):
        """The case becomes probable de anulación now, unless it already was (first observation,
        or — for a case never observed — its cancellation: every cancelled case is probable)."""
        cls.objects.filter(pk=caso_id, probable_at__isnull=True).update(probable_at=ahora)
