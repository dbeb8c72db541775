from django.apps import AppConfig


class AnulacionesConfig(AppConfig):
    name = "anulaciones"
    verbose_name = "Gestión comercial técnica para evitar anulaciones"
