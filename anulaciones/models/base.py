from functools import wraps
from typing import TYPE_CHECKING, ClassVar

from django.db import models
from django_fsm import FSMModelMixin

from ..roles import SISTEMA, Rol, roles_de, zona_de

if TYPE_CHECKING:
    from .auditoria import Nombre

# Roles that read every case (procedure.md: MONITORA for every asesor, the departments, the jefe).
# Not FACTURACION: Div. Facturación receives the monthly zonification deliveries (21.1, the
# Entregas page) and nothing else — no Solicitud, OT or SI (least privilege, issue 13).
VEN_TODO = frozenset({Rol.MONITORA, Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION, SISTEMA})


def condicion(mensaje):
    """A guard of a person's decision (a django-fsm condition) with the message the user reads
    when it refuses (409). A cross-machine effect of another transition (``Contexto.aplicar``
    marks its row ``_como_efecto``) is not a decision: its source state is all that matters."""

    def decorar(funcion):
        @wraps(funcion)
        def guardia(instancia):
            return getattr(instancia, "_como_efecto", False) or funcion(instancia)

        setattr(guardia, "mensaje", mensaje)  # noqa: B010 (read by siguientes_pasos and comprobar)
        return guardia

    return decorar


class Maquina(FSMModelMixin, models.Model):
    """Common ground of the four state machines.

    ``version`` grows by one on every transition: a transition started from an object read at
    version N loses, with a Conflicto, against one that already moved it to N+1.
    """

    version = models.PositiveIntegerField(default=0, editable=False)
    creado_at = models.DateTimeField("creado", auto_now_add=True, db_index=True)
    actualizado_at = models.DateTimeField("actualizado", auto_now=True)

    class Meta:
        abstract = True

    # Each machine declares ``NOMBRE`` (models.auditoria.Nombre): its text here and in SQL.
    NOMBRE: ClassVar["Nombre"]

    def __str__(self):
        return self.NOMBRE.de(self)

    # Role -> scope checks, overridden per machine.
    def en_alcance(self, user, rol):
        if rol in (Rol.COZ, Rol.TECNICO):
            return self.zona_id_alcance is not None and self.zona_id_alcance == zona_de(user)
        return True

    @property
    def zona_id_alcance(self):
        return None

    @property
    def caso_id_auditoria(self):
        return None


def equipo_de(user):
    """The ids of the asesores a team leader leads, cached on the user (one query per request)."""
    cached = getattr(user, "_equipo_cache", None)
    if cached is None:
        from .organizacion import Perfil

        cached = frozenset(Perfil.objects.filter(team_leader_id=user.pk).values_list("usuario_id", flat=True))
        user._equipo_cache = cached
    return cached


def en_alcance_de(qs, user, *, solicitud="", zona=None, ven_todo=VEN_TODO):
    """Scope a queryset to what ``user`` may see: everything for the ``ven_todo`` roles, own cases
    for ASESOR, the team's for TEAM_LEADER, the zone's for COZ/TECNICO (when ``zona`` names the
    zone field). ``solicitud`` is the path to the Solicitud ("" on Solicitud itself)."""
    roles = roles_de(user)
    if not roles:
        return qs.none()
    if roles & ven_todo:
        return qs
    q = models.Q(pk__in=[])
    if Rol.ASESOR in roles:
        q |= models.Q(**{f"{solicitud}asesor_id": user.pk})
    if Rol.TEAM_LEADER in roles:
        q |= models.Q(**{f"{solicitud}asesor_id__in": equipo_de(user)})
    if zona and roles & {Rol.COZ, Rol.TECNICO} and zona_de(user):
        q |= models.Q(**{zona: zona_de(user)})
    return qs.filter(q)


def alcance_asesor(solicitud, user, rol):
    """ASESOR acts on own cases; TEAM_LEADER on the cases of the team's asesores."""
    if rol == Rol.ASESOR:
        return solicitud.asesor_id == user.pk
    if rol == Rol.TEAM_LEADER:
        return solicitud.asesor_id in equipo_de(user)
    return None
