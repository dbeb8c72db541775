"""Smartflex import page (GESTION_RED, COC): upload, progress polled with htmx, the report of
every bad row; and the CSV export of the period's cancellations and re-digitations."""
from datetime import date

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import importacion
from ..exportar import csv_en_flujo
from ..models import ImportacionSmartflex
from ..reports.indicador import Periodo
from ..roles import Rol, roles_de
from ..selectors import fecha_admisible

ROLES = {Rol.GESTION_RED, Rol.COC}
MAX_MB = 50


def _exigir(request):
    if not roles_de(request.user) & ROLES:
        raise PermissionDenied("Solo Gestión de Red y el COC importan desde Smartflex.")


class SubirForm(forms.Form):
    archivo = forms.FileField(label="Archivo de Smartflex (CSV o XLSX)")
    aceptar_validas = forms.BooleanField(
        required=False, label="Si hay filas con errores, importar igualmente las filas válidas")

    def clean_archivo(self):
        f = self.cleaned_data["archivo"]
        if f.size > MAX_MB * 1024 * 1024:
            raise forms.ValidationError(f"El archivo supera {MAX_MB} MB.")
        if not f.name.lower().endswith((".csv", ".xlsx", ".txt")):
            raise forms.ValidationError("Suba un archivo .csv o .xlsx exportado de Smartflex.")
        return f


def _lanzar(imp):
    transaction.on_commit(lambda: importacion.importar_smartflex.delay(imp.pk))


@login_required
def importar(request):
    _exigir(request)
    form = SubirForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["archivo"]
        imp = ImportacionSmartflex.objects.create(archivo=f, nombre=f.name[:255], usuario=request.user,
                                                  aceptar_validas=form.cleaned_data["aceptar_validas"])
        _lanzar(imp)
        return redirect("importacion", pk=imp.pk)
    hoy = timezone.localdate()
    return render(request, "importacion/importar.html", {
        "form": form, "columnas": importacion.COLUMNAS, "requeridas": importacion.REQUERIDAS,
        "importaciones": ImportacionSmartflex.objects.select_related("usuario")[:20],
        "desde": hoy.replace(day=1).isoformat(), "hasta": hoy.isoformat(),
    })


def _contexto(imp):
    return {"imp": imp, "errores": imp.errores[:500], "avisos": imp.avisos[:200],
            "mas_errores": max(0, len(imp.errores) - 500)}


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
            imp.errores, imp.avisos = [], []
            imp.save()
            _lanzar(imp)
    return redirect("importacion", pk=pk)


@login_required
def muestra(request):
    """The sample Smartflex file shipped in docs/muestras/."""
    _exigir(request)
    from django.conf import settings
    from django.http import FileResponse

    ruta = settings.BASE_DIR / "docs" / "muestras" / "smartflex_muestra.csv"
    return FileResponse(open(ruta, "rb"), as_attachment=True, filename="smartflex_muestra.csv",
                        content_type="text/csv; charset=utf-8")


@login_required
def importacion_errores_csv(request, pk):
    _exigir(request)
    imp = get_object_or_404(ImportacionSmartflex, pk=pk)
    filas = [["fila", "columna", "mensaje"]] + [[e["fila"], e["columna"], e["mensaje"]] for e in imp.errores]
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
            return HttpResponse("Indique un periodo válido: desde y hasta como AAAA-MM-DD.", status=400,
                                content_type="text/plain; charset=utf-8")
        p = Periodo.actual()
        desde, hasta = p.desde, p.hasta
    respuesta = StreamingHttpResponse(csv_en_flujo(importacion.exportacion(desde, hasta)),
                                      content_type="text/csv; charset=utf-8")
    respuesta["Content-Disposition"] = f'attachment; filename="smartflex-anulaciones-{desde}-{hasta}.csv"'
    return respuesta
