from django.apps import AppConfig
from django.conf import settings
from django.core import checks


def comprobar_calendario(app_configs, **kwargs):
    """The clocks' settings, checked when any process starts (``manage.py check``, gunicorn, Celery):
    a typo in ANULACIONES_HORARIO would otherwise fail on the first SI of the day."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from .reloj import leer_horario

    errores = []
    try:
        leer_horario(settings.ANULACIONES_HORARIO)
    except ValueError as e:
        errores.append(checks.Error(f"ANULACIONES_HORARIO: {e}", id="anulaciones.E001"))
    if settings.ANULACIONES_REDIGITACION_MODO not in ("habil", "reloj"):
        errores.append(checks.Error("ANULACIONES_REDIGITACION_MODO debe ser «habil» o «reloj».", id="anulaciones.E002"))
    try:
        ZoneInfo(settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        errores.append(
            checks.Error(f"TIME_ZONE: zona horaria desconocida «{settings.TIME_ZONE}».", id="anulaciones.E003")
        )
    return errores


class AnulacionesConfig(AppConfig):
    name = "anulaciones"
    verbose_name = "Gestión comercial técnica para evitar anulaciones"

    def ready(self):
        checks.register(comprobar_calendario)
        # The Celery registry in every process (web included): ``cola.encolar`` finds tasks by name.
        # Its receiver (``@receiver``) writes the notices inside each transition's transaction.
        from . import (
            notificaciones,  # noqa: F401
            tasks,  # noqa: F401
        )
        from .direcciones import conectar

        conectar()  # zonifications feed the address knowledge (issue 7)
