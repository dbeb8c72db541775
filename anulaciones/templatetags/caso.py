"""What the includes of a case show beside its decisions, one query each: the contact attempts
(3.3, templates/includes/contactos.html) and the latest hand-off note (issue 15.8,
templates/includes/nota_entrega.html). ``{% load caso %}``."""

from django import template

from .. import transitions
from ..forms import ENTREGAS, SOLO_NOTA, ContactoForm
from ..models import IntentoContacto, RegistroAuditoria, Solicitud
from ..roles import Rol, roles_de
from ..tables import ROLES_CONTACTO

register = template.Library()

# The note ``transitions.Contexto.derivado`` writes on an effect's audit row: an effect is not a
# hand-off by a person (``asignar`` on the OT takes ``asignar_instalacion`` on its Solicitud).
NOTA_EFECTO = "Efecto de "
# «Nota de <área>»: the sender, from the role on the audit row.
DE_AREA = {
    Rol.GESTION_RED: "de Gestión de Red",
    Rol.COC: "del COC",
    Rol.COZ: "del COZ",
    Rol.TECNICO: "del técnico",
    Rol.ASESOR: "del asesor",
    Rol.MONITORA: "de la Monitora",
    Rol.TEAM_LEADER: "del Team Leader",
}
_ENTREGA_POR_NOMBRE = {nombre: (modelo, receptor) for (modelo, nombre), receptor in ENTREGAS.items()}


@register.simple_tag(takes_context=True)
def contactos_del_caso(context, sol):
    """For Gestión de Red and the COC (who record them): {"intentos": the case's attempts,
    "form": a ContactoForm, or None once the Solicitud is final}; None for other roles."""
    request = context.get("request")
    if sol is None or request is None or not roles_de(request.user) & ROLES_CONTACTO:
        return None
    intentos = list(IntentoContacto.objects.filter(caso_id=sol.caso_id).select_related("usuario"))
    abierto = sol.estado not in Solicitud.FINALES
    return {"intentos": intentos, "form": ContactoForm(auto_id="contacto_%s") if abierto else None}


@register.simple_tag
def nota_de_entrega(sol):
    """The latest hand-off of the case (a person's, not an effect's), when it carries a note:
    {"registro", "de" (sender area), "etiqueta" (the transition), "para" (receiver)}; else None."""
    if sol is None:
        return None

    registro = (
        RegistroAuditoria.objects.filter(caso_id=sol.caso_id, transicion__in=list(_ENTREGA_POR_NOMBRE))
        .exclude(nota__startswith=NOTA_EFECTO)
        .select_related("usuario")
        .order_by("-creado_at", "-pk")
        .first()
    )
    if registro is None or not registro.nota.strip():
        return None
    modelo, receptor = _ENTREGA_POR_NOMBRE[registro.transicion]
    return {
        "registro": registro,
        "de": DE_AREA.get(registro.rol, f"de {registro.rol}"),
        "etiqueta": transitions.etiqueta(modelo, registro.transicion),
        "para": receptor,
    }


@register.simple_tag
def receptor_en_linea(nombre):
    """Who reads the note of a hand-off button that posts at once (no form page and nothing to
    confirm): its note travels in the button's own box. '' for any other button."""
    for (modelo, transicion), clase in SOLO_NOTA.items():
        if transicion == nombre and not transitions.consecuencia(modelo, transicion):
            return clase.RECEPTOR
    return ""
