"""Entregas a Facturación (21.1): the month's zonification workbooks — list, on-demand build
(GESTION_RED) and download (FACTURACION, GESTION_RED)."""
import re
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
from ..selectors import FECHAS_MENSAJE, fecha_admisible

ROLES_DESCARGA = {Rol.FACTURACION, Rol.GESTION_RED}


def _exigir(request, roles, mensaje):
    if not roles_de(request.user) & roles:
        raise PermissionDenied(mensaje)


def _lista(request, mes_tecleado=None, status=200):
    return render(request, "entregas/lista.html", {
        "entregas": Entrega.objects.select_related("generada_por")[:60],
        "puede_generar": Rol.GESTION_RED in roles_de(request.user),
        "mes_actual": timezone.localdate().strftime("%Y-%m") if mes_tecleado is None else mes_tecleado,
        "pendientes": Zonificacion.objects.filter(estado=Zonificacion.E.DIGITADA).count(),
    }, status=status)


@login_required
def entregas(request):
    _exigir(request, ROLES_DESCARGA, "Solo Div. Facturación y Gestión de Red ven las entregas.")
    return _lista(request)


MES = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


def mes_de(texto):
    """The first day of the month typed as AAAA-MM (as ``<input type="month">`` sends it),
    between the years 2000 and 2100; ValueError with the message otherwise."""
    partes = MES.fullmatch(texto.strip())
    if partes is None or not 1 <= int(partes[2]) <= 12:
        raise ValueError("Indique el mes como AAAA-MM (por ejemplo 2026-11).")
    mes = date(int(partes[1]), int(partes[2]), 1)
    if not fecha_admisible(mes):
        raise ValueError(FECHAS_MENSAJE)
    return mes


@login_required
@require_POST
def entrega_generar(request):
    _exigir(request, {Rol.GESTION_RED}, "Solo Gestión de Red genera la planilla del mes.")
    texto = request.POST.get("mes") or timezone.localdate().strftime("%Y-%m")
    try:
        mes = mes_de(texto)
    except ValueError as e:
        messages.error(request, str(e))
        return _lista(request, mes_tecleado=texto, status=400)  # the form again, with what was typed
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
    try:  # from the default storage (PostgreSQL, S3 or disk): whichever process wrote it
        archivo = entrega.archivo.open("rb")
    except FileNotFoundError:
        raise Http404("El archivo de esa entrega no está guardado.") from None
    return FileResponse(archivo, as_attachment=True, filename=entrega.nombre_archivo,
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
