from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from .. import reloj

log = logging.getLogger(__name__)

AYUDA_HORARIO = (
    "Horas hábiles por día de la semana, en hora local: grupos separados por «;», cada uno con los días "
    "(un rango «lun-vie» o una lista «lun,mie») y uno o más tramos «HH:MM-HH:MM» («24:00» es el fin del día). "
    "Los días que no se nombran no son hábiles. Ejemplo: «lun-vie 08:00-13:00 14:00-20:00; sab 08:00-13:00»."
)

# The explanations stored beside a deadline (ServicioIngenieria.vence_explicacion,
# Solicitud.redigitacion_explicacion): long enough for any week with a few holidays named.
LARGO_EXPLICACION = 400


def recortar_explicacion(texto: str) -> str:
    """``texto`` within LARGO_EXPLICACION characters (a cut one ends in «…»)."""
    return texto if len(texto) <= LARGO_EXPLICACION else texto[: LARGO_EXPLICACION - 1] + "…"


class CalendarioLaboral(models.Model):
    """A week of working hours (``reloj.leer_horario`` syntax) for the clocks of 4.2, 5.2 and
    19.2. Zones may have their own (``Zona.calendario``); the one marked ``predeterminado`` (at
    most one) replaces settings.ANULACIONES_HORARIO for the others. Its holidays: the general
    ones (ANULACIONES_FERIADOS and the Feriado rows without calendar) plus its own Feriado rows."""

    nombre = models.CharField(max_length=80, unique=True)
    horario = models.TextField(help_text=AYUDA_HORARIO)
    predeterminado = models.BooleanField(
        default=False,
        help_text="Rige en las zonas sin calendario propio, en lugar del horario de la configuración "
        "(ANULACIONES_HORARIO). Solo un calendario puede ser el predeterminado.",
    )

    class Meta:
        ordering = ["nombre"]
        verbose_name = "calendario laboral"
        verbose_name_plural = "calendarios laborales"
        constraints = [
            models.UniqueConstraint(
                fields=["predeterminado"],
                condition=Q(predeterminado=True),
                name="anul_calendario_predeterminado",
                violation_error_message="Ya hay un calendario predeterminado: quítele la marca antes.",
            )
        ]

    def __str__(self):
        return self.nombre

    def clean(self):
        try:
            horario = reloj.leer_horario(self.horario)
        except ValueError as e:
            raise ValidationError({"horario": str(e)}) from e
        self.horario = reloj.escribir_horario(horario)  # stored in its canonical form

    @classmethod
    def de_zona(cls, zona_id: int | None) -> reloj.Calendario:
        """The calendar of zone ``zona_id`` (None: the default): its own, else the row marked
        ``predeterminado``, else settings.ANULACIONES_HORARIO; with its holidays. Two queries."""
        filtro = Q(predeterminado=True)
        if zona_id is not None:
            filtro |= Q(pk__in=Zona.objects.filter(pk=zona_id).values("calendario_id"))
        filas = list(cls.objects.filter(filtro))
        # The zone's own calendar is the row that is not the default one (or the default itself).
        fila = next((f for f in filas if not f.predeterminado), filas[0] if filas else None)
        propios = Q(calendario__isnull=True) | (Q(calendario=fila) if fila else Q(pk__in=[]))
        return _calendario(fila, list(Feriado.objects.filter(propios).values_list("fecha", "nombre")))

    @classmethod
    def todos(cls) -> Calendarios:
        """Every calendar at once, with the zones that have one of their own: three queries
        whatever the number of calendars, zones and holidays (the recompute, the warning sweep)."""
        filas = list(cls.objects.all())
        zonas = dict(Zona.objects.filter(calendario__isnull=False).values_list("pk", "calendario_id"))
        feriados: dict[int | None, list[tuple[date, str]]] = {}
        for fecha, nombre, calendario_id in Feriado.objects.values_list("fecha", "nombre", "calendario_id"):
            feriados.setdefault(calendario_id, []).append((fecha, nombre))
        generales = feriados.get(None, [])
        por_id = {f.pk: _calendario(f, generales + feriados.get(f.pk, [])) for f in filas}
        pred = next((f.pk for f in filas if f.predeterminado), None)
        return Calendarios(
            predeterminado=por_id[pred] if pred is not None else _calendario(None, generales),
            por_id=por_id,
            zonas=zonas,
        )


def _calendario(fila: CalendarioLaboral | None, feriados: list[tuple[date, str]]) -> reloj.Calendario:
    """``fila``'s hours (None: ANULACIONES_HORARIO) in TIME_ZONE, with ANULACIONES_FERIADOS and
    the Feriado rows given (date, name)."""
    nombres = dict(sorted(feriados))  # one name per date, whatever order the rows came in
    base = reloj.calendario_predeterminado(frozenset(nombres), tuple(nombres.items()))
    if fila is None:
        return base
    try:
        horario = reloj.leer_horario(fila.horario)
    except ValueError:  # written around the admin's validation (SQL, shell): the default week, and say so
        log.error("El calendario laboral %s tiene un horario inválido; rige ANULACIONES_HORARIO.", fila.pk)
        return base
    return dataclasses.replace(base, horario=horario, nombre=fila.nombre)


@dataclass(frozen=True)
class Calendarios:
    """Every calendar, loaded at once by ``CalendarioLaboral.todos``."""

    predeterminado: reloj.Calendario  # zones without a calendar of their own
    por_id: dict[int, reloj.Calendario]  # CalendarioLaboral pk -> its calendar
    zonas: dict[int, int]  # zona pk -> CalendarioLaboral pk (the zones with their own)

    def de_zona(self, zona_id: int | None) -> reloj.Calendario:
        calendario_id = self.zonas.get(zona_id) if zona_id is not None else None
        return self.predeterminado if calendario_id is None else self.por_id[calendario_id]


class Zona(models.Model):
    codigo = models.CharField("código", max_length=20, unique=True)
    nombre = models.CharField(max_length=120)
    activa = models.BooleanField(default=True)
    calendario = models.ForeignKey(
        CalendarioLaboral,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="zonas",
        verbose_name="calendario laboral",
        help_text="El horario de los plazos de la zona. Vacío: el calendario predeterminado.",
    )

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
    """A non-working day of the clocks (besides ANULACIONES_FERIADOS): of every calendar, or of
    one (``calendario``)."""

    fecha = models.DateField()
    nombre = models.CharField(max_length=120)
    calendario = models.ForeignKey(
        CalendarioLaboral,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="feriados",
        verbose_name="calendario laboral",
        help_text="Vacío: feriado de todos los calendarios.",
    )

    class Meta:
        ordering = ["fecha"]
        verbose_name = "feriado"
        verbose_name_plural = "feriados"
        constraints = [
            models.UniqueConstraint(
                fields=["fecha", "calendario"],
                condition=Q(calendario__isnull=False),
                name="anul_feriado_fecha_calendario",
                violation_error_message="Ese calendario ya tiene un feriado en esa fecha.",
            ),
            models.UniqueConstraint(
                fields=["fecha"],
                condition=Q(calendario__isnull=True),
                name="anul_feriado_fecha_general",
                violation_error_message="Ya hay un feriado de todos los calendarios en esa fecha.",
            ),
        ]

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
    # A case whose only Solicitud was linked as the re-digitation of another case's cancelled one
    # (``Solicitud.vincular_redigitacion``, issue 18): it has no Solicitud left; its audit rows
    # (immutable) stay on it and the case it joined shows them in its timeline.
    unido_a = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="unidos", verbose_name="unido al caso"
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
