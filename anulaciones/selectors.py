"""Read side: one queryset per list, shared by the page, its export and (later) the API.

A selector returns a lazy queryset with everything a row shows joined in (``select_related``),
so a list costs the same number of queries for 10 rows as for 10,000.
"""
import re
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Value, When
from django.utils import timezone

from . import buscador
from .models import IntentoContacto, Observacion, ServicioIngenieria, Solicitud
from .roles import Rol, roles_de

# Roles that see the Tablero de Control (5.1). Only GESTION_RED and COC can act from it (5.2):
# the transition path decides, JEFE_DIVISION reads.
ROLES_TABLERO = frozenset({Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION})


def puede_ver_tablero(user):
    return bool(roles_de(user) & ROLES_TABLERO)


# --- local days -------------------------------------------------------------------------
# Dates users may ask for: outside this range nothing exists, and datetime arithmetic near
# year 1 or 9999 overflows — so pages clamp (filters) or refuse (forms) with FECHAS_MENSAJE.
FECHA_MIN, FECHA_MAX = date(2000, 1, 1), date(2100, 12, 31)
FECHAS_MENSAJE = "Use fechas entre el año 2000 y el 2100."


def fecha_admisible(fecha):
    return FECHA_MIN <= fecha <= FECHA_MAX


def dia_local(fecha):
    """[start, end) of a calendar day in the local time zone (settings.TIME_ZONE), as aware
    datetimes: filtering ``campo__gte/__lt`` keeps the column's index usable."""
    fecha = min(max(fecha, FECHA_MIN), FECHA_MAX)
    tz = timezone.get_default_timezone()
    inicio = timezone.make_aware(datetime.combine(fecha, time.min), tz)
    return inicio, timezone.make_aware(datetime.combine(fecha + timedelta(days=1), time.min), tz)


def hoy_local(ahora=None):
    return timezone.localtime(ahora or timezone.now(), timezone.get_default_timezone()).date()


# --- Tablero de Control (5.1) -----------------------------------------------------------
def servicios_tablero(*, user, acciones=False):
    """SIs the Tablero de Control lists, visible to ``user``, every column joined in.

    Which states are shown is the filter's business (``filters.TableroFilter``): open and
    overdue by default. ``acciones=True`` also prefetches what ``transitions.disponibles``
    reads on the Solicitud (its observations, its OT) so the 5.2 buttons cost no query per row,
    and annotates what ``Solicitud._hay_que_justificar`` reads (``tables.falta_justificar``):
    ``sol_plazo_abierto``, the latest deadline of the Solicitud's SIs still ``abierto`` (compared
    with "now" in Python: the page and the transition path read one clock), and
    ``caso_con_contacto``, a contact attempt recorded on the case (3.3).
    """
    qs = (ServicioIngenieria.objects.visibles_para(user)
          .select_related("solicitud__zona", "solicitud__orden", "asesor", "observacion"))
    if acciones:
        qs = qs.prefetch_related(Prefetch("solicitud__observaciones_registradas",
                                          queryset=Observacion.objects.only("id", "solicitud_id", "alcance")),
                                 # 3.3 beside the decision: the case's contact attempts (tables.intentos_de)
                                 Prefetch("solicitud__caso__contactos",
                                          queryset=IntentoContacto.objects.select_related("usuario")))
        qs = qs.annotate(
            sol_plazo_abierto=Subquery(
                ServicioIngenieria.objects.filter(solicitud_id=OuterRef("solicitud_id"),
                                                  estado=ServicioIngenieria.E.ABIERTO)
                .order_by("-vence_at").values("vence_at")[:1]),
            # Through the SI's own solicitud_id (not "solicitud__caso_id"): an outer reference
            # across the join would leave that join in the paginator's COUNT.
            caso_con_contacto=Exists(IntentoContacto.objects.filter(caso__solicitudes=OuterRef("solicitud_id"))))
    return qs


def tablero_abiertos(qs):
    return qs.filter(estado__in=ServicioIngenieria.ABIERTOS)


def tablero_vencen_hoy(qs, ahora=None):
    """Open SIs whose deadline falls on today's local date."""
    inicio, fin = dia_local(hoy_local(ahora))
    return tablero_abiertos(qs).filter(vence_at__gte=inicio, vence_at__lt=fin)


def tablero_vencidos(qs, ahora=None):
    """Overdue: marked ``vencido`` by the deadline task, or still ``abierto`` past its deadline
    (the task has not caught up yet)."""
    ahora = ahora or timezone.now()
    return qs.filter(Q(estado=ServicioIngenieria.E.VENCIDO) | Q(estado=ServicioIngenieria.E.ABIERTO,
                                                                  vence_at__lt=ahora))


def tablero_atendidos_hoy(qs, ahora=None):
    inicio, fin = dia_local(hoy_local(ahora))
    return qs.filter(estado=ServicioIngenieria.E.ATENDIDO, cerrado_at__gte=inicio, cerrado_at__lt=fin)


# --- search -------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def texto_busqueda(q):
    """What was typed in a search box, trimmed, control characters (NUL, which PostgreSQL
    refuses in a string, tabs, line ends) read as one space."""
    return _CONTROL.sub(" ", q or "").strip()


def buscar_solicitudes(*, user, q, solo_exactas=False):
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
        palabras = Q(*[Q(busqueda__contains=p if len(p) >= buscador.MIN_PALABRA else f" {p}")
                       for p in consulta.palabras])
        filtro = palabras if exacta is None else exacta | palabras
    prefijo = Q(busqueda__contains=f" {texto}")
    if consulta.con_digitos:
        prefijo |= Q(busqueda__contains=f"#{compacto}")
    rango = Case(
        *([When(exacta, then=Value(0))] if exacta is not None else []),
        When(busqueda__contains=f" {texto} ", then=Value(1)),
        When(prefijo, then=Value(2)),
        When(busqueda__contains=texto, then=Value(3)),
        default=Value(4), output_field=IntegerField())
    return base.filter(filtro).order_by(rango.asc(), "-creado_at", "-pk")


def hay_mas_de(qs, n):
    """Does ``qs`` hold more than ``n`` rows? Reads at most n + 1 of them (no count, no sort).

    On PostgreSQL the planner would answer a query it believes broad with a sequential scan
    that stops at the (n + 1)th row — the whole table when its estimate was wrong; with
    sequential scans off for this one statement it always takes the index's bitmap (which stops
    there too): never a full-table scan."""
    filas = qs.order_by().values_list("pk", flat=True)[n:n + 1]
    if connection.vendor != "postgresql":
        return bool(filas)
    with transaction.atomic(), connection.cursor() as cur:  # an error rolls the SET back too
        cur.execute("SET LOCAL enable_seqscan = off")
        hay = bool(list(filas))
        cur.execute("SET LOCAL enable_seqscan TO DEFAULT")  # for the rest of an outer transaction
    return hay


def solicitud_exacta(*, user, q):
    """The one visible Solicitud whose Smartflex or OT number is ``q`` (case and punctuation
    aside: "sf 100200" is SF-100200), or that holds SI ``q`` typed as "SI 123"; else None."""
    consulta = q if isinstance(q, buscador.Consulta) else buscador.leer(q)
    if not consulta.valida or not (consulta.con_digitos or consulta.si_explicito):
        return None
    visibles = Solicitud.objects.visibles_para(user)
    if consulta.si_explicito:
        ids = list(visibles.filter(pk=Subquery(ServicioIngenieria.objects.filter(pk=consulta.si)
                                               .values("solicitud_id")[:1])).values_list("pk", flat=True)[:2])
    else:  # the rows holding the number (index), then which of its numbers it is
        candidatas = visibles.filter(busqueda__contains=f"#{consulta.compacto}#").order_by("-pk")
        ids = [pk for pk, sf, ot in candidatas.values_list("pk", "numero_smartflex", "orden__numero")[:10]
               if consulta.compacto in (buscador.compacto(sf), buscador.compacto(ot))]
    return ids[0] if len(ids) == 1 else None
