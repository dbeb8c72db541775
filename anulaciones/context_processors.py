"""The unread-notification count shown on every page (one query per page)."""


def notificaciones(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"notificaciones_no_leidas": None}
    from .models import Notificacion

    return {"notificaciones_no_leidas": Notificacion.objects.filter(usuario=user, leida_at__isnull=True).count()}
