"""The indicator report (III.2): page, drill-down list, workbook and JSON — one computation."""

from datetime import date
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from ..models import Observacion, Solicitud, Zona
from ..reports import indicador as ind
from ..reports.svg import tendencia_svg
from ..roles import Rol, roles_de
from ..selectors import FECHAS_MENSAJE, fecha_admisible

ROLES_LECTURA = {Rol.JEFE_DIVISION, Rol.GESTION_RED, Rol.COC}


def lectura_indicador(vista):
    """JEFE_DIVISION, and read access for GESTION_RED and COC; anyone else gets 403."""

    @login_required
    @wraps(vista)
    def envuelta(request, *args, **kwargs):
        if not roles_de(request.user) & ROLES_LECTURA:
            raise PermissionDenied("Solo el Jefe de División, Gestión de Red y el COC ven el indicador.")
        return vista(request, *args, **kwargs)

    return envuelta


class PeriodoForm(forms.Form):
    """A month (default: the current one) or any date range, both in local dates."""

    mes = forms.CharField(required=False, label="Mes", widget=forms.DateInput(attrs={"type": "month"}))
    desde = forms.DateField(required=False, label="Desde", widget=forms.DateInput(attrs={"type": "date"}))
    hasta = forms.DateField(required=False, label="Hasta", widget=forms.DateInput(attrs={"type": "date"}))

    def clean_mes(self):
        valor = (self.cleaned_data.get("mes") or "").strip()
        if not valor:
            return None
        try:
            anio, mes = (int(p) for p in valor.split("-"))
            date(anio, mes, 1)
        except ValueError:
            raise forms.ValidationError("Indique el mes como AAAA-MM.") from None
        if not fecha_admisible(date(anio, mes, 1)):
            raise forms.ValidationError(FECHAS_MENSAJE)
        return anio, mes

    def clean(self):
        datos = super().clean()
        desde, hasta = datos.get("desde"), datos.get("hasta")
        if any(f and not fecha_admisible(f) for f in (desde, hasta)):
            raise forms.ValidationError(FECHAS_MENSAJE)
        if (desde or hasta) and not datos.get("mes"):
            if not (desde and hasta):
                raise forms.ValidationError("Indique las dos fechas del rango, o elija un mes.")
            if desde > hasta:
                raise forms.ValidationError("La fecha «desde» es posterior a «hasta».")
            if (hasta - desde).days > 3660:
                raise forms.ValidationError("El rango no puede superar diez años.")
        return datos

    def periodo(self):
        if not self.is_valid():
            return ind.Periodo.actual()
        d = self.cleaned_data
        if d.get("mes"):
            return ind.Periodo.mes(*d["mes"])
        if d.get("desde") and d.get("hasta"):
            return ind.Periodo(d["desde"], d["hasta"])
        return ind.Periodo.actual()


def _periodo(request):
    form = PeriodoForm(request.GET or None)
    periodo = form.periodo()
    if not form.is_bound:
        form = PeriodoForm(initial={"mes": f"{periodo.desde:%Y-%m}"})
    return form, periodo


def _enlace(periodo, **filtros):
    params = dict(periodo.como_parametros())
    params.update({k: v for k, v in filtros.items() if v not in (None, "")})
    return f"{reverse('indicador_casos')}?{urlencode(params)}"


def _con_enlaces(datos, periodo):
    """Every count gets the link to the drill-down list filtered the same way."""
    resultados = tuple(ind.RESULTADOS)
    datos["total"]["enlaces"] = {r: _enlace(periodo, resultado=r) for r in resultados}
    for dim, bloque in datos["desgloses"].items():
        for fila in bloque["filas"]:
            fila["enlaces"] = {r: _enlace(periodo, resultado=r, **{dim: fila["valor"]}) for r in resultados}
    for fila in datos["pareto"]:
        fila["enlace"] = _enlace(periodo, causa_observada=fila["causa"])
    for fila in datos["tendencia"]:
        fila["enlace"] = f"{reverse('indicador')}?{urlencode(fila['periodo'].como_parametros())}"
    return datos


@lectura_indicador
def indicador(request):
    form, periodo = _periodo(request)
    datos = _con_enlaces(ind.informe(periodo), periodo)
    anterior = ind.Periodo.mes(
        *((periodo.desde.year - 1, 12) if periodo.desde.month == 1 else (periodo.desde.year, periodo.desde.month - 1))
    )
    siguiente_ini = date(periodo.hasta.year + (periodo.hasta.month == 12), periodo.hasta.month % 12 + 1, 1)
    siguiente = ind.Periodo.mes(siguiente_ini.year, siguiente_ini.month)
    params = urlencode(periodo.como_parametros())
    return render(
        request,
        "reports/indicador.html",
        {
            "form": form,
            "periodo": periodo,
            "d": datos,
            "svg": mark_safe(tendencia_svg(datos["tendencia"], datos["umbral"])),  # built with escape()
            "definiciones": ind.DEFINICIONES,
            "redondeo": ind.REDONDEO,
            "anterior": urlencode(anterior.como_parametros()),
            "siguiente": urlencode(siguiente.como_parametros()),
            "params": params,
            "ahora": timezone.localtime(),
        },
    )


# --- drill-down -------------------------------------------------------------------------------
class FiltroCasosForm(PeriodoForm):
    resultado = forms.ChoiceField(required=False, choices=list(ind.RESULTADOS.items()))
    zona = forms.IntegerField(required=False)
    asesor = forms.IntegerField(required=False)
    area = forms.ChoiceField(
        required=False, choices=[*Observacion.Area.choices, (ind.SIN_OBSERVACION, ind.SIN_OBSERVACION_ETIQUETA)]
    )
    causa = forms.ChoiceField(
        required=False, choices=[*Observacion.Causa.choices, (ind.SIN_OBSERVACION, ind.SIN_OBSERVACION_ETIQUETA)]
    )
    tipo = forms.ChoiceField(required=False, choices=Solicitud.Tipo.choices)
    causa_observada = forms.ChoiceField(required=False, choices=Observacion.Causa.choices)


def filtros_de(form):
    d = form.cleaned_data
    filtros = {k: d.get(k) for k in ind.DIMENSIONES if d.get(k) not in (None, "")}
    return {
        "resultado": d.get("resultado") or "probables",
        "causa_observada": d.get("causa_observada") or None,
        **filtros,
    }


def _descripcion(form, filtros, qs_zona_asesor):
    sin_obs = {ind.SIN_OBSERVACION: ind.SIN_OBSERVACION_ETIQUETA}
    etiquetas = {
        "area": {**dict(Observacion.Area.choices), **sin_obs},
        "causa": {**dict(Observacion.Causa.choices), **sin_obs},
        "tipo": dict(Solicitud.Tipo.choices),
    }
    partes = [ind.RESULTADOS[filtros["resultado"]]]
    for dim in ind.DIMENSIONES:
        if dim in filtros:
            valor = filtros[dim]
            if dim in qs_zona_asesor:
                texto = qs_zona_asesor[dim]
            else:
                texto = etiquetas[dim].get(valor, valor)
            partes.append(f"{ind.DIMENSIONES[dim][1]}: {texto}")
    if filtros.get("causa_observada"):
        partes.append(f"Con alguna observación de causa: {dict(Observacion.Causa.choices)[filtros['causa_observada']]}")
    return " · ".join(partes)


@lectura_indicador
def casos(request):
    form = FiltroCasosForm(request.GET)
    if not form.is_valid():
        return render(request, "reports/indicador_casos.html", {"form": form, "errores": form.errors}, status=400)
    periodo = form.periodo()
    filtros = filtros_de(form)
    qs = (
        ind.casos(periodo, primera=True, **filtros)
        .select_related("zona", "asesor", "orden", "caso")
        .order_by("caso__probable_at", "pk")
    )
    pagina = Paginator(qs, 50).get_page(request.GET.get("pagina"))
    pagina.object_list = list(pagina.object_list)
    areas, causas = dict(Observacion.Area.choices), dict(Observacion.Causa.choices)
    for s in pagina.object_list:  # labels of the page's rows, no query
        s.primera_etiqueta = (
            f"{areas.get(s.primera_area, s.primera_area)}: {causas.get(s.primera_causa, s.primera_causa)}"
            if s.primera_area
            else ind.SIN_OBSERVACION_ETIQUETA
        )
        if s.anulado:
            partes = ["Anulado"]
            if s.estado == Solicitud.E.PENDIENTE_REDIGITACION:
                partes.append("pendiente de re-digitación (anulado hasta que se registre)")
            if not s.con_contacto:
                partes.append(
                    "sin intento de contacto registrado" + (" (con justificación)" if s.justificacion_anulacion else "")
                )
            s.resultado_etiqueta = " · ".join(partes)
        elif s.estado in Solicitud.FINALES:
            s.resultado_etiqueta = "No anulado"
        else:
            s.resultado_etiqueta = "Aún abierto · cuenta como no anulado"
    nombres = {}
    if "zona" in filtros:
        nombres["zona"] = Zona.objects.filter(pk=filtros["zona"]).values_list("nombre", flat=True).first() or "—"
    if "asesor" in filtros:
        asesor = get_user_model().objects.filter(pk=filtros["asesor"]).first()
        nombres["asesor"] = (asesor.get_full_name() or asesor.username) if asesor else "—"
    sin_pagina = request.GET.copy()
    sin_pagina.pop("pagina", None)
    return render(
        request,
        "reports/indicador_casos.html",
        {
            "form": form,
            "periodo": periodo,
            "pagina": pagina,
            "total": pagina.paginator.count,
            "descripcion": _descripcion(form, filtros, nombres),
            "query": sin_pagina.urlencode(),
            "volver": f"{reverse('indicador')}?{urlencode(periodo.como_parametros())}",
        },
    )


# --- workbook and JSON ------------------------------------------------------------------------
@lectura_indicador
def exportar_json(request):
    form, periodo = _periodo(request)
    if form.is_bound and not form.is_valid():
        return JsonResponse({"errores": form.errors}, status=400)
    return JsonResponse(ind.como_json(ind.informe(periodo)), json_dumps_params={"ensure_ascii": False})


@lectura_indicador
def exportar_xlsx(request):
    form, periodo = _periodo(request)
    contenido = ind.libro_xlsx(ind.informe(periodo))
    nombre = f"indicador_{periodo.desde:%Y%m%d}_{periodo.hasta:%Y%m%d}.xlsx"
    respuesta = HttpResponse(
        contenido, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    respuesta["Content-Disposition"] = f'attachment; filename="{nombre}"'
    return respuesta
