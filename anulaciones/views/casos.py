"""The case page (Solicitud + OT + SIs + observations + contacts + deadlines + timeline), the
OT page (the técnico's, on a phone) and the print views of III.1."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from .. import relato, transitions
from ..calendario import plazo
from ..forms import ContactoForm
from ..models import (
    Correccion,
    Emparejamiento,
    IntentoContacto,
    Observacion,
    OrdenDeTrabajo,
    ServicioIngenieria,
    Solicitud,
    Zonificacion,
)
from ..roles import Rol, roles_de
from .acciones import etiqueta_redigitacion, plazo_redigitacion, puede_reportar_impedimento
from .comun import acciones
from .riesgo import panel_de_solicitud

# The técnico's report (14–15.1) as the OT stores it, in the order the seed lists it.
CAMPOS_REPORTE = (
    ("observacion_campo", "Observación de campo"),
    ("datos_comerciales", "Datos comerciales"),
    ("datos_tecnicos", "Datos técnicos"),
    ("equipos", "Equipos"),
    ("solicitudes_adicionales", "Solicitudes adicionales del cliente"),
)


def _puede_zonificar(orden, user):
    return (
        orden is not None
        and orden.estado == OrdenDeTrabajo.Estado.EJECUTADA
        and Zonificacion.ROLES_CREACION.rol_para(Zonificacion(orden=orden), user) is not None
    )


def reporte_de_campo(orden):
    """[(label, text)] of what the técnico reported (15.1); empty when nothing was."""
    if orden is None:
        return []
    filas = [
        (etiqueta, getattr(orden, campo)) for campo, etiqueta in CAMPOS_REPORTE if (getattr(orden, campo) or "").strip()
    ]
    if orden.propuesta:
        filas.append(("Propuesta del técnico", orden.get_propuesta_display()))
    return filas


def _disponible_desde(obj, paso):
    """When a step held back only by a deadline becomes available (the final cancellation of a
    re-digitation that never came: after its 2 hours, 19.2)."""
    if isinstance(obj, Solicitud) and paso["motivo"] == Solicitud.redigitacion_vencida.mensaje:
        return obj.redigitacion_vence_at
    return None


def que_sigue(obj, acciones_usuario):
    """The «Qué sigue» panel of obj: every next step (``transitions.siguientes_pasos``), who may
    take it, whether this user can now, and why not yet. On a finished object only the steps
    still open (19.1, the COZ's confirmation) are listed."""
    if obj is None:
        return []
    mias = {a["nombre"] for a in acciones_usuario}
    final = obj.estado in type(obj).FINALES
    pasos = [
        {**p, "suyo": p["nombre"] in mias, "desde": _disponible_desde(obj, p)}
        for p in transitions.siguientes_pasos(obj)
        if (p["disponible"] or not final) and not (p["nombre"] == "modificar_forma" and not obj.modificacion_pendiente)
    ]  # 19.1: only what is pending
    if final and any(p["nombre"] == "vincular_redigitacion" for p in pasos):
        # Issue 18: a cancelled case is still saved by linking its re-entry (its button stays), but
        # that is a step pending on it only while a re-entry is proposed for it.
        if not Emparejamiento.objects.filter(anulada_id=obj.pk, estado=Emparejamiento.Estado.PROPUESTO).exists():
            pasos = [p for p in pasos if p["nombre"] != "vincular_redigitacion"]
    return pasos


def correcciones_de(qs):
    """Correccion rows with who corrected them, their role as a label."""
    filas = list(qs.select_related("usuario", "solicitud").order_by("creado_at", "pk"))
    for c in filas:
        c.rol_etiqueta = Rol(c.rol).label if c.rol in Rol.values else c.rol
    return filas


@login_required
def solicitud(request, pk):
    user = request.user
    sol = get_object_or_404(
        Solicitud.objects.visibles_para(user).select_related(
            "zona", "asesor", "registrada_por", "caso", "reemplazada_por"
        ),
        pk=pk,
    )
    ahora = timezone.now()
    caso_id = sol.caso_id
    del_caso = list(
        Solicitud.objects.filter(caso_id=caso_id)
        .exclude(pk=sol.pk)
        .only("pk", "numero_smartflex", "estado", "creado_at")
        .order_by("creado_at")
    )
    orden = (
        OrdenDeTrabajo.objects.filter(solicitud=sol)
        .select_related("zona", "tecnico", "anulacion_confirmada_por")
        .first()
    )
    if orden is not None:
        sol.orden = orden  # both sides cached: the machines' conditions read them
    servicios = list(
        ServicioIngenieria.objects.visibles_para(user)
        .filter(solicitud__caso_id=caso_id)
        .select_related("solicitud", "abierto_por", "cerrado_por", "observacion")
        .order_by("creado_at", "pk")
    )
    for si in servicios:
        si.plazo = plazo(si.vence_at, ahora) if si.estado in ServicioIngenieria.ABIERTOS else None
        if si.plazo:
            si.plazo["por_que"] = si.vence_explicacion  # how the deadline was counted (4.2)
        si.acciones = acciones(si, user)
    zonificaciones = list(
        Zonificacion.objects.filter(solicitud=sol).select_related("zona_corregida", "orden").order_by("creado_at")
    )
    for z in zonificaciones:
        z.acciones = acciones(z, user)
    # Every deadline with the sentence that says how it was counted («por_que», stored with it).
    plazos = [{"que": f"{si} ({si.get_destinatario_display()})", **si.plazo} for si in servicios if si.plazo]
    if sol.estado == Solicitud.Estado.PENDIENTE_REDIGITACION and sol.redigitacion_vence_at:
        plazos.append({"que": f"Re-digitación ({etiqueta_redigitacion()}, 19.2)", **plazo_redigitacion(sol, ahora)})
    acciones_sol = acciones(sol, user)
    acciones_orden = acciones(orden, user) if orden else []
    puede_contactar = bool(roles_de(user) & {Rol.GESTION_RED, Rol.COC})
    return render(
        request,
        "solicitudes/detalle.html",
        {
            "sol": sol,
            "del_caso": del_caso,
            "orden": orden,
            "acciones_sol": acciones_sol,
            "acciones_orden": acciones_orden,
            "que_sigue_sol": que_sigue(sol, acciones_sol),
            "que_sigue_orden": que_sigue(orden, acciones_orden),
            "correcciones": correcciones_de(Correccion.objects.filter(caso_id=caso_id)),
            "reporte": reporte_de_campo(orden),
            "puede_impedimento": puede_reportar_impedimento(orden, user),
            "servicios": servicios,
            "zonificaciones": zonificaciones,
            "observaciones": Observacion.objects.filter(caso_id=caso_id).select_related("registrada_por", "solicitud"),
            "contactos": IntentoContacto.objects.filter(caso_id=caso_id).select_related("usuario"),
            "contacto_form": ContactoForm() if puede_contactar else None,
            "plazos": plazos,
            "linea_tiempo": relato.del_caso(caso_id),  # the audit rows told in words, effects under their cause
            "puede_zonificar": _puede_zonificar(orden, user),
            "riesgo": panel_de_solicitud(sol),  # issue 19: as scored at registration
        },
    )


@login_required
def orden(request, pk):
    user = request.user
    ot = get_object_or_404(
        OrdenDeTrabajo.objects.visibles_para(user).select_related(
            "zona", "tecnico", "solicitud", "solicitud__asesor", "anulacion_confirmada_por"
        ),
        pk=pk,
    )
    return render(
        request,
        "ordenes/detalle.html",
        {
            "ot": ot,
            "sol": ot.solicitud,
            "acciones_orden": acciones(ot, user),
            "observaciones": Observacion.objects.filter(orden=ot).select_related("registrada_por"),
            "linea_tiempo": relato.de_orden(ot),
            "puede_zonificar": _puede_zonificar(ot, user),
            "puede_impedimento": puede_reportar_impedimento(ot, user),
            "correcciones": correcciones_de(Correccion.objects.filter(solicitud_id=ot.solicitud_id)),
            "reporte": reporte_de_campo(ot),
        },
    )


@login_required
def solicitud_imprimir(request, pk):
    """III.1: the Solicitud de Servicio prints as an original and one copy."""
    sol = get_object_or_404(
        Solicitud.objects.visibles_para(request.user).select_related("zona", "asesor", "registrada_por"), pk=pk
    )
    orden = OrdenDeTrabajo.objects.filter(solicitud=sol).first()
    return render(
        request,
        "solicitudes/imprimir.html",
        {
            "sol": sol,
            "orden": orden,
            "ejemplares": ["ORIGINAL", "COPIA"],
            "impreso_at": timezone.now(),
            "historial": relato.del_caso(sol.caso_id),
        },
    )


@login_required
def orden_imprimir(request, pk):
    """III.1: the Orden de Trabajo prints as one original."""
    ot = get_object_or_404(
        OrdenDeTrabajo.objects.visibles_para(request.user).select_related(
            "zona", "tecnico", "solicitud", "solicitud__asesor", "anulacion_confirmada_por"
        ),
        pk=pk,
    )
    return render(
        request,
        "ordenes/imprimir.html",
        {
            "ot": ot,
            "sol": ot.solicitud,
            "impreso_at": timezone.now(),
            "reporte": reporte_de_campo(ot),
            "historial": relato.de_orden(ot),
            "correcciones": correcciones_de(Correccion.objects.filter(solicitud_id=ot.solicitud_id)),
        },
    )
