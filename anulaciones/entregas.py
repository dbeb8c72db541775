"""The numbered deliveries of zonifications to Div. Facturación (21.1): the writes and the
calendar of the month end (the reports only read: ``reports.workbook`` renders the delivery).

How a zonification reaches Billing: digitized in Smartflex (20.3, ``digitada``) → put in the
next numbered delivery of its month (``generar_entrega``: the month's first one, or a
supplementary one for what was digitized after it; ``remitida``, ``Zonificacion.entrega``) →
Facturación is notified (app) and e-mailed the workbook (``enviar_entrega``) → Facturación
acknowledges receipt (``acusar_recibo``, audited). ``revisar_entregas`` (beat, hourly) builds
what is due, catches up the stragglers of last month, and warns before the month ends when
digitized zonifications are still in no delivery (docs/relojes.md).

Also the words and checks the page and the API share (who sees the deliveries, the month typed,
the messages), so that neither entry point imports the other.
"""

from __future__ import annotations

import re
import tempfile
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from . import cola, notificaciones
from .calendario import dias_habiles_restantes
from .errors import DatosInvalidos
from .espanol import cuenta
from .models import Entrega, Zonificacion
from .reloj import fin_de_mes, mes_siguiente, primer_dia
from .reports import workbook
from .roles import Rol
from .selectors import FECHAS_MENSAJE, fecha_admisible
from .transitions import Contexto, _rol_creacion, aplicar_en_bloque, usuario_sistema

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = [  # the month helpers are the calendar's (reloj), named here for the delivery's callers
    "MES_FUTURO",
    "ROLES_DESCARGA",
    "ROLES_VEN",
    "dias_habiles_restantes",
    "encolar_envio",
    "entrega_generada",
    "enviar_entrega",
    "fin_de_mes",
    "generar_entrega",
    "mes_a_entregar",
    "mes_de",
    "mes_siguiente",
    "meses_atrasados",
    "nombre_de",
    "pendientes",
    "primer_dia",
    "revisar_entregas",
    "sin_nada_que_entregar",
    "titulo",
    "ya_recibida",
]

ROLES_DESCARGA = frozenset({Rol.FACTURACION, Rol.GESTION_RED})
ROLES_VEN = ROLES_DESCARGA  # who sees the deliveries (page and API)


def pendientes(mes: date) -> QuerySet[Zonificacion]:
    """The digitized zonifications that the next delivery of ``mes`` takes: digitized before the
    month ends (earlier months' stragglers included) and in no delivery yet."""
    return Zonificacion.objects.filter(estado=Zonificacion.E.DIGITADA, digitada_at__lt=fin_de_mes(mes))


class _NadaQueEntregar(Exception):
    pass


MES_FUTURO = "Ese mes todavía no empezó: solo se entregan el mes en curso y los anteriores."


def generar_entrega(mes: date, usuario: User, *, aunque_vacia: bool | None = None) -> Entrega | None:
    """Build the next numbered delivery of ``mes`` (by ``usuario``: Gestión de Red, or the system)
    with every zonification ``pendientes(mes)`` returns; they become ``remitida`` through the
    transition path and point to the delivery, in the same transaction as the Entrega, its
    workbook and Facturación's notice. After the commit the workbook is e-mailed.

    Returns the new Entrega, or None when there is nothing to deliver: a supplementary delivery is
    never empty; the month's first one may be (``aunque_vacia``, default: when the month has no
    delivery yet), so that Billing has the month's statement even when nothing was corrected.
    Two builds of the same month at once: the unique (mes, numero) makes the second wait, then
    fail; it returns None and the first one's delivery stands."""
    mes = primer_dia(mes)
    if mes > primer_dia(timezone.localdate()):
        # A future month would take everything digitized until then, including this month's.
        raise DatosInvalidos({"mes": MES_FUTURO}, MES_FUTURO)
    try:
        with transaction.atomic():
            numero = (Entrega.objects.filter(mes=mes).aggregate(n=Max("numero"))["n"] or 0) + 1
            entrega = Entrega(mes=mes, numero=numero, generada_at=timezone.now(), generada_por=usuario)
            ctx = Contexto(usuario=usuario, rol=_rol_creacion(Entrega, entrega, usuario), ahora=entrega.generada_at)
            ctx.crear(entrega)
            pks = aplicar_en_bloque(
                pendientes(mes).select_related("orden", "solicitud"),
                "remitir",
                usuario,
                nota=f"Incluida en la entrega N° {numero} de {mes:%m/%Y} a Div. Facturación.",
                entrega=entrega,
            )
            if not pks and not (numero == 1 if aunque_vacia is None else aunque_vacia):
                raise _NadaQueEntregar
            with tempfile.TemporaryFile() as tmp:
                entrega.filas = workbook.escribir(tmp, workbook.filas_de(pks), mes, numero=numero)
                tmp.seek(0)
                entrega.archivo.save(entrega.nombre_archivo, File(tmp), save=False)
            Entrega.objects.filter(pk=entrega.pk).update(filas=entrega.filas, archivo=entrega.archivo.name)
            notificaciones.entrega_lista(entrega)  # with the delivery, in its transaction
            encolar_envio(entrega.pk)
    except (_NadaQueEntregar, IntegrityError):
        return None
    return entrega


def encolar_envio(entrega_id: int) -> cola.Envio:
    """Queue the workbook's e-mail after the commit. With the broker down the delivery stays unsent
    (``enviada_at`` empty) and the periodic pickup sends it (``tasks.recuperar_pendientes``)."""
    return cola.encolar("enviar_entrega", entrega_id)


def enviar_entrega(entrega_id: int) -> int:
    """E-mail the workbook to the FACTURACION users, once (at least once if the worker dies
    between sending and the commit); ``enviada_at`` records the send."""
    with transaction.atomic():
        entrega = Entrega.objects.select_for_update().filter(pk=entrega_id, enviada_at__isnull=True).first()
        if entrega is None:
            return 0
        correos = sorted(
            set(
                get_user_model()
                .objects.filter(is_active=True, groups__name=Rol.FACTURACION)
                .exclude(email="")
                .values_list("email", flat=True)
            )
        )
        if correos:
            tipo = "complementaria " if entrega.complementaria else ""
            mensaje = EmailMessage(
                f"Entrega {tipo}N° {entrega.numero} de zonificaciones {entrega.mes:%m/%Y} (COM-DSC-P10, 21.1)",
                f"Adjuntamos la entrega {tipo}N° {entrega.numero} de zonificaciones de {entrega.mes:%m/%Y}: "
                f"{cuenta(entrega.filas, 'caso', 'casos')}.\n"
                "Hoja «Casos»: el detalle (tabla filtrable); hoja «Resumen»: los totales por zona y tipo de "
                "corrección, con fórmulas que se recalculan.\n"
                "Confirme la recepción con «Recibido» en la página Entregas.",
                settings.DEFAULT_FROM_EMAIL,
                correos,
            )
            with entrega.archivo.open("rb") as f:
                mensaje.attach(
                    entrega.nombre_archivo,
                    f.read(),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
            mensaje.send()
        entrega.enviada_at = timezone.now()
        entrega.save(update_fields=["enviada_at"])
    return len(correos)


# --- the calendar of the delivery ---------------------------------------------------------------
def mes_a_entregar(hoy: date) -> date | None:
    """The month whose first delivery is due today (its first day), or None: from
    ANULACIONES_ENTREGA_DIAS_ANTES days before the month's last day until the month ends."""
    if hoy >= mes_siguiente(hoy) - timedelta(days=1 + settings.ANULACIONES_ENTREGA_DIAS_ANTES):
        return primer_dia(hoy)
    return None


def revisar_entregas(ahora: datetime | None = None, usuario: User | None = None) -> list[Entrega]:
    """What beat runs every hour (by the system user):
    1. last month's stragglers (digitized before this month, in no delivery): a supplementary
       delivery of last month, at once;
    2. this month, once its delivery days have come: the first delivery, then a supplementary one
       for whatever was digitized since;
    3. the watch: ANULACIONES_ENTREGA_DIAS_AVISO working days before the month ends, and on its
       last working day, Gestión de Red and Facturación are told what is still in no delivery.
    Returns the deliveries built."""
    hoy = timezone.localdate(ahora or timezone.now())
    usuario = usuario or usuario_sistema()
    este_mes = primer_dia(hoy)
    hechas: list[Entrega | None] = []
    anterior = primer_dia(este_mes - timedelta(days=1))
    if pendientes(anterior).exists():
        hechas.append(generar_entrega(anterior, usuario, aunque_vacia=False))
    if mes_a_entregar(hoy):
        hechas.append(generar_entrega(este_mes, usuario))
    faltan = dias_habiles_restantes(hoy)
    if faltan in (settings.ANULACIONES_ENTREGA_DIAS_AVISO, 1):
        n = pendientes(este_mes).count()
        if n:
            with transaction.atomic():
                notificaciones.entregas_por_vencer(este_mes, n, faltan, faltan == 1)
    return [e for e in hechas if e]


def meses_atrasados(hoy: date | None = None, meses: int = 12) -> list[dict[str, Any]]:
    """The months (of the last ``meses`` before this one) that ended with digitized zonifications
    in no delivery: [{mes, sin_entregar, entregadas_tarde}], most recent first. ``sin_entregar``:
    still in none; ``entregadas_tarde``: delivered after their month ended. One grouped query
    (``digitada_at`` is indexed)."""
    tz = timezone.get_current_timezone()
    este_mes = primer_dia(hoy or timezone.localdate())
    desde = este_mes
    for _ in range(meses):
        desde = primer_dia(desde - timedelta(days=1))
    inicio, fin = (timezone.make_aware(datetime.combine(d, time.min), tz) for d in (desde, este_mes))
    filas = (
        Zonificacion.objects.filter(digitada_at__gte=inicio, digitada_at__lt=fin)
        .annotate(mes=TruncMonth("digitada_at", tzinfo=tz), mes_remitida=TruncMonth("remitida_at", tzinfo=tz))
        .values("mes")
        .annotate(
            sin_entregar=Count("pk", filter=Q(estado=Zonificacion.E.DIGITADA)),
            entregadas_tarde=Count("pk", filter=Q(mes_remitida__gt=F("mes"))),
        )
        .filter(Q(sin_entregar__gt=0) | Q(entregadas_tarde__gt=0))
        .order_by("-mes")
    )
    return [
        {
            "mes": timezone.localtime(f["mes"], tz).date() if isinstance(f["mes"], datetime) else f["mes"],
            "sin_entregar": f["sin_entregar"],
            "entregadas_tarde": f["entregadas_tarde"],
        }
        for f in filas
    ]


# --- the words the page and the API share ----------------------------------------------------------
def nombre_de(usuario: User | None) -> str:
    if usuario is None:
        return ""
    return usuario.get_full_name() or usuario.username


def titulo(entrega: Entrega) -> str:
    """«Entrega N° 2 (complementaria) de 11/2026»."""
    tipo = " (complementaria)" if entrega.complementaria else ""
    return f"Entrega N° {entrega.numero}{tipo} de {entrega.mes:%m/%Y}"


def ya_recibida(entrega: Entrega) -> str:
    """The message for a delivery acknowledged already (409)."""
    cuando = timezone.localtime(entrega.recibida_at).strftime("%d/%m/%Y %H:%M") if entrega.recibida_at else ""
    return (
        f"{titulo(entrega)} ya fue recibida{f' el {cuando}' if cuando else ''}"
        f"{f' por {nombre_de(entrega.recibida_por)}' if entrega.recibida_por_id else ''}; "
        "no se registró otro acuse de recibo."
    )


MES = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


def mes_de(texto: object) -> date:
    """The first day of the month typed as AAAA-MM (as ``<input type="month">`` sends it),
    between the years 2000 and 2100; ValueError with the message otherwise."""
    partes = MES.fullmatch(texto.strip()) if isinstance(texto, str) else None
    if partes is None or not 1 <= int(partes[2]) <= 12:
        raise ValueError("Indique el mes como AAAA-MM (por ejemplo 2026-11).")
    mes = date(int(partes[1]), int(partes[2]), 1)
    if not fecha_admisible(mes):
        raise ValueError(FECHAS_MENSAJE)
    if mes > primer_dia(timezone.localdate()):
        raise ValueError(MES_FUTURO)
    return mes


def sin_nada_que_entregar(mes: date) -> str:
    return f"No hay zonificaciones digitadas pendientes de entrega para {mes:%m/%Y}; no se generó otra entrega."


def entrega_generada(entrega: Entrega) -> str:
    return (
        f"{titulo(entrega)} generada: {cuenta(entrega.filas, 'caso remitido', 'casos remitidos')} a Div. "
        "Facturación; la planilla "
        "se envía por correo."
    )
