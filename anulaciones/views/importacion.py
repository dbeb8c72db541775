"""Smartflex import page (GESTION_RED, COC): upload, progress polled with htmx, the report of
every bad row; and the CSV export of the period's cancellations and re-digitations.

Uploads are bounded before they are stored (``limitar_subida``, also used by the GIS layer page):
a request whose Content-Length already exceeds ``ANULACIONES_IMPORTACION_MAX_MB`` is answered
413 without reading its body; otherwise an upload handler stops storing the file as soon as it
passes the limit (a chunked or lying request), and the form says so."""

from datetime import date
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction
from django.http import HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from .. import importacion
from ..exportar import csv_en_flujo
from ..models import ImportacionSmartflex
from ..reports.indicador import Periodo
from ..roles import roles_de
from ..selectors import fecha_admisible

ROLES = importacion.ROLES
# What a multipart request carries besides the file (boundaries, the CSRF token, a checkbox).
HOLGURA_MULTIPART = 64 * 1024


def _exigir(request):
    if not roles_de(request.user) & ROLES:
        raise PermissionDenied("Solo Gestión de Red y el COC importan desde Smartflex.")


# --- the upload limit --------------------------------------------------------------------------
class LimiteDeSubida(FileUploadHandler):
    """First upload handler: counts the bytes of each file and stops the upload (the rest of the
    body is read and dropped, nothing stored) when one passes the limit."""

    def __init__(self, request, maximo):
        super().__init__(request)
        self.maximo = maximo

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.maximo:
            self.request.subida_excedida = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def _largo_declarado(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def limitar_subida(vista):
    """Decorator of an upload view. Sets ``request.subida_excedida`` when the upload passed the
    limit, for the view to answer with ``rechazo_por_tamano`` before anything else. The CSRF check
    runs as usual, once the upload handler is in place (it reads the body); a request refused by
    its Content-Length changes nothing and never has its body read, so it needs no token."""

    @csrf_exempt
    @wraps(vista)
    def envuelta(request, *args, **kwargs):
        request.subida_excedida = False
        if request.method == "POST":
            maximo = importacion.limites().bytes
            largo = _largo_declarado(request)
            if largo > maximo + HOLGURA_MULTIPART:
                request.subida_excedida = True
                request._post, request._files = QueryDict(), MultiValueDict()  # the body stays unread
                return vista(request, *args, **kwargs)
            request.upload_handlers.insert(0, LimiteDeSubida(request, maximo))
        return csrf_protect(vista)(request, *args, **kwargs)

    return envuelta


def quiere_json(request):
    return "application/json" in request.headers.get("Accept", "") and "text/html" not in request.headers.get(
        "Accept", ""
    )


def rechazo_por_tamano(request, form, campo, plantilla, contexto):
    """413 with the form and the size message (or JSON for a client that asks for it)."""
    mensaje = importacion.mensaje_tamano()
    if quiere_json(request):
        return JsonResponse(
            {"detail": mensaje, "errores": {campo: mensaje}}, status=413, json_dumps_params={"ensure_ascii": False}
        )
    form.errors.pop(campo, None)  # "this field is required": the file was dropped, say why
    form.add_error(campo, mensaje)
    return render(request, plantilla, {**contexto, "form": form}, status=413)


class SubirForm(forms.Form):
    archivo = forms.FileField(label="Archivo de Smartflex (CSV o XLSX)")
    aceptar_validas = forms.BooleanField(
        required=False, label="Si hay filas con errores, importar igualmente las filas válidas"
    )

    def clean_archivo(self):
        f = self.cleaned_data["archivo"]
        if f.size > importacion.limites().bytes:
            raise forms.ValidationError(importacion.mensaje_tamano(f.size), code="tamano")
        if not f.name.lower().endswith((".csv", ".xlsx", ".txt")):
            raise forms.ValidationError("Suba un archivo .csv o .xlsx exportado de Smartflex.")
        return f


MENSAJE_SIN_COLA = (
    "El servicio de tareas no responde en este momento: el archivo quedó guardado y en cola, y se "
    "importará automáticamente en cuanto vuelva (en unos minutos). No hace falta subirlo otra vez."
)


@limitar_subida
@login_required
def importar(request):
    _exigir(request)
    form = SubirForm(request.POST, request.FILES) if request.method == "POST" else SubirForm()
    hoy = timezone.localdate()
    contexto = {
        "form": form,
        "columnas": importacion.COLUMNAS,
        "requeridas": importacion.REQUERIDAS,
        "importaciones": ImportacionSmartflex.objects.select_related("usuario")[:20],
        "desde": hoy.replace(day=1).isoformat(),
        "hasta": hoy.isoformat(),
    }
    if request.method == "POST" and request.subida_excedida:
        form.is_valid()
        return rechazo_por_tamano(request, form, "archivo", "importacion/importar.html", contexto)
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["archivo"]
        imp = ImportacionSmartflex.objects.create(
            archivo=f, nombre=f.name[:255], usuario=request.user, aceptar_validas=form.cleaned_data["aceptar_validas"]
        )
        # Published at once (no transaction is open here); with the broker down the import stays
        # «en cola» for the periodic pickup, and the page says so instead of failing.
        if importacion.encolar_importacion(imp).publicado is False:
            messages.warning(request, MENSAJE_SIN_COLA)
        return redirect("importacion", pk=imp.pk)
    status = 413 if request.method == "POST" and form.has_error("archivo", "tamano") else 200
    return render(request, "importacion/importar.html", contexto, status=status)


def _contexto(imp):
    # Only the first ANULACIONES_IMPORTACION_MAX_ERRORES errors are kept; total_errores counts them all.
    return {
        "imp": imp,
        "errores": imp.errores,
        "avisos": imp.avisos,
        "mas_errores": max(0, (imp.total_errores or 0) - len(imp.errores)),
    }


@login_required
def importacion_detalle(request, pk):
    _exigir(request)
    imp = get_object_or_404(ImportacionSmartflex.objects.select_related("usuario"), pk=pk)
    parcial = request.headers.get("HX-Request") == "true"  # the htmx poll asks for the fragment only
    plantilla = "importacion/_progreso.html" if parcial else "importacion/detalle.html"
    return render(request, plantilla, _contexto(imp))


@login_required
@require_POST
def importacion_aceptar(request, pk):
    """Import the good rows of a file that was refused for its errors."""
    _exigir(request)
    with transaction.atomic():
        imp = get_object_or_404(ImportacionSmartflex.objects.select_for_update(), pk=pk)
        if imp.etapa == imp.Etapa.CON_ERRORES and not imp.aceptar_validas:
            imp.aceptar_validas = True
            imp.etapa = imp.Etapa.PENDIENTE
            imp.errores, imp.avisos, imp.total_errores, imp.total_avisos = [], [], 0, 0
            imp.save()
            importacion.encolar_importacion(imp)  # after the commit
    return redirect("importacion", pk=pk)


@login_required
def muestra(request):
    """The sample Smartflex file shipped in docs/muestras/."""
    _exigir(request)
    from django.conf import settings
    from django.http import FileResponse

    ruta = settings.BASE_DIR / "docs" / "muestras" / "smartflex_muestra.csv"
    return FileResponse(
        open(ruta, "rb"), as_attachment=True, filename="smartflex_muestra.csv", content_type="text/csv; charset=utf-8"
    )


@login_required
def importacion_errores_csv(request, pk):
    _exigir(request)
    imp = get_object_or_404(ImportacionSmartflex, pk=pk)
    filas = [["fila", "columna", "mensaje"]] + [[e["fila"], e["columna"], e["mensaje"]] for e in imp.errores]
    if imp.total_errores > len(imp.errores):
        filas.append(["", "", f"Se guardaron los primeros {len(imp.errores)} de {imp.total_errores} errores."])
    respuesta = StreamingHttpResponse(csv_en_flujo(filas), content_type="text/csv; charset=utf-8")
    respuesta["Content-Disposition"] = f'attachment; filename="errores-importacion-{imp.pk}.csv"'
    return respuesta


@login_required
def exportar_smartflex(request):
    """CSV for Smartflex: the Solicitudes cancelled or re-digitated in [desde, hasta]."""
    _exigir(request)
    try:
        desde = date.fromisoformat(request.GET.get("desde", ""))
        hasta = date.fromisoformat(request.GET.get("hasta", ""))
        if desde > hasta or (hasta - desde).days > 3660 or not (fecha_admisible(desde) and fecha_admisible(hasta)):
            raise ValueError
    except ValueError:
        if "desde" in request.GET or "hasta" in request.GET:
            return HttpResponse(
                "Indique un periodo válido: desde y hasta como AAAA-MM-DD.",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        p = Periodo.actual()
        desde, hasta = p.desde, p.hasta
    respuesta = StreamingHttpResponse(
        csv_en_flujo(importacion.exportacion(desde, hasta)), content_type="text/csv; charset=utf-8"
    )
    respuesta["Content-Disposition"] = f'attachment; filename="smartflex-anulaciones-{desde}-{hasta}.csv"'
    return respuesta
