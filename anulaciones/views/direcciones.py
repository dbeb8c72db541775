"""Address knowledge pages (issue 7): "Registrar lo aprendido" from a case, the map of a zone for
Gestión de Red (server-side SVG, no tile server), the GeoJSON layer for QGIS and the import of
the GIS's layers. Thin: read input, call ``anulaciones.direcciones``, show errors."""
import math
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from .. import direcciones as D
from ..errors import DatosInvalidos, SinPermiso
from ..forms import AriaErrores
from ..importacion import limites, mensaje_tamano
from ..models import CajaNap, Calle, Observacion, PuntoReferencia, Solicitud, Zona, Zonificacion
from ..roles import roles_de
from .acciones import errores_a_formulario, prohibido
from .importacion import limitar_subida, rechazo_por_tamano


# --- "Registrar lo aprendido" (3.3) ------------------------------------------------------------
class AprendidoForm(AriaErrores, forms.Form):
    calle = forms.CharField(label="Nombre correcto de la calle", max_length=200, required=False)
    aliases = forms.CharField(label="Nombres erróneos (alias) de esa calle", required=False,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Uno por línea o separados por «;», tal como se escribieron.")
    referencia = forms.CharField(label="Punto de referencia", max_length=200, required=False)
    ref_latitud = forms.CharField(label="Latitud del punto", max_length=20, required=False,
                                  help_text="Grados decimales, por ejemplo -16.500000.")
    ref_longitud = forms.CharField(label="Longitud del punto", max_length=20, required=False,
                                   help_text="Grados decimales, por ejemplo -68.150000.")
    caja = forms.CharField(label="Caja / NAP", max_length=60, required=False)
    caja_latitud = forms.CharField(label="Latitud de la caja", max_length=20, required=False)
    caja_longitud = forms.CharField(label="Longitud de la caja", max_length=20, required=False)
    zona = forms.ModelChoiceField(queryset=Zona.objects.filter(activa=True), required=False,
                                  label="Zona (si no es la de la solicitud)", empty_label="La zona de la solicitud")

    COORDENADAS = ("ref_latitud", "ref_longitud", "caja_latitud", "caja_longitud")

    def clean(self):
        """A coordinate must read as degrees (|value| ≤ 180) before the domain checks its range:
        ``1e400`` or ``1e28`` are numbers no column holds (``Decimal.quantize`` fails on them)."""
        datos = super().clean()
        for campo in self.COORDENADAS:
            valor = (datos.get(campo) or "").strip()
            if not valor:
                continue
            try:
                grados = Decimal(valor.replace(",", "."))
            except (InvalidOperation, ValueError):
                grados = None
            if grados is None or not grados.is_finite() or abs(grados) > 180:
                self.add_error(campo, "Escriba grados decimales (por ejemplo -16.500000).")
        return datos


@login_required
@require_http_methods(["GET", "POST"])
def aprendido(request, pk):
    sol = get_object_or_404(Solicitud.objects.visibles_para(request.user).select_related("zona"), pk=pk)
    if not roles_de(request.user) & set(D.ROLES_REGISTRO):
        return prohibido(request, "Solo Gestión de Red, el COC y los técnicos registran lo aprendido.")
    status = 200
    if request.method == "POST":
        form = AprendidoForm(request.POST)
        if form.is_valid():
            try:
                hecho = D.registrar_aprendido(request.user, sol, **form.cleaned_data)
            except SinPermiso as e:
                return prohibido(request, e.mensaje)
            except DatosInvalidos as e:
                errores_a_formulario(form, e)
            else:
                nombres = {"calle": "calle", "referencia": "punto de referencia", "caja": "caja / NAP"}
                partes = [f"{nombres[k]} «{v}»" for k, v in hecho.items()]
                messages.success(request, "Conocimiento registrado: " + ", ".join(partes) + ".")
                return redirect("solicitud", sol.pk)
        status = 400
    else:
        form = AprendidoForm(initial={"aliases": sol.calle, "caja": sol.caja_nap})
    return render(request, "direcciones/aprendido.html", {"sol": sol, "form": form}, status=status)


# --- filters shared by the map and the export ---------------------------------------------------
class FiltroForm(AriaErrores, forms.Form):
    zona = forms.ModelChoiceField(queryset=Zona.objects.all(), required=False, to_field_name="codigo",
                                  empty_label="Todas")
    desde = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    hasta = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        datos = super().clean()
        for campo in ("desde", "hasta"):
            if datos.get(campo) and not 2000 <= datos[campo].year <= 2100:
                self.add_error(campo, "Indique una fecha entre los años 2000 y 2100.")
                datos.pop(campo, None)
        if datos.get("desde") and datos.get("hasta") and datos["desde"] > datos["hasta"]:
            self.add_error("hasta", "«Hasta» es anterior a «desde».")
        return datos


def _exigir(request, roles):
    if not roles_de(request.user) & set(roles):
        return prohibido(request, "Su rol no consulta el conocimiento de direcciones.")
    return None


def respuesta_geojson(zona, desde, hasta):
    nombre = f"conocimiento_direcciones{'_' + zona.codigo if zona else ''}.geojson"
    respuesta = StreamingHttpResponse(D.geojson_partes(zona, desde, hasta), content_type="application/geo+json")
    respuesta["Content-Disposition"] = f'attachment; filename="{nombre}"'
    return respuesta


@login_required
def exportar_geojson(request):
    negado = _exigir(request, D.ROLES_MAPA)
    if negado:
        return negado
    form = FiltroForm(request.GET)
    if not form.is_valid():
        return render(request, "direcciones/mapa.html", {"form": form, "sin_zona": True}, status=400)
    d = form.cleaned_data
    return respuesta_geojson(d.get("zona"), d.get("desde"), d.get("hasta"))


# --- the map (server-side SVG) ------------------------------------------------------------------
ANCHO, ALTO, MARGEN = 760, 520, 40


def mapa_svg(puntos, titulo):
    """``puntos``: [(kind, lat, lon, label)]. Equirectangular projection of the points' own
    extent on a plain background; kinds told apart by shape (circle, square, triangle) and
    legend, not by colour alone."""
    con = [p for p in puntos if p[1] is not None and p[2] is not None]
    lats = [float(p[1]) for p in con] or [-16.5]
    lons = [float(p[2]) for p in con] or [-68.15]
    lat0, lat1 = min(lats) - 0.002, max(lats) + 0.002
    lon0, lon1 = min(lons) - 0.002, max(lons) + 0.002
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    escala = min((ANCHO - 2 * MARGEN) / ((lon1 - lon0) * kx), (ALTO - 2 * MARGEN - 40) / (lat1 - lat0))

    def xy(lat, lon):
        return MARGEN + (float(lon) - lon0) * kx * escala, MARGEN + (lat1 - float(lat)) * escala

    def forma(kind, x, y):
        if kind == "punto_referencia":
            return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#0b3d6b"/>'
        if kind == "caja_nap":
            return f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="#fff" stroke="#000" stroke-width="2"/>'
        if kind == "calle":
            return f'<path d="M{x - 6:.1f} {y:.1f}h12M{x:.1f} {y - 6:.1f}v12" stroke="#333" stroke-width="3"/>'
        return (f'<path d="M{x:.1f} {y - 8:.1f}L{x + 7:.1f} {y + 5:.1f}L{x - 7:.1f} {y + 5:.1f}Z" fill="#b00020" '
                f'stroke="#000"/>')

    partes = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {ANCHO} {ALTO}" role="img" class="mapa" '
        f'aria-labelledby="mapa-titulo mapa-desc" font-family="sans-serif" font-size="11">',
        f'<title id="mapa-titulo">{escape(titulo)}</title>',
        f'<desc id="mapa-desc">{len(con)} puntos con coordenadas; la lista completa está en la tabla.</desc>',
        f'<rect width="{ANCHO}" height="{ALTO}" fill="#f7f7f2" stroke="#999"/>',
    ]
    for kind, lat, lon, etiqueta in con:
        x, y = xy(lat, lon)
        partes.append(f'<g>{forma(kind, x, y)}<text x="{x + 9:.1f}" y="{y + 4:.1f}">{escape(etiqueta)}</text></g>')
    leyenda = [("punto_referencia", "Punto de referencia"), ("caja_nap", "Caja / NAP"), ("calle", "Calle"),
               ("caso", "Caso observado (calle / caja)")]
    for i, (kind, texto) in enumerate(leyenda):
        x = MARGEN + i * 175
        partes.append(f'<g>{forma(kind, x, ALTO - 20)}<text x="{x + 12}" y="{ALTO - 16}">{texto}</text></g>')
    partes.append(f'<text x="{ANCHO - MARGEN}" y="16" text-anchor="end">N ↑ · {lat0:.4f}…{lat1:.4f}, '
                  f'{lon0:.4f}…{lon1:.4f} (WGS84)</text></svg>')
    return mark_safe("".join(partes))


def casos_observados(zona, desde, hasta):
    """Solicitudes of ``zona`` observed for an address cause (calle, caja_nap) in the period,
    located by their zonification or their box (3 queries)."""
    obs = Observacion.objects.filter(causa__in=D.CAUSAS_DIRECCION, solicitud__zona=zona).filter(D._rango(desde, hasta))
    zon = Zonificacion.objects.filter(solicitud=OuterRef("pk"), latitud__isnull=False).order_by("-creado_at")
    casos = list(Solicitud.objects.filter(pk__in=obs.values("solicitud_id"))
                 .annotate(zlat=Subquery(zon.values("latitud")[:1]), zlon=Subquery(zon.values("longitud")[:1]))
                 .only("pk", "numero_smartflex", "calle", "numero_puerta", "caja_nap", "estado")
                 .order_by("-creado_at")[:500])
    cajas = {c.codigo_normalizado: c for c in CajaNap.objects.filter(
        codigo_normalizado__in={D.normalizar_codigo(s.caja_nap) for s in casos}, latitud__isnull=False)}
    for s in casos:
        caja = cajas.get(D.normalizar_codigo(s.caja_nap))
        s.lat, s.lon = (s.zlat, s.zlon) if s.zlat is not None else ((caja.latitud, caja.longitud) if caja else (None, None))
    return casos


@login_required
def mapa(request):
    negado = _exigir(request, D.ROLES_MAPA)
    if negado:
        return negado
    hoy = timezone.localdate()
    datos = request.GET.copy()
    datos.setdefault("desde", (hoy - timedelta(days=30)).isoformat())
    datos.setdefault("hasta", hoy.isoformat())
    if "zona" not in datos:
        primera = Zona.objects.filter(activa=True).order_by("nombre").first()
        if primera:
            datos["zona"] = primera.codigo
    form = FiltroForm(datos)
    contexto = {"form": form, "prevenidas": D.observaciones_prevenidas()}
    if not form.is_valid() or not form.cleaned_data.get("zona"):
        contexto["sin_zona"] = True
        return render(request, "direcciones/mapa.html", contexto, status=200 if form.is_valid() else 400)
    zona, desde, hasta = form.cleaned_data["zona"], form.cleaned_data["desde"], form.cleaned_data["hasta"]
    puntos = list(PuntoReferencia.objects.filter(zona=zona).order_by("nombre")[:1000])
    cajas = list(CajaNap.objects.filter(zona=zona).order_by("codigo")[:1000])
    calles = list(Calle.objects.filter(zona=zona, latitud__isnull=False).order_by("nombre")[:1000])
    casos = casos_observados(zona, desde, hasta)
    svg = mapa_svg([("calle", c.latitud, c.longitud, c.nombre) for c in calles]
                   + [("punto_referencia", p.latitud, p.longitud, p.nombre) for p in puntos]
                   + [("caja_nap", c.latitud, c.longitud, c.codigo) for c in cajas]
                   + [("caso", s.lat, s.lon, s.numero_smartflex) for s in casos],
                   f"Zona {zona.nombre}: puntos de referencia, cajas y casos observados por dirección")
    contexto.update({
        "zona": zona, "puntos": puntos, "cajas": cajas, "calles": calles, "casos": casos, "svg": svg,
        "prevenidas_zona": D.observaciones_prevenidas(zona),
        "consulta": f"zona={zona.codigo}&desde={desde or ''}&hasta={hasta or ''}",
    })
    return render(request, "direcciones/mapa.html", contexto)


# --- import of a GIS layer ----------------------------------------------------------------------
class CapaForm(forms.Form):
    archivo = forms.FileField(label="Capa GeoJSON o CSV",
                              help_text="Columnas / propiedades: kind (calle, punto_referencia, caja_nap, zona), "
                                        "name, zone, aliases; lat y lon en CSV (grados decimales).")

    def clean_archivo(self):
        archivo = self.cleaned_data["archivo"]
        if archivo.size > limites().bytes:  # ANULACIONES_IMPORTACION_MAX_MB, as the Smartflex import
            raise forms.ValidationError(mensaje_tamano(archivo.size), code="tamano")
        if not archivo.name.lower().endswith((".geojson", ".json", ".csv")):
            raise forms.ValidationError("Suba un archivo .geojson, .json o .csv.")
        return archivo


@limitar_subida
@login_required
@require_http_methods(["GET", "POST"])
def importar(request):
    negado = _exigir(request, D.ROLES_IMPORTACION)
    if negado:
        return negado
    informe, status = None, 200
    form = CapaForm(request.POST, request.FILES) if request.method == "POST" else CapaForm()
    if request.method == "POST" and request.subida_excedida:  # refused before it was stored
        form.is_valid()
        return rechazo_por_tamano(request, form, "archivo", "direcciones/importar.html", {"informe": None})
    if request.method == "POST":
        if form.is_valid():
            archivo = form.cleaned_data["archivo"]
            try:
                informe = D.importar_capa(request.user, archivo.read(), archivo.name)
            except DatosInvalidos as e:
                form.add_error("archivo", " ".join(e.errores.values()) or e.mensaje)
                status = 400
        else:
            status = 413 if form.has_error("archivo", "tamano") else 400
    return render(request, "direcciones/importar.html", {"form": form, "informe": informe}, status=status)
