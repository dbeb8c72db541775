"""django-tables2 tables: columns and links, no queries (the selectors join everything in)."""
import html
from urllib.parse import urlencode

import django_tables2 as tables
from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django_tables2.templatetags.django_tables2 import table_page_range

from . import transitions
from .calendario import plazo
from .models import IntentoContacto, ServicioIngenieria, Solicitud
from .roles import Rol, roles_de

ACCIONES_TABLERO = ("asignar_instalacion", "anular")  # the 5.2 decision


# --- sorting and pagination from the query string ----------------------------------------------
def por_pagina(valor, defecto):
    """Rows per page asked for in a query string, clamped to 1..ANULACIONES_MAX_POR_PAGINA;
    ``defecto`` (clamped too) when it is not a whole number."""
    try:
        n = int(valor)
    except (TypeError, ValueError):
        n = defecto
    return min(max(n, 1), settings.ANULACIONES_MAX_POR_PAGINA)


class ConfiguracionAcotada(tables.RequestConfig):
    """``RequestConfig`` with ``per_page`` clamped (``por_pagina``): django-tables2 takes any
    integer (``-1`` breaks the paginator; 40,000 rows make a 45 MB Tablero page that its
    auto-refresh asks for again every 30 s). As there, a ``page`` past either end shows the last."""

    def configure(self, table):
        table.request = self.request
        get = self.request.GET
        ordenables = {c.name for c in table.columns.iterorderable()}
        order_by = [o for o in get.getlist(table.prefixed_order_by_field) if o.removeprefix("-") in ordenables]
        if order_by:  # only known columns: django-tables2 would parse anything else as an accessor
            table.order_by = order_by
        if not self.paginate:
            return table
        kwargs = dict(self.paginate) if hasattr(self.paginate, "items") else {}
        kwargs.pop("silent", None)
        kwargs["per_page"] = por_pagina(get.get(table.prefixed_per_page_field),
                                        kwargs.get("per_page") or table._meta.per_page)
        try:
            kwargs["page"] = int(get[table.prefixed_page_field])
        except (KeyError, ValueError):
            pass
        try:
            table.paginate(**kwargs)
        except PageNotAnInteger:
            table.page = table.paginator.page(1)
        except EmptyPage:
            table.page = table.paginator.page(table.paginator.num_pages)
        return table


# Short names of the SI's destinatario roles, for a readable column.
DESTINATARIO_CORTO = {"ASESOR": "Asesor", "MONITORA": "Monitora", "TEAM_LEADER": "Team Leader",
                      "GESTION_RED": "Gestión de Red", "COC": "COC"}


def destinatario(si):
    return DESTINATARIO_CORTO.get(si.destinatario) or si.get_destinatario_display()


def url_caso(solicitud_id):
    """The case page (the Solicitud's page shows its whole case)."""
    return reverse("solicitud", args=[solicitud_id])


def tiempo_restante(vence_at, ahora=None):
    """"3 h 20 min" before the deadline, "vencido hace 1 h 5 min" after it."""
    p = plazo(vence_at, ahora)
    return p["texto"].removeprefix("quedan ") if p else ""


def esta_vencido(si, ahora=None):
    if si.estado == ServicioIngenieria.E.VENCIDO:
        return True
    return si.estado == ServicioIngenieria.E.ABIERTO and si.vence_at < (ahora or timezone.now())


def nombre_usuario(user):
    return (user.get_full_name() or user.username) if user else ""


def texto_observacion(si):
    obs = si.observacion
    if obs is not None:
        return f"{obs.get_causa_display()}: {obs.detalle}"
    return si.requerido


def local(dt):
    return timezone.localtime(dt) if dt else None


def _texto(valor):
    """HTML-escaped text, as ``django.utils.html.escape`` (without its lazy-string wrapper)."""
    return html.escape(str(valor))


def url_por_pk(nombre):
    """``pk -> reverse(nombre, args=[pk])`` resolved once: a page of rows needs 50 links."""
    marca = "8642097531"
    antes, despues = reverse(nombre, args=[marca]).split(marca)
    return lambda pk: f"{antes}{pk}{despues}"


# The reasons ``Solicitud._hay_que_justificar`` gives (same words: the row shows why the
# justification is asked, the transition path refuses with them). tests/test_tablero_decision.py
# checks that both say the same.
RAZON_SI_EN_PLAZO = "el Servicio de Ingeniería aún está en plazo (5.2)"
RAZON_SIN_CONTACTO = "no hay intento de contacto con el abonado registrado (3.3)"
# Roles that record contact attempts (transitions.registrar_contacto).
ROLES_CONTACTO = frozenset({Rol.GESTION_RED, Rol.COC})
# Key of the session entry that carries a refused cancellation back to its row (views.tablero).
BORRADOR_SESION = "tablero_borrador"
MOTIVO_SIN_REDIGITACION = "Re-digitación no registrada en plazo (19.2)."


def falta_justificar(si, ahora):
    """Why cancelling the SI's Solicitud needs a justification now ('' when it does not), read
    from the annotations of ``selectors.servicios_tablero(acciones=True)``: no query per row.
    Without them (a bare queryset) it asks the model, one query."""
    if not hasattr(si, "caso_con_contacto"):
        return si.solicitud._hay_que_justificar(ahora)
    motivos = []
    if si.sol_plazo_abierto is not None and si.sol_plazo_abierto > ahora:
        motivos.append(RAZON_SI_EN_PLAZO)
    if not si.caso_con_contacto:
        motivos.append(RAZON_SIN_CONTACTO)
    return " y ".join(motivos)


def redigitacion(si, ahora):
    """'vencida' when the SI's Solicitud still waits for its re-digitation past the deadline
    (19.2: it may now be cancelled for good), 'en_plazo' before it, '' otherwise."""
    sol = si.solicitud
    if sol.estado != Solicitud.E.PENDIENTE_REDIGITACION:
        return ""
    if sol.redigitacion_vence_at is None or sol.redigitacion_vence_at <= ahora:
        return "vencida"
    return "en_plazo"


def _opciones(choices):
    return "".join(f'<option value="{_texto(v)}">{_texto(t)}</option>' for v, t in choices)


def _form_contacto(si, url, token, siguiente, lista=""):
    """3.3 where the decision is made: an attempt to reach the subscriber, posted to the case's
    contact route (``views.acciones.contacto_nuevo``), which comes back to ``siguiente``."""
    i = si.pk
    return (
        f'<details class="accion-contacto"><summary>Intento de contacto (3.3)</summary>{lista}'
        f'<form method="post" action="{_texto(url)}" class="accion">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{_texto(token)}">'
        f'<input type="hidden" name="next" value="{_texto(siguiente)}">'
        f'<label for="canal-{i}">Canal</label>'
        f'<select id="canal-{i}" name="canal" required>{_opciones(IntentoContacto.Canal.choices)}</select>'
        f'<label for="resultado-{i}">Resultado</label>'
        f'<select id="resultado-{i}" name="resultado" required>{_opciones(IntentoContacto.Resultado.choices)}</select>'
        f'<label for="detalle-{i}">Detalle (opcional)</label>'
        f'<input type="text" id="detalle-{i}" name="detalle" maxlength="500">'
        '<button type="submit">Registrar intento de contacto</button>'
        "</form></details>")


def intentos_de(sol):
    """The case's contact attempts (3.3) when ``selectors.servicios_tablero(acciones=True)``
    prefetched them, else None: never a query per row."""
    if not Solicitud.caso.is_cached(sol):
        return None
    return getattr(sol.caso, "_prefetched_objects_cache", {}).get("contactos")


def _intentos_html(intentos):
    """The attempts beside the decision: how many and the last one, the list in the box."""
    if intentos is None:
        return "", ""
    intentos = list(intentos)
    if not intentos:
        return '<p class="contactos-fila atrasado">Sin intentos de contacto (3.3)</p>', ""
    ultimo = intentos[-1]
    resumen = (f'<p class="contactos-fila">{len(intentos)} intento{"s" if len(intentos) != 1 else ""} de contacto '
               f'(3.3) · último: {_texto(ultimo.get_canal_display())}, {_texto(ultimo.get_resultado_display())}, '
               f"{_fecha(ultimo.realizado_at)}</p>")
    lista = "".join(
        f"<li>{_fecha(c.realizado_at)} · {_texto(c.get_canal_display())} · {_texto(c.get_resultado_display())}"
        f" · {_texto(nombre_usuario(c.usuario))}{' — ' + _texto(c.detalle) if c.detalle else ''}</li>"
        for c in intentos)
    return resumen, f'<ul class="contactos-lista">{lista}</ul>'


def acciones_html(si, request, *, token=None, volver=None, url_decidir=None, url_contacto=None, ahora=None,
                  puede_contactar=None, borrador=None):
    """The 5.2 decision on the SI's Solicitud: only the transitions the state machine offers
    this user now (``transitions.disponibles``); the server checks again on POST.

    «Anular» asks for a justification (with the reason) when ``falta_justificar``; an open case
    also gets the contact-attempt form (3.3) for Gestión de Red and the COC; a Solicitud waiting
    for its re-digitation says so (19.2) and offers nothing until its deadline has passed.
    ``borrador``: a cancellation refused on its data (views.tablero.decidir), shown again
    open, filled in and with its error on the rows of its Solicitud."""
    sol = si.solicitud
    ahora = ahora or timezone.now()
    token = token or get_token(request)
    volver = request.GET.urlencode() if volver is None else volver
    if puede_contactar is None:
        puede_contactar = bool(roles_de(request.user) & ROLES_CONTACTO)
    estado_redigitacion = redigitacion(si, ahora)
    partes = []
    if estado_redigitacion == "vencida":
        partes.append('<p class="nota-decision rojo">Re-digitación no registrada (19.2)</p>')
    elif estado_redigitacion == "en_plazo":
        limite = _texto(f"{timezone.localtime(sol.redigitacion_vence_at):%d/%m/%Y %H:%M}")
        partes.append(f'<p class="nota-decision">Re-digitación en plazo hasta {limite} (19.2)</p>')
        return mark_safe("".join(partes))  # the asesor still has time: nothing to decide yet
    ofrecidas = [n for n, _ in transitions.disponibles(sol, request.user) if n in ACCIONES_TABLERO]
    url = _texto(url_decidir(sol.pk) if url_decidir else reverse("tablero_decidir", args=[sol.pk]))
    ocultos = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{_texto(token)}">'
        f'<input type="hidden" name="version" value="{_texto(sol.version)}">'
        f'<input type="hidden" name="volver" value="{_texto(volver)}">')
    if "asignar_instalacion" in ofrecidas:
        partes.append(
            f'<form method="post" action="{url}" class="accion">{ocultos}'
            '<button type="submit" name="accion" value="asignar_instalacion">Asignar para instalación</button>'
            "</form>")
    if "anular" in ofrecidas:
        i = si.pk
        propio = borrador if borrador and borrador.get("solicitud") == sol.pk else None
        motivo = propio.get("motivo", "") if propio else (
            MOTIVO_SIN_REDIGITACION if estado_redigitacion == "vencida" else "")
        error = (f'<p class="error" role="alert">{_texto(propio["error"])}</p>'
                 if propio and propio.get("error") else "")
        falta = falta_justificar(si, ahora)
        justificacion = ""
        if falta:
            escrita = _texto(propio.get("justificacion", "") if propio else "")
            justificacion = (
                f'<label for="justificacion-{i}">Justificación</label>'
                f'<p class="ayuda" id="ayuda-justificacion-{i}">Obligatoria: {_texto(falta)}.</p>'
                f'<textarea id="justificacion-{i}" name="justificacion" rows="2" required '
                f'aria-describedby="ayuda-justificacion-{i}">{escrita}</textarea>')
        partes.append(
            f'<details class="accion-anular"{" open" if propio else ""}><summary>Anular</summary>'
            f'<form method="post" action="{url}" class="accion">{ocultos}{error}'
            f'<label for="motivo-{i}">Motivo de la anulación</label>'
            f'<textarea id="motivo-{i}" name="motivo" rows="2" required>{_texto(motivo)}</textarea>'
            f"{justificacion}"
            '<button type="submit" name="accion" value="anular">Confirmar anulación</button>'
            "</form></details>")
    if puede_contactar and sol.estado not in Solicitud.FINALES:
        siguiente = reverse("tablero") + (f"?{volver}" if volver else "")
        resumen, lista = _intentos_html(intentos_de(sol))
        partes.append(resumen + _form_contacto(si, url_contacto(sol.pk) if url_contacto else
                                               reverse("contacto_nuevo", args=[sol.pk]), token, siguiente, lista))
    return mark_safe("".join(partes)) if partes else "—"


class AccionesColumn(tables.Column):
    """Column of the 5.2 decision (``acciones_html``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("empty_values", ())
        kwargs.setdefault("orderable", False)
        kwargs.setdefault("verbose_name", "Decisión (5.2)")
        super().__init__(**kwargs)

    def render(self, record, table):
        return acciones_html(record, table.request)


def _fecha(dt):
    return f"{timezone.localtime(dt):%d/%m/%Y %H:%M}" if dt else "—"


def _restante(si, ahora):
    texto = _texto(tiempo_restante(si.vence_at, ahora))
    return f'<span class="rojo">{texto}</span>' if esta_vencido(si, ahora) else texto


# The Tablero's cells, by column name: the HTML inside each <td> (text escaped here).
# ``c`` carries what is computed once per page (now, request, CSRF token, query string).
CELDAS_TABLERO = {
    "numero": lambda si, c: (f'<a href="{_texto(c["url_caso"](si.solicitud_id))}">'
                             f"{_texto(si.solicitud.numero_smartflex)}</a>"),
    "tipo": lambda si, c: _texto(si.get_tipo_display()),
    "destinatario": lambda si, c: _texto(destinatario(si)),
    "zona": lambda si, c: _texto(si.solicitud.zona.nombre),
    "asesor": lambda si, c: _texto(nombre_usuario(si.asesor)) if si.asesor_id else "—",
    "observacion": lambda si, c: _texto(texto_observacion(si)),
    "abierto": lambda si, c: _fecha(si.creado_at),
    "vence": lambda si, c: _fecha(si.vence_at),
    "restante": lambda si, c: _restante(si, c["ahora"]),
    "atendido": lambda si, c: _fecha(si.cerrado_at),
    "estado": lambda si, c: _texto(si.get_estado_display()),
    "acciones": lambda si, c: acciones_html(si, c["request"], token=c["token"], volver=c["volver"],
                                            url_decidir=c["url_decidir"], url_contacto=c["url_contacto"],
                                            ahora=c["ahora"], puede_contactar=c["puede_contactar"],
                                            borrador=c["borrador"]),
}


class TableroTable(tables.Table):
    """Tablero de Control (5.1): open and overdue SIs, red when past their deadline.

    django-tables2 sorts and paginates it (``RequestConfig``); ``como_html`` writes the markup
    its default template would, in plain Python: the template and its per-cell machinery
    (``inspect.signature`` of every ``render_*`` for every cell, a template per date cell)
    cost ~70 % of the page (see docs/bench.md)."""

    # Every ordering ends in "pk": rows that tie (SIs opened the same day share the cut-off)
    # keep one order, so pages never repeat or skip a row and the export matches the page.
    numero = tables.Column("Solicitud", accessor="solicitud__numero_smartflex",
                           order_by=("solicitud__numero_smartflex", "pk"),
                           linkify=lambda record: url_caso(record.solicitud_id))
    tipo = tables.Column("Tipo", accessor="tipo", order_by=("tipo", "vence_at", "pk"))
    destinatario = tables.Column("Destinatario", accessor="destinatario", order_by=("destinatario", "vence_at", "pk"))
    zona = tables.Column("Zona", accessor="solicitud__zona__nombre", order_by=("solicitud__zona__nombre", "vence_at", "pk"))
    asesor = tables.Column("Asesor", accessor="asesor", order_by=("asesor__first_name", "asesor__last_name",
                                                                  "asesor__username", "vence_at", "pk"))
    observacion = tables.Column("Observación", accessor="observacion", empty_values=(), orderable=False)
    abierto = tables.DateTimeColumn(verbose_name="Abierto", accessor="creado_at", format="d/m/Y H:i", order_by=("creado_at", "pk"))
    vence = tables.DateTimeColumn(verbose_name="Vence", accessor="vence_at", format="d/m/Y H:i", order_by=("vence_at", "pk"))
    restante = tables.Column("Tiempo restante", accessor="vence_at", empty_values=(), order_by=("vence_at", "pk"))
    atendido = tables.DateTimeColumn(verbose_name="Atendido", accessor="cerrado_at", format="d/m/Y H:i",
                                     order_by=("cerrado_at", "pk"))
    estado = tables.Column("Estado", accessor="estado", order_by=("estado", "vence_at", "pk"))
    acciones = AccionesColumn()

    class Meta:
        model = ServicioIngenieria
        fields = ()
        sequence = ("numero", "tipo", "destinatario", "zona", "asesor", "observacion", "abierto", "vence",
                    "restante", "atendido", "estado", "acciones")
        order_by = ("vence",)
        empty_text = "No hay Servicios de Ingeniería con estos filtros."
        attrs = {"class": "tabla tablero", "id": "tabla-tablero"}

    def como_html(self, ahora=None, borrador=None):
        """The table as django-tables2's ``django_tables2/table.html`` renders it (same
        elements, attributes, classes, links and texts; only the whitespace between tags differs).
        ``borrador``: a refused cancellation to show again on its row (``acciones_html``)."""
        request = self.request
        get = request.GET

        def consulta(clave, valor):  # {% querystring_replace clave=valor %}
            params = dict(get.lists())
            params[clave] = valor
            return escape("?" + urlencode(params, doseq=True))

        columnas = list(self.columns)
        partes = [f'<div class="table-container"><table {self.attrs.as_html()}><thead><tr>']
        for col in columnas:
            th = col.attrs["th"].as_html()
            cabecera = escape(col.header)
            if col.orderable:
                cabecera = f'<a href="{consulta(self.prefixed_order_by_field, col.order_by_alias.next)}">{cabecera}</a>'
            partes.append(f"<th {th}>{cabecera}</th>")
        partes.append("</tr></thead><tbody>")
        c = {"ahora": ahora or timezone.now(), "request": request, "token": get_token(request),
             "volver": get.urlencode(), "url_caso": url_por_pk("solicitud"),
             "url_decidir": url_por_pk("tablero_decidir"), "url_contacto": url_por_pk("contacto_nuevo"),
             "puede_contactar": bool(roles_de(request.user) & ROLES_CONTACTO), "borrador": borrador}
        celdas = [CELDAS_TABLERO[col.name] for col in columnas]
        filas = [fila.record for fila in self.paginated_rows]
        for i, si in enumerate(filas):
            clase = ("vencido " if esta_vencido(si, c["ahora"]) else "") + ("odd" if i % 2 else "even")
            partes.append(f'<tr class="{clase}" data-solicitud="{_texto(si.solicitud.numero_smartflex)}">')
            partes.extend(f"<td>{celda(si, c)}</td>" for celda in celdas)
            partes.append("</tr>")
        if not filas and self.empty_text:
            partes.append(f'<tr><td colspan="{len(columnas)}">{escape(self.empty_text)}</td></tr>')
        partes.append("</tbody></table>")
        pagina = getattr(self, "page", None)
        if pagina and self.paginator.num_pages > 1:
            campo = self.prefixed_page_field
            partes.append('<ul class="pagination">')
            if pagina.has_previous():
                partes.append(f'<li class="previous"><a href="{consulta(campo, pagina.previous_page_number())}">'
                              f'{escape(gettext("previous"))}</a></li>')
            if pagina.has_previous() or pagina.has_next():
                for p in table_page_range(pagina, self.paginator):
                    activa = ' class="active"' if p == pagina.number else ""
                    href = "#" if p == "..." else consulta(campo, p)
                    partes.append(f'<li{activa}><a href="{href}">{p}</a></li>')
            if pagina.has_next():
                partes.append(f'<li class="next"><a href="{consulta(campo, pagina.next_page_number())}">'
                              f'{escape(gettext("next"))}</a></li>')
            partes.append("</ul>")
        partes.append("</div>")
        return mark_safe("".join(partes))


def atendidos(vista):
    """The «Atendidos hoy» view (15.9) shows when each SI was answered, not a time remaining."""
    return vista == "atendidos_hoy"


def columnas_ocultas(vista):
    """The Tablero's columns left out in ``vista``: the time remaining or the time answered."""
    return ("restante",) if atendidos(vista) else ("atendido",)


# --- export: the same rows and columns as the page -----------------------------------------
COLUMNAS_EXPORTACION = ("Solicitud", "Tipo", "Destinatario", "Zona", "Asesor", "Observación", "Abierto", "Vence",
                        "Tiempo restante", "Estado")
COLUMNAS_EXPORTACION_ATENDIDOS = tuple("Atendido" if c == "Tiempo restante" else c for c in COLUMNAS_EXPORTACION)


def columnas_exportacion(vista):
    return COLUMNAS_EXPORTACION_ATENDIDOS if atendidos(vista) else COLUMNAS_EXPORTACION


def fila_exportacion(si, ahora, vista=None):
    """One export row (datetimes local and naive, as a spreadsheet wants them)."""
    return (
        si.solicitud.numero_smartflex, si.get_tipo_display(), destinatario(si),
        si.solicitud.zona.nombre, nombre_usuario(si.asesor), texto_observacion(si),
        local(si.creado_at).replace(tzinfo=None), local(si.vence_at).replace(tzinfo=None),
        (local(si.cerrado_at).replace(tzinfo=None) if si.cerrado_at else "") if atendidos(vista)
        else tiempo_restante(si.vence_at, ahora),
        si.get_estado_display(),
    )


# --- search results -------------------------------------------------------------------------
class BusquedaTable(tables.Table):
    numero = tables.Column("N° Smartflex", accessor="numero_smartflex", linkify=lambda record: url_caso(record.pk))
    orden = tables.Column("N° OT", accessor="orden__numero", default="—", order_by=("orden__numero", "pk"))
    cliente = tables.Column("Cliente", accessor="cliente_nombre", order_by=("cliente_nombre", "pk"))
    direccion = tables.Column("Dirección", accessor="calle", order_by=("calle", "numero_puerta", "pk"))
    zona = tables.Column("Zona", accessor="zona__nombre", order_by=("zona__nombre", "pk"))
    tipo = tables.Column("Tipo", accessor="tipo", order_by=("tipo", "pk"))
    estado = tables.Column("Estado", accessor="estado", order_by=("estado", "pk"))
    registrada = tables.DateTimeColumn(verbose_name="Registrada", accessor="creado_at", format="d/m/Y H:i",
                                       order_by=("creado_at", "pk"))

    class Meta:
        fields = ()
        sequence = ("numero", "orden", "cliente", "direccion", "zona", "tipo", "estado", "registrada")
        empty_text = "Ninguna solicitud coincide con la búsqueda."
        attrs = {"class": "tabla busqueda", "id": "tabla-busqueda"}

    def render_direccion(self, record):
        return f"{record.calle} {record.numero_puerta}".strip()
