from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Crea (o muestra) el token de la API de un usuario: Authorization: Token <clave>."

    def add_arguments(self, parser):
        parser.add_argument("usuario")
        parser.add_argument("--regenerar", action="store_true", help="Revoca el token anterior y crea otro.")

    def handle(self, *args, usuario, regenerar, **opts):
        try:
            user = get_user_model().objects.get(username=usuario, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No existe el usuario activo {usuario}.") from None
        if regenerar:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
