"""Context processor of the layout: which navigation links this user's roles open."""
from ..roles import Rol, roles_de


def navegacion(request):
    roles = roles_de(getattr(request, "user", None))
    return {
        "mis_roles": roles,
        "nav": {
            "registrar": bool(roles & {Rol.ASESOR, Rol.MONITORA, Rol.TEAM_LEADER}),
            "ordenes": bool(roles & {Rol.GESTION_RED, Rol.COC, Rol.COZ, Rol.TECNICO, Rol.JEFE_DIVISION}),
            # Div. Facturación sees its deliveries only (no Solicitud, OT or SI: models/base.py).
            "solicitudes": bool(roles - {Rol.FACTURACION}),
            "buscar": bool(roles - {Rol.FACTURACION}),
            "tablero": bool(roles & {Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION}),
            "indicador": bool(roles & {Rol.JEFE_DIVISION, Rol.GESTION_RED, Rol.COC}),
            "entregas": bool(roles & {Rol.FACTURACION, Rol.GESTION_RED}),
        },
    }
