"""In-app notifications and their e-mail, both written only after the transaction that caused
them commits.

    notificar([Aviso(usuario_id, tipo, clave, titulo, texto, url), ...])

queues, on commit, one bulk INSERT (a notice already there — same user, tipo and clave — is
skipped, so a task that runs twice notifies once) and the ``enviar_correos`` task, which sends
one e-mail per user for the notices not yet mailed.
"""
import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.dispatch import receiver
from django.urls import reverse

from . import calendario
from .models import Notificacion, OrdenDeTrabajo, Perfil, ServicioIngenieria, Solicitud
from .roles import Rol
from .signals import transicion_realizada

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Aviso:
    usuario_id: int
    tipo: str
    clave: str
    titulo: str
    texto: str = ""
    url: str = ""
    correo: bool = True  # False: the e-mail goes another way (the workbook with its attachment)


def notificar(avisos):
    """Write the notices after the current transaction commits (at once outside one)."""
    avisos = list(avisos)
    if avisos:
        transaction.on_commit(lambda: _escribir(avisos))


def _escribir(avisos):
    from django.utils import timezone

    ahora = timezone.now()
    Notificacion.objects.bulk_create(
        [Notificacion(usuario_id=a.usuario_id, tipo=a.tipo, clave=a.clave, titulo=a.titulo[:200], texto=a.texto,
                      url=a.url, correo_enviado_at=None if a.correo else ahora) for a in avisos],
        ignore_conflicts=True)
    if any(a.correo for a in avisos):
        _encolar_correos()


def _encolar_correos():
    """Queue the e-mail task once the current transaction commits (at once outside one), so
    the task never runs before the notices it sends are visible."""
    transaction.on_commit(_encolar_correos_ahora)


def _encolar_correos_ahora():
    from .tasks import enviar_correos

    try:
        enviar_correos.delay()
    except Exception:  # broker down: the periodic sweep sends them later
        log.exception("No se pudo encolar el envío de correos")


def usuarios_con_rol(*roles):
    """{role: [user ids]} of the active users of the given roles (one query)."""
    res = {r: [] for r in roles}
    filas = get_user_model().objects.filter(is_active=True, groups__name__in=roles).values_list("pk", "groups__name")
    for pk, rol in filas:
        res[rol].append(pk)
    return res


def destinatarios(servicios):
    """{SI pk: [user ids]} — who the SI's destinatario role means for each SI, in two queries:
    the SI's asesor, the asesor's Team Leader, or every user of the role (MONITORA, GESTION_RED,
    COC)."""
    servicios = list(servicios)
    de_rol = usuarios_con_rol(Rol.MONITORA, Rol.GESTION_RED, Rol.COC)
    asesores = {s.asesor_id for s in servicios if s.destinatario == Rol.TEAM_LEADER and s.asesor_id}
    lideres = dict(Perfil.objects.filter(usuario_id__in=asesores, team_leader__isnull=False)
                   .values_list("usuario_id", "team_leader_id")) if asesores else {}
    res = {}
    for s in servicios:
        if s.destinatario == Rol.ASESOR:
            res[s.pk] = [s.asesor_id] if s.asesor_id else []
        elif s.destinatario == Rol.TEAM_LEADER:
            res[s.pk] = [lideres[s.asesor_id]] if s.asesor_id in lideres else []
        else:
            res[s.pk] = de_rol.get(s.destinatario, [])
    return res


def _url_solicitud(solicitud_id):
    try:
        return reverse("solicitud", args=[solicitud_id])
    except Exception:  # the case page is not routed (yet)
        return ""


def _servicios(pks):
    return list(ServicioIngenieria.objects.filter(pk__in=pks).select_related("solicitud")
                .only("pk", "tipo", "destinatario", "asesor_id", "vence_at", "solicitud_id",
                      "solicitud__numero_smartflex"))


def _local(dt):
    from django.utils import timezone

    return timezone.localtime(dt).strftime("%d/%m/%Y %H:%M")


def servicios_vencidos(pks):
    """4.2/5.2: the destinatario of each SI, and Gestión de Red once for the whole batch."""
    if _en_sql():
        return _vencidos_sql(list(pks))
    servicios = _servicios(pks)
    if not servicios:
        return
    quienes = destinatarios(servicios)
    avisos = []
    for s in servicios:
        titulo = f"SI {s.pk} vencido: solicitud {s.solicitud.numero_smartflex}"
        texto = f"El Servicio de Ingeniería venció el {_local(s.vence_at)} sin respuesta."
        for uid in quienes[s.pk]:
            avisos.append(Aviso(uid, Notificacion.Tipo.VENCIDO, f"servicio:{s.pk}", titulo, texto,
                                _url_solicitud(s.solicitud_id)))
    primero, ultimo = min(s.pk for s in servicios), max(s.pk for s in servicios)
    resumen = (f"{len(servicios)} Servicio(s) de Ingeniería vencido(s)" if len(servicios) > 1
               else f"SI {servicios[0].pk} vencido: solicitud {servicios[0].solicitud.numero_smartflex}")
    lista = ", ".join(f"SI {s.pk} ({s.solicitud.numero_smartflex})" for s in servicios[:50])
    texto = f"Vencieron sin respuesta: {lista}{'…' if len(servicios) > 50 else ''}. Decida según el paso 5.2."
    for uid in usuarios_con_rol(Rol.GESTION_RED)[Rol.GESTION_RED]:
        avisos.append(Aviso(uid, Notificacion.Tipo.VENCIDO, f"vencidos:{primero}-{ultimo}:{len(servicios)}",
                            resumen, texto, "/tablero/"))
    _escribir_con_el_cambio(avisos)


def servicios_por_vencer(pks):
    if _en_sql():
        return _por_vencer_sql(list(pks))
    servicios = _servicios(pks)
    quienes = destinatarios(servicios)
    avisos = []
    for s in servicios:
        titulo = f"SI {s.pk} vence a las {_local(s.vence_at)[-5:]}: solicitud {s.solicitud.numero_smartflex}"
        texto = f"Responda el Servicio de Ingeniería antes del {_local(s.vence_at)}."
        for uid in quienes[s.pk]:
            avisos.append(Aviso(uid, Notificacion.Tipo.AVISO, f"servicio:{s.pk}", titulo, texto,
                                _url_solicitud(s.solicitud_id)))
    _escribir_con_el_cambio(avisos)


def redigitaciones_tardias(pks):
    """19.2: escalate to the asesor's TEAM_LEADER."""
    if _en_sql():
        return _redigitaciones_sql(list(pks))
    filas = list(Solicitud.objects.filter(pk__in=pks).values_list("pk", "numero_smartflex", "asesor_id",
                                                                   "asesor__perfil__team_leader_id",
                                                                   "redigitacion_vence_at"))
    avisos = []
    for pk, numero, asesor_id, lider_id, vence in filas:
        if lider_id is None:
            log.warning("Solicitud %s: el asesor %s no tiene Team Leader; la escalación no tiene destinatario",
                        numero, asesor_id)
            continue
        avisos.append(Aviso(lider_id, Notificacion.Tipo.REDIGITACION_TARDIA, f"solicitud:{pk}",
                            f"Re-digitación fuera de plazo: solicitud {numero}",
                            f"La re-digitación debía registrarse antes del {_local(vence)} (19.2).",
                            _url_solicitud(pk)))
    _escribir_con_el_cambio(avisos)


def _escribir_con_el_cambio(avisos):
    """The deadline tasks' notices: written now, inside the transaction of the change that causes
    them (a killed worker loses both or neither); their e-mail is queued after the commit."""
    if avisos:
        _escribir(avisos)


# --- the same notices, set-based on PostgreSQL ----------------------------------------------
# The rows are built by INSERT … SELECT in the database (texts, recipients, links), so a sweep
# of 100,000 SIs creates no Python object per notice. The Python code above stays the path of
# the other backends (SQLite) and the reference these statements must match (tests compare).
_MARCA = 987654321  # stands for the Solicitud's id in the one reverse() of the case page


def _en_sql():
    return connection.vendor == "postgresql"


def _tablas():
    from django.contrib.auth.models import Group

    User = get_user_model()
    q = connection.ops.quote_name
    return {"si": q(ServicioIngenieria._meta.db_table), "sol": q(Solicitud._meta.db_table),
            "perfil": q(Perfil._meta.db_table), "user": q(User._meta.db_table), "grupo": q(Group._meta.db_table),
            "ug": q(User.groups.through._meta.db_table), "notif": q(Notificacion._meta.db_table)}


def _sql_local(columna, formato="DD/MM/YYYY HH24:MI"):
    """``_local()`` in SQL: the time in the current time zone, as dd/mm/yyyy hh:mm."""
    return f"to_char({columna} AT TIME ZONE %(tz)s, '{formato}')"


def _params_sql(pks, tipo):
    from django.utils import timezone

    return {"pks": pks, "tipo": tipo, "ahora": timezone.now(), "tz": calendario.zona_horaria_sql(),
            "url": _url_solicitud(_MARCA), "marca": str(_MARCA)}


# The SIs of %(pks)s with each recipient of their destinatario role (``destinatarios()``): the
# asesor, the asesor's Team Leader, or every active user of the role.
_SQL_SERVICIOS_DESTINATARIOS = """
WITH s AS (
    SELECT si.id, si.destinatario, si.asesor_id, si.vence_at, si.solicitud_id, sol.numero_smartflex
    FROM {si} si JOIN {sol} sol ON sol.id = si.solicitud_id WHERE si.id = ANY(%(pks)s)
), d AS (
    SELECT s.*, s.asesor_id AS uid FROM s WHERE s.destinatario = 'ASESOR' AND s.asesor_id IS NOT NULL
    UNION ALL
    SELECT s.*, p.team_leader_id FROM s JOIN {perfil} p ON p.usuario_id = s.asesor_id
    WHERE s.destinatario = 'TEAM_LEADER' AND p.team_leader_id IS NOT NULL
    UNION ALL
    SELECT s.*, ug.user_id FROM s JOIN {grupo} g ON g.name = s.destinatario JOIN {ug} ug ON ug.group_id = g.id
    JOIN {user} u ON u.id = ug.user_id AND u.is_active
    WHERE s.destinatario IN ('MONITORA', 'GESTION_RED', 'COC')
), n AS (
    INSERT INTO {notif} (usuario_id, tipo, clave, titulo, texto, url, creado_at, leida_at, correo_enviado_at)
    SELECT d.uid, %(tipo)s, 'servicio:' || d.id, left({titulo}, 200), {texto},
           replace(%(url)s, %(marca)s, d.solicitud_id::text), %(ahora)s, NULL, NULL
    FROM d ORDER BY d.vence_at, d.id, d.uid
    ON CONFLICT DO NOTHING RETURNING 1
)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM n)"""


def _insertar(sql, params):
    """Run one INSERT … SELECT of notices; returns how many notices it meant (written or
    already there)."""
    with connection.cursor() as cur:
        cur.execute(sql.format(**_tablas()), params)
        return cur.fetchone()[0]


# MATERIALIZED: sorting the batch itself, not walking the vence_at index and testing each row
# against the array (0.9 s for 10,000 SIs).
_SQL_RESUMEN_VENCIDOS = """
WITH s AS MATERIALIZED (SELECT id, vence_at, solicitud_id FROM {si} WHERE id = ANY(%s))
SELECT x.id, sol.numero_smartflex, x.n, x.lo, x.hi
FROM (SELECT s.*, count(*) OVER () AS n, min(s.id) OVER () AS lo, max(s.id) OVER () AS hi
      FROM s ORDER BY s.vence_at, s.id LIMIT 51) x
JOIN {sol} sol ON sol.id = x.solicitud_id ORDER BY x.vence_at, x.id"""


def _vencidos_sql(pks):
    titulo = "'SI ' || d.id || ' vencido: solicitud ' || d.numero_smartflex"
    texto = f"'El Servicio de Ingeniería venció el ' || {_sql_local('d.vence_at')} || ' sin respuesta.'"
    avisos = _insertar(_SQL_SERVICIOS_DESTINATARIOS.replace("{titulo}", titulo).replace("{texto}", texto),
                       _params_sql(pks, Notificacion.Tipo.VENCIDO))
    with connection.cursor() as cur:  # the batch's summary for Gestión de Red: size, range, first 50
        cur.execute(_SQL_RESUMEN_VENCIDOS.format(**_tablas()), [pks])
        filas = cur.fetchall()
    if not filas:
        return
    cuantos, primero, ultimo = filas[0][2:]
    primeros = [f[:2] for f in filas]
    resumen = (f"{cuantos} Servicio(s) de Ingeniería vencido(s)" if cuantos > 1
               else f"SI {primeros[0][0]} vencido: solicitud {primeros[0][1]}")
    lista = ", ".join(f"SI {pk} ({numero})" for pk, numero in primeros[:50])
    texto = f"Vencieron sin respuesta: {lista}{'…' if cuantos > 50 else ''}. Decida según el paso 5.2."
    gestion = [Aviso(uid, Notificacion.Tipo.VENCIDO, f"vencidos:{primero}-{ultimo}:{cuantos}", resumen, texto,
                     "/tablero/") for uid in usuarios_con_rol(Rol.GESTION_RED)[Rol.GESTION_RED]]
    if gestion:
        _escribir(gestion)  # and the e-mail task
    elif avisos:
        _encolar_correos()


def _por_vencer_sql(pks):
    titulo = (f"'SI ' || d.id || ' vence a las ' || {_sql_local('d.vence_at', 'HH24:MI')} || ': solicitud ' "
              "|| d.numero_smartflex")
    texto = f"'Responda el Servicio de Ingeniería antes del ' || {_sql_local('d.vence_at')} || '.'"
    if _insertar(_SQL_SERVICIOS_DESTINATARIOS.replace("{titulo}", titulo).replace("{texto}", texto),
                 _params_sql(pks, Notificacion.Tipo.AVISO)):
        _encolar_correos()


_SQL_REDIGITACIONES = """
WITH d AS (
    SELECT s.id, s.numero_smartflex, s.redigitacion_vence_at, p.team_leader_id AS uid
    FROM {sol} s JOIN {perfil} p ON p.usuario_id = s.asesor_id
    WHERE s.id = ANY(%(pks)s) AND p.team_leader_id IS NOT NULL
), n AS (
    INSERT INTO {notif} (usuario_id, tipo, clave, titulo, texto, url, creado_at, leida_at, correo_enviado_at)
    SELECT d.uid, %(tipo)s, 'solicitud:' || d.id,
           left('Re-digitación fuera de plazo: solicitud ' || d.numero_smartflex, 200),
           'La re-digitación debía registrarse antes del ' || {vence} || ' (19.2).',
           replace(%(url)s, %(marca)s, d.id::text), %(ahora)s, NULL, NULL
    FROM d ORDER BY d.id
    ON CONFLICT DO NOTHING RETURNING 1
)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM n)"""


def _redigitaciones_sql(pks):
    sin_lider = (Solicitud.objects.filter(pk__in=pks, asesor__perfil__team_leader__isnull=True)
                 .values_list("numero_smartflex", "asesor_id"))
    for numero, asesor_id in sin_lider:
        log.warning("Solicitud %s: el asesor %s no tiene Team Leader; la escalación no tiene destinatario",
                    numero, asesor_id)
    if _insertar(_SQL_REDIGITACIONES.replace("{vence}", _sql_local("d.redigitacion_vence_at")),
                 _params_sql(pks, Notificacion.Tipo.REDIGITACION_TARDIA)):
        _encolar_correos()


def enviar_pendientes():
    """Send one e-mail per user with the notices not mailed yet; users without an address are
    marked done. At-least-once: a crash between sending and the commit sends that mail again."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.utils import timezone

    with transaction.atomic():
        pendientes = list(Notificacion.objects.filter(correo_enviado_at__isnull=True)
                          .select_for_update(skip_locked=True, of=("self",))
                          .select_related("usuario").order_by("usuario_id", "pk")[:5000])
        por_usuario = {}
        for n in pendientes:
            por_usuario.setdefault(n.usuario, []).append(n)
        for usuario, notas in por_usuario.items():
            if not usuario.email:
                continue
            asunto = notas[0].titulo if len(notas) == 1 else f"{len(notas)} avisos del procedimiento COM-DSC-P10"
            cuerpo = "\n\n".join(f"{n.titulo}\n{n.texto}" for n in notas)
            send_mail(asunto[:150], cuerpo, settings.DEFAULT_FROM_EMAIL, [usuario.email])
        Notificacion.objects.filter(pk__in=[n.pk for n in pendientes]).update(correo_enviado_at=timezone.now())
    return len(pendientes)


# --- every clock announces itself; every hand-off reaches its receiver (issue 12: 14, 17, 18) ---
def usuarios_de_zona(rol, zona_id):
    """Active users of a zone-scoped role (COZ, TECNICO) in one zone."""
    return list(get_user_model().objects.filter(is_active=True, groups__name=rol, perfil__zona_id=zona_id)
                .values_list("pk", flat=True))


def servicio_abierto(si):
    """A new SI: its recipients learn at once what is asked and until when (the 2 hours of a
    re-digitation included)."""
    numero = si.solicitud.numero_smartflex
    if si.tipo == ServicioIngenieria.Tipo.REDIGITACION:
        titulo = f"Re-digitar la solicitud {numero} antes del {_local(si.vence_at)}"
        texto = (f"La solicitud {numero} fue anulada para re-digitación. Ingrese la nueva solicitud antes del "
                 f"{_local(si.vence_at)} (19.2). Datos observados: {si.requerido}")
    else:
        titulo = f"Nuevo SI {si.pk} ({si.get_tipo_display().lower()}): solicitud {numero}"
        texto = f"Se requiere: {si.requerido}. Atiéndalo antes del {_local(si.vence_at)}."
    url = _url_solicitud(si.solicitud_id)
    notificar(Aviso(uid, Notificacion.Tipo.NUEVO_SI, f"servicio:{si.pk}", titulo, texto, url)
              for uid in destinatarios([si])[si.pk])


def _url_orden(orden_id):
    return reverse("orden", args=[orden_id])


def reporte_de_campo(orden, registro):
    """16/17 → the COZ of the OT's zone; 18 → the COC: the field report is addressed to them."""
    numero = orden.numero
    if registro.transicion == "reportar_a_coz":
        quienes = usuarios_de_zona(Rol.COZ, orden.zona_id)
        titulo = f"{orden} reportada por el técnico ({orden.get_propuesta_display()})"
        texto = f"Verifique la orden {numero} y direcciónela al COC (paso 18). {orden.observacion_campo}"
    else:
        quienes = usuarios_con_rol(Rol.COC)[Rol.COC]
        titulo = f"{orden} direccionada al COC por el COZ"
        texto = f"Analice la orden {numero}: re-direccionar (12), anular para re-digitación (9) o ratificar (13)."
    notificar(Aviso(uid, Notificacion.Tipo.REPORTE_CAMPO, f"orden:{orden.pk}:{registro.pk}", titulo, texto,
                    _url_orden(orden.pk)) for uid in quienes)


def anulacion_coordinada(orden):
    """Step 10: the COZ of the OT's zone has a cancelled OT to confirm in its queue."""
    notificar(Aviso(uid, Notificacion.Tipo.ANULACION_COORDINADA, f"orden:{orden.pk}",
                    f"{orden} anulada: confirme la coordinación",
                    f"El COC anuló la orden {orden.numero} (paso 10). Motivo: {orden.motivo_anulacion}",
                    _url_orden(orden.pk)) for uid in usuarios_de_zona(Rol.COZ, orden.zona_id))


@receiver(transicion_realizada, dispatch_uid="notificaciones_del_procedimiento")
def al_realizarse(sender, registro, objeto, **kwargs):
    """After the commit of a transition: the notices it owes (never for a refused one)."""
    t = registro.transicion
    try:
        if sender is ServicioIngenieria and t == ServicioIngenieria.TRANSICION_CREACION:
            servicio_abierto(objeto)
        elif sender is OrdenDeTrabajo and t in ("reportar_a_coz", "direccionar_a_coc"):
            reporte_de_campo(objeto, registro)
        elif sender is OrdenDeTrabajo and t == "coordinar_anulacion" and objeto.anulacion_coordinada_at:
            anulacion_coordinada(objeto)
        elif sender is Solicitud and t == "registrar_redigitacion" and objeto.redigitacion_tardia:
            # Unique per (Team Leader, tipo, case): the deadline task's escalation and this one
            # are the same notice, so the Team Leader is told exactly once.
            redigitaciones_tardias([objeto.pk])
    except Exception:  # a notice must never undo nor fail a committed transition
        log.exception("No se pudo notificar %s de %s", t, registro.objeto)
