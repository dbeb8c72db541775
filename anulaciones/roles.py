"""Roles of the procedure (Django groups) and the permission rules the machines use."""

from django.db import models


class Rol(models.TextChoices):
    ASESOR = "ASESOR", "Asesor Comercial / Ejecutivo de Ventas"
    MONITORA = "MONITORA", "Monitora Atención al Cliente / Plataforma"
    TEAM_LEADER = "TEAM_LEADER", "Team Leader Ventas"
    GESTION_RED = "GESTION_RED", "Depto. Gestión de Red"
    COC = "COC", "Centro de Operaciones Comercial"
    COZ = "COZ", "Centro de Operaciones Zonal"
    TECNICO = "TECNICO", "Técnico Multiservicios"
    JEFE_DIVISION = "JEFE_DIVISION", "Jefe Div. Soporte al Cliente"
    FACTURACION = "FACTURACION", "Div. Facturación"


# The deadline tasks act as this user; it belongs to no group of the procedure.
SISTEMA = "SISTEMA"
USUARIO_SISTEMA = "sistema"

ROLES_ZONALES = {Rol.COZ, Rol.TECNICO}
ROLES_DIGITACION = (Rol.ASESOR, Rol.MONITORA, Rol.TEAM_LEADER)


def roles_de(user):
    """The role codes of a user, cached on the instance (one query per request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_roles_cache", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.username == USUARIO_SISTEMA:
            cached = cached | {SISTEMA}
        user._roles_cache = cached
    return cached


def zona_de(user):
    perfil = getattr(user, "perfil", None)
    return perfil.zona_id if perfil else None


class Permiso:
    """A transition's permission: the roles named on it, each limited to its scope.

    django-fsm calls it as ``permission(instance, user)``. The scope of each role is asked
    of the instance: ``instance.en_alcance(user, rol)``.
    """

    def __init__(self, *roles):
        self.roles = tuple(roles)

    def rol_para(self, instance, user):
        """The first of the user's roles that may take the transition on this instance."""
        mios = roles_de(user)
        for rol in self.roles:
            if rol in mios and instance.en_alcance(user, rol):
                return rol
        return None

    def __call__(self, instance, user):
        return self.rol_para(instance, user) is not None

    def __repr__(self):
        return f"Permiso{self.roles}"


class PermisoDestinatario(Permiso):
    """Only the SI's destinatario role may answer it (4.2)."""

    def __init__(self):
        super().__init__(*ROLES_DIGITACION, Rol.GESTION_RED, Rol.COC)

    def rol_para(self, instance, user):
        rol = instance.destinatario
        if rol in roles_de(user) and instance.en_alcance(user, rol):
            return rol
        return None

    def __repr__(self):
        return "Permiso(destinatario)"
