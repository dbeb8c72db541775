"""Address knowledge pages (issue 7): "Registrar lo aprendido" from a case, the map of a zone for
Gestión de Red (server-side SVG, no tile server), the GeoJSON layer for QGIS and the import of
the GIS's layers. Thin: read input, call ``anulaciones.direcciones``, show errors."""

import math
import unicodedata
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from .. import direcciones as D
from ..errors import DatosInvalidos, SinPermiso
from ..forms import AriaErrores, FiltroDireccionesForm
from ..importacion import limites, mensaje_tamano
from ..models import CajaNap, Calle, Observacion, PuntoReferencia, Solicitud, Zona, Zonificacion
from ..roles import roles_de
from .acciones import errores_a_formulario, prohibido
from .importacion import limitar_subida, rechazo_por_tamano


# --- "Registrar lo aprendido" (3.3) ------------------------------------------------------------
class AprendidoForm(AriaErrores, forms.Form):
    calle = forms.CharField(label="Nombre correcto de la calle", max_length=200, required=False)
    aliases = forms.CharField(
        label="Nombres erróneos (alias) de esa calle",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Uno por línea o separados por «;», tal como se escribieron.",
    )
    referencia = forms.CharField(label="Punto de referencia", max_length=200, required=False)
    ref_latitud = forms.CharField(
        label="Latitud del punto", max_length=20, required=False, help_text="Grados decimales, por ejemplo -16.500000."
    )
    ref_longitud = forms.CharField(
        label="Longitud del punto", max_length=20, required=False, help_text="Grados decimales, por ejemplo -68.150000."
    )
    caja = forms.CharField(label="Caja / NAP", max_length=60, required=False)
    caja_latitud = forms.CharField(label="Latitud de la caja", max_length=20, required=False)
    caja_longitud = forms.CharField(label="Longitud de la caja", max_length=20, required=False)
    zona = forms.ModelChoiceField(
        queryset=Zona.objects.filter(activa=True),
        required=False,
        label="Zona (si no es la de la solicitud)",
        empty_label="La zona de la solicitud",
    )

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


# --- the map and the export (their filters: forms.FiltroDireccionesForm, shared with the API) ---
def _exigir(request, roles):
    if not roles_de(request.user) & set(roles):
        return prohibido(request, "Su rol no consulta el conocimiento de direcciones.")
    return None


@login_required
def exportar_geojson(request):
    negado = _exigir(request, D.ROLES_MAPA)
    if negado:
        return negado
    form = FiltroDireccionesForm(request.GET)
    if not form.is_valid():
        return render(request, "direcciones/mapa.html", {"form": form, "sin_zona": True}, status=400)
    d = form.cleaned_data
    return D.respuesta_geojson(d.get("zona"), d.get("desde"), d.get("hasta"))


# --- the map (server-side SVG) ------------------------------------------------------------------
ANCHO, ALTO, MARGEN = 760, 520, 40
LETRA = 11  # the labels' font size (px)
ABAJO = ALTO - 34  # labels stay above the legend row

# Advance widths (em) of sans-serif glyphs, rounded up into a few groups (Arial / Liberation Sans
# measured in Chromium), times HOLGURA for wider faces (DejaVu Sans): an estimated label box is
# never narrower than the one the browser draws, so boxes that do not meet here do not meet there.
_ANCHOS_EM = {
    **{c: 0.28 for c in " '!,./:;I[\\]fijlt|·"},
    **{c: 0.40 for c in '"()*-`r{}°º'},
    **{c: 0.50 for c in "Jcksvxyz^"},
    **{c: 0.58 for c in "0123456789#$?L_abdeghnopqu+<=>~–"},
    **{c: 0.67 for c in "&ABEFKPSTVXYZ"},
    **{c: 0.78 for c in "CDGHNOQRUw"},
    **{c: 0.94 for c in "MmW%"},
}
HOLGURA = 1.15
SUBE, BAJA = 1.0, 0.28  # ascent and descent (em) around the baseline, with the same margin


def ancho_texto(texto, tam=LETRA):
    """Estimated width (px) of ``texto`` at ``tam`` px: an upper bound for common sans-serif faces."""
    total = 0.0
    for c in texto:
        base = unicodedata.normalize("NFKD", c)[:1] or c
        total += _ANCHOS_EM.get(c, _ANCHOS_EM.get(base, 1.05))
    return total * tam * HOLGURA


class _Rejilla:
    """Boxes (x0, y0, x1, y1) bucketed in square cells, so a placement checks only its neighbours."""

    LADO = 48

    def __init__(self):
        self.celdas = {}

    def _celdas(self, caja):
        x0, y0, x1, y1 = caja
        for i in range(int(x0 // self.LADO), int(x1 // self.LADO) + 1):
            for j in range(int(y0 // self.LADO), int(y1 // self.LADO) + 1):
                yield i, j

    def choca(self, caja, salvo=None):
        x0, y0, x1, y1 = caja
        for celda in self._celdas(caja):
            for otra, dueno in self.celdas.get(celda, ()):
                if dueno is not None and dueno == salvo:
                    continue
                if x0 < otra[2] and otra[0] < x1 and y0 < otra[3] and otra[1] < y1:
                    return True
        return False

    def poner(self, caja, dueno=None):
        for celda in self._celdas(caja):
            self.celdas.setdefault(celda, []).append((caja, dueno))


# Where a label may go around its symbol (dx of the box's left edge as a function of the width,
# dy of the baseline), in order of preference: right, left, above, below, then the four corners.
_POSICIONES = [
    (lambda w: 10, 4),
    (lambda w: -10 - w, 4),
    (lambda w: -w / 2, -11),
    (lambda w: -w / 2, 11 + SUBE * LETRA),
    (lambda w: 8, -8),
    (lambda w: 8, 8 + SUBE * LETRA),
    (lambda w: -8 - w, -8),
    (lambda w: -8 - w, 8 + SUBE * LETRA),
]
IMPORTANCIA = {"zona": -1, "caso": 0, "calle": 1, "punto_referencia": 2, "caja_nap": 3}


def colocar_etiquetas(marcas, obstaculos=(), ancho=ANCHO, alto=ABAJO, tam=LETRA):
    """Greedy, deterministic label placement. ``marcas``: [(kind, x, y, text)] in drawing
    coordinates. Labels are taken by importance (observed cases, then streets, reference points,
    boxes; ties in the given order); each tries the positions of ``_POSICIONES`` and takes the first
    whose box stays inside the map and meets no label already placed, no other symbol and no
    ``obstaculos`` box; a label that fits nowhere is left out (its symbol keeps a tooltip).
    A ``zona`` mark is a zone's name over its points: first, and with no symbol of its own.
    Returns {index in marcas: (x, baseline y)} of the labels placed."""
    rejilla = _Rejilla()
    for caja in obstaculos:
        rejilla.poner(caja)
    for i, (kind, x, y, _) in enumerate(marcas):
        if kind != "zona":
            rejilla.poner((x - 8, y - 8, x + 8, y + 8), dueno=i)
    colocadas = {}
    orden = sorted(range(len(marcas)), key=lambda i: IMPORTANCIA.get(marcas[i][0], 9))
    for i in orden:
        _, x, y, texto = marcas[i]
        if not texto:
            continue
        w = ancho_texto(texto, tam)
        for dx, dy in _POSICIONES:
            izq, base = x + dx(w), y + dy
            caja = (izq - 1, base - SUBE * tam - 1, izq + w + 1, base + BAJA * tam + 1)
            if caja[0] < 2 or caja[1] < 2 or caja[2] > ancho - 2 or caja[3] > alto:
                continue
            if rejilla.choca(caja, salvo=i):
                continue
            rejilla.poner(caja, dueno=("etiqueta", i))
            colocadas[i] = (izq, base)
            break
    return colocadas


def _forma(kind, x, y):
    if kind == "punto_referencia":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#0b3d6b"/>'
    if kind == "caja_nap":
        return (
            f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="#fff" stroke="#000" stroke-width="2"/>'
        )
    if kind == "calle":
        return f'<path d="M{x - 6:.1f} {y:.1f}h12M{x:.1f} {y - 6:.1f}v12" stroke="#333" stroke-width="3"/>'
    return (
        f'<path d="M{x:.1f} {y - 8:.1f}L{x + 7:.1f} {y + 5:.1f}L{x - 7:.1f} {y + 5:.1f}Z" fill="#b00020" '
        f'stroke="#000"/>'
    )


def mapa_svg(puntos, titulo, zonas=None):
    """``puntos``: [(kind, lat, lon, label)]. Equirectangular projection of the points' own
    extent on a plain background; kinds told apart by shape (circle, square, triangle) and
    legend, not by colour alone. Every symbol carries its name as a tooltip; the names shown
    are placed by ``colocar_etiquetas`` so that none overlaps another label or a symbol.
    ``zonas`` (the map of every zone): the zone name of each point, in the order of ``puntos``;
    each zone's name is written over its points."""
    zonas = zonas or [None] * len(puntos)
    con = [(p, z) for p, z in zip(puntos, zonas, strict=False) if p[1] is not None and p[2] is not None]
    zonas = [z for _, z in con]
    con = [p for p, _ in con]
    lats = [float(p[1]) for p in con] or [-16.5]
    lons = [float(p[2]) for p in con] or [-68.15]
    lat0, lat1 = min(lats) - 0.002, max(lats) + 0.002
    lon0, lon1 = min(lons) - 0.002, max(lons) + 0.002
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    escala = min((ANCHO - 2 * MARGEN) / ((lon1 - lon0) * kx), (ALTO - 2 * MARGEN - 40) / (lat1 - lat0))

    def xy(lat, lon):
        return MARGEN + (float(lon) - lon0) * kx * escala, MARGEN + (lat1 - float(lat)) * escala

    marcas = [(kind, *xy(lat, lon), etiqueta or "") for kind, lat, lon, etiqueta in con]
    simbolos = len(marcas)
    extension = {}  # zone name -> (x0, y0, x1) of its points
    for (_, x, y, _), z in zip(marcas, zonas, strict=False):
        if z:
            x0, y0, x1 = extension.get(z, (x, y, x))
            extension[z] = (min(x0, x), min(y0, y), max(x1, x))
    if len(extension) > 1:
        marcas += [("zona", (x0 + x1) / 2, y0 - 6, z) for z, (x0, y0, x1) in sorted(extension.items())]
    rotulo = f"N ↑ · {lat0:.4f}…{lat1:.4f}, {lon0:.4f}…{lon1:.4f} (WGS84)"
    colocadas = colocar_etiquetas(
        marcas, obstaculos=[(ANCHO - MARGEN - ancho_texto(rotulo) - 2, 0, ANCHO, 16 + BAJA * LETRA + 2)]
    )
    omitidas = sum(1 for i, (_, _, _, t) in enumerate(marcas[:simbolos]) if t and i not in colocadas)
    partes = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {ANCHO} {ALTO}" role="img" class="mapa" '
        f'aria-labelledby="mapa-titulo mapa-desc" font-family="sans-serif" font-size="{LETRA}">',
        f'<title id="mapa-titulo">{escape(titulo)}</title>',
        f'<desc id="mapa-desc">{len(con)} puntos con coordenadas'
        + (
            f"; {omitidas} nombres sin rótulo para que no se superpongan (pase el puntero sobre el símbolo)"
            if omitidas
            else ""
        )
        + "; la lista completa está en las tablas.</desc>",
        f'<rect width="{ANCHO}" height="{ALTO}" fill="#f7f7f2" stroke="#999"/>',
    ]
    # the least important symbols first, so that an observed case is never hidden under a box
    for kind, x, y, etiqueta in sorted(marcas[:simbolos], key=lambda m: -IMPORTANCIA.get(m[0], 9)):
        nombre = f"<title>{escape(etiqueta)}</title>" if etiqueta else ""
        partes.append(f'<g class="marca" data-tipo="{kind}">{nombre}{_forma(kind, x, y)}</g>')
    for i in sorted(colocadas):
        izq, base = colocadas[i]
        zona = ' font-style="italic" fill="#0b3d6b"' if marcas[i][0] == "zona" else ""
        partes.append(
            f'<text class="etiqueta{" zona" if zona else ""}" x="{izq:.1f}" y="{base:.1f}"{zona} '
            f'stroke="#f7f7f2" stroke-width="3" paint-order="stroke">{escape(marcas[i][3])}</text>'
        )
    leyenda = [
        ("punto_referencia", "Punto de referencia"),
        ("caja_nap", "Caja / NAP"),
        ("calle", "Calle"),
        ("caso", "Caso observado (calle / caja)"),
    ]
    for i, (kind, texto) in enumerate(leyenda):
        x = MARGEN + i * 175
        partes.append(
            f'<g class="leyenda">{_forma(kind, x, ALTO - 20)}<text x="{x + 12}" y="{ALTO - 16}">{texto}</text></g>'
        )
    partes.append(f'<text x="{ANCHO - MARGEN}" y="16" text-anchor="end">{rotulo}</text></svg>')
    return mark_safe("".join(partes))


def casos_observados(zona, desde, hasta):
    """Solicitudes observed for an address cause (calle, caja_nap) in the period, of ``zona`` or
    of every zone when it is None, located by their zonification, else by a reference point
    recorded from the case, else by their box (3 queries)."""
    obs = Observacion.objects.filter(causa__in=D.CAUSAS_DIRECCION).filter(D.rango(desde, hasta))
    if zona is not None:
        obs = obs.filter(solicitud__zona=zona)
    zon = Zonificacion.objects.filter(solicitud=OuterRef("pk"), latitud__isnull=False).order_by("-creado_at")
    ref = PuntoReferencia.objects.filter(solicitud=OuterRef("pk"), latitud__isnull=False).order_by("-creado_at")
    casos = list(
        Solicitud.objects.filter(pk__in=obs.values("solicitud_id"))
        .select_related("zona")
        .annotate(
            zlat=Subquery(zon.values("latitud")[:1]),
            zlon=Subquery(zon.values("longitud")[:1]),
            rlat=Subquery(ref.values("latitud")[:1]),
            rlon=Subquery(ref.values("longitud")[:1]),
        )
        .only("pk", "numero_smartflex", "calle", "numero_puerta", "caja_nap", "estado", "zona__codigo", "zona__nombre")
        .order_by("-creado_at")[:500]
    )
    cajas = {
        c.codigo_normalizado: c
        for c in CajaNap.objects.filter(
            codigo_normalizado__in={D.normalizar_codigo(s.caja_nap) for s in casos}, latitud__isnull=False
        )
    }
    for s in casos:
        caja = cajas.get(D.normalizar_codigo(s.caja_nap))
        if s.zlat is not None:
            s.lat, s.lon = s.zlat, s.zlon
        elif s.rlat is not None:
            s.lat, s.lon = s.rlat, s.rlon
        else:
            s.lat, s.lon = (caja.latitud, caja.longitud) if caja else (None, None)
    return casos


@login_required
def mapa(request):
    """Opens on every zone over the last 30 days; a zone narrows it. Beside the map, the open
    observed cases that are not located yet, each with the page where its location is added."""
    negado = _exigir(request, D.ROLES_MAPA)
    if negado:
        return negado
    hoy = timezone.localdate()
    datos = request.GET.copy()
    datos.setdefault("desde", (hoy - timedelta(days=30)).isoformat())
    datos.setdefault("hasta", hoy.isoformat())
    form = FiltroDireccionesForm(datos)
    contexto = {"form": form, "prevenidas": D.observaciones_prevenidas()}
    if not form.is_valid():
        contexto["sin_zona"] = True
        return render(request, "direcciones/mapa.html", contexto, status=400)
    zona, desde, hasta = form.cleaned_data["zona"], form.cleaned_data["desde"], form.cleaned_data["hasta"]

    def de_la_zona(qs):
        return qs.filter(zona=zona) if zona else qs

    puntos = list(de_la_zona(PuntoReferencia.objects.select_related("zona")).order_by("nombre", "pk")[:1000])
    cajas = list(de_la_zona(CajaNap.objects.select_related("zona")).order_by("codigo")[:1000])
    calles = list(
        de_la_zona(Calle.objects.filter(latitud__isnull=False).select_related("zona")).order_by("nombre", "pk")[:1000]
    )
    casos = casos_observados(zona, desde, hasta)
    donde = f"Zona {zona.nombre}" if zona else "Todas las zonas"
    elementos = (
        [(("caso", s.lat, s.lon, s.numero_smartflex), s.zona) for s in casos]
        + [(("calle", c.latitud, c.longitud, c.nombre), c.zona) for c in calles]
        + [(("punto_referencia", p.latitud, p.longitud, p.nombre), p.zona) for p in puntos]
        + [(("caja_nap", c.latitud, c.longitud, c.codigo), c.zona) for c in cajas]
    )
    svg = mapa_svg(
        [e for e, _ in elementos],
        f"{donde}: puntos de referencia, cajas y casos observados por dirección",
        zonas=None if zona else [z.nombre if z else "" for _, z in elementos],
    )
    contexto.update(
        {
            "zona": zona,
            "donde": donde,
            "puntos": puntos,
            "cajas": cajas,
            "calles": calles,
            "casos": casos,
            "svg": svg,
            "sin_ubicar": [s for s in casos if s.lat is None and s.estado not in Solicitud.FINALES],
            "puede_ubicar": bool(roles_de(request.user) & set(D.ROLES_REGISTRO)),
            "prevenidas_zona": D.observaciones_prevenidas(zona) if zona else None,
            "consulta": f"zona={zona.codigo if zona else ''}&desde={desde or ''}&hasta={hasta or ''}",
        }
    )
    return render(request, "direcciones/mapa.html", contexto)


# --- import of a GIS layer ----------------------------------------------------------------------
class CapaForm(forms.Form):
    archivo = forms.FileField(
        label="Capa GeoJSON o CSV",
        help_text="Columnas / propiedades: kind (calle, punto_referencia, caja_nap, zona), "
        "name, zone, aliases; lat y lon en CSV (grados decimales).",
    )

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
