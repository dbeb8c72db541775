from django.apps import AppConfig


class AnulacionesConfig(AppConfig):
    name = "anulaciones"
    verbose_name = "Gestión comercial técnica para evitar anulaciones"

    def ready(self):
        from . import tasks  # noqa: F401  (connects the deadline hooks on the transition path)
        from .direcciones import conectar

        conectar()  # zonifications feed the address knowledge (issue 7)
