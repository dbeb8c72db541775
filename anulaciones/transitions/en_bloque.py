"""Set-based transitions (the deadline sweep, the month's delivery): one transition on every
row of a queryset in a constant number of queries. Only for transitions declared
``custom={"en_bloque": True}`` on the machine: a body that reads nothing, sets the same values on
every row and has no condition and no follow-up (tests/test_en_bloque.py holds every declared
one to the single path's end state and audit rows)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import F, Lookup, Q, QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from ..errors import Conflicto, ErrorDominio, SinPermiso
from ..models import OrdenDeTrabajo, ServicioIngenieria, Zonificacion
from ..models.base import VEN_TODO
from ..roles import Permiso, roles_de
from .auditoria import auditar_en_sql, auditar_filas, en_sql, registro
from .camino import Contexto
from .introspeccion import Objeto, fuentes, meta_transicion, paso_de, validar_datos

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.backends.base.base import BaseDatabaseWrapper


class TransicionNoEnBloque(ErrorDominio):
    """The transition is not declared ``en_bloque``: it goes row by row, through ``aplicar``."""


def aplicar_en_bloque(queryset: QuerySet[Any], nombre: str, usuario: User, nota: str = "", **datos: Any) -> list[int]:
    """Take transition ``nombre`` on every row of ``queryset`` that is in one of its sources,
    in a constant number of queries: lock (skip rows another worker holds), one UPDATE, one
    INSERT of the audit rows. Same metadata as ``aplicar``: sources, target, the roles of
    the transition's ``Permiso``. The fields the body sets (e.g. ``remitida_at = ctx.ahora``, or
    from ``datos``, the same for every row) are set on every row. Returns the list of changed pks.

    When the user's role does not depend on the row (a role that reaches every case, e.g. the
    system user's SISTEMA) and the model's audit text has an SQL form (its ``NOMBRE``), the rows
    are never loaded: one INSERT … SELECT … FOR UPDATE SKIP LOCKED … RETURNING writes the audit
    rows from the locked rows, then one UPDATE moves them. Otherwise the rows are loaded to check
    the role and scope of each one.

    After the commit, ``transiciones_en_bloque`` is sent once (sender=model, registros=[...],
    pks=[...]) — not ``transicion_realizada`` per row. ``registros`` is a sequence of the audit
    rows, read from the database when a receiver first looks at it.
    """
    modelo = queryset.model
    meta, t = meta_transicion(modelo, nombre)
    validar_datos(modelo, nombre, datos)
    label = t.custom.get("label", nombre)
    if not t.custom.get("en_bloque"):
        raise TransicionNoEnBloque(f"«{label}» no se aplica en bloque: cada registro pasa por aplicar().")
    if any(tr.conditions for tr in meta.transitions.values()):  # a wrong declaration, not a refusal
        raise TransicionNoEnBloque(f"«{label}» tiene condiciones: no se aplica en bloque.")
    origenes = fuentes(modelo, nombre)
    destino = t.target
    with transaction.atomic():
        relacionados = {
            ServicioIngenieria: ("solicitud",),
            Zonificacion: ("orden", "solicitud"),
            OrdenDeTrabajo: ("solicitud",),
        }.get(modelo, ())  # str() and caso_id of each row
        bloqueo = queryset.filter(estado__in=origenes).select_for_update(skip_locked=True, of=("self",))
        rol = _rol_uniforme(t.permission, usuario)
        if rol is not None and en_sql(modelo):
            filas = None
            # Any one row, locked like the rest (no ORDER BY: sorting the batch only to take its
            # first row is wasted work).
            muestra = next(iter(bloqueo.select_related(*relacionados).order_by()[:1]), None)
        else:
            filas = list(bloqueo.select_related(*relacionados))
            muestra = filas[0] if filas else None
        if muestra is None:
            return []
        if filas is not None:
            roles = {t.permission.rol_para(f, usuario) for f in filas}  # role and scope of every row
            if None in roles or len(roles) != 1:
                raise SinPermiso(f"Su rol no permite «{label}» en todos los registros.")
            rol = roles.pop()
        assert rol is not None  # the SQL branch has a role; every row's was checked above
        ctx = Contexto(usuario=usuario, rol=rol, ahora=timezone.now(), nota=nota or "")
        ctx.paso = paso_de(t, rol)
        cambios = _cambios_del_cuerpo(muestra, nombre, ctx, datos)
        if filas is None:  # the audit rows straight from the locked rows, which stay in the database
            pks = auditar_en_sql(bloqueo, ctx, nombre, destino)
        else:
            pks = [f.pk for f in filas]
            auditar_filas(modelo, [registro(f, ctx, nombre, f.estado, destino) for f in filas])
        if not pks:  # every row was taken by another worker between the two statements
            return []
        hechas = modelo.objects.filter(filtro_pks(pks), estado__in=origenes).update(
            estado=destino, version=F("version") + 1, actualizado_at=ctx.ahora, **cambios
        )
        if hechas != len(pks):  # another process moved some of them (SQLite has no row locks)
            raise Conflicto("Otro proceso modificó los registros al mismo tiempo; reintente.")
    return pks


def _cambios_del_cuerpo(muestra: Objeto, nombre: str, ctx: Contexto, datos: dict[str, Any]) -> dict[str, Any]:
    """The body, run once on a copy of one row: what it sets is what every row gets."""
    muestra = copy.copy(muestra)
    antes = {f.attname: getattr(muestra, f.attname) for f in type(muestra)._meta.concrete_fields}
    if getattr(muestra, nombre)(ctx, **datos) is not None:  # a wrong declaration: effects need aplicar()
        raise TransicionNoEnBloque(f"«{nombre}» tiene efectos: no se aplica en bloque.")
    return {
        k: getattr(muestra, k) for k, v in antes.items() if k not in ("estado", "version") and getattr(muestra, k) != v
    }


def filtro_pks(pks: list[int]) -> Q | _IgualAAlguno:
    """``pk IN pks`` for filter(): on PostgreSQL one array parameter (``pk = ANY(%s)``), since
    binding and planning an IN list of 10,000 placeholders costs more than running it."""
    if connection.vendor != "postgresql":
        return Q(pk__in=pks)
    return _IgualAAlguno(F("pk"), [int(pk) for pk in pks])


class _IgualAAlguno(Lookup):
    """``lhs = ANY(%s)``, the list bound as one PostgreSQL array."""

    lookup_name = "igual_a_alguno"
    prepare_rhs = False

    # The params hold a list (the array), which the stubs' tuple[str | int, ...] does not allow for.
    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, self.rhs]


def _rol_uniforme(permiso: Permiso, usuario: User) -> str | None:
    """The role ``permiso`` gives ``usuario`` on every row whatever the row, or None when it may
    depend on the row: PermisoDestinatario (the SI's destinatario), a role limited to a scope
    (ASESOR, TEAM_LEADER, COZ, TECNICO: ``en_alcance`` looks at the row) or no role at all. A
    role that reaches every case (VEN_TODO, SISTEMA among them) is in scope on every row."""
    if type(permiso).rol_para is not Permiso.rol_para:
        return None
    mios = roles_de(usuario)
    rol = next((r for r in permiso.roles if r in mios), None)
    return rol if rol in VEN_TODO else None
