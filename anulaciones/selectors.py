"""Read side: one queryset per list, shared by the page, its API list and its export (each
narrowed by the list's one FilterSet in ``anulaciones.filters``).

A selector returns a lazy queryset with everything a row shows joined in (``select_related``),
in the list's default order, so a list costs the same number of queries for 10 rows as for 10,000.
"""

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from . import buscador
from .models import (
    Diferencia,
    Emparejamiento,
    Entrega,
    IntentoContacto,
    Observacion,
    OrdenDeTrabajo,
    ServicioIngenieria,
    Solicitud,
    Zonificacion,
)
from .models.servicio import ServicioQuerySet
from .roles import Rol, roles_de

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    Usuario = AbstractBaseUser | AnonymousUser

# Roles that see the Tablero de Control (5.1). Only GESTION_RED and COC can act from it (5.2):
# the transition path decides, JEFE_DIVISION reads.
ROLES_TABLERO = frozenset({Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION})


def puede_ver_tablero(user: "Usuario") -> bool:
    return bool(roles_de(user) & ROLES_TABLERO)


# --- local days -------------------------------------------------------------------------
# Dates users may ask for: outside this range nothing exists, and datetime arithmetic near
# year 1 or 9999 overflows — so pages clamp (filters) or refuse (forms) with FECHAS_MENSAJE.
FECHA_MIN, FECHA_MAX = date(2000, 1, 1), date(2100, 12, 31)
FECHAS_MENSAJE = "Use fechas entre el año 2000 y el 2100."


def fecha_admisible(fecha: date) -> bool:
    return FECHA_MIN <= fecha <= FECHA_MAX


def dia_local(fecha: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in the local time zone (settings.TIME_ZONE), as aware
    datetimes: filtering ``campo__gte/__lt`` keeps the column's index usable."""
    fecha = min(max(fecha, FECHA_MIN), FECHA_MAX)
    tz = timezone.get_default_timezone()
    inicio = timezone.make_aware(datetime.combine(fecha, time.min), tz)
    return inicio, timezone.make_aware(datetime.combine(fecha + timedelta(days=1), time.min), tz)


def hoy_local(ahora: datetime | None = None) -> date:
    return timezone.localtime(ahora or timezone.now(), timezone.get_default_timezone()).date()


# --- months (the deliveries of 21.1) ---------------------------------------------------------------
MES = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
MES_FUTURO = "Ese mes todavía no empezó: solo se entregan el mes en curso y los anteriores."


def mes_de(texto: object) -> date:
    """The first day of the month typed as AAAA-MM (as ``<input type="month">`` sends it),
    between the years 2000 and 2100 and not after the current one; ValueError with the message
    otherwise."""
    partes = MES.fullmatch(texto.strip()) if isinstance(texto, str) else None
    if partes is None or not 1 <= int(partes[2]) <= 12:
        raise ValueError("Indique el mes como AAAA-MM (por ejemplo 2026-11).")
    mes = date(int(partes[1]), int(partes[2]), 1)
    if not fecha_admisible(mes):
        raise ValueError(FECHAS_MENSAJE)
    if mes > timezone.localdate().replace(day=1):
        raise ValueError(MES_FUTURO)
    return mes


# --- Tablero de Control (5.1) -----------------------------------------------------------
def servicios_tablero(*, user: "Usuario", acciones: bool = False) -> ServicioQuerySet:
    """SIs the Tablero de Control lists, visible to ``user``, every column joined in.

    Which states are shown is the filter's business (``filters.TableroFilter``): open and
    overdue by default. ``acciones=True`` also prefetches what ``transitions.disponibles``
    reads on the Solicitud (its observations, its OT) so the 5.2 buttons cost no query per row,
    and annotates what ``Solicitud._hay_que_justificar`` reads (``tables.falta_justificar``):
    ``sol_plazo_abierto``, the latest deadline of the Solicitud's SIs still ``abierto`` (compared
    with "now" in Python: the page and the transition path read one clock), and
    ``caso_con_contacto``, a contact attempt recorded on the case (3.3).

    GET /api/v1/servicios/ lists the same SIs (``acciones=False``), in deadline order.
    """
    qs = (
        ServicioIngenieria.objects.visibles_para(user)
        .select_related("solicitud__zona", "solicitud__orden", "asesor", "observacion")
        .order_by("vence_at", "pk")
    )
    if acciones:
        # The case joined in (a primary key, one row per SI): its contact attempts are then the
        # prefetch's only query.
        qs = qs.select_related("solicitud__caso").prefetch_related(
            Prefetch(
                "solicitud__observaciones_registradas",
                queryset=Observacion.objects.only("id", "solicitud_id", "alcance"),
            ),
            # 3.3 beside the decision: the case's contact attempts (tables.intentos_de)
            Prefetch("solicitud__caso__contactos", queryset=IntentoContacto.objects.select_related("usuario")),
        )
        qs = qs.annotate(
            sol_plazo_abierto=Subquery(
                ServicioIngenieria.objects.filter(
                    solicitud_id=OuterRef("solicitud_id"), estado=ServicioIngenieria.E.ABIERTO
                )
                .order_by("-vence_at")
                .values("vence_at")[:1]
            ),
            # Through the SI's own solicitud_id (not "solicitud__caso_id"): an outer reference
            # across the join would leave that join in the paginator's COUNT.
            caso_con_contacto=Exists(IntentoContacto.objects.filter(caso__solicitudes=OuterRef("solicitud_id"))),
        )
    return qs


def tablero_vencen_hoy(qs: ServicioQuerySet, ahora: datetime | None = None) -> ServicioQuerySet:
    """Open SIs whose deadline falls on today's local date."""
    inicio, fin = dia_local(hoy_local(ahora))
    return qs.abiertos().filter(vence_at__gte=inicio, vence_at__lt=fin)


def tablero_vencidos(qs: ServicioQuerySet, ahora: datetime | None = None) -> ServicioQuerySet:
    """Overdue, as the SI defines it (``ServicioQuerySet.vencidos``)."""
    return qs.vencidos(ahora)


def tablero_atendidos_hoy(qs: ServicioQuerySet, ahora: datetime | None = None) -> ServicioQuerySet:
    inicio, fin = dia_local(hoy_local(ahora))
    return qs.filter(estado=ServicioIngenieria.E.ATENDIDO, cerrado_at__gte=inicio, cerrado_at__lt=fin)


# The Tablero's quick views (15.9), {key: (label, narrowing)}: its links, its FilterSet (hence its
# exports and the API's list of SIs) read them here.
VISTAS_TABLERO: dict[str, tuple[str, Callable[[ServicioQuerySet], ServicioQuerySet]]] = {
    "vencen_hoy": ("Vencen hoy", tablero_vencen_hoy),
    "vencidos": ("Vencidos", tablero_vencidos),
    "atendidos_hoy": ("Atendidos hoy", tablero_atendidos_hoy),
}


# --- the lists of cases (/solicitudes/, /ordenes/ and the API) ------------------------------------
def _observaciones_alcance() -> Prefetch:
    """What ``transitions.disponibles`` reads on a Solicitud (the scope of its observations)."""
    return Prefetch("observaciones_registradas", queryset=Observacion.objects.only("id", "solicitud_id", "alcance"))


def solicitudes_lista(*, user: "Usuario", acciones: bool = False) -> QuerySet[Solicitud]:
    """Solicitudes visible to ``user``, newest first: the list /solicitudes/ (and the home's queues
    on it) and GET /api/v1/solicitudes/. ``acciones``: also what the available transitions read."""
    qs = Solicitud.objects.visibles_para(user).select_related("zona", "asesor", "orden").order_by("-creado_at", "-pk")
    return qs.prefetch_related(_observaciones_alcance()) if acciones else qs


# --- risk of observation or cancellation at entry (issue 19) ---------------------------------------
# A review queue read by risk: the highest score first, the unscored last, then by arrival.
ORDEN_RIESGO = (F("riesgo").desc(nulls_last=True), "creado_at", "pk")
BANDAS_RIESGO = (("alto", "Alto"), ("medio", "Medio"), ("bajo", "Bajo"))


def registradas_hoy(qs: QuerySet[Solicitud], ahora: datetime | None = None) -> QuerySet[Solicitud]:
    """Solicitudes registered on today's local date (a range on the indexed ``creado_at``)."""
    inicio, fin = dia_local(hoy_local(ahora))
    return qs.filter(creado_at__gte=inicio, creado_at__lt=fin)


def alto_riesgo_hoy(*, user: "Usuario", ahora: datetime | None = None) -> QuerySet[Solicitud]:
    """Today's registrations with risk band «alto», visible to ``user``: the Tablero's count and
    the list it links to (/solicitudes/?riesgo_banda=alto&registrada=hoy) read the same rows
    (index on riesgo_banda, creado_at)."""
    return registradas_hoy(Solicitud.objects.visibles_para(user).filter(riesgo_banda="alto"), ahora)


def registra_solicitudes(user: "Usuario") -> bool:
    """Whether ``user`` registers Solicitudes (step 1): who may ask for the risk of a registration."""
    return bool(set(Solicitud.ROLES_CREACION.roles) & roles_de(user))


def asesores_a_elegir(user: "Usuario") -> QuerySet[Any]:
    """The asesores the registration form offers ``user`` (step 1): any active one to a Monitora,
    her team to a Team Leader, none to others."""
    roles = roles_de(user)
    qs = get_user_model().objects.filter(groups__name=Rol.ASESOR, is_active=True)
    if Rol.MONITORA in roles:
        return qs
    if Rol.TEAM_LEADER in roles:
        return qs.filter(perfil__team_leader_id=cast(int, user.pk))
    return qs.none()


def asesores_registrables(user: "Usuario") -> QuerySet[Any]:
    """The asesores ``user`` registers for, whose history a registration's risk may be scored
    with: the ones the registration form offers, and herself for an asesor. Another asesor's
    history is not shown."""
    permitidos = asesores_a_elegir(user)
    if Rol.ASESOR in roles_de(user) and Rol.MONITORA not in roles_de(user):
        permitidos = permitidos | get_user_model().objects.filter(pk=cast(int, user.pk))
    return permitidos


def ultimo_mes_completo(hoy: date | None = None) -> date:
    """The first day of the last month that has ended (local time)."""
    hoy = hoy or timezone.localdate()
    return (hoy.replace(day=1) - timedelta(days=1)).replace(day=1)


def mes_evaluado(texto: str | None) -> tuple[date | None, str | None]:
    """The month the risk evaluation is asked for (AAAA-MM; by default the last complete one):
    (its first day, None) or (None, the message saying what is wrong)."""
    if texto is None or not texto.strip():
        return ultimo_mes_completo(), None
    try:
        return mes_de(texto), None
    except ValueError as e:
        return None, str(e)


def ordenes_lista(*, user: "Usuario") -> QuerySet[OrdenDeTrabajo]:
    """OTs visible to ``user`` (the técnico and the COZ: their zone's), newest first: /ordenes/
    (and its queues) and GET /api/v1/ordenes/."""
    return (
        OrdenDeTrabajo.objects.visibles_para(user)
        .select_related("zona", "tecnico", "solicitud", "solicitud__asesor")
        .order_by("-creado_at", "-pk")
    )


def zonificaciones_lista(*, user: "Usuario") -> QuerySet[Zonificacion]:
    """Zonifications of the cases visible to ``user``, newest first (GET /api/v1/zonificaciones/)."""
    return (
        Zonificacion.objects.filter(solicitud__in=Solicitud.objects.visibles_para(user).values("pk"))
        .select_related("orden", "solicitud", "zona_anterior", "zona_corregida")
        .order_by("-creado_at", "-pk")
    )


def entregas_lista() -> QuerySet[Entrega]:
    """The deliveries to Div. Facturación (21.1), latest month first and by number within it: the
    page /entregas/ and GET /api/v1/entregas/ (who may read them is the views' check)."""
    return Entrega.objects.select_related("generada_por", "recibida_por").order_by("-mes", "numero", "pk")


# --- reconciliation with Smartflex (issue 18) ------------------------------------------------
def diferencias_lista() -> QuerySet[Diferencia]:
    """The differences with Smartflex, everything a row shows joined in (the feed's row, the
    Solicitud with its OT and zone, who resolved it), the latest Smartflex status first: the page
    /smartflex/conciliacion/ and GET /api/v1/smartflex/diferencias/ (who may read them is the
    views' check; the filter ``filters.DiferenciaFilter`` narrows it)."""
    return Diferencia.objects.select_related(
        "fuente", "solicitud", "solicitud__orden", "solicitud__zona", "resuelta_por"
    ).order_by("-fuente__fecha", "-pk")


def emparejamientos_lista() -> QuerySet[Emparejamiento]:
    """The re-entries proposed as re-digitations (and those already decided), both Solicitudes
    and who decided joined in, the most confident first: the page /smartflex/conciliacion/ and
    GET /api/v1/smartflex/emparejamientos/."""
    return Emparejamiento.objects.select_related("anulada", "nueva", "resuelto_por").order_by(
        "-confianza", "-creado_at", "-pk"
    )


# --- search -------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def texto_busqueda(q: str | None) -> str:
    """What was typed in a search box, trimmed, control characters (NUL, which PostgreSQL
    refuses in a string, tabs, line ends) read as one space."""
    return _CONTROL.sub(" ", q or "").strip()


def buscar_solicitudes(
    *, user: "Usuario", q: "str | buscador.Consulta | None", solo_exactas: bool = False
) -> QuerySet[Solicitud]:
    """Solicitudes visible to ``user`` matching ``q`` (issue 15, item 5): accent- and
    case-insensitive, by client name, document, phone, street with door number, Smartflex, OT or
    SI number, through the normalized column ``Solicitud.busqueda`` (``anulaciones.buscador``;
    a trigram GIN index on PostgreSQL, LIKE on SQLite). Every word typed must be found, in any
    order (a word shorter than 3 characters at the start of a word). Best first: an exact number
    (or the SI), the phrase as whole words, the phrase starting a word or a number, the phrase
    inside a word, the words apart; in each, the most recent first. ``solo_exactas``: only the
    exact numbers (a query too broad to rank, ``hay_mas_de``). One query (the SI is a
    subquery); none for an empty or refused query."""
    consulta = q if isinstance(q, buscador.Consulta) else buscador.leer(q)
    base = Solicitud.objects.visibles_para(user).select_related("zona", "orden", "asesor")
    if not consulta.valida:
        return base.none()
    texto, compacto = consulta.texto, consulta.compacto
    exacta = None  # numbers only: "calle" is nobody's number (and '%#calle#%' would recheck every row)
    if consulta.con_digitos:
        exacta = Q(busqueda__contains=f"#{compacto}#")
    if consulta.si is not None:  # a scalar subquery (an InitPlan): the pk index, even inside the OR
        si = Q(pk=Subquery(ServicioIngenieria.objects.filter(pk=consulta.si).values("solicitud_id")[:1]))
        exacta = si if exacta is None else exacta | si
    if consulta.solo_exacta or solo_exactas:
        if exacta is None:
            return base.none()
        filtro = exacta
    else:
        palabras = Q(
            *[Q(busqueda__contains=p if len(p) >= buscador.MIN_PALABRA else f" {p}") for p in consulta.palabras]
        )
        filtro = palabras if exacta is None else exacta | palabras
    prefijo = Q(busqueda__contains=f" {texto}")
    if consulta.con_digitos:
        prefijo |= Q(busqueda__contains=f"#{compacto}")
    rango = Case(
        *([When(exacta, then=Value(0))] if exacta is not None else []),
        When(busqueda__contains=f" {texto} ", then=Value(1)),
        When(prefijo, then=Value(2)),
        When(busqueda__contains=texto, then=Value(3)),
        default=Value(4),
        output_field=IntegerField(),
    )
    return base.filter(filtro).order_by(rango.asc(), "-creado_at", "-pk")


def hay_mas_de(qs: QuerySet[Any], n: int) -> bool:
    """Does ``qs`` hold more than ``n`` rows? Reads at most n + 1 of them (no count, no sort).

    On PostgreSQL the planner would answer a query it believes broad with a sequential scan
    that stops at the (n + 1)th row — the whole table when its estimate was wrong; with
    sequential scans off for this one statement it always takes the index's bitmap (which stops
    there too): never a full-table scan."""
    filas = qs.order_by().values_list("pk", flat=True)[n : n + 1]
    if connection.vendor != "postgresql":
        return bool(filas)
    with transaction.atomic(), connection.cursor() as cur:  # an error rolls the SET back too
        cur.execute("SET LOCAL enable_seqscan = off")
        hay = bool(list(filas))
        cur.execute("SET LOCAL enable_seqscan TO DEFAULT")  # for the rest of an outer transaction
    return hay


def solicitud_exacta(*, user: "Usuario", q: "str | buscador.Consulta | None") -> int | None:
    """The one visible Solicitud whose Smartflex or OT number is ``q`` (case and punctuation
    aside: "sf 100200" is SF-100200), or that holds SI ``q`` typed as "SI 123"; else None."""
    consulta = q if isinstance(q, buscador.Consulta) else buscador.leer(q)
    if not consulta.valida or not (consulta.con_digitos or consulta.si_explicito):
        return None
    visibles = Solicitud.objects.visibles_para(user)
    if consulta.si_explicito and consulta.si is not None:  # "SI 123": it names its number
        ids = list(
            visibles.filter(
                pk=Subquery(ServicioIngenieria.objects.filter(pk=consulta.si).values("solicitud_id")[:1])
            ).values_list("pk", flat=True)[:2]
        )
    else:  # the rows holding the number (index), then which of its numbers it is
        candidatas = visibles.filter(busqueda__contains=f"#{consulta.compacto}#").order_by("-pk")
        ids = [
            pk
            for pk, sf, ot in candidatas.values_list("pk", "numero_smartflex", "orden__numero")[:10]
            if consulta.compacto in (buscador.compacto(sf), buscador.compacto(ot))
        ]
    return ids[0] if len(ids) == 1 else None
