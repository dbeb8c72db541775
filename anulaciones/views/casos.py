"""The case page (Solicitud + OT + SIs + observations + contacts + deadlines + timeline), the
OT page (the técnico's, on a phone) and the print views of III.1."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from ..calendario import plazo
from ..forms import ContactoForm
from ..models import (IntentoContacto, Observacion, OrdenDeTrabajo, RegistroAuditoria, ServicioIngenieria,
                      Solicitud, Zonificacion)
from ..roles import Rol, roles_de
from .comun import acciones


def _puede_zonificar(orden, user):
    return (orden is not None and orden.estado == OrdenDeTrabajo.Estado.EJECUTADA
            and Zonificacion.ROLES_CREACION.rol_para(Zonificacion(orden=orden), user) is not None)


@login_required
def solicitud(request, pk):
    user = request.user
    sol = get_object_or_404(
        Solicitud.objects.visibles_para(user).select_related("zona", "asesor", "registrada_por", "caso",
                                                             "reemplazada_por"), pk=pk)
    ahora = timezone.now()
    caso_id = sol.caso_id
    del_caso = list(Solicitud.objects.filter(caso_id=caso_id).exclude(pk=sol.pk).only(
        "pk", "numero_smartflex", "estado", "creado_at").order_by("creado_at"))
    orden = OrdenDeTrabajo.objects.filter(solicitud=sol).select_related("zona", "tecnico").first()
    servicios = list(ServicioIngenieria.objects.visibles_para(user).filter(solicitud__caso_id=caso_id).select_related(
        "solicitud", "abierto_por", "cerrado_por", "observacion").order_by("creado_at", "pk"))
    for si in servicios:
        si.plazo = plazo(si.vence_at, ahora) if si.estado in ServicioIngenieria.ABIERTOS else None
        si.acciones = acciones(si, user)
    zonificaciones = list(Zonificacion.objects.filter(solicitud=sol).select_related(
        "zona_corregida", "orden").order_by("creado_at"))
    for z in zonificaciones:
        z.acciones = acciones(z, user)
    plazos = [{"que": f"{si} ({si.get_destinatario_display()})", **si.plazo} for si in servicios if si.plazo]
    if sol.estado == Solicitud.Estado.PENDIENTE_REDIGITACION and sol.redigitacion_vence_at:
        plazos.append({"que": "Re-digitación (2 horas, 19.2)", **plazo(sol.redigitacion_vence_at, ahora)})
    acciones_sol = acciones(sol, user)
    puede_contactar = bool(roles_de(user) & {Rol.GESTION_RED, Rol.COC})
    return render(request, "solicitudes/detalle.html", {
        "sol": sol, "del_caso": del_caso, "orden": orden,
        "acciones_sol": acciones_sol,
        "acciones_orden": acciones(orden, user) if orden else [],
        "servicios": servicios, "zonificaciones": zonificaciones,
        "observaciones": Observacion.objects.filter(caso_id=caso_id).select_related("registrada_por", "solicitud"),
        "contactos": IntentoContacto.objects.filter(caso_id=caso_id).select_related("usuario"),
        "contacto_form": ContactoForm() if puede_contactar else None,
        "plazos": plazos,
        "linea_tiempo": RegistroAuditoria.objects.de_caso(caso_id),
        "puede_zonificar": _puede_zonificar(orden, user),
    })


@login_required
def orden(request, pk):
    user = request.user
    ot = get_object_or_404(OrdenDeTrabajo.objects.visibles_para(user).select_related(
        "zona", "tecnico", "solicitud", "solicitud__asesor"), pk=pk)
    return render(request, "ordenes/detalle.html", {
        "ot": ot, "sol": ot.solicitud, "acciones_orden": acciones(ot, user),
        "observaciones": Observacion.objects.filter(orden=ot).select_related("registrada_por"),
        "linea_tiempo": RegistroAuditoria.de_objeto(ot).select_related("usuario"),
        "puede_zonificar": _puede_zonificar(ot, user),
    })


@login_required
def solicitud_imprimir(request, pk):
    """III.1: the Solicitud de Servicio prints as an original and one copy."""
    sol = get_object_or_404(Solicitud.objects.visibles_para(request.user).select_related(
        "zona", "asesor", "registrada_por"), pk=pk)
    orden = OrdenDeTrabajo.objects.filter(solicitud=sol).first()
    return render(request, "solicitudes/imprimir.html", {
        "sol": sol, "orden": orden, "ejemplares": ["ORIGINAL", "COPIA"], "impreso_at": timezone.now()})


@login_required
def orden_imprimir(request, pk):
    """III.1: the Orden de Trabajo prints as one original."""
    ot = get_object_or_404(OrdenDeTrabajo.objects.visibles_para(request.user).select_related(
        "zona", "tecnico", "solicitud", "solicitud__asesor"), pk=pk)
    return render(request, "ordenes/imprimir.html", {"ot": ot, "sol": ot.solicitud, "impreso_at": timezone.now()})
