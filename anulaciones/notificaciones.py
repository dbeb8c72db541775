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
from django.db import transaction
from django.urls import reverse

from .models import Notificacion, Perfil, ServicioIngenieria, Solicitud
from .roles import Rol

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
    if not any(a.correo for a in avisos):
        return
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
    _escribir_ahora_o_al_confirmar(avisos)


def servicios_por_vencer(pks):
    servicios = _servicios(pks)
    quienes = destinatarios(servicios)
    avisos = []
    for s in servicios:
        titulo = f"SI {s.pk} vence a las {_local(s.vence_at)[-5:]}: solicitud {s.solicitud.numero_smartflex}"
        texto = f"Responda el Servicio de Ingeniería antes del {_local(s.vence_at)}."
        for uid in quienes[s.pk]:
            avisos.append(Aviso(uid, Notificacion.Tipo.AVISO, f"servicio:{s.pk}", titulo, texto,
                                _url_solicitud(s.solicitud_id)))
    _escribir_ahora_o_al_confirmar(avisos)


def redigitaciones_tardias(pks):
    """19.2: escalate to the asesor's TEAM_LEADER."""
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
    _escribir_ahora_o_al_confirmar(avisos)


def _escribir_ahora_o_al_confirmar(avisos):
    if avisos:
        if transaction.get_connection().in_atomic_block:
            notificar(avisos)
        else:
            _escribir(avisos)


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
