"""Paginated lists: a constant number of queries whatever the number of rows."""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from ..models import OrdenDeTrabajo, Solicitud
from ..roles import ROLES_ZONALES, Rol, roles_de

POR_PAGINA = 50


def _paginar(request, qs):
    return Paginator(qs, POR_PAGINA).get_page(request.GET.get("page"))


@login_required
def solicitudes(request):
    qs = Solicitud.objects.visibles_para(request.user).select_related("zona", "asesor").order_by("-creado_at", "-pk")
    estado = request.GET.get("estado", "")
    if estado in Solicitud.Estado.values:
        qs = qs.filter(estado=estado)
    return render(request, "solicitudes/lista.html", {
        "pagina": _paginar(request, qs), "estados": Solicitud.Estado.choices, "estado": estado})


@login_required
def ordenes(request):
    """All visible OTs; the técnico and the COZ see only their zone."""
    user = request.user
    qs = OrdenDeTrabajo.objects.visibles_para(user).select_related("zona", "tecnico", "solicitud").order_by(
        "-creado_at", "-pk")
    estado = request.GET.get("estado", "")
    if estado in OrdenDeTrabajo.Estado.values:
        qs = qs.filter(estado=estado)
    return render(request, "ordenes/lista.html", {
        "pagina": _paginar(request, qs), "estados": OrdenDeTrabajo.Estado.choices, "estado": estado,
        "zonal": bool(roles_de(user) & ROLES_ZONALES) and Rol.COC not in roles_de(user)})
