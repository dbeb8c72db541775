"""Every step that takes input posts here. One generic view for all transitions: it asks
``transitions.comprobar`` before showing a form, calls ``transitions.aplicar`` and turns domain
errors into form errors (400), 403, or a message."""

import inspect
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .. import direcciones, reloj, riesgo, transitions
from ..calendario import plazo
from ..errors import Conflicto, DatosInvalidos, SinPermiso, TransicionNoPermitida
from ..forms import CAMPO_NOTA, ContactoForm, ImpedimentoForm, SolicitudForm, ZonificacionForm, formulario_de_pagina
from ..models import MAQUINAS, OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion
from ..roles import roles_de
from . import riesgo as vistas_riesgo
from .comun import MODELOS, PELIGROSAS, siguiente, url_detalle, visibles


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


# --- irreversible actions ask once (issue 15.7) ---------------------------------------------
# Declared on the transitions (``custom["confirmar"]``, ``custom["anula"]``); read here for
# this view and the Tablero's 5.2 decision (views.tablero.decidir).
IRREVERSIBLES = transitions.irreversibles(MAQUINAS)
# Posted fields that are the page's own, never echoed by the confirmation.
_NO_REENVIAR = {"csrfmiddlewaretoken", "confirmado", "corregir"}


def es_irreversible(modelo, nombre):
    return (modelo, nombre) in IRREVERSIBLES


def confirmado(request):
    return request.POST.get("confirmado") == "1"


class _Ensayo(Exception):
    """Raised inside the trial's transaction to roll it back."""


def ensayar(obj, nombre, usuario, **kwargs):
    """Take the transition and roll it back: it raises the same domain error ``aplicar`` would
    (role, state, data, version), so the confirmation is asked only for what would succeed, and
    after it nothing is asked twice. Nothing stays: the audit row and its notices are rolled
    back, and what runs after a commit (``transicion_realizada``, e-mail) is never queued."""
    try:
        with transaction.atomic():
            transitions.aplicar(obj, nombre, usuario, refrescar=False, **kwargs)
            raise _Ensayo
    except _Ensayo:
        pass


def solicitud_de(obj):
    return obj if isinstance(obj, Solicitud) else obj.solicitud


def _valor_legible(campo, valor):
    """A cleaned value as the user chose it (choice labels, names), for the confirmation."""
    if isinstance(valor, bool):
        return "Sí" if valor else "No"
    if isinstance(valor, (list, tuple)):
        etiquetas = dict(getattr(campo, "choices", ()))
        return ", ".join(str(etiquetas.get(v, v)) for v in valor)
    if getattr(campo, "choices", None) and not hasattr(campo, "queryset"):
        return str(dict(campo.choices).get(valor, valor))
    return "" if valor is None else str(valor)


def resumen(form, omitir=(CAMPO_NOTA,)):
    """[(label, value)] of what was typed, for the confirmation page."""
    if form is None:
        return []
    filas = []
    for nombre, campo in form.fields.items():
        if nombre in omitir or campo.widget.is_hidden:
            continue
        texto = _valor_legible(campo, form.cleaned_data.get(nombre)).strip()
        if texto:
            filas.append((campo.label, texto))
    return filas


def contexto_confirmacion(
    request, obj, *, etiqueta, paso, consecuencia, accion, volver, form=None, datos=(), anula=False, ocultos=None
):
    """The confirmation page (templates/acciones/transicion.html): the case's number and client,
    what confirming does, what was typed, and the posted fields sent again with ``confirmado=1``.
    The hand-off note, if the transition takes one, stays editable."""
    sol = solicitud_de(obj)
    nota = form[CAMPO_NOTA] if form is not None and CAMPO_NOTA in form.fields else None
    omitidos = _NO_REENVIAR | ({CAMPO_NOTA} if nota is not None else set())
    if ocultos is None:
        ocultos = [(k, v) for k, valores in request.POST.lists() if k not in omitidos for v in valores]
    return {
        "confirmar": True,
        "obj": obj,
        "sol": sol,
        "objeto": None if obj is sol else obj,
        "etiqueta": etiqueta,
        "paso": paso,
        "consecuencia": consecuencia,
        "accion": accion,
        "volver": volver,
        "ocultos": ocultos,
        "resumen": list(datos) or resumen(form),
        "campo_nota": nota,
        "corregible": form is not None and any(n != CAMPO_NOTA for n in form.fields),
        "peligro": True,
        "anula": anula,
    }


def que_corregir(obj):
    """19.2: what the re-digitation must fix — the «datos precisos observados» of the case's
    re-digitation SI (9.1), the observation behind it and the deadline."""
    si = (
        obj.servicios.filter(tipo=ServicioIngenieria.Tipo.REDIGITACION)
        .select_related("abierto_por")
        .order_by("-creado_at", "-pk")
        .first()
    )
    return {
        "servicio": si,
        "observacion": obj.ultima_observacion(),
        "plazo": plazo_redigitacion(obj),
        "plazo_etiqueta": etiqueta_redigitacion(),
    }


def etiqueta_redigitacion():
    """How long the re-digitation has (19.2), as its deadline is labelled: «2 horas hábiles», or
    «2 horas de reloj» when ANULACIONES_REDIGITACION_MODO is "reloj"."""
    horas = settings.ANULACIONES_REDIGITACION_HORAS
    if horas == int(horas):
        cuanto = "1 hora" if int(horas) == 1 else f"{int(horas)} horas"
    else:
        cuanto = reloj.duracion_texto(timedelta(hours=horas))
    return f"{cuanto} {'de reloj' if reloj.modo_redigitacion() == 'reloj' else 'hábiles'}"


def plazo_redigitacion(sol, ahora=None):
    """The re-digitation's deadline (``calendario.plazo``) with ``por_que``: the stored sentence
    saying how it was counted (``Solicitud.redigitacion_explicacion``); None without one."""
    p = plazo(sol.redigitacion_vence_at, ahora)
    return {**p, "por_que": sol.redigitacion_explicacion} if p else None


def _datos(form):
    """The transition's keyword data from a valid form (the hand-off note apart)."""
    if form is None:
        return {}
    if hasattr(form, "datos"):
        datos = form.datos()
    else:
        datos = {k: v for k, v in form.cleaned_data.items() if not (k == "tecnico" and v is None)}
    datos.pop(CAMPO_NOTA, None)
    return datos


def _nota(form):
    return (form.cleaned_data.get(CAMPO_NOTA) or "").strip() if form is not None else ""


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
    clase = formulario_de_pagina(Modelo, nombre)
    irreversible = bool(transitions.consecuencia(Modelo, nombre))

    def confirmacion(form, **extra):
        """The confirmation page of an irreversible step (issue 15.7), naming the case."""
        return render(
            request,
            "acciones/transicion.html",
            contexto_confirmacion(
                request,
                obj,
                etiqueta=etiqueta,
                paso=_paso(t, obj, request.user),
                consecuencia=transitions.consecuencia(Modelo, nombre),
                accion=request.path,
                volver=volver,
                form=form,
                anula=transitions.anula(Modelo, nombre),
                **extra,
            ),
        )

    form = None
    status = 200
    if request.method == "POST":
        form = _crear_form(clase, request.POST, obj, request.user) if clase else None
        valido = form is None or form.is_valid()
        if valido and form is not None and "corregir" in request.POST:
            pass  # «Corregir los datos» on the confirmation: the form again, with what was typed
        elif valido:
            pedir = irreversible and not confirmado(request)
            datos = dict(version=_version(request), nota=_nota(form), **_datos(form))
            try:
                if pedir:
                    ensayar(obj, nombre, request.user, **datos)
                else:  # the object as saved: the message and the redirect need no read back
                    obj = transitions.aplicar(obj, nombre, request.user, refrescar=False, **datos)
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
                status = 400
            else:
                if pedir:
                    return confirmacion(form)
                messages.success(request, f"«{etiqueta}» registrado en {obj}.")
                if nombre in ("registrar_redigitacion", "vincular_redigitacion") and obj.reemplazada_por_id:
                    return redirect("solicitud", obj.reemplazada_por_id)  # 19.2: on to the new Solicitud
                return redirect(volver)
        else:
            status = 400
    else:
        rechazo = transitions.comprobar(obj, nombre, request.user)  # the path's own refusal, worded once
        if isinstance(rechazo, SinPermiso):
            return prohibido(request, rechazo.mensaje)
        if rechazo is not None:
            messages.error(request, rechazo.mensaje)
            return redirect(volver)
        form = _crear_form(clase, None, obj, request.user) if clase else None
        if irreversible and (form is None or not any(c.required for c in form.fields.values())):
            # Nothing to type but (maybe) the note: this page is the confirmation.
            version = obj.version if _version(request) is None else _version(request)
            return confirmacion(form, ocultos=[("version", version), ("next", volver)])
    return render(
        request,
        "acciones/transicion.html",
        {
            "obj": obj,
            "sol": solicitud_de(obj),
            "form": form,
            "etiqueta": etiqueta,
            "paso": _paso(t, obj, request.user),
            "version": obj.version if _version(request) is None else _version(request),
            "volver": volver,
            "peligro": nombre in PELIGROSAS,
            "irreversible": irreversible,
            "anula": transitions.anula(Modelo, nombre),
            "duplicada": getattr(form, "duplicada", None),
            "a_corregir": que_corregir(obj) if nombre == "registrar_redigitacion" else None,
        },
        status=status,
    )


def _paso(t, obj, user):
    return transitions.paso_de(t, t.permission.rol_para(obj, user))


@login_required
@require_http_methods(["GET", "POST"])
def solicitud_nueva(request):
    """Step 1."""
    if not set(Solicitud.ROLES_CREACION.roles) & roles_de(request.user):
        return prohibido(request, "Su rol no registra solicitudes.")
    if request.method == "POST":
        form = SolicitudForm(request.POST, usuario=request.user)
        # Issue 19: the risk of observation or cancellation of what was typed (the form's panel,
        # also without JavaScript: it appears after the submit).
        previa = riesgo.vista_previa(vistas_riesgo.datos_de_riesgo(request.POST, request.user))
        panel = vistas_riesgo.panel_de_previa(previa)
        if form.is_valid():
            datos = form.datos()
            # Issue 7: the address is checked against the knowledge; the asesor may correct it or
            # save anyway ("Guardar de todos modos"), and the accepted warning is kept on the Solicitud.
            advertencias = direcciones.verificar(
                calle=datos["calle"], zona=datos["zona"], referencias=datos["referencias"], caja_nap=datos["caja_nap"]
            )
            # Issue 19: a high risk asks once. «Registrar de todos modos» registers as it is, with
            # everything shown on that page (the address warnings too), and the choice is recorded.
            alto = previa.get("banda") == "alto"
            de_todos_modos = bool(request.POST.get("registrar_de_todos_modos")) and alto
            acepta_direccion = bool(request.POST.get("guardar_de_todos_modos")) or de_todos_modos
            if (advertencias and not acepta_direccion) or (alto and not de_todos_modos):
                return render(
                    request,
                    "solicitudes/form.html",
                    {
                        "form": form,
                        "duplicada": form.duplicada,
                        "advertencias": advertencias,
                        "riesgo": panel,
                        "confirmar_riesgo": alto,
                    },
                )
            if advertencias:
                datos.update(advertencias_direccion=advertencias, advertencia_aceptada=True)
            if de_todos_modos:
                datos["riesgo_aceptado"] = True
            try:
                nueva = transitions.crear_solicitud(request.user, **datos)
            except SinPermiso as e:
                return prohibido(request, e.mensaje)
            except DatosInvalidos as e:
                errores_a_formulario(form, e)
            else:
                messages.success(request, f"{nueva} registrada (paso 1).{_riesgo_registrado(nueva)}")
                return redirect("solicitud", nueva.pk)
        status = 400
    else:
        form = SolicitudForm(usuario=request.user)
        status = 200
        panel = None
    return render(
        request, "solicitudes/form.html", {"form": form, "duplicada": form.duplicada, "riesgo": panel}, status=status
    )


def _riesgo_registrado(sol):
    """The success message's sentence on the risk scored at registration (issue 19)."""
    texto = vistas_riesgo.BANDAS.get(sol.riesgo_banda)
    if texto is None:
        return ""
    return f" Riesgo de observación o anulación: {texto}" + (
        " (registrada de todos modos)." if sol.riesgo_aceptado else "."
    )


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
    return render(
        request,
        "ordenes/zonificacion.html",
        {"form": form, "orden": orden, "puede_impedimento": puede_reportar_impedimento(orden, request.user)},
        status=status,
    )


def puede_reportar_impedimento(orden, user):
    """20.2: Gestión de Red / the COC report an impediment on an executed OT as an SI."""
    return (
        orden is not None
        and orden.estado == OrdenDeTrabajo.Estado.EJECUTADA
        and ServicioIngenieria.ROLES_CREACION.rol_para(ServicioIngenieria(solicitud=orden.solicitud), user) is not None
    )


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
        messages.error(
            request,
            f"Los impedimentos (20.2) se reportan sobre una OT ejecutada; {orden} está «{orden.get_estado_display()}».",
        )
        return redirect(volver)
    if request.method == "POST":
        form = ImpedimentoForm(request.POST)
        if form.is_valid():
            try:
                si = transitions.abrir_servicio(
                    orden.solicitud, request.user, tipo=ServicioIngenieria.Tipo.IMPEDIMENTO, **form.datos()
                )
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
    return render(request, "ordenes/impedimento.html", {"form": form, "orden": orden, "volver": volver}, status=status)


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
        messages.error(
            request,
            "Revise el intento de contacto: "
            + " ".join(f"{form.fields[c].label}: {' '.join(m)}" for c, m in form.errors.items() if c in form.fields),
        )
    return redirect(siguiente(request, url_detalle(sol)))
