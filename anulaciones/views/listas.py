"""The lists of Solicitudes and OTs: filtered (zone, asesor, type, state, dates, number), sorted
by any column and paginated, everything in the query string, so a filtered list is a link to keep
or share. ``cola=<clave>`` shows one of the user's home queues whole (views/inicio.py ``COLAS``).
A constant number of queries whatever the number of rows."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from .. import navegacion, selectors
from ..calendario import plazo
from ..filters import OrdenListaFilter, SolicitudListaFilter
from ..roles import ROLES_ZONALES, Rol, roles_de
from .acciones import prohibido
from .inicio import banda_de, colas_para, ordenes_de

POR_PAGINA = 50
SIN_CASOS = "Su rol no consulta solicitudes ni órdenes de trabajo: Div. Facturación recibe las entregas mensuales."


def _consulta(parametros, **cambios):
    datos = {**parametros, **cambios}
    return "?" + urlencode({k: v for k, v in datos.items() if v not in (None, "")})


def _encabezados(filtro, columnas, parametros):
    """Each column of the table: its label and, when sortable, the link that sorts by it (again:
    the other way) keeping the filters, and its current direction (aria-sort)."""
    actual = filtro.orden_elegido
    res = []
    for clave, etiqueta, clase in columnas:
        col = {"etiqueta": etiqueta, "clase": clase, "clave": clave, "url": None, "aria_sort": None}
        if clave in filtro.columnas:
            if actual == clave:
                col["aria_sort"], siguiente = "ascending", f"-{clave}"
            elif actual == f"-{clave}":
                col["aria_sort"], siguiente = "descending", clave
            else:
                siguiente = clave
            col["url"] = _consulta(parametros, sort=siguiente, page=None)
        res.append(col)
    return res


# The list's rows: the selector GET /api/v1/<lista>/ reads too, narrowed by the same FilterSet.
SELECTORES = {"solicitudes": selectors.solicitudes_lista, "ordenes": selectors.ordenes_lista}


def _lista(request, lista, Filtro, columnas, plantilla, **extra):
    user = request.user
    if not navegacion.puede(user, lista):
        return prohibido(request, SIN_CASOS)
    filtro = Filtro(request.GET, queryset=SELECTORES[lista](user=user), request=request, colas=colas_para(user, lista))
    valido = filtro.is_valid()
    # Invalid filters show no rows: a list that silently ignored one would look filtered.
    pagina = Paginator(filtro.qs if valido else filtro.queryset.none(), POR_PAGINA).get_page(request.GET.get("page"))
    cola = filtro.cola_elegida
    filas = list(pagina.object_list)
    if cola and cola.con_plazo:
        ahora = timezone.now()
        for f in filas:
            f.plazo = plazo(f.vence, ahora)
    parametros = {k: request.GET.get(k, "") for k in filtro.filters if k != "page"}
    # The queue (its heading) and the order are no filters.
    en_uso = {k: v for k, v in parametros.items() if v and k not in ("sort", "cola", "orden")}
    pedido = (filtro.form.cleaned_data.get("orden") or "") if valido else ""
    if lista == "solicitudes":
        for f in filas:
            f.banda_riesgo = banda_de(f)
    return render(
        request,
        plantilla,
        {
            "filtro": filtro,
            "valido": valido,
            "pagina": pagina,
            "filas": filas,
            "cola": cola,
            # Issue 19: the queue's order in words, and «Ordenar por: llegada | riesgo» where it applies
            "cola_orden_texto": cola.orden_texto_de(pedido) if cola else "",
            "ordenes_cola": ordenes_de(cola, pedido, lambda c: _consulta(parametros, orden=c, sort=None, page=None))
            if cola and not filtro.orden_elegido
            else [],
            "alto_riesgo_hoy": lista == "solicitudes" and en_uso == {"riesgo_banda": "alto", "registrada": "hoy"},
            "filtros_html": filtro.form.as_div(),  # here, not from deep in the page: see views.tablero
            "colas": filtro.colas.values(),
            "columnas": _encabezados(
                filtro, [c for c in columnas if c[0] != "vence" or (cola and cola.con_plazo)], parametros
            ),
            "orden_elegido": dict(filtro.filters["sort"].extra["choices"]).get(filtro.orden_elegido, ""),
            "filtrada": bool(en_uso),
            "consulta": _consulta(parametros)[1:],  # for the pages' links
            **extra,
        },
        status=200 if valido else 400,
    )


@login_required
def solicitudes(request):
    return _lista(
        request,
        "solicitudes",
        SolicitudListaFilter,
        [
            ("numero", "N° Smartflex", ""),
            ("tipo", "Tipo", ""),
            ("cliente", "Cliente", ""),
            ("direccion", "Dirección", "ocultar-movil"),
            ("zona", "Zona", ""),
            ("asesor", "Asesor", "ocultar-movil"),
            ("estado", "Estado", ""),
            ("riesgo", "Riesgo", "ocultar-movil"),
            ("registrada", "Registrada", "ocultar-movil"),
            ("vence", "Vence", ""),
        ],
        "solicitudes/lista.html",
    )


@login_required
def ordenes(request):
    """All visible OTs; the técnico and the COZ see only their zone."""
    roles = roles_de(request.user)
    return _lista(
        request,
        "ordenes",
        OrdenListaFilter,
        [
            ("numero", "N° OT", ""),
            ("solicitud", "Solicitud", "ocultar-movil"),
            ("tipo", "Tipo", "ocultar-movil"),
            ("cliente", "Cliente", ""),
            ("direccion", "Dirección", "ocultar-movil"),
            ("zona", "Zona", "ocultar-movil"),
            ("asesor", "Asesor", "ocultar-movil"),
            ("tecnico", "Técnico", "ocultar-movil"),
            ("estado", "Estado", ""),
            ("generada", "Generada", "ocultar-movil"),
        ],
        "ordenes/lista.html",
        zonal=bool(roles & ROLES_ZONALES) and Rol.COC not in roles,
    )
