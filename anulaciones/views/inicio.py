"""The home page: what this person must do now, per role, with counts.

Each queue is defined once (``COLAS``): which roles have it, how it narrows the list of
Solicitudes or of OTs, and its order. The home shows its count and first rows; its count and
"… y N más" link to the whole queue: that list filtered with ``cola=<clave>`` (views/listas.py),
paginated, sortable and filterable, through the same definition.

Every queue costs two queries (a COUNT and the first rows), whatever its length."""

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import F, Min, OuterRef, Q, Subquery
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from .. import navegacion, selectors
from ..calendario import plazo
from ..espanol import cuenta
from ..models import Entrega, OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion
from ..roles import ROLES_DIGITACION, Rol, roles_de, zona_de
from . import entregas
from .acciones import etiqueta_redigitacion
from .riesgo import BANDAS

FILAS = 20
S, OT = Solicitud.Estado, OrdenDeTrabajo.Estado


# --- what each queue is ------------------------------------------------------------------------
def _propios(qs, user):
    """An asesor (and nothing more among the digitation roles) works on own cases."""
    return qs.filter(asesor=user) if roles_de(user) & set(ROLES_DIGITACION) == {Rol.ASESOR} else qs


def destinos(user):
    """The SI destinatario roles this user answers for on the home (the asesor's SIs are her
    corrections, queue «correccion»)."""
    roles = roles_de(user)
    return [r for r in ServicioIngenieria.DESTINATARIOS if r in roles and r != Rol.ASESOR]


def _servicios(user):
    return ServicioIngenieria.objects.visibles_para(user).abiertos().filter(destinatario__in=destinos(user))


def _con_servicio_abierto(qs, user):
    """Solicitudes with an open SI addressed to the user's roles; ``vence``: the earliest, and
    ``vence_explicacion``: how it was counted."""
    sis = _servicios(user).filter(solicitud_id=OuterRef("pk")).order_by("vence_at", "pk")
    return qs.filter(pk__in=_servicios(user).values("solicitud_id")).annotate(
        vence=Subquery(sis.values("vence_at")[:1]), vence_explicacion=Subquery(sis.values("vence_explicacion")[:1])
    )


def _explicacion_primer_abierto():
    """The explanation of the Solicitud's earliest open SI (the deadline ``Min`` picks)."""
    return Subquery(
        ServicioIngenieria.objects.filter(solicitud_id=OuterRef("pk"), estado__in=ServicioIngenieria.ABIERTOS)
        .order_by("vence_at", "pk")
        .values("vence_explicacion")[:1]
    )


def con_por_que(p, explicacion):
    """A ``calendario.plazo`` dict with ``por_que``: the sentence saying how its deadline was
    counted (stored with it), shown under the date."""
    return {**p, "por_que": explicacion or ""} if p else None


def _zona_propia(qs, user):
    return qs.filter(zona_id=zona_de(user))


@dataclass(frozen=True)
class DefCola:
    clave: str
    titulo: str
    lista: str  # "solicitudes" or "ordenes": the list that shows it whole
    para: Callable  # (user) -> bool
    # (visible queryset of the list's model, user) -> the queue (with ``vence`` and ``vence_explicacion``
    # when con_plazo)
    filtrar: Callable
    orden: tuple  # its order, as order_by() arguments
    orden_texto: str  # that order in words, shown on the list
    con_plazo: bool = False  # rows carry ``vence`` (a deadline)
    ayuda: str | Callable = ""  # or () -> str, when it depends on the settings
    vacia: str = "Nada pendiente."
    # The home may list other rows than the list (the SIs themselves, the zonifications): (user) -> queryset
    filas_inicio: Callable = None
    fila: Callable = None  # (ahora) -> (row -> dict) for the home
    extra: dict = field(default_factory=dict)
    # Issue 19: the queue can also be read by risk of observation or cancellation (``?orden=riesgo``).
    por_riesgo: bool = False

    def url(self, orden=""):
        return f"{reverse(self.lista)}?{urlencode({'cola': self.clave, **({'orden': orden} if orden else {})})}"

    def orden_de(self, orden=""):
        """Its order as order_by() arguments: by risk when asked and the queue allows it."""
        return ORDEN_RIESGO if orden == "riesgo" and self.por_riesgo else self.orden

    def orden_texto_de(self, orden=""):
        return ORDEN_RIESGO_TEXTO if orden == "riesgo" and self.por_riesgo else self.orden_texto


def _digita(user):
    return bool(roles_de(user) & set(ROLES_DIGITACION))


def _tiene(*roles):
    return lambda user: bool(roles_de(user) & set(roles))


_VENCE = (F("vence").asc(nulls_last=True), "pk")
# Issue 19: a review queue by risk, the highest first (rows without a score last), then by arrival.
ORDEN_RIESGO = selectors.ORDEN_RIESGO
ORDEN_RIESGO_TEXTO = "por riesgo (el más alto primero; a igual riesgo, la más antigua)"
# The two orders a review queue offers, as the control «Ordenar por» names them.
ORDENES_COLA = (("", "llegada"), ("riesgo", "riesgo"))

COLAS = (
    DefCola(
        "correccion",
        "Casos por corregir (4.1)",
        "solicitudes",
        _digita,
        lambda qs, user: (
            _propios(qs, user)
            .filter(estado=S.EN_CORRECCION)
            .annotate(
                vence=Min("servicios__vence_at", filter=Q(servicios__estado__in=ServicioIngenieria.ABIERTOS)),
                vence_explicacion=_explicacion_primer_abierto(),
            )
        ),
        _VENCE,
        "por vencimiento de la corrección",
        con_plazo=True,
        ayuda="Digite la modificación antes de que venza: al cierre de la jornada hábil (4.2).",
    ),
    DefCola(
        "redigitacion",
        "Re-digitaciones pendientes (19.2)",
        "solicitudes",
        _digita,
        lambda qs, user: (
            _propios(qs, user)
            .filter(estado=S.PENDIENTE_REDIGITACION)
            .annotate(vence=F("redigitacion_vence_at"), vence_explicacion=F("redigitacion_explicacion"))
        ),
        _VENCE,
        "por vencimiento de la re-digitación",
        con_plazo=True,
        ayuda=lambda: f"Plazo: {etiqueta_redigitacion()} desde la anulación.",
    ),
    DefCola(
        "forma",
        "Modificaciones de forma por digitar (19.1)",
        "solicitudes",
        _digita,
        lambda qs, user: _propios(qs, user).filter(estado=S.INSTALADA).exclude(modificacion_pendiente=""),
        ("pk",),
        "por orden de registro",
        extra={"detalle": "modificacion_pendiente"},
    ),
    DefCola(
        "servicios",
        "Servicios de Ingeniería abiertos dirigidos a usted",
        "solicitudes",
        lambda user: bool(destinos(user)),
        _con_servicio_abierto,
        _VENCE,
        "por vencimiento del Servicio de Ingeniería",
        con_plazo=True,
        filas_inicio=lambda user: _servicios(user).select_related("solicitud").order_by("vence_at", "pk"),
        fila=lambda ahora: (
            lambda si: {
                "url": reverse("solicitud", args=[si.solicitud_id]),
                "titulo": f"{si} · Solicitud {si.solicitud.numero_smartflex}",
                "detalle": si.requerido,
                "estado": si.get_estado_display(),
                "plazo": con_por_que(plazo(si.vence_at, ahora), si.vence_explicacion),
            }
        ),
    ),
    DefCola(
        "revisar",
        "Solicitudes por revisar (2, 6)",
        "solicitudes",
        _tiene(Rol.GESTION_RED, Rol.COC),
        lambda qs, user: qs.filter(estado__in=[S.REGISTRADA, S.CORREGIDA]),
        ("creado_at", "pk"),
        "por llegada (la más antigua primero)",
        por_riesgo=True,
    ),
    DefCola(
        "observadas",
        "Solicitudes observadas: analizar (8–12)",
        "solicitudes",
        _tiene(Rol.COC),
        lambda qs, user: qs.filter(estado=S.OBSERVADA),
        ("creado_at", "pk"),
        "por llegada (la más antigua primero)",
        por_riesgo=True,
    ),
    DefCola(
        "en_coc",
        "OTs en el COC: re-direccionar o ratificar la anulación (12, 13)",
        "ordenes",
        _tiene(Rol.COC),
        lambda qs, user: qs.filter(estado=OT.EN_COC),
        ("actualizado_at", "pk"),
        "por llegada al COC (la más antigua primero)",
    ),
    DefCola(
        "zonificar",
        "Zonificaciones por digitar en Smartflex (20.3)",
        "solicitudes",
        _tiene(Rol.GESTION_RED),
        lambda qs, user: qs.filter(
            pk__in=Zonificacion.objects.filter(estado=Zonificacion.Estado.RECIBIDA).values("solicitud_id")
        ),
        ("creado_at", "pk"),
        "por registro de la solicitud",
        filas_inicio=lambda user: (
            Zonificacion.objects.filter(estado=Zonificacion.Estado.RECIBIDA)
            .select_related("solicitud", "orden")
            .order_by("creado_at", "pk")
        ),  # Gestión de Red sees every case
        fila=lambda ahora: (
            lambda z: {
                "url": reverse("solicitud", args=[z.solicitud_id]),
                "titulo": str(z),
                "detalle": z.solicitud.cliente_nombre,
                "estado": z.get_estado_display(),
                "plazo": None,
            }
        ),
    ),
    DefCola(
        "coz",
        "OTs de su zona por verificar y direccionar al COC (18)",
        "ordenes",
        _tiene(Rol.COZ),
        lambda qs, user: _zona_propia(qs, user).filter(estado=OT.REPORTADA_COZ),
        ("actualizado_at", "pk"),
        "por llegada (la más antigua primero)",
    ),
    DefCola(
        "coordinadas",
        "Anulaciones coordinadas por confirmar (10)",
        "ordenes",
        _tiene(Rol.COZ),
        lambda qs, user: _zona_propia(qs, user).filter(
            estado=OT.ANULADA, anulacion_coordinada_at__isnull=False, anulacion_confirmada_at__isnull=True
        ),
        ("anulacion_coordinada_at", "pk"),
        "por fecha de coordinación (la más antigua primero)",
        ayuda="El COC coordinó la anulación de estas OTs con su centro zonal: retírelas del plan de campo "
        "y confirme en cada OT.",
        extra={"detalle": "motivo_anulacion"},
    ),
    DefCola(
        "tecnico",
        "Sus órdenes de trabajo asignadas (14–17)",
        "ordenes",
        _tiene(Rol.TECNICO),
        lambda qs, user: (
            _zona_propia(qs, user)
            .filter(estado__in=[OT.ASIGNADA, OT.OBSERVADA_EN_CAMPO])
            .filter(Q(tecnico=user) | Q(tecnico__isnull=True))
        ),
        ("creado_at", "pk"),
        "por generación (la más antigua primero)",
    ),
)
POR_CLAVE = {c.clave: c for c in COLAS}


def colas_para(user, lista):
    """The queues of ``user`` that the list ``lista`` ("solicitudes" / "ordenes") can show."""
    return [c for c in COLAS if c.lista == lista and c.para(user)]


def base_de(lista, user):
    """The list's rows visible to ``user``, with what a row shows joined in."""
    if lista == "ordenes":
        return OrdenDeTrabajo.objects.visibles_para(user).select_related(
            "zona", "tecnico", "solicitud", "solicitud__asesor"
        )
    return Solicitud.objects.visibles_para(user).select_related("zona", "asesor")


# --- the home -----------------------------------------------------------------------------------
class Cola:
    """One queue of the home page: title, total count, the first rows and the whole queue's link.
    ``ordenes``: the control «Ordenar por» of a queue that can be read by risk (issue 19), as
    [{clave, etiqueta, url, actual}]; empty for the others."""

    def __init__(self, clave, titulo, qs, fila, vacia="Nada pendiente.", ayuda="", url="", ordenes=()):
        self.clave, self.titulo, self.vacia, self.ayuda, self.url = clave, titulo, vacia, ayuda, url
        self.ordenes = list(ordenes)
        self.total = qs.count()
        self.filas = [fila(o) for o in qs[:FILAS]] if self.total else []
        self.mas = max(0, self.total - FILAS)


def banda_de(s):
    """The risk band a row shows (issue 19): {banda, texto} or None when the Solicitud has no score."""
    banda = getattr(s, "riesgo_banda", "") or ""
    return {"banda": banda, "texto": BANDAS[banda]} if banda in BANDAS else None


def _fila_solicitud(ahora, con_plazo=False, detalle=None, con_riesgo=False):
    def fila(s):
        return {
            "url": reverse("solicitud", args=[s.pk]),
            "titulo": str(s),
            "detalle": getattr(s, detalle)
            if detalle
            else f"{s.cliente_nombre} · {s.calle} {s.numero_puerta} · {s.zona}",
            "estado": s.get_estado_display(),
            "plazo": con_por_que(plazo(s.vence, ahora), getattr(s, "vence_explicacion", "")) if con_plazo else None,
            "riesgo": banda_de(s) if con_riesgo else None,
        }

    return fila


def _fila_orden(ahora, con_plazo=False, detalle=None):
    def fila(o):
        sol = o.solicitud
        extra = f"Motivo: {getattr(o, detalle)}" if detalle else str(o.zona)
        return {
            "url": reverse("orden", args=[o.pk]),
            "titulo": str(o),
            "detalle": f"{sol.cliente_nombre} · {sol.calle} {sol.numero_puerta} · {extra}",
            "estado": o.get_estado_display(),
            "plazo": None,
        }

    return fila


def _fila_entrega(e):
    return {
        "url": f"{reverse('entregas')}#entrega-{e.pk}",
        "titulo": entregas.titulo(e),
        "detalle": (
            f"{cuenta(e.filas, 'caso', 'casos')} · generada el {timezone.localtime(e.generada_at):%d/%m/%Y %H:%M}"
        ),
        "estado": "Sin acuse de recibo",
        "plazo": None,
    }


def orden_pedido(valor):
    """``?orden=`` as a queue reads it: "riesgo" or "" (by arrival)."""
    return "riesgo" if valor == "riesgo" else ""


def ordenes_de(d, orden, url_de):
    """The control «Ordenar por: llegada | riesgo» of a queue that offers it (issue 19)."""
    if not d.por_riesgo:
        return []
    return [{"clave": c or "llegada", "etiqueta": e, "url": url_de(c), "actual": c == orden} for c, e in ORDENES_COLA]


def cola_de_inicio(d, user, ahora, orden=""):
    orden = orden if d.por_riesgo else ""
    if d.filas_inicio:
        qs, fila = d.filas_inicio(user), d.fila(ahora)
    else:
        qs = d.filtrar(base_de(d.lista, user), user).order_by(*d.orden_de(orden))
        if d.lista == "ordenes":
            fila = _fila_orden(ahora, d.con_plazo, d.extra.get("detalle"))
        else:
            fila = _fila_solicitud(ahora, d.con_plazo, d.extra.get("detalle"), con_riesgo=d.por_riesgo)
    ayuda = d.ayuda() if callable(d.ayuda) else d.ayuda
    inicio = reverse("inicio")
    ordenes = ordenes_de(
        d, orden, lambda c: f"{inicio}?{urlencode({'orden': c})}#cola-{d.clave}" if c else f"{inicio}#cola-{d.clave}"
    )
    return Cola(d.clave, d.titulo, qs, fila, vacia=d.vacia, ayuda=ayuda, url=d.url(orden), ordenes=ordenes)


def colas_de(user, ahora=None, orden=""):
    ahora = ahora or timezone.now()
    return [cola_de_inicio(d, user, ahora, orden) for d in COLAS if d.para(user)]


def resumen_jefe(ahora):
    """The month so far, computed by the indicator report itself (III.2), so both agree: the
    same counts, the same two decimals toward the verdict, and the provisional range while
    cases are open (one aggregate query). Each count links to its cases (/indicador/casos/)."""
    from ..reports import indicador as ind
    from .indicador import _enlace

    periodo = ind.Periodo.actual()
    fila = ind._fila(ind.casos(periodo).aggregate(**ind._conteos(False)))
    valor = fila["indicador"]
    return {
        "desde": periodo.inicio,
        "probables": fila["probables"],
        "anulados": fila["anulados"],
        "abiertos": fila["abiertos"],
        "indicador": valor["valor"],
        "texto": valor["texto"],
        "veredicto": valor["veredicto"],
        "provisional": valor["provisional"],
        "rango": valor["rango"],
        "aviso_provisional": fila["aviso_provisional"],
        "umbral": settings.ANULACIONES_UMBRAL_INDICADOR,
        "enlaces": {r: _enlace(periodo, resultado=r) for r in ("probables", "anulados", "abiertos")},
        "enlace_indicador": f"{reverse('indicador')}?{urlencode(periodo.como_parametros())}",
    }


@login_required
def inicio(request):
    user = request.user
    roles = roles_de(user)
    ahora = timezone.now()
    contexto = {
        "roles": [Rol(r).label for r in sorted(roles) if r in Rol.values],
        "colas": colas_de(user, ahora, orden_pedido(request.GET.get("orden"))),
        "puede_registrar": navegacion.puede(user, "registrar"),
        "es_jefe": Rol.JEFE_DIVISION in roles,
        "es_facturacion": Rol.FACTURACION in roles,
        "ve_tablero": navegacion.puede(user, "tablero"),
        "ve_indicador": navegacion.puede(user, "indicador"),
        "ve_entregas": navegacion.puede(user, "entregas"),
    }
    if contexto["es_jefe"]:
        contexto["resumen"] = resumen_jefe(ahora)
    if contexto["es_jefe"] or contexto["es_facturacion"]:
        # 21.1: what waits in the deliveries and who acts next, as the Entregas page says it
        # (views.entregas.situacion): months that ended with zonifications in no delivery, this
        # month's zonifications not delivered yet, deliveries without acknowledgement.
        contexto["situacion"] = entregas.situacion(timezone.localdate(ahora), completa=contexto["es_facturacion"])
    if contexto["es_facturacion"]:
        contexto["entregas_sin_acuse"] = Cola(
            "entregas",
            "Entregas sin acuse de recibo (21.1)",
            Entrega.objects.filter(estado=Entrega.E.GENERADA).order_by("mes", "numero", "pk"),
            _fila_entrega,
            vacia="Todas las entregas tienen acuse de recibo.",
            ayuda="Descargue cada planilla y confirme con «Recibido» en la página Entregas.",
            url=reverse("entregas"),
        )
    return render(request, "inicio.html", contexto)
