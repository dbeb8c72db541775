from django.apps import AppConfig


class AnulacionesConfig(AppConfig):
    name = "anulaciones"
    verbose_name = "Gestión comercial técnica para evitar anulaciones"

    def ready(self):
        # The Celery registry in every process (web included): ``cola.encolar`` finds tasks by name.
        # Its receiver (``@receiver``) writes the notices inside each transition's transaction.
        from . import (
            notificaciones,  # noqa: F401
            tasks,  # noqa: F401
        )
        from .direcciones import conectar

        conectar()  # zonifications feed the address knowledge (issue 7)
