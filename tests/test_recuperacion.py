"""The periodic pickup (``tasks.recuperar_pendientes``, beat's «recuperar-pendientes») and the
import task's claim, without a worker: on SQLite and PostgreSQL alike.

The pickup is the backstop of everything queued after a commit: notices not mailed, deliveries
not e-mailed, imports whose message was lost or whose worker died. It must take exactly those
(never a fresh import, never one that is running), do each once, and one failing step (the
mail server down) must not stop the others. tests/test_fallos.py runs the same paths with real
workers, a real broker stopped and frozen, and SIGKILL.
"""

import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.utils import timezone

from anulaciones import entregas as reports
from anulaciones import tasks
from anulaciones.avisos import presentar
from anulaciones.models import Entrega, ImportacionSmartflex, Notificacion, OrdenDeTrabajo, RegistroAuditoria, Solicitud
from anulaciones.tasks import importar_smartflex

pytestmark = pytest.mark.django_db
E = ImportacionSmartflex.Etapa


def _importacion(u, etapa=E.PENDIENTE, *, creada_hace=0, latido_hace=None, nombre="x.csv"):
    imp = ImportacionSmartflex.objects.create(usuario=u.gestion_red, nombre=nombre, etapa=etapa)
    ahora = timezone.now()
    ImportacionSmartflex.objects.filter(pk=imp.pk).update(  # creado_at is auto_now_add
        creado_at=ahora - timedelta(minutes=creada_hace),
        latido_at=None if latido_hace is None else ahora - timedelta(minutes=latido_hace),
    )
    return imp


def _recuperar(capturar):
    """Run the pickup; the imports it queues (after its commit) are recorded, not published."""
    with mock.patch.object(importar_smartflex, "delay") as delay, capturar(execute=True):
        resultado = tasks.recuperar_pendientes()
    return resultado, sorted(c.args[0] for c in delay.call_args_list)


def test_recupera_solo_las_importaciones_paradas(u, settings, django_capture_on_commit_callbacks):
    settings.ANULACIONES_IMPORTACION_LATIDO_MINUTOS = 10
    perdida = _importacion(u, creada_hace=11)  # «en cola» 11 min: its message was lost
    reciente = _importacion(u, creada_hace=1)  # «en cola» 1 min: its message is on its way
    reencolada = _importacion(u, creada_hace=60, latido_hace=1)  # queued again by the pickup 1 min ago
    viva = _importacion(u, E.IMPORTANDO, creada_hace=60, latido_hace=1)  # running, last batch 1 min ago
    muerta = _importacion(u, E.IMPORTANDO, creada_hace=60, latido_hace=11)  # its worker died
    validando = _importacion(u, E.VALIDANDO, creada_hace=60, latido_hace=11)  # died while validating
    finales = [_importacion(u, etapa, creada_hace=60, latido_hace=50) for etapa in ImportacionSmartflex.FINALES]

    resultado, encoladas = _recuperar(django_capture_on_commit_callbacks)

    assert encoladas == sorted([perdida.pk, muerta.pk, validando.pk])
    assert resultado["importaciones"] == 3
    etapas = dict(ImportacionSmartflex.objects.values_list("pk", "etapa"))
    assert [etapas[i.pk] for i in (perdida, muerta, validando)] == [E.PENDIENTE] * 3  # claimable again
    assert (etapas[reciente.pk], etapas[reencolada.pk], etapas[viva.pk]) == (
        E.PENDIENTE,
        E.PENDIENTE,
        E.IMPORTANDO,
    )  # untouched
    assert [etapas[i.pk] for i in finales] == list(ImportacionSmartflex.FINALES)
    latidos = dict(ImportacionSmartflex.objects.values_list("pk", "latido_at"))
    assert latidos[reciente.pk] is None and timezone.now() - latidos[viva.pk] > timedelta(seconds=50)


def test_una_importacion_que_sigue_latiendo_no_se_encola(u, settings, django_capture_on_commit_callbacks):
    """The heartbeat is what counts, not the upload's age: a long import (uploaded an hour ago)
    that saved its progress a moment ago is left alone, as is one still waiting in the queue."""
    settings.ANULACIONES_IMPORTACION_LATIDO_MINUTOS = 0.5
    largas = [_importacion(u, etapa, creada_hace=60, latido_hace=0.1) for etapa in (E.VALIDANDO, E.IMPORTANDO)]
    _, encoladas = _recuperar(django_capture_on_commit_callbacks)
    assert encoladas == []
    assert [ImportacionSmartflex.objects.get(pk=i.pk).etapa for i in largas] == [E.VALIDANDO, E.IMPORTANDO]


def _entrega_sin_enviar(esc, u, capturar):
    """This month's delivery (one digitized zonification), built without its e-mail: as with the
    broker down when it was built."""
    esc.zonificacion("digitada")
    with capturar(execute=False):
        entrega = reports.generar_entrega(timezone.localdate(), u.gestion_red)
    assert entrega.enviada_at is None and entrega.filas == 1
    return entrega


def _de_entregas(correos):
    return [m for m in correos if m.attachments]


def test_envia_una_vez_las_entregas_sin_enviar(esc, u, django_capture_on_commit_callbacks):
    u.facturacion.email = "facturacion@ejemplo.bo"
    u.facturacion.save()
    entrega = _entrega_sin_enviar(esc, u, django_capture_on_commit_callbacks)
    mail.outbox.clear()

    resultado, _ = _recuperar(django_capture_on_commit_callbacks)
    assert resultado["entregas"] == 1
    enviados = _de_entregas(mail.outbox)
    assert [(m.to, [a[0] for a in m.attachments]) for m in enviados] == [
        (["facturacion@ejemplo.bo"], [entrega.nombre_archivo])
    ]
    entrega.refresh_from_db()
    assert entrega.enviada_at is not None

    _recuperar(django_capture_on_commit_callbacks)  # the next pickup: nothing again
    assert len(_de_entregas(mail.outbox)) == 1
    assert Entrega.objects.get(pk=entrega.pk).enviada_at == entrega.enviada_at


def test_envia_los_avisos_pendientes_una_vez(esc, u, django_capture_on_commit_callbacks):
    u.asesor.email = "asesor@ejemplo.bo"
    u.asesor.save()
    si = esc.servicio("abierto")  # its notice to the asesor is written; its e-mail was never queued here
    Notificacion.objects.create(
        usuario=u.monitora,
        tipo=Notificacion.Tipo.NUEVO_SI,
        clave=f"servicio:{si.pk}",
        servicio=si,
        solicitud=si.solicitud,
    )  # a user without an address
    pendientes = Notificacion.objects.filter(correo_enviado_at__isnull=True)
    del_asesor = list(pendientes.filter(usuario=u.asesor))
    assert del_asesor and pendientes.filter(usuario=u.monitora).exists()
    mail.outbox.clear()

    resultado, _ = _recuperar(django_capture_on_commit_callbacks)
    assert resultado["correos"] >= len(del_asesor)
    assert not pendientes.exists()  # mailed, or marked done for a user without an address
    assert [m.to for m in mail.outbox] == [["asesor@ejemplo.bo"]]
    for aviso in presentar(del_asesor):
        assert aviso.titulo in mail.outbox[0].body.splitlines()

    _recuperar(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1  # once


def test_el_correo_caido_no_detiene_la_recuperacion(esc, u, settings, django_capture_on_commit_callbacks):
    """The mail server down: the notices and the delivery wait for the next pickup, but the
    stalled import is queued now, not when the mail server comes back."""
    settings.ANULACIONES_IMPORTACION_LATIDO_MINUTOS = 10
    for usuario in (u.asesor, u.facturacion):
        usuario.email = f"{usuario.username}@ejemplo.bo"
        usuario.save()
    entrega = _entrega_sin_enviar(esc, u, django_capture_on_commit_callbacks)
    esc.servicio("abierto")
    perdida = _importacion(u, creada_hace=11)
    pendientes = Notificacion.objects.filter(correo_enviado_at__isnull=True, usuario=u.asesor)
    assert pendientes.exists()

    caido = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=caido):
        resultado, encoladas = _recuperar(django_capture_on_commit_callbacks)
    assert encoladas == [perdida.pk]
    assert resultado["importaciones"] == 1
    assert pendientes.exists() and Entrega.objects.get(pk=entrega.pk).enviada_at is None  # not recorded as sent

    mail.outbox.clear()
    resultado, encoladas = _recuperar(django_capture_on_commit_callbacks)  # the mail server is back
    assert not pendientes.exists() and Entrega.objects.get(pk=entrega.pk).enviada_at is not None
    assert {tuple(m.to) for m in mail.outbox} == {(u.asesor.email,), (u.facturacion.email,)}
    assert encoladas == []  # the import was queued once; its new message is on its way


CAB = "numero_smartflex,tipo,cliente_nombre,calle,zona,asesor\n"


def test_importar_smartflex_dos_veces_hace_el_trabajo_una_vez(u, zona, settings, tmp_path):
    """The same import's message delivered twice (a redelivery, or the pickup's beside the
    original): the first claims it («en cola» → «validando», one conditional UPDATE) and imports;
    the second finds it taken and does nothing. A message for an import another worker holds does
    nothing either."""
    settings.MEDIA_ROOT = str(tmp_path)
    imp = ImportacionSmartflex.objects.create(usuario=u.gestion_red, nombre="dos.csv")
    filas = "".join(
        f"SF-R-{i},instalacion,Cliente {i},Calle {i},{zona.codigo},{u.asesor.username}\n" for i in range(30)
    )
    imp.archivo.save("dos.csv", ContentFile((CAB + filas).encode()))

    assert importar_smartflex(imp.pk) == E.TERMINADA
    antes = ImportacionSmartflex.objects.values().get(pk=imp.pk)
    assert importar_smartflex(imp.pk) == E.TERMINADA  # the duplicate: nothing done
    assert ImportacionSmartflex.objects.values().get(pk=imp.pk) == antes
    assert (antes["total"], antes["creadas"], antes["sin_cambios"]) == (30, 30, 0)
    creadas = Solicitud.objects.filter(numero_smartflex__startswith="SF-R-")
    assert creadas.count() == 30 and OrdenDeTrabajo.objects.filter(solicitud__in=creadas).count() == 30
    assert (
        RegistroAuditoria.objects.filter(
            transicion="registrar", content_type__model="solicitud", object_id__in=creadas.values("pk")
        ).count()
        == 30
    )

    tomada = ImportacionSmartflex.objects.create(usuario=u.gestion_red, nombre="tomada.csv", etapa=E.VALIDANDO)
    tomada.archivo.save(
        "tomada.csv", ContentFile((CAB + f"SF-T-1,instalacion,C,Calle,{zona.codigo},{u.asesor.username}\n").encode())
    )
    assert importar_smartflex(tomada.pk) == E.VALIDANDO  # another worker's: left to it
    assert not Solicitud.objects.filter(numero_smartflex="SF-T-1").exists()
    assert importar_smartflex(10**9) is None  # an import deleted meanwhile: nothing
