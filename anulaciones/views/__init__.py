"""The browser application: thin views over the transition path (anulaciones.transitions)."""

from .acciones import contacto_nuevo, solicitud_nueva, transicion, zonificacion_nueva
from .casos import orden, orden_imprimir, solicitud, solicitud_imprimir
from .cuentas import EntrarView
from .inicio import inicio
from .listas import ordenes, solicitudes

__all__ = [
    "EntrarView",
    "contacto_nuevo",
    "inicio",
    "orden",
    "orden_imprimir",
    "ordenes",
    "solicitud",
    "solicitud_imprimir",
    "solicitud_nueva",
    "solicitudes",
    "transicion",
    "zonificacion_nueva",
]
