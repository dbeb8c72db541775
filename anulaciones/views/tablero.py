"""Tablero de Control (step 5.1) and the 5.2 decision taken from its rows.

The page, its htmx refresh, both exports and GET /api/v1/servicios/ read the same selector
through the same FilterSet (the exports also in the table's order), so they list the same SIs.
"""

import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponseBadRequest, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from .. import selectors, transitions
from ..errors import DatosInvalidos, ErrorDominio, SinPermiso
from ..exportar import celda_xlsx, csv_en_flujo
from ..filters import TableroFilter
from ..forms import CAMPO_NOTA, es_entrega, formulario_de_pagina
from ..models import Solicitud
from ..tables import (
    ACCIONES_TABLERO,
    BORRADOR_SESION,
    ConfiguracionAcotada,
    TableroTable,
    columnas_exportacion,
    fila_exportacion,
)
from . import acciones
from .comun import entero

# The list of today's high-risk registrations (issue 19), as the Tablero links to it.
ALTO_RIESGO_HOY = "riesgo_banda=alto&registrada=hoy"


def _rechazo(request, mensaje, status=403):
    return render(request, "tablero/rechazo.html", {"mensaje": mensaje}, status=status)


def _sin_acceso(request):
    return _rechazo(request, "Su rol no tiene acceso al Tablero de Control.")


def _tabla(request, *, acciones, paginar):
    filtro = TableroFilter(
        request.GET, queryset=selectors.servicios_tablero(user=request.user, acciones=acciones), request=request
    )
    # Configured (sorted, paginated) once, by ConfiguracionAcotada below.
    tabla = TableroTable(filtro.qs, vista=request.GET.get("vista"))
    ConfiguracionAcotada(
        request, paginate={"per_page": settings.ANULACIONES_TABLERO_POR_PAGINA} if paginar else False
    ).configure(tabla)
    return filtro, tabla


@require_GET
@login_required
def tablero(request):
    if not selectors.puede_ver_tablero(request.user):
        return _sin_acceso(request)
    filtro, tabla = _tabla(request, acciones=True, paginar=True)
    ahora = timezone.now()
    parcial = request.headers.get("HX-Request") == "true"
    # A cancellation refused on its data comes back once, on the full page after the redirect
    # (an htmx refresh must not consume it).
    borrador = None if parcial else request.session.pop(BORRADOR_SESION, None)
    contexto = {
        "filtro": filtro,
        "tabla": tabla.preparar(request, ahora, borrador=borrador),
        "ahora": ahora,
        # Drawn here by their templates rather than from deep inside the page's, where CPython 3.11
        # kept allocating and freeing a chunk of its frame stack in their loops (2-3x slower).
        "tabla_html": tabla.html(request),
        "filtros_html": None if parcial else filtro.form.as_div(),
        "refresco_ms": int(settings.ANULACIONES_TABLERO_REFRESCO * 1000),
        "consulta": request.GET.urlencode(),
        "vista": request.GET.get("vista", ""),
        "presets": (("", "Todos los abiertos"),) + TableroFilter.PRESETS,
        # Issue 19: today's high-risk registrations, a link to their list (one COUNT, full page only).
        "alto_riesgo_hoy": None if parcial else selectors.alto_riesgo_hoy(user=request.user).count(),
        "alto_riesgo_url": f"{reverse('solicitudes')}?{ALTO_RIESGO_HOY}",
    }
    plantilla = "tablero/_tabla.html" if parcial else "tablero/tablero.html"
    respuesta = render(request, plantilla, contexto)
    patch_vary_headers(respuesta, ["HX-Request"])
    return respuesta


@require_POST
@login_required
def decidir(request, pk):
    """5.2 from a row: ``asignar_instalacion`` or ``anular`` (with ``motivo`` and, when the
    case needs it, ``justificacion``) on the Solicitud, through the transition path; back to the
    Tablero with its filters and page. A cancellation refused on its data (no reason, a missing
    justification) comes back as a message and, on its row, open with what was typed.

    Both decisions ask once (issue 15.7): without ``confirmado=1`` the decision is tried and rolled
    back (``acciones.ensayar``: what would be refused is refused now, as above) and the answer is
    a confirmation page naming the case and its client. «Asignar para instalación» hands the case
    to the field: its confirmation takes the optional note for the receiver (issue 15.8)."""
    if not selectors.puede_ver_tablero(request.user):
        return _sin_acceso(request)
    accion = request.POST.get("accion", "")
    if accion not in ACCIONES_TABLERO:
        return HttpResponseBadRequest("Decisión desconocida.")
    solicitud = get_object_or_404(Solicitud.objects.visibles_para(request.user), pk=pk)  # out of scope = missing
    datos = {}
    if accion == "anular":
        datos = {"motivo": request.POST.get("motivo", ""), "justificacion": request.POST.get("justificacion", "")}
    form_nota = formulario_de_pagina(Solicitud, accion)(request.POST) if es_entrega(Solicitud, accion) else None
    nota_valida = form_nota is None or form_nota.is_valid()
    nota = form_nota.cleaned_data[CAMPO_NOTA].strip() if form_nota is not None and nota_valida else ""
    version = request.POST.get("version", "")
    origen = solicitud.estado
    # An invalid note (too long) is asked again on the confirmation, with its error.
    pedir = acciones.es_irreversible(Solicitud, accion) and not (acciones.confirmado(request) and nota_valida)
    volver = QueryDict(request.POST.get("volver", "")).urlencode()
    url_volver = f"{reverse('tablero')}?{volver}" if volver else reverse("tablero")
    try:
        (acciones.ensayar if pedir else transitions.aplicar)(
            solicitud, accion, request.user, version=entero(version), nota=nota, **datos
        )
    except SinPermiso as e:
        return _rechazo(request, e.mensaje)
    except DatosInvalidos as e:
        messages.error(request, " ".join([e.mensaje, *e.errores.values()]))
        if accion == "anular":
            request.session[BORRADOR_SESION] = {
                "solicitud": solicitud.pk,
                **datos,
                "error": " ".join(e.errores.values()),
            }
    except ErrorDominio as e:
        messages.error(request, e.mensaje)
    else:
        if pedir:
            t = transitions.transiciones(Solicitud)[accion]
            resumen = [
                (etiqueta, valor.strip())
                for etiqueta, valor in (
                    ("Motivo de la anulación", datos.get("motivo", "")),
                    ("Justificación", datos.get("justificacion", "")),
                )
                if valor.strip()
            ]
            return render(
                request,
                "acciones/transicion.html",
                acciones.contexto_confirmacion(
                    request,
                    solicitud,
                    etiqueta=t.custom.get("label", accion),
                    paso=transitions.paso_de(t, t.permission.rol_para(solicitud, request.user)),
                    consecuencia=acciones.IRREVERSIBLES[(Solicitud, accion)],
                    accion=request.path,
                    volver=url_volver,
                    form=form_nota,
                    datos=resumen,
                    anula=accion == "anular",
                ),
            )
        if accion == "asignar_instalacion":
            hecho = "asignada para instalación"
        elif origen == Solicitud.E.PENDIENTE_REDIGITACION:
            hecho = "anulada en definitiva: re-digitación no registrada (19.2)"
        else:
            hecho = "anulada"
        messages.success(request, f"{solicitud} {hecho}.")
    return redirect(url_volver)


def _filas_exportacion(request):
    _, tabla = _tabla(request, acciones=False, paginar=False)
    return tabla.data.data  # the filtered queryset, in the table's order


@require_GET
@login_required
def exportar_csv(request):
    if not selectors.puede_ver_tablero(request.user):
        return _sin_acceso(request)
    qs = _filas_exportacion(request)
    ahora, vista = timezone.now(), request.GET.get("vista")

    def filas():
        yield columnas_exportacion(vista)
        for si in qs.iterator(chunk_size=2000):
            yield [f"{v:%d/%m/%Y %H:%M}" if hasattr(v, "strftime") else v for v in fila_exportacion(si, ahora, vista)]

    respuesta = StreamingHttpResponse(csv_en_flujo(filas()), content_type="text/csv; charset=utf-8")
    respuesta["Content-Disposition"] = f'attachment; filename="tablero-{timezone.localdate():%Y%m%d}.csv"'
    return respuesta


@require_GET
@login_required
def exportar_xlsx(request):
    if not selectors.puede_ver_tablero(request.user):
        return _sin_acceso(request)
    qs = _filas_exportacion(request)
    ahora, vista = timezone.now(), request.GET.get("vista")
    libro = Workbook(write_only=True)  # rows go straight to the file: flat memory
    hoja = libro.create_sheet("Tablero de Control")
    hoja.append(columnas_exportacion(vista))
    for si in qs.iterator(chunk_size=2000):
        fila = []
        for valor in fila_exportacion(si, ahora, vista):
            if hasattr(valor, "strftime"):
                celda = WriteOnlyCell(hoja, value=valor)
                celda.number_format = "DD/MM/YYYY HH:MM"
                fila.append(celda)
            else:
                fila.append(celda_xlsx(hoja, valor))  # user text (number, names, request) stays text
        hoja.append(fila)
    archivo = tempfile.TemporaryFile()
    libro.save(archivo)
    archivo.seek(0)
    return FileResponse(
        archivo,
        as_attachment=True,
        filename=f"tablero-{timezone.localdate():%Y%m%d}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
