"""Helpers shared by the pages: which objects a user sees, the buttons of an object (from
``transitions.disponibles``) and how a deadline reads."""

from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .. import transitions
from ..forms import formulario_de
from ..models import OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion

MODELOS = {
    "solicitud": Solicitud,
    "orden": OrdenDeTrabajo,
    "servicio": ServicioIngenieria,
    "zonificacion": Zonificacion,
}
SLUGS = {m: s for s, m in MODELOS.items()}
# Buttons that end a case are drawn in red.
PELIGROSAS = {"anular", "anular_para_redigitacion", "ratificar_anulacion", "coordinar_anulacion", "cerrar_sin_atencion"}


def visibles(modelo, user):
    if modelo is Zonificacion:
        return Zonificacion.objects.filter(solicitud__in=Solicitud.objects.visibles_para(user).values("pk"))
    return modelo.objects.visibles_para(user)


def url_detalle(obj):
    if isinstance(obj, Solicitud):
        return reverse("solicitud", args=[obj.pk])
    if isinstance(obj, OrdenDeTrabajo):
        return reverse("orden", args=[obj.pk])
    return reverse("solicitud", args=[obj.solicitud_id])


def acciones(obj, user):
    """The transitions this user may take on obj now, as buttons: the only source of buttons."""
    res = []
    for nombre, label in transitions.disponibles(obj, user):
        res.append(
            {
                "nombre": nombre,
                "label": label,
                "peligro": nombre in PELIGROSAS,
                "con_formulario": formulario_de(type(obj), nombre) is not None,
                "url": reverse("transicion", args=[SLUGS[type(obj)], obj.pk, nombre]),
                "version": obj.version,
            }
        )
    return res


def entero(texto):
    """A whole number typed in a form or a query string (ASCII digits, at most 18: within a
    database id), or None: ``"²".isdigit()`` is true and ``int("²")`` fails."""
    texto = (texto or "").strip() if isinstance(texto, str) else ""
    return int(texto) if texto.isascii() and texto.isdigit() and len(texto) <= 18 else None


def ruta_local(request, destino):
    """``destino`` when it is a path of this site ("/…", no control characters), else None.
    ``redirect("-1")`` would look "-1" up as a URL name (NoReverseMatch) and a line end in a
    Location header is refused (BadHeaderError): both were 500s."""
    if (
        isinstance(destino, str)
        and destino.startswith("/")
        and len(destino) <= 2000
        and not any(ord(c) < 32 or ord(c) == 127 for c in destino)
        and url_has_allowed_host_and_scheme(
            destino, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return destino
    return None


def siguiente(request, defecto):
    """A safe local ``next`` (the Tablero posts decisions from its rows and comes back)."""
    return ruta_local(request, request.POST.get("next") or request.GET.get("next")) or defecto
