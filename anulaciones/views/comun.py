"""Helpers shared by the pages: which objects a user sees, the buttons of an object (from
``transitions.disponibles``) and how a deadline reads."""
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .. import transitions
from ..forms import formulario_de
from ..models import OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion

MODELOS = {"solicitud": Solicitud, "orden": OrdenDeTrabajo, "servicio": ServicioIngenieria,
           "zonificacion": Zonificacion}
SLUGS = {m: s for s, m in MODELOS.items()}
# Buttons that end a case are drawn in red.
PELIGROSAS = {"anular", "anular_para_redigitacion", "ratificar_anulacion", "coordinar_anulacion",
              "cerrar_sin_atencion"}


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
        res.append({
            "nombre": nombre, "label": label, "peligro": nombre in PELIGROSAS,
            "con_formulario": formulario_de(type(obj), nombre) is not None,
            "url": reverse("transicion", args=[SLUGS[type(obj)], obj.pk, nombre]),
            "version": obj.version,
        })
    return res


def siguiente(request, defecto):
    """A safe local ``next`` (the Tablero posts decisions from its rows and comes back)."""
    destino = request.POST.get("next") or request.GET.get("next")
    if destino and url_has_allowed_host_and_scheme(destino, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return destino
    return defecto
