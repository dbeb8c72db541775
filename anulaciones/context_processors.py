"""The unread-notification count shown on every page (one query per page)."""

import functools


def notificaciones(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"notificaciones_no_leidas": None}
    from .models import Notificacion

    return {"notificaciones_no_leidas": Notificacion.objects.filter(usuario=user, leida_at__isnull=True).count()}


def relojes(request):
    """The dead man's switch's banner (issue 20): the late clocks on the Tablero and on the home
    page of Gestión de Red (and staff). Lazy: the template calls it, so the query runs only on
    those pages, once per request; there it also e-mails the staff once per outage, for installs
    without a load balancer asking /salud/listo (``operacion.vigilar_relojes``)."""

    @functools.cache
    def atrasados():
        user = getattr(request, "user", None)
        match = getattr(request, "resolver_match", None)
        if user is None or not user.is_authenticated or match is None:
            return []
        from . import operacion, selectors
        from .roles import Rol, roles_de

        if match.url_name == "tablero":
            ve = selectors.puede_ver_tablero(user)
        elif match.url_name == "inicio":
            ve = user.is_staff or Rol.GESTION_RED in roles_de(user)
        else:
            ve = False
        return operacion.vigilar_relojes() if ve else []

    return {"relojes_atrasados": atrasados}
