"""Every step that takes input posts here. One generic view for all transitions: it calls
``transitions.aplicar`` and turns domain errors into form errors (400), 403, or a message."""
import inspect

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django_fsm import can_proceed

from .. import direcciones, transitions
from ..errors import Conflicto, DatosInvalidos, SinPermiso, TransicionNoPermitida
from ..forms import ContactoForm, ImpedimentoForm, SolicitudForm, ZonificacionForm, formulario_de
from ..models import OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion
from ..roles import roles_de
from .comun import MODELOS, siguiente, url_detalle, visibles


def prohibido(request, mensaje, status=403):
    return render(request, "403.html", {"mensaje": mensaje}, status=status)


def _version(request):
    """The version of the object the user saw (hidden field; on GET, carried by the button's link)."""
    try:
        return int((request.POST if request.method == "POST" else request.GET)["version"])
    except (KeyError, ValueError):
        return None


def _crear_form(clase, data, obj, usuario):
    params = inspect.signature(clase.__init__).parameters
    kwargs = {}
    if "objeto" in params:
        kwargs["objeto"] = obj
    if "usuario" in params:
        kwargs["usuario"] = usuario
    return clase(data, **kwargs) if data is not None else clase(**kwargs)


def errores_a_formulario(form, error):
    """DatosInvalidos.errores -> the form's field errors (unknown keys go on top)."""
    for campo, mensaje in (error.errores or {"__all__": error.mensaje}).items():
        form.add_error(campo if form is not None and campo in form.fields else None, mensaje)


@login_required
@require_http_methods(["GET", "POST"])
def transicion(request, modelo, pk, nombre):
    Modelo = MODELOS.get(modelo)
    if Modelo is None or nombre not in transitions.transiciones(Modelo):
        raise Http404("Transición desconocida.")
    # Out of the user's scope answers as a missing object (404): ids cannot be probed. A 403
    # is only for an object the user sees but whose transition the role may not take.
    obj = get_object_or_404(visibles(Modelo, request.user), pk=pk)
    t = transitions.transiciones(Modelo)[nombre]
    etiqueta = t.custom.get("label", nombre)
    volver = siguiente(request, url_detalle(obj))
    clase = formulario_de(Modelo, nombre)
    form = None
    status = 200
    if request.method == "POST":
        form = _crear_form(clase, request.POST, obj, request.user) if clase else None
        if form is None or form.is_valid():
            if form is None:
                datos = {}
            elif hasattr(form, "datos"):
                datos = form.datos()
            else:
                datos = {k: v for k, v in form.cleaned_data.items() if not (k == "tecnico" and v is None)}
            try:
                transitions.aplicar(obj, nombre, request.user, version=_version(request), **datos)
            except SinPermiso as e:
                return prohibido(request, e.mensaje)
            except (TransicionNoPermitida, Conflicto) as e:
                messages.error(request, e.mensaje)
                return redirect(volver)
            except DatosInvalidos as e:
                if form is None:
                    messages.error(request, " ".join(e.errores.values()) or e.mensaje)
                    return redirect(volver)
                errores_a_formulario(form, e)
            else:
                messages.success(request, f"«{etiqueta}» registrado en {obj}.")
                return redirect(volver)
        status = 400
    else:
        if t.permission.rol_para(obj, request.user) is None:
            return prohibido(request, f"Su rol no permite «{etiqueta}» en {obj}.")
        if not can_proceed(getattr(obj, nombre)):
            messages.error(request, f"No se puede «{etiqueta}»: {obj} está «{obj.get_estado_display()}».")
            return redirect(volver)
        form = _crear_form(clase, None, obj, request.user) if clase else None
    return render(request, "acciones/transicion.html", {
        "obj": obj, "form": form, "etiqueta": etiqueta, "paso": transitions.paso_de(t, t.permission.rol_para(obj, request.user)),
        "version": obj.version if _version(request) is None else _version(request),
        "volver": volver, "peligro": nombre in {"anular", "ratificar_anulacion", "coordinar_anulacion",
                                                "anular_para_redigitacion"},
        "duplicada": getattr(form, "duplicada", None),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def solicitud_nueva(request):
    """Step 1."""
    if not set(Solicitud.ROLES_CREACION.roles) & roles_de(request.user):
        return prohibido(request, "Su rol no registra solicitudes.")
    if request.method == "POST":
        form = SolicitudForm(request.POST, usuario=request.user)
        if form.is_valid():
            datos = form.datos()
            # Issue 7: the address is checked against the knowledge; the asesor may correct it or
            # save anyway ("Guardar de todos modos"), and the accepted warning is kept on the Solicitud.
            advertencias = direcciones.verificar(calle=datos["calle"], zona=datos["zona"],
                                                 referencias=datos["referencias"], caja_nap=datos["caja_nap"])
            if advertencias and not request.POST.get("guardar_de_todos_modos"):
                return render(request, "solicitudes/form.html", {
                    "form": form, "duplicada": form.duplicada, "advertencias": advertencias})
            if advertencias:
                datos.update(advertencias_direccion=advertencias, advertencia_aceptada=True)
            try:
                nueva = transitions.crear_solicitud(request.user, **datos)
            except SinPermiso as e:
                return prohibido(request, e.mensaje)
            except DatosInvalidos as e:
                errores_a_formulario(form, e)
            else:
                messages.success(request, f"{nueva} registrada (paso 1).")
                return redirect("solicitud", nueva.pk)
        status = 400
    else:
        form = SolicitudForm(usuario=request.user)
        status = 200
    return render(request, "solicitudes/form.html", {"form": form, "duplicada": form.duplicada}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def zonificacion_nueva(request, pk):
    """Step 20.1: the zonification form of an executed OT."""
    orden = get_object_or_404(OrdenDeTrabajo.objects.visibles_para(request.user).select_related("solicitud"), pk=pk)
    if Zonificacion.ROLES_CREACION.rol_para(Zonificacion(orden=orden), request.user) is None:
        return prohibido(request, "Solo Gestión de Red recibe formularios de zonificación.")
    if request.method == "POST":
        form = ZonificacionForm(request.POST)
        if form.is_valid():
            try:
                transitions.recibir_zonificacion(orden, request.user, **form.cleaned_data)
            except SinPermiso as e:
                return prohibido(request, e.mensaje)
            except DatosInvalidos as e:
                errores_a_formulario(form, e)
            else:
                messages.success(request, f"Zonificación de la {orden} recibida (20.1).")
                return redirect("solicitud", orden.solicitud_id)
        status = 400
    else:
        form = ZonificacionForm(initial={"zona_corregida": orden.zona_id, "calle": orden.solicitud.calle})
        status = 200
    return render(request, "ordenes/zonificacion.html", {
        "form": form, "orden": orden, "puede_impedimento": puede_reportar_impedimento(orden, request.user)},
        status=status)


def puede_reportar_impedimento(orden, user):
    """20.2: Gestión de Red / the COC report an impediment on an executed OT as an SI."""
    return (orden is not None and orden.estado == OrdenDeTrabajo.Estado.EJECUTADA
            and ServicioIngenieria.ROLES_CREACION.rol_para(ServicioIngenieria(solicitud=orden.solicitud), user)
            is not None)


@login_required
@require_http_methods(["GET", "POST"])
def impedimento_nuevo(request, pk):
    """Step 20.2: an impediment (OT not closed by Operations, commercial, system) as an SI of
    tipo impedimento, from the OT page or the zonification rows of the case page."""
    orden = get_object_or_404(OrdenDeTrabajo.objects.visibles_para(request.user).select_related("solicitud"), pk=pk)
    if ServicioIngenieria.ROLES_CREACION.rol_para(ServicioIngenieria(solicitud=orden.solicitud), request.user) is None:
        return prohibido(request, "Solo Gestión de Red y el COC reportan impedimentos (20.2).")
    volver = siguiente(request, url_detalle(orden.solicitud))
    if orden.estado != OrdenDeTrabajo.Estado.EJECUTADA:
        messages.error(request, f"Los impedimentos (20.2) se reportan sobre una OT ejecutada; {orden} está "
                                f"«{orden.get_estado_display()}».")
        return redirect(volver)
    if request.method == "POST":
        form = ImpedimentoForm(request.POST)
        if form.is_valid():
            try:
                si = transitions.abrir_servicio(orden.solicitud, request.user,
                                                tipo=ServicioIngenieria.Tipo.IMPEDIMENTO, **form.datos())
            except SinPermiso as e:
                return prohibido(request, e.mensaje)
            except DatosInvalidos as e:
                errores_a_formulario(form, e)
            else:
                messages.success(request, f"Impedimento reportado (20.2): {si} para {si.get_destinatario_display()}.")
                return redirect(volver)
        status = 400
    else:
        form = ImpedimentoForm()
        status = 200
    return render(request, "ordenes/impedimento.html", {"form": form, "orden": orden, "volver": volver},
                  status=status)


@login_required
@require_POST
def contacto_nuevo(request, pk):
    """3.3: an attempt to reach the subscriber, recorded on the case page."""
    sol = get_object_or_404(Solicitud.objects.visibles_para(request.user), pk=pk)
    form = ContactoForm(request.POST)
    if form.is_valid():
        try:
            transitions.registrar_contacto(sol, request.user, **form.cleaned_data)
        except SinPermiso as e:
            return prohibido(request, e.mensaje)
        except DatosInvalidos as e:
            messages.error(request, " ".join(e.errores.values()))
        else:
            messages.success(request, "Intento de contacto registrado (3.3).")
    else:
        messages.error(request, "Revise el intento de contacto: " + " ".join(
            f"{form.fields[c].label}: {' '.join(m)}" for c, m in form.errors.items() if c in form.fields))
    return redirect(siguiente(request, url_detalle(sol)))
