"""Read side: one queryset per list, shared by the page, its export and (later) the API.

A selector returns a lazy queryset with everything a row shows joined in (``select_related``),
so a list costs the same number of queries for 10 rows as for 10,000.
"""
import re
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

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


def buscar_solicitudes(*, user, q):
    """Solicitudes visible to ``user`` matching ``q`` in the Smartflex number, the client's
    name, the street or the OT number (case-insensitive, partial)."""
    q = texto_busqueda(q)
    base = Solicitud.objects.visibles_para(user).select_related("zona", "orden", "asesor")
    if not q:
        return base.none()
    return base.filter(Q(numero_smartflex__icontains=q) | Q(cliente_nombre__icontains=q)
                       | Q(calle__icontains=q) | Q(orden__numero__icontains=q)).order_by("-creado_at", "-pk")


def solicitud_exacta(*, user, q):
    """The one visible Solicitud whose Smartflex number or OT number is exactly ``q``, if any."""
    q = texto_busqueda(q)
    if not q:
        return None
    ids = list(Solicitud.objects.visibles_para(user)
               .filter(Q(numero_smartflex__iexact=q) | Q(orden__numero__iexact=q)).values_list("pk", flat=True)[:2])
    return ids[0] if len(ids) == 1 else None
