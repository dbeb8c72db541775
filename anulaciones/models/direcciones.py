"""Address knowledge (3.3, issue 7): streets with their aliases (the wrong names people typed),
reference points and boxes/NAP. Each piece links back to the case it came from, who recorded
it and when. Fed by Gestión de Red, the COC and técnicos from a case, by zonifications (20) and
by imports of the GIS layers; read by the registration check and the QGIS export."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ..texto import normalizar as _normalizar
from ..texto import normalizar_codigo
from .indices import trigramas_cercania
from .zonificacion import LAT_MAX, LAT_MIN, LON_MAX, LON_MIN


def normalizar(texto):
    """Matching key of a street / reference name (see anulaciones.direcciones.normalizar)."""
    return _normalizar(texto)


class Origen(models.TextChoices):
    CASO = "caso", "Caso"
    ZONIFICACION = "zonificacion", "Zonificación"
    IMPORTACION = "importacion", "Importación SIG"


class Conocimiento(models.Model):
    """What every piece of knowledge carries: where it came from, who and when."""

    origen = models.CharField(max_length=20, choices=Origen.choices, default=Origen.CASO)
    solicitud = models.ForeignKey(
        "anulaciones.Solicitud",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="caso de origen",
    )
    registrado_por = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    creado_at = models.DateTimeField("registrado", auto_now_add=True, db_index=True)

    class Meta:
        abstract = True


class Nombrado(models.Model):
    """A name with its normalized matching key. ``prefijo``/``sufijo``/``largo`` serve the
    bounded typo search on backends without pg_trgm (SQLite): one wrong letter keeps either
    the first two or the last two letters (names of 4 letters or more), and the length within ±1."""

    normalizado = models.CharField(max_length=200, db_index=True, editable=False)
    prefijo = models.CharField(max_length=2, editable=False, default="")
    sufijo = models.CharField(max_length=2, editable=False, default="")
    largo = models.PositiveSmallIntegerField(editable=False, default=0)

    CAMPO_NOMBRE = "nombre"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.llenar_clave()
        super().save(*args, **kwargs)

    def llenar_clave(self):
        n = normalizar(getattr(self, self.CAMPO_NOMBRE))
        self.normalizado, self.prefijo, self.sufijo, self.largo = n, n[:2], n[-2:], len(n)


class Coordenadas(models.Model):
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

    class Meta:
        abstract = True


def _indices(prefijo, tabla):
    # The bounded typo search everywhere, and on PostgreSQL the nearest names by trigram distance.
    return [
        models.Index(fields=["prefijo", "largo"], name=f"{prefijo}_pre_largo"),
        models.Index(fields=["sufijo", "largo"], name=f"{prefijo}_suf_largo"),
        trigramas_cercania("normalizado", f"{tabla}_normalizado_trgm"),
    ]


class Calle(Nombrado, Coordenadas, Conocimiento):
    """A street's correct name (in a zone, or in every zone when ``zona`` is empty), with an
    optional point where it was located (a zonification's coordinates)."""

    nombre = models.CharField("nombre correcto", max_length=200)
    zona = models.ForeignKey("Zona", null=True, blank=True, on_delete=models.PROTECT, related_name="calles")

    class Meta:
        ordering = ["nombre"]
        verbose_name = "calle"
        verbose_name_plural = "calles"
        indexes = _indices("anul_calle", "anulaciones_calle")

    def __str__(self):
        return self.nombre


class AliasCalle(Nombrado, Conocimiento):
    """A wrong name people typed for a street."""

    calle = models.ForeignKey(Calle, on_delete=models.CASCADE, related_name="aliases")
    nombre = models.CharField("alias (nombre erróneo)", max_length=200)

    class Meta:
        ordering = ["nombre"]
        verbose_name = "alias de calle"
        verbose_name_plural = "alias de calles"
        indexes = _indices("anul_alias", "anulaciones_aliascalle")

    def __str__(self):
        return f"{self.nombre} → {self.calle_id}"


class PuntoReferencia(Nombrado, Coordenadas, Conocimiento):
    nombre = models.CharField(max_length=200)
    zona = models.ForeignKey("Zona", on_delete=models.PROTECT, related_name="puntos_referencia")

    class Meta:
        ordering = ["nombre"]
        verbose_name = "punto de referencia"
        verbose_name_plural = "puntos de referencia"
        indexes = [
            *_indices("anul_punto", "anulaciones_puntoreferencia"),
            models.Index(fields=["zona", "creado_at"], name="anul_punto_zona"),
        ]

    def __str__(self):
        return self.nombre


class CajaNap(Coordenadas, Conocimiento):
    codigo = models.CharField("código", max_length=60)
    codigo_normalizado = models.CharField(max_length=60, unique=True, editable=False)
    zona = models.ForeignKey("Zona", on_delete=models.PROTECT, related_name="cajas_nap")

    class Meta:
        ordering = ["codigo"]
        verbose_name = "caja / NAP"
        verbose_name_plural = "cajas / NAP"
        indexes = [models.Index(fields=["zona", "creado_at"], name="anul_caja_zona")]

    def __str__(self):
        return self.codigo

    def save(self, *args, **kwargs):
        self.codigo_normalizado = normalizar_codigo(self.codigo)
        super().save(*args, **kwargs)
