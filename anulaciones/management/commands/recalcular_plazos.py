"""Recompute the pending deadlines after the working calendar changed outside the admin: a
release that changes ANULACIONES_HORARIO, ANULACIONES_FERIADOS, ANULACIONES_SI_MINIMO_MINUTOS,
ANULACIONES_REDIGITACION_HORAS/_MODO or ANULACIONES_AVISO_MINUTOS (run it once the new settings
are deployed), or a calendar edited in the database by hand."""

from django.core.management.base import BaseCommand

from ... import calendario
from ...espanol import cuenta


class Command(BaseCommand):
    help = (
        "Recalcula con el calendario laboral vigente los plazos de los Servicios de Ingeniería abiertos "
        "y de las re-digitaciones pendientes (cada cambio queda en la auditoría, hecho por el sistema)."
    )

    def handle(self, *args, **opts):
        cambios = calendario.recalcular_plazos()
        self.stdout.write(
            f"Plazos recalculados: {cuenta(cambios['servicios'], 'Servicio de Ingeniería', 'Servicios de Ingeniería')}"
            f" y {cuenta(cambios['redigitaciones'], 're-digitación', 're-digitaciones')}."
        )
