"""Reports: the month's zonification workbook for Div. Facturación (21.1)."""
import tempfile
from datetime import date, datetime, time, timedelta
from functools import partial

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Entrega, Notificacion, Zonificacion
from ..notificaciones import Aviso, notificar, usuarios_con_rol
from ..roles import Rol
from ..transitions import aplicar_en_bloque
from . import workbook


def primer_dia(mes):
    return date(mes.year, mes.month, 1)


def fin_de_mes(mes):
    """The first instant of the next month, local time (aware)."""
    siguiente = (primer_dia(mes) + timedelta(days=32)).replace(day=1)
    return timezone.make_aware(datetime.combine(siguiente, time.min), timezone.get_current_timezone())


def generar_entrega(mes, usuario):
    """Build the month's delivery: the ``digitada`` zonifications (digitized before the month
    ends — earlier months' stragglers included) go into the workbook and become ``remitida``
    (through the transition path, by ``usuario``) in the same transaction as the Entrega
    record. The month is unique: building it again returns the delivery already made."""
    mes = primer_dia(mes)
    existente = Entrega.objects.filter(mes=mes).first()
    if existente:
        return existente
    try:
        with transaction.atomic():
            ahora = timezone.now()
            # The unique month is the lock: a concurrent build waits here, then fails and
            # returns the first one's delivery.
            entrega = Entrega.objects.create(mes=mes, generada_at=ahora, generada_por=usuario, archivo="")
            pks = aplicar_en_bloque(
                Zonificacion.objects.filter(estado=Zonificacion.E.DIGITADA, digitada_at__lt=fin_de_mes(mes))
                .select_related("orden", "solicitud"),
                "remitir", usuario, nota=f"Incluida en la planilla de zonificaciones de {mes:%m/%Y}.")
            with tempfile.TemporaryFile() as tmp:
                entrega.filas = workbook.escribir(tmp, workbook.filas_de(pks), mes)
                tmp.seek(0)
                entrega.archivo.save(entrega.nombre_archivo, File(tmp), save=False)
            entrega.save(update_fields=["filas", "archivo"])
            transaction.on_commit(partial(_al_confirmar, entrega.pk, mes))
    except IntegrityError:
        existente = Entrega.objects.filter(mes=mes).first()
        if existente is None:
            raise
        return existente
    return entrega


def _al_confirmar(entrega_id, mes):
    from ..tasks import enviar_entrega as tarea

    notificar([
        Aviso(uid, Notificacion.Tipo.ENTREGA, f"entrega:{mes:%Y-%m}",
              f"Planilla de zonificaciones de {mes:%m/%Y} disponible",
              "La planilla del mes está lista para descargar.", "/entregas/", correo=False)
        for uid in usuarios_con_rol(Rol.FACTURACION)[Rol.FACTURACION]])
    tarea.delay(entrega_id)


def enviar_entrega(entrega_id):
    """E-mail the workbook to the FACTURACION users, once (at-least-once if the worker dies
    between sending and the commit)."""
    from django.contrib.auth import get_user_model
    from django.core.mail import EmailMessage

    with transaction.atomic():
        entrega = Entrega.objects.select_for_update().filter(pk=entrega_id, enviada_at__isnull=True).first()
        if entrega is None:
            return 0
        correos = sorted(set(get_user_model().objects.filter(
            is_active=True, groups__name=Rol.FACTURACION).exclude(email="").values_list("email", flat=True)))
        if correos:
            mensaje = EmailMessage(
                f"Planilla de zonificaciones {entrega.mes:%m/%Y} (COM-DSC-P10, 21.1)",
                f"Adjuntamos la planilla de zonificaciones de {entrega.mes:%m/%Y}: {entrega.filas} caso(s).\n"
                "Hoja «Casos»: el detalle; hoja «Resumen»: los totales por zona y tipo de corrección.",
                settings.DEFAULT_FROM_EMAIL, correos)
            with entrega.archivo.open("rb") as f:
                mensaje.attach(entrega.nombre_archivo, f.read(),
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            mensaje.send()
        entrega.enviada_at = timezone.now()
        entrega.save(update_fields=["enviada_at"])
    return len(correos)
