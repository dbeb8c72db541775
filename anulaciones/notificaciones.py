"""Who is told what, written as facts in the transaction of the change that causes them (an
outbox), and mailed after the commit.

A notice (``Notificacion``) stores its kind, its recipient and the objects it refers to; its
words come from ``anulaciones.avisos`` (templates) when it is shown or mailed. Every writer here
runs inside the transaction of its cause:

- a person's transition: the ``transicion_auditada`` receiver below (sent by the transition
  path right after it writes the audit row, before the commit);
- a deadline sweep's batch: ``servicios_vencidos``, ``servicios_por_vencer``,
  ``redigitaciones_tardias`` (one INSERT … SELECT per batch, on PostgreSQL and SQLite alike);
- a delivery: ``entrega_lista``; the month-end watch: ``entregas_por_vencer``.

So a worker killed at any point leaves a change and its notices together, or neither. One notice
per (user, kind, object) — a unique constraint, ``ON CONFLICT DO NOTHING`` — so a rerun never
notifies twice. ``enviar_pendientes`` mails what is not mailed yet (queued on commit, and every
few minutes by beat as a backstop), then records the send: at least once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Model
from django.dispatch import receiver
from django.utils import timezone

from . import cola
from .models import Entrega, Notificacion, OrdenDeTrabajo, Perfil, RegistroAuditoria, ServicioIngenieria, Solicitud
from .roles import Rol
from .signals import transicion_auditada

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .avisos import Aviso

log = logging.getLogger(__name__)
Tipo = Notificacion.Tipo


def escribir(avisos: Iterable[Notificacion], *, correo: bool = True) -> None:
    """Write the notices (unsaved ``Notificacion`` objects) now, in the current transaction;
    duplicates of one already there are skipped. Their e-mail is queued for after the commit
    (``correo=False``: they need none — it goes another way)."""
    avisos = list(avisos)
    if not avisos:
        return
    if not correo:
        for a in avisos:
            a.correo_enviado_at = timezone.now()
    Notificacion.objects.bulk_create(avisos, ignore_conflicts=True)
    if correo:
        encolar_correos()


def encolar_correos() -> cola.Envio:
    """Queue the e-mail task once the current transaction commits (at once outside one). With the
    broker down nothing is lost: the notices wait in the table and beat's ``recuperar-pendientes``
    sends them when it runs again."""
    return cola.encolar("enviar_correos")


def usuarios_con_rol(*roles: str) -> dict[str, list[int]]:
    """{role: [user ids]} of the active users of the given roles (one query)."""
    res: dict[str, list[int]] = {r: [] for r in roles}
    filas = get_user_model().objects.filter(is_active=True, groups__name__in=roles).values_list("pk", "groups__name")
    for pk, rol in filas:
        res[rol].append(pk)
    return res


def usuarios_de_zona(rol: str, zona_id: int) -> list[int]:
    """Active users of a zone-scoped role (COZ, TECNICO) in one zone."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=rol, perfil__zona_id=zona_id)
        .values_list("pk", flat=True)
    )


# --- set-based: one INSERT … SELECT per batch (PostgreSQL and SQLite) ------------------------
def _tablas() -> dict[str, str]:
    from django.contrib.auth.models import Group

    User = get_user_model()
    q = connection.ops.quote_name
    return {
        "si": q(ServicioIngenieria._meta.db_table),
        "sol": q(Solicitud._meta.db_table),
        "perfil": q(Perfil._meta.db_table),
        "user": q(User._meta.db_table),
        "grupo": q(Group._meta.db_table),
        "ug": q(User.groups.through._meta.db_table),
        "notif": q(Notificacion._meta.db_table),
    }


def _entre(columna: str) -> tuple[str, Callable[[list[int]], Any]]:
    """``columna IN %(pks)s`` with the pks as one parameter (an array on PostgreSQL, a JSON list
    on SQLite), and the function that makes that parameter."""
    if connection.vendor == "postgresql":
        return f"{columna} = ANY(%(pks)s)", list
    return f"{columna} IN (SELECT value FROM json_each(%(pks)s))", lambda pks: json.dumps(list(pks))


def _ejecutar(sql: str, pks: list[int], **params: Any) -> int:
    condicion, parametro = _entre("x.id")
    creado = Notificacion._meta.get_field("creado_at").get_db_prep_value(timezone.now(), connection)
    with connection.cursor() as cur:
        cur.execute(sql.format(**_tablas(), en=condicion), {"pks": parametro(pks), "ahora": creado, **params})
        return cur.rowcount


# Each SI of %(pks)s with each recipient of its destinatario role: the asesor, the asesor's Team
# Leader, or every active user of the role (MONITORA, GESTION_RED, COC).
_SQL_SERVICIOS = """
INSERT INTO {notif} (usuario_id, tipo, clave, servicio_id, solicitud_id, datos, creado_at, leida_at, correo_enviado_at)
WITH s AS (
    SELECT x.id, x.destinatario, x.asesor_id, x.vence_at, x.solicitud_id FROM {si} x WHERE {en}
), d AS (
    SELECT s.*, s.asesor_id AS uid FROM s WHERE s.destinatario = 'ASESOR' AND s.asesor_id IS NOT NULL
    UNION ALL
    SELECT s.*, p.team_leader_id FROM s JOIN {perfil} p ON p.usuario_id = s.asesor_id
    WHERE s.destinatario = 'TEAM_LEADER' AND p.team_leader_id IS NOT NULL
    UNION ALL
    SELECT s.*, ug.user_id FROM s JOIN {grupo} g ON g.name = s.destinatario JOIN {ug} ug ON ug.group_id = g.id
    JOIN {user} u ON u.id = ug.user_id AND u.is_active
    WHERE s.destinatario IN ('MONITORA', 'GESTION_RED', 'COC')
)
SELECT d.uid, %(tipo)s, 'servicio:' || d.id, d.id, d.solicitud_id, '{{}}', %(ahora)s, NULL, NULL
FROM d WHERE true ORDER BY d.vence_at, d.id, d.uid
ON CONFLICT DO NOTHING"""

# The first SIs of a batch, by deadline, for Gestión de Red's summary. MATERIALIZED: sort the
# batch itself rather than walk the vence_at index testing each row against the list.
_SQL_PRIMEROS = """
WITH x AS MATERIALIZED (SELECT x.id, x.vence_at FROM {si} x WHERE {en})
SELECT id, count(*) OVER () FROM x ORDER BY vence_at, id LIMIT %(n)s"""

_SQL_REDIGITACIONES = """
INSERT INTO {notif} (usuario_id, tipo, clave, servicio_id, solicitud_id, datos, creado_at, leida_at, correo_enviado_at)
SELECT p.team_leader_id, %(tipo)s, 'solicitud:' || x.id, NULL, x.id, '{{}}', %(ahora)s, NULL, NULL
FROM {sol} x JOIN {perfil} p ON p.usuario_id = x.asesor_id
WHERE {en} AND p.team_leader_id IS NOT NULL ORDER BY x.id
ON CONFLICT DO NOTHING"""

PRIMEROS_DEL_LOTE = 50


def _a_destinatarios(pks: list[int], tipo: str) -> None:
    if pks and _ejecutar(_SQL_SERVICIOS, pks, tipo=tipo):
        encolar_correos()


def servicios_vencidos(pks: Iterable[int]) -> None:
    """4.2/5.2: the destinatario of each SI; Gestión de Red once for the whole batch (its first
    SIs by deadline, and how many)."""
    pks = list(pks)
    if not pks:
        return
    _a_destinatarios(pks, Tipo.VENCIDO)
    condicion, parametro = _entre("x.id")
    with connection.cursor() as cur:
        cur.execute(
            _SQL_PRIMEROS.format(**_tablas(), en=condicion), {"pks": parametro(pks), "n": PRIMEROS_DEL_LOTE + 1}
        )
        filas = cur.fetchall()
    total = filas[0][1]
    primeros = [pk for pk, _ in filas[:PRIMEROS_DEL_LOTE]]
    clave = f"vencidos:{min(pks)}-{max(pks)}:{total}"
    escribir(
        Notificacion(usuario_id=uid, tipo=Tipo.VENCIDO, clave=clave, datos={"servicios": primeros, "total": total})
        for uid in usuarios_con_rol(Rol.GESTION_RED)[Rol.GESTION_RED]
    )


def servicios_por_vencer(pks: Iterable[int]) -> None:
    """The destinatario of each SI close to its deadline."""
    _a_destinatarios(list(pks), Tipo.AVISO)


def redigitaciones_tardias(pks: Iterable[int]) -> None:
    """19.2: each late re-digitation, to the asesor's Team Leader."""
    pks = list(pks)
    if not pks:
        return
    for numero, asesor_id in Solicitud.objects.filter(pk__in=pks, asesor__perfil__team_leader__isnull=True).values_list(
        "numero_smartflex", "asesor_id"
    ):
        log.warning(
            "Solicitud %s: el asesor %s no tiene Team Leader; la escalación no tiene destinatario", numero, asesor_id
        )
    if _ejecutar(_SQL_REDIGITACIONES, pks, tipo=Tipo.REDIGITACION_TARDIA):
        encolar_correos()


# --- a person's transition: written by the transition path, before its commit ------------------
def reporte_de_campo(orden: OrdenDeTrabajo, registro: RegistroAuditoria) -> None:
    """16/17 → the COZ of the OT's zone; 18 → the COC: the field report is addressed to them."""
    if registro.transicion == "reportar_a_coz":
        quienes = usuarios_de_zona(Rol.COZ, orden.zona_id)
    else:
        quienes = usuarios_con_rol(Rol.COC)[Rol.COC]
    escribir(
        Notificacion(
            usuario_id=uid,
            tipo=Tipo.REPORTE_CAMPO,
            clave=f"orden:{orden.pk}:{registro.pk}",
            orden_id=orden.pk,
            datos={"transicion": registro.transicion},
        )
        for uid in quienes
    )


def anulacion_coordinada(orden: OrdenDeTrabajo) -> None:
    """Step 10: the COZ of the OT's zone has a cancelled OT to confirm in its queue."""
    escribir(
        Notificacion(usuario_id=uid, tipo=Tipo.ANULACION_COORDINADA, clave=f"orden:{orden.pk}", orden_id=orden.pk)
        for uid in usuarios_de_zona(Rol.COZ, orden.zona_id)
    )


@receiver(transicion_auditada, dispatch_uid="notificaciones_del_procedimiento")
def al_auditar(sender: type[Model], registro: RegistroAuditoria, objeto: Any, **kwargs: Any) -> None:
    """Inside the transaction of a transition, right after its audit row: the notices it owes."""
    t = registro.transicion
    if sender is ServicioIngenieria and t == ServicioIngenieria.TRANSICION_CREACION:
        _a_destinatarios([objeto.pk], Tipo.NUEVO_SI)  # what is asked and until when (19.1 included)
    elif sender is OrdenDeTrabajo and t in ("reportar_a_coz", "direccionar_a_coc"):
        reporte_de_campo(objeto, registro)
    elif sender is OrdenDeTrabajo and t == "coordinar_anulacion" and objeto.anulacion_coordinada_at:
        anulacion_coordinada(objeto)
    elif (
        sender is Solicitud and t in ("registrar_redigitacion", "vincular_redigitacion") and objeto.redigitacion_tardia
    ):
        # Unique per (Team Leader, kind, case): the sweep's escalation and this one are the same
        # notice, so the Team Leader is told exactly once.
        redigitaciones_tardias([objeto.pk])


# --- the month-end delivery (21.1) ---------------------------------------------------------------
def entrega_lista(entrega: Entrega) -> None:
    """Facturación: a delivery is ready (its e-mail, with the workbook, is the delivery's own:
    ``entregas.enviar_entrega``)."""
    escribir(
        (
            Notificacion(usuario_id=uid, tipo=Tipo.ENTREGA, clave=f"entrega:{entrega.pk}", entrega_id=entrega.pk)
            for uid in usuarios_con_rol(Rol.FACTURACION)[Rol.FACTURACION]
        ),
        correo=False,
    )


def entregas_por_vencer(mes: date, pendientes: int, dias: int, ultimo_dia: bool) -> None:
    """Gestión de Red and Facturación: ``pendientes`` digitized zonifications of ``mes`` are in
    no delivery yet, ``dias`` working days before the month ends (once per day and month)."""
    quienes = usuarios_con_rol(Rol.GESTION_RED, Rol.FACTURACION)
    clave = f"entrega-plazo:{mes:%Y-%m}:{'ultimo' if ultimo_dia else dias}"
    datos = {
        "mes": f"{mes:%Y-%m}",
        "mes_texto": f"{mes:%m/%Y}",
        "pendientes": pendientes,
        "dias": dias,
        "ultimo_dia": ultimo_dia,
    }
    escribir(
        Notificacion(usuario_id=uid, tipo=Tipo.ENTREGA_PLAZO, clave=clave, datos=datos)
        for uid in {*quienes[Rol.GESTION_RED], *quienes[Rol.FACTURACION]}
    )


# --- the e-mail of the outbox ------------------------------------------------------------------
def enviar_pendientes() -> int:
    """Send one e-mail per user with the notices not mailed yet, then record the send; users
    without an address are marked done. At least once: a crash between sending and the commit
    sends that mail again."""
    from django.core.mail import send_mail

    from .avisos import RELACIONADOS, presentar

    with transaction.atomic():
        pendientes = list(
            Notificacion.objects.filter(correo_enviado_at__isnull=True)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("usuario", *RELACIONADOS)
            .order_by("usuario_id", "pk")[:5000]
        )
        por_usuario: dict[User, list[Aviso]] = {}
        for n in presentar(pendientes):
            por_usuario.setdefault(n.usuario, []).append(n)
        base = settings.ANULACIONES_URL_BASE.rstrip("/")
        for usuario, notas in por_usuario.items():
            if not usuario.email:
                continue
            asunto = notas[0].titulo if len(notas) == 1 else f"{len(notas)} avisos del procedimiento COM-DSC-P10"
            cuerpo = "\n\n".join(
                f"{n.titulo}\n{n.texto}" + (f"\n{base}{n.url}" if base and n.url else "") for n in notas
            )
            send_mail(asunto[:150], cuerpo, settings.DEFAULT_FROM_EMAIL, [usuario.email])
        Notificacion.objects.filter(pk__in=[n.pk for n in pendientes]).update(correo_enviado_at=timezone.now())
    return len(pendientes)
