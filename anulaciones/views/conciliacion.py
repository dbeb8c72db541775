"""Reconciliation with Smartflex (issue 18): the page of Gestión de Red and the COC.

``/smartflex/conciliacion/`` shows the figures of the period (``diferencias.cifras``: what is
missing from the application, open differences by class, detected and resolved, re-entries linked
and the share linked automatically, as of which feed), the upload of a status feed (stored and
queued by ``conciliacion.subir_estados``; its progress is the import page's), the open differences
with the actions of their class (``diferencias.ACCIONES``), one at a time or in bulk, and the
proposed re-entries (``emparejamiento``). The jefe de división reads it: no upload, no buttons.

The page only reads; every decision is a POST to its own URL, which calls one service and comes
back to the page with its filters and page number (``volver``). A decision refused by the domain
(``errors``) draws the page again, with the status of the error (400, 403, 404, 409), the Spanish
reason as a message and, on the row, the form open with what was typed: nothing is lost and
nothing is half done. A constant number of queries whatever the number of rows."""

from types import SimpleNamespace
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import conciliacion, diferencias, emparejamiento, selectors
from ..errors import Conflicto, DatosInvalidos, ErrorDominio
from ..espanol import cuenta, numero
from ..filters import DiferenciaFilter
from ..models import Diferencia, Emparejamiento, ImportacionSmartflex, Zona
from ..navegacion import ROLES_CONCILIACION, ROLES_CONCILIAR
from ..reports.indicador import Periodo, texto_conciliacion
from ..roles import Rol, roles_de
from ..tables import ConfiguracionAcotada, DiferenciaTable, filas_diferencias, filas_emparejamientos
from .acciones import prohibido
from .comun import entero
from .importacion import MENSAJE_SIN_COLA, SubirForm, limitar_subida, rechazo_por_tamano

PLANTILLA = "conciliacion/pagina.html"
POR_PAGINA = 25
EMPAREJAMIENTOS_POR_PAGINA = 20
MAX_EN_BLOQUE = 500  # rows a bulk decision may name (a page shows 25)
MAX_NOTA = 2000
SIN_ACCESO = "Solo Gestión de Red y el COC concilian con Smartflex; el Jefe de División consulta la conciliación."
SOLO_LECTURA = "Solo Gestión de Red y el COC resuelven las diferencias con Smartflex."
OTRA_PERSONA = "Otra persona ya resolvió esta diferencia"
MUESTRA = "estados_smartflex_muestra.csv"


def puede_leer(user):
    return bool(roles_de(user) & ROLES_CONCILIACION)


def puede_actuar(user):
    return bool(roles_de(user) & ROLES_CONCILIAR)


class EstadosForm(SubirForm):
    """The upload of a status feed: the import page's form (size and type checked the same way)."""

    archivo = forms.FileField(label="Archivo de estados de Smartflex (CSV o XLSX)")
    aceptar_validas = forms.BooleanField(required=False, label="Importar las filas válidas aunque haya errores")


# --- the period of the figures ------------------------------------------------------------------
def _periodo(parametros):
    """(Periodo, the month as typed, error): ``mes=AAAA-MM`` (default: the current month)."""
    texto = (parametros.get("mes") or "").strip()
    if not texto:
        actual = Periodo.actual()
        return actual, f"{actual.desde:%Y-%m}", ""
    try:
        mes = selectors.mes_de(texto)
    except ValueError as e:
        return Periodo.actual(), texto[:20], f"{e} Se muestra el mes en curso."
    return Periodo.mes(mes.year, mes.month), texto, ""


def _figuras(c):
    """The figures of ``diferencias.cifras`` as the page words them."""
    automaticas = f"{str(c.porcentaje_automatico).replace('.', ',')} %" if c.porcentaje_automatico is not None else "—"
    return {
        "faltantes": numero(c.faltantes),
        "hay_faltantes": c.faltantes > 0,
        "abiertas": numero(c.abiertas),
        "por_clase": [
            {"clase": clase, "etiqueta": etiqueta, "n": numero(c.abiertas_por_clase.get(clase, 0))}
            for clase, etiqueta in Diferencia.Clase.choices
        ],
        "detectadas": numero(c.detectadas),
        "resueltas": numero(c.resueltas),
        "resueltas_automaticas": numero(c.resueltas_automaticas),
        "vinculadas": numero(c.vinculadas),
        "vinculadas_automaticas": numero(c.vinculadas_automaticas),
        "porcentaje_automatico": automaticas,
        **texto_conciliacion(c),
    }


# --- the page -------------------------------------------------------------------------------------
def _consulta(parametros, **cambios):
    datos = {k: parametros.getlist(k) for k in parametros}
    for k, v in cambios.items():
        datos[k] = [] if v in (None, "") else [v]
    return urlencode([(k, v) for k, valores in datos.items() for v in valores if v not in (None, "")])


def _encabezados(tabla, parametros, base, *, resueltas=False):
    """Each column's header: its label and, when sortable, the link that sorts by it (again: the
    other way), keeping the filters; its current direction (aria-sort). The last column is the
    resolution when resolved rows are listed."""
    actual = parametros.get("sort", "")
    res = []
    for col in tabla.columns:
        etiqueta = "Resolución" if resueltas and col.name == "decision" else col.header
        h = {"etiqueta": etiqueta, "url": None, "aria_sort": None, "clave": col.name}
        if col.orderable:
            if actual == col.name:
                h["aria_sort"], siguiente = "ascending", f"-{col.name}"
            elif actual == f"-{col.name}":
                h["aria_sort"], siguiente = "descending", col.name
            else:
                siguiente = col.name
            h["url"] = f"{base}?{_consulta(parametros, sort=siguiente, page=None)}"
        res.append(h)
    return res


def _opciones_creacion():
    """The active zones and asesores a «Crear el caso anulado» may pick: [(pk, label, key)]."""
    zonas = list(Zona.objects.filter(activa=True).order_by("nombre").values_list("pk", "nombre", "codigo"))
    asesores = [
        (pk, f"{nombre} {apellido}".strip() or usuario, usuario)
        for pk, nombre, apellido, usuario in get_user_model()
        .objects.filter(groups__name=Rol.ASESOR, is_active=True)
        .order_by("first_name", "last_name", "username")
        .values_list("pk", "first_name", "last_name", "username")
    ]
    return zonas, asesores


def contexto(request, parametros, *, borrador=None, bloque=None, borrador_emp=None, form=None):
    """Everything the page shows, for ``parametros`` (its query string: the period, the list's
    filters, order and pages). ``borrador``/``bloque``/``borrador_emp``: a refused decision to show
    again (a row's action, the bulk bar, a proposed re-entry); ``form``: the upload form with its
    errors."""
    user = request.user
    actua = puede_actuar(user)
    base = reverse("conciliacion")
    periodo, mes_texto, mes_error = _periodo(parametros)
    cifras = diferencias.cifras(periodo)

    filtro = DiferenciaFilter(parametros, queryset=selectors.diferencias_lista(), request=request)
    valido = filtro.is_valid()
    vista = filtro.vista_elegida if valido else "abiertas"
    tabla = DiferenciaTable(filtro.qs if valido else filtro.queryset.none())
    ConfiguracionAcotada(SimpleNamespace(GET=parametros), paginate={"per_page": POR_PAGINA}).configure(tabla)
    registros = [fila.record for fila in tabla.paginated_rows]
    zonas, asesores = _opciones_creacion() if actua else ([], [])
    filas = filas_diferencias(registros, puede_actuar=actua, zonas=zonas, asesores=asesores, borrador=borrador)
    marcadas = set((bloque or {}).get("ids", ()))
    for f in filas:
        f["marcada"] = f["id"] in marcadas

    emparejamientos = Paginator(
        selectors.emparejamientos_lista().filter(estado=Emparejamiento.Estado.PROPUESTO), EMPAREJAMIENTOS_POR_PAGINA
    ).get_page(parametros.get("pagina_emp"))

    volver = _consulta(parametros)
    pagina = tabla.page
    return {
        "url_pagina": base,
        "puede_actuar": actua,
        "periodo": periodo,
        "mes": mes_texto,
        "mes_error": mes_error,
        "c": _figuras(cifras),
        "form": form if form is not None else (EstadosForm() if actua else None),
        "limite_mb": settings.ANULACIONES_IMPORTACION_MAX_MB,
        "columnas": conciliacion.COLUMNAS,
        "requeridas": conciliacion.REQUERIDAS,
        "importaciones": ImportacionSmartflex.objects.filter(clase=ImportacionSmartflex.Clase.ESTADOS).select_related(
            "usuario"
        )[:5]
        if actua
        else [],
        "filtro": filtro,
        "valido": valido,
        "filtros_html": filtro.form.as_div(),
        "filtrada": any(parametros.get(k) for k in ("numero", "clase", "estado", "zona", "desde", "hasta")),
        "vista": vista,
        "vistas": [
            (clave, etiqueta, f"{base}?{_consulta(parametros, vista=clave, page=None)}")
            for clave, etiqueta in DiferenciaFilter.VISTAS
        ],
        "tabla": tabla,
        "encabezados": _encabezados(tabla, parametros, base, resueltas=vista != "abiertas"),
        "filas": filas,
        "total": tabla.paginator.count,
        "anterior": f"{base}?{_consulta(parametros, page=pagina.previous_page_number())}"
        if pagina.has_previous()
        else "",
        "siguiente": f"{base}?{_consulta(parametros, page=pagina.next_page_number())}" if pagina.has_next() else "",
        "pagina": pagina,
        "en_bloque": actua and vista == "abiertas",
        "acciones_bloque": list(diferencias.ETIQUETAS_ACCION.items()),
        "bloque": bloque or {},
        "emparejamientos": filas_emparejamientos(emparejamientos.object_list, borrador=borrador_emp),
        "emp_pagina": emparejamientos,
        "emp_anterior": f"{base}?{_consulta(parametros, pagina_emp=emparejamientos.previous_page_number())}"
        if emparejamientos.has_previous()
        else "",
        "emp_siguiente": f"{base}?{_consulta(parametros, pagina_emp=emparejamientos.next_page_number())}"
        if emparejamientos.has_next()
        else "",
        "volver": volver,
    }


@require_GET
@login_required
def pagina(request):
    if not puede_leer(request.user):
        return prohibido(request, SIN_ACCESO)
    ctx = contexto(request, request.GET)
    return render(request, PLANTILLA, ctx, status=200 if ctx["valido"] else 400)


# --- the decisions --------------------------------------------------------------------------------
def _volver(request):
    """The page's query string the form came from (its hidden ``volver``), as a QueryDict."""
    return QueryDict((request.POST.get("volver") or "")[:2000])


def _a_la_pagina(parametros):
    consulta = parametros.urlencode()
    return redirect(f"{reverse('conciliacion')}{'?' + consulta if consulta else ''}")


def _exigir_accion(request):
    if not puede_actuar(request.user):
        return prohibido(request, SOLO_LECTURA if puede_leer(request.user) else SIN_ACCESO)
    return None


def _rechazo(request, parametros, error, **borradores):
    """The page again, with the refusal's status and reason; the form open with what was typed."""
    mensaje = diferencias.motivo_de(error)
    if isinstance(error, Conflicto):
        mensaje = f"{OTRA_PERSONA}: {mensaje}"
    messages.error(request, mensaje)
    return render(request, PLANTILLA, contexto(request, parametros, **borradores), status=error.codigo_http)


def _nota(request, campo="nota"):
    nota = (request.POST.get(campo) or "").strip()
    if len(nota) > MAX_NOTA:
        raise DatosInvalidos({campo: f"Escriba a lo sumo {MAX_NOTA} caracteres (tiene {len(nota)})."})
    return nota


@require_POST
@login_required
def resolver(request):
    """One difference, one action of its class (``diferencias.resolver``)."""
    if (rechazo := _exigir_accion(request)) is not None:
        return rechazo
    parametros = _volver(request)
    pk = entero(request.POST.get("diferencia"))
    accion = (request.POST.get("accion") or "")[:40]
    texto_nota = (request.POST.get("nota") or "")[: MAX_NOTA * 2]
    zona, asesor = request.POST.get("zona") or "", request.POST.get("asesor") or ""
    borrador = {
        "diferencia": pk,
        "accion": accion,
        "nota": texto_nota,
        "zona": entero(zona) or "",
        "asesor": entero(asesor) or "",
    }
    try:
        if pk is None:
            raise DatosInvalidos({"diferencia": "Elija la diferencia que resuelve."})
        nota = _nota(request)
        if zona and entero(zona) is None:
            raise DatosInvalidos({"zona": "Elija una zona de la lista."})
        if asesor and entero(asesor) is None:
            raise DatosInvalidos({"asesor": "Elija un asesor de la lista."})
        dif = diferencias.resolver(pk, accion, request.user, nota=nota, zona_id=entero(zona), asesor_id=entero(asesor))
    except ErrorDominio as e:
        borrador["error"] = diferencias.motivo_de(e)
        return _rechazo(request, parametros, e, borrador=borrador)
    fuente = dif.fuente
    messages.success(request, f"{fuente.get_objeto_display()} {fuente.numero}: {dif.get_estado_display().lower()}.")
    return _a_la_pagina(parametros)


@require_POST
@login_required
def en_bloque(request):
    """The marked differences, one action (``diferencias.resolver_en_bloque``): each in its own
    transaction; the page says which were resolved and why each other one was not."""
    if (rechazo := _exigir_accion(request)) is not None:
        return rechazo
    parametros = _volver(request)
    ids = [pk for pk in (entero(v) for v in request.POST.getlist("ids")[:MAX_EN_BLOQUE]) if pk is not None]
    accion = (request.POST.get("accion") or "")[:40]
    bloque = {"ids": ids, "accion": accion, "nota": (request.POST.get("nota") or "")[: MAX_NOTA * 2]}
    try:
        if not ids:
            raise DatosInvalidos({"ids": "Marque al menos una diferencia de la lista."})
        if accion not in diferencias.ETIQUETAS_ACCION:
            raise DatosInvalidos({"accion": "Elija la acción que se aplica a las diferencias marcadas."})
        nota = _nota(request)
        hechas, rechazadas = diferencias.resolver_en_bloque(ids, accion, request.user, nota=nota)
    except ErrorDominio as e:
        bloque["error"] = diferencias.motivo_de(e)
        return _rechazo(request, parametros, e, bloque=bloque)
    numeros = dict(Diferencia.objects.filter(pk__in=ids).values_list("pk", "fuente__numero"))
    etiqueta = diferencias.ETIQUETAS_ACCION[accion]
    if hechas:
        messages.success(
            request,
            f"«{etiqueta}»: {cuenta(len(hechas), 'diferencia resuelta', 'diferencias resueltas')} "
            f"({', '.join(numeros.get(pk, str(pk)) for pk in hechas)}).",
        )
    if rechazadas:
        detalle = "; ".join(f"N° {numeros.get(pk, pk)}: {motivo}" for pk, motivo in rechazadas.items())
        messages.error(request, f"No se resolvieron {cuenta(len(rechazadas), 'diferencia', 'diferencias')}: {detalle}")
    if not hechas:  # nothing done: the bar stays as it was, the refused rows marked
        bloque["ids"] = list(rechazadas)
        bloque["error"] = "Ninguna de las diferencias marcadas se resolvió."
        return render(request, PLANTILLA, contexto(request, parametros, bloque=bloque), status=409)
    return _a_la_pagina(parametros)


DECISIONES = ("vincular", "descartar")


@require_POST
@login_required
def decidir_emparejamiento(request):
    """A proposed re-entry: «Vincular» (``emparejamiento.vincular``: the re-digitation joins the
    cancelled Solicitud's case, 19.2 judged on the real times) or «Descartar»."""
    if (rechazo := _exigir_accion(request)) is not None:
        return rechazo
    parametros = _volver(request)
    pk = entero(request.POST.get("emparejamiento"))
    decision = request.POST.get("decision") or ""
    borrador = {"emparejamiento": pk, "motivo": (request.POST.get("motivo") or "")[: MAX_NOTA * 2]}
    try:
        if pk is None:
            raise DatosInvalidos({"emparejamiento": "Elija la re-digitación propuesta."})
        if decision not in DECISIONES:
            raise DatosInvalidos({"decision": "Elija «Vincular» o «Descartar»."})
        if decision == "vincular":
            emp = emparejamiento.vincular(pk, request.user, version=entero(request.POST.get("version")))
        else:
            emp = emparejamiento.descartar(pk, request.user, motivo=_nota(request, "motivo"))
    except ErrorDominio as e:
        borrador["error"] = diferencias.motivo_de(e)
        if isinstance(e, Conflicto):
            messages.error(request, f"Otra persona ya decidió esta re-digitación o cambió su caso: {e.mensaje}")
            return render(request, PLANTILLA, contexto(request, parametros, borrador_emp=borrador), status=409)
        return _rechazo(request, parametros, e, borrador_emp=borrador)
    par = f"{emp.anulada.numero_smartflex} → {emp.nueva.numero_smartflex}"
    if decision == "vincular":
        messages.success(request, f"Re-digitación vinculada: {par} (el mismo caso).")
    else:
        messages.success(request, f"Propuesta descartada: {par}.")
    return _a_la_pagina(parametros)


# --- the status feed -------------------------------------------------------------------------------
@limitar_subida
@login_required
def subir(request):
    """Upload a status feed: stored and queued (``conciliacion.subir_estados``), then its progress
    on the import page. The size limit and messages of the import page."""
    if not puede_leer(request.user):
        return prohibido(request, SIN_ACCESO)
    if request.method != "POST":
        return redirect("conciliacion")
    if (rechazo := _exigir_accion(request)) is not None:
        return rechazo
    parametros = _volver(request)
    form = EstadosForm(request.POST, request.FILES)
    if request.subida_excedida:
        form.is_valid()
        return rechazo_por_tamano(request, form, "archivo", PLANTILLA, contexto(request, parametros, form=form))
    if form.is_valid():
        try:
            imp = conciliacion.subir_estados(
                form.cleaned_data["archivo"], request.user, aceptar_validas=form.cleaned_data["aceptar_validas"]
            )
        except DatosInvalidos as e:
            for campo, mensaje in e.errores.items():
                form.add_error(campo if campo in form.fields else None, mensaje)
        else:
            if getattr(imp, "publicado", None) is False:
                messages.warning(request, MENSAJE_SIN_COLA)
            return redirect("importacion", pk=imp.pk)
    status = 413 if form.has_error("archivo", "tamano") else 400
    messages.error(request, "El archivo de estados no se subió: revise el formulario.")
    return render(request, PLANTILLA, contexto(request, parametros, form=form), status=status)


@login_required
def muestra(request):
    """A small status feed with every column (docs/muestras/), to fill in or to compare with the
    export of Smartflex."""
    if not puede_leer(request.user):
        return prohibido(request, SIN_ACCESO)
    ruta = settings.BASE_DIR / "docs" / "muestras" / MUESTRA
    return FileResponse(open(ruta, "rb"), as_attachment=True, filename=MUESTRA, content_type="text/csv; charset=utf-8")
