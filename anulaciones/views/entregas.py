"""Entregas a Facturación (21.1): the month's zonification workbooks — list, on-demand build
(GESTION_RED) and download (FACTURACION, GESTION_RED)."""
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ..errors import ErrorDominio
from ..models import Entrega, Zonificacion
from ..reports import generar_entrega
from ..roles import Rol, roles_de

ROLES_DESCARGA = {Rol.FACTURACION, Rol.GESTION_RED}


def _exigir(request, roles, mensaje):
    if not roles_de(request.user) & roles:
        raise PermissionDenied(mensaje)


@login_required
def entregas(request):
    _exigir(request, ROLES_DESCARGA, "Solo Div. Facturación y Gestión de Red ven las entregas.")
    return render(request, "entregas/lista.html", {
        "entregas": Entrega.objects.select_related("generada_por")[:60],
        "puede_generar": Rol.GESTION_RED in roles_de(request.user),
        "mes_actual": timezone.localdate().strftime("%Y-%m"),
        "pendientes": Zonificacion.objects.filter(estado=Zonificacion.E.DIGITADA).count(),
    })


@login_required
@require_POST
def entrega_generar(request):
    _exigir(request, {Rol.GESTION_RED}, "Solo Gestión de Red genera la planilla del mes.")
    texto = request.POST.get("mes") or timezone.localdate().strftime("%Y-%m")
    try:
        anio, mes = (int(p) for p in texto.split("-")[:2])
        mes = date(anio, mes, 1)
    except ValueError:
        messages.error(request, "Indique el mes como AAAA-MM.")
        return redirect("entregas")
    ya = Entrega.objects.filter(mes=mes).exists()
    try:
        entrega = generar_entrega(mes, request.user)
    except ErrorDominio as e:
        messages.error(request, e.mensaje)
        return redirect("entregas")
    if ya:
        messages.info(request, f"La planilla de {mes:%m/%Y} ya fue generada el "
                               f"{timezone.localtime(entrega.generada_at):%d/%m/%Y %H:%M}; no se generó otra.")
    else:
        messages.success(request, f"Planilla de {mes:%m/%Y} generada: {entrega.filas} caso(s) remitidos a "
                                  "Div. Facturación.")
    return redirect("entregas")


@login_required
def entrega_descargar(request, pk):
    _exigir(request, ROLES_DESCARGA, "Solo Div. Facturación y Gestión de Red descargan la planilla.")
    entrega = Entrega.objects.filter(pk=pk).first()
    if entrega is None or not entrega.archivo:
        raise Http404("No existe esa entrega.")
    return FileResponse(entrega.archivo.open("rb"), as_attachment=True, filename=entrega.nombre_archivo)
