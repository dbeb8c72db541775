"""django-tables2 tables: columns and links, no queries (the selectors join everything in).

The Tablero is drawn by templates/tablero/tabla.html (django-tables2's markup: headers, sort links,
pages; a plain loop for the rows); ``TableroTable.preparar`` computes beforehand the texts of each
row and its 5.2 decision, so the template only writes them.
"""

import django_tables2 as tables
from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from . import diferencias, emparejamiento, reloj, transitions
from .calendario import plazo
from .models import Diferencia, IntentoContacto, ServicioIngenieria, Solicitud
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
        kwargs["per_page"] = por_pagina(
            get.get(table.prefixed_per_page_field), kwargs.get("per_page") or table._meta.per_page
        )
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
DESTINATARIO_CORTO = {
    "ASESOR": "Asesor",
    "MONITORA": "Monitora",
    "TEAM_LEADER": "Team Leader",
    "GESTION_RED": "Gestión de Red",
    "COC": "COC",
}


def destinatario(si):
    return DESTINATARIO_CORTO.get(si.destinatario) or si.get_destinatario_display()


def url_caso(solicitud_id):
    """The case page (the Solicitud's page shows its whole case)."""
    return reverse("solicitud", args=[solicitud_id])


def tiempo_restante(vence_at, ahora=None):
    """ "3 h 20 min" before the deadline, "vencido hace 1 h 5 min" after it."""
    p = plazo(vence_at, ahora)
    return p["texto"].removeprefix("quedan ") if p else ""


def nombre_usuario(user):
    return (user.get_full_name() or user.username) if user else ""


def texto_observacion(si):
    obs = si.observacion
    if obs is not None:
        return f"{obs.get_causa_display()}: {obs.detalle}"
    return si.requerido


def local(dt):
    return timezone.localtime(dt) if dt else None


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


def intentos_de(sol):
    """The case's contact attempts (3.3) when ``selectors.servicios_tablero(acciones=True)``
    prefetched them, else None: never a query per row."""
    if not Solicitud.caso.is_cached(sol):
        return None
    return getattr(sol.caso, "_prefetched_objects_cache", {}).get("contactos")


def fecha_hora(dt):
    """A moment as the Tablero shows it: local «dd/mm/aaaa hh:mm», «—» when there is none."""
    return f"{timezone.localtime(dt):%d/%m/%Y %H:%M}" if dt else "—"


def decision(si, user, ahora, *, puede_contactar, borrador=None):
    """The 5.2 decision on the SI's Solicitud, the last cell of a Tablero row: only the
    transitions the state machine offers this user now (``transitions.disponibles``); the server
    checks again on POST. A dict:

    - ``redigitacion`` (see ``redigitacion``), its ``limite`` and ``limite_por_que`` (how that deadline
      was counted, stored with it): while it is 'en_plazo' nothing is offered, the asesor still has time;
    - ``asignar``: «Asignar para instalación» is offered;
    - ``anular``: None, or the «Anular» box {abierta, motivo, justificacion, error, falta}: open
      with what was typed when a cancellation came back refused (``borrador``); ``falta``: why a
      justification is needed ('' when it is not);
    - ``contacto``: None, or the contact-attempt form (3.3) for Gestión de Red and the COC on an
      open case, {intentos, ultimo}: the case's attempts, None when they were not prefetched;
    - ``vacia``: nothing to show.
    """
    sol = si.solicitud
    estado = redigitacion(si, ahora)
    d = {
        "redigitacion": estado,
        "limite": fecha_hora(sol.redigitacion_vence_at) if estado else "",
        "limite_por_que": sol.redigitacion_explicacion if estado else "",
        "asignar": False,
        "anular": None,
        "contacto": None,
        "vacia": False,
    }
    if estado == "en_plazo":
        return d
    ofrecidas = {n for n, _ in transitions.disponibles(sol, user)}
    d["asignar"] = "asignar_instalacion" in ofrecidas
    if "anular" in ofrecidas:
        propio = borrador if borrador and borrador.get("solicitud") == sol.pk else None
        d["anular"] = {
            "abierta": bool(propio),
            "motivo": propio.get("motivo", "") if propio else (MOTIVO_SIN_REDIGITACION if estado == "vencida" else ""),
            "justificacion": propio.get("justificacion", "") if propio else "",
            "error": (propio.get("error") or "") if propio else "",
            "falta": falta_justificar(si, ahora),
        }
    if puede_contactar and sol.estado not in Solicitud.FINALES:
        intentos = intentos_de(sol)
        intentos = (
            None
            if intentos is None
            else [
                {
                    "cuando": fecha_hora(c.realizado_at),
                    "canal": c.get_canal_display(),
                    "resultado": c.get_resultado_display(),
                    "quien": nombre_usuario(c.usuario),
                    "detalle": c.detalle,
                }
                for c in intentos
            ]
        )
        d["contacto"] = {"intentos": intentos, "ultimo": intentos[-1] if intentos else None}
    d["vacia"] = not (estado or d["asignar"] or d["anular"] or d["contacto"])
    return d


class TableroTable(tables.Table):
    """Tablero de Control (5.1): open and overdue SIs, red when past their deadline.

    django-tables2 sorts and paginates it (``ConfiguracionAcotada``); templates/tablero/tabla.html
    draws it. ``vista``: the quick view, which shows either the time left or when each SI was
    answered (``columnas_ocultas``)."""

    # Every ordering ends in "pk": rows that tie (SIs opened the same day share the cut-off)
    # keep one order, so pages never repeat or skip a row and the export matches the page.
    numero = tables.Column(
        "Solicitud", accessor="solicitud__numero_smartflex", order_by=("solicitud__numero_smartflex", "pk")
    )
    tipo = tables.Column("Tipo", accessor="tipo", order_by=("tipo", "vence_at", "pk"))
    destinatario = tables.Column("Destinatario", accessor="destinatario", order_by=("destinatario", "vence_at", "pk"))
    zona = tables.Column(
        "Zona", accessor="solicitud__zona__nombre", order_by=("solicitud__zona__nombre", "vence_at", "pk")
    )
    asesor = tables.Column(
        "Asesor",
        accessor="asesor",
        order_by=("asesor__first_name", "asesor__last_name", "asesor__username", "vence_at", "pk"),
    )
    observacion = tables.Column("Observación", accessor="observacion", empty_values=(), orderable=False)
    abierto = tables.Column("Abierto", accessor="creado_at", order_by=("creado_at", "pk"))
    vence = tables.Column("Vence", accessor="vence_at", order_by=("vence_at", "pk"))
    restante = tables.Column("Tiempo restante", accessor="vence_at", empty_values=(), order_by=("vence_at", "pk"))
    atendido = tables.Column("Atendido", accessor="cerrado_at", order_by=("cerrado_at", "pk"))
    estado = tables.Column("Estado", accessor="estado", order_by=("estado", "vence_at", "pk"))
    acciones = tables.Column("Decisión (5.2)", accessor="pk", empty_values=(), orderable=False)

    class Meta:
        model = ServicioIngenieria
        fields = ()
        sequence = (
            "numero",
            "tipo",
            "destinatario",
            "zona",
            "asesor",
            "observacion",
            "abierto",
            "vence",
            "restante",
            "atendido",
            "estado",
            "acciones",
        )
        order_by = ("vence",)
        empty_text = "No hay Servicios de Ingeniería con estos filtros."
        attrs = {"class": "tabla tablero", "id": "tabla-tablero"}
        template_name = "tablero/tabla.html"

    def __init__(self, *args, vista=None, **kwargs):
        self.atendidos = atendidos(vista)
        super().__init__(*args, exclude=columnas_ocultas(vista), **kwargs)

    def preparar(self, request, ahora=None, borrador=None):
        """The rows of the current page for templates/tablero/tabla.html: ``filas``, a dict per row
        with the texts it shows, its links and its ``decision``; and ``pagina``, what every row
        shares (where its forms come back to: this page with its filters and page number; the
        options of the contact-attempt form, written once). ``borrador``: a refused cancellation to
        show again on its row (``decision``)."""
        ahora = ahora or timezone.now()
        volver = request.GET.urlencode()
        # What every row writes several times is escaped here once (a pk, a link; the query string).
        self.pagina = {
            "volver": escape(volver),
            "siguiente": escape(reverse("tablero") + (f"?{volver}" if volver else "")),
            "canales": render_to_string("tablero/_opciones.html", {"opciones": IntentoContacto.Canal.choices}),
            "resultados": render_to_string("tablero/_opciones.html", {"opciones": IntentoContacto.Resultado.choices}),
        }
        user = request.user
        puede_contactar = bool(roles_de(user) & ROLES_CONTACTO)
        caso, decidir, contacto = url_por_pk("solicitud"), url_por_pk("tablero_decidir"), url_por_pk("contacto_nuevo")
        # Plain dicts: a template reads a key at once (an attribute only after a failed key lookup).
        self.filas = []
        for i, fila in enumerate(self.paginated_rows):
            si = fila.record
            sol = si.solicitud
            vencido = si.esta_vencido(ahora)
            self.filas.append(
                {
                    "id": mark_safe(si.pk),  # the ids of the row's form fields (digits)
                    "clase": ("vencido " if vencido else "") + ("odd" if i % 2 else "even"),  # red when overdue
                    "numero": sol.numero_smartflex,
                    "url_caso": caso(si.solicitud_id),
                    "tipo": si.get_tipo_display(),
                    "destinatario": destinatario(si),
                    "zona": sol.zona.nombre,
                    "asesor": nombre_usuario(si.asesor) if si.asesor_id else "—",
                    "observacion": texto_observacion(si),
                    "abierto": fecha_hora(si.creado_at),
                    "vence": fecha_hora(si.vence_at),
                    "por_que": si.vence_explicacion,  # why it falls due then (a stored column: no query)
                    "vencido": vencido,
                    "restante": tiempo_restante(si.vence_at, ahora),
                    "atendido": fecha_hora(si.cerrado_at),
                    "estado": si.get_estado_display(),
                    "url_decidir": escape(decidir(si.solicitud_id)),
                    "url_contacto": contacto(si.solicitud_id),
                    "version": mark_safe(sol.version),
                    "decision": decision(si, user, ahora, puede_contactar=puede_contactar, borrador=borrador),
                }
            )
        return self

    def html(self, request):
        """The table drawn by its template (``Meta.template_name``) for ``request``, once
        ``preparar`` has run."""
        return render_to_string(
            self.template_name, {"table": self, "request": request, "csrf_token": escape(get_token(request))}
        )


def atendidos(vista):
    """The «Atendidos hoy» view (15.9) shows when each SI was answered, not a time remaining."""
    return vista == "atendidos_hoy"


def columnas_ocultas(vista):
    """The Tablero's columns left out in ``vista``: the time remaining or the time answered."""
    return ("restante",) if atendidos(vista) else ("atendido",)


# --- export: the same rows and columns as the page -----------------------------------------
COLUMNAS_EXPORTACION = (
    "Solicitud",
    "Tipo",
    "Destinatario",
    "Zona",
    "Asesor",
    "Observación",
    "Abierto",
    "Vence",
    "Tiempo restante",
    "Estado",
    "Por qué vence ahí",
)
COLUMNAS_EXPORTACION_ATENDIDOS = tuple("Atendido" if c == "Tiempo restante" else c for c in COLUMNAS_EXPORTACION)


def columnas_exportacion(vista):
    return COLUMNAS_EXPORTACION_ATENDIDOS if atendidos(vista) else COLUMNAS_EXPORTACION


def fila_exportacion(si, ahora, vista=None):
    """One export row (datetimes local and naive, as a spreadsheet wants them)."""
    return (
        si.solicitud.numero_smartflex,
        si.get_tipo_display(),
        destinatario(si),
        si.solicitud.zona.nombre,
        nombre_usuario(si.asesor),
        texto_observacion(si),
        local(si.creado_at).replace(tzinfo=None),
        local(si.vence_at).replace(tzinfo=None),
        (local(si.cerrado_at).replace(tzinfo=None) if si.cerrado_at else "")
        if atendidos(vista)
        else tiempo_restante(si.vence_at, ahora),
        si.get_estado_display(),
        si.vence_explicacion,
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
    registrada = tables.DateTimeColumn(
        verbose_name="Registrada", accessor="creado_at", format="d/m/Y H:i", order_by=("creado_at", "pk")
    )

    class Meta:
        fields = ()
        sequence = ("numero", "orden", "cliente", "direccion", "zona", "tipo", "estado", "registrada")
        empty_text = "Ninguna solicitud coincide con la búsqueda."
        attrs = {"class": "tabla busqueda", "id": "tabla-busqueda"}

    def render_direccion(self, record):
        return f"{record.calle} {record.numero_puerta}".strip()


# --- reconciliation with Smartflex (issue 18) ----------------------------------------------------
class DiferenciaTable(tables.Table):
    """The differences with Smartflex on /smartflex/conciliacion/: django-tables2 sorts and
    paginates them (``ConfiguracionAcotada``); ``filas_diferencias`` writes the texts and actions
    of the page's rows, drawn by templates/conciliacion/_diferencias.html. Default order: the
    latest Smartflex status first (``selectors.diferencias_lista``)."""

    numero = tables.Column("N°", accessor="fuente__numero", order_by=("fuente__numero", "pk"))
    objeto = tables.Column("Objeto", accessor="fuente__objeto", order_by=("fuente__objeto", "fuente__numero", "pk"))
    smartflex = tables.Column("En Smartflex", accessor="fuente__fecha", order_by=("fuente__fecha", "pk"))
    aplicacion = tables.Column(
        "En la aplicación", accessor="estado_aplicacion", order_by=("estado_aplicacion", "fuente__fecha", "pk")
    )
    clase = tables.Column("Clase", accessor="clase", order_by=("clase", "fuente__fecha", "pk"))
    decision = tables.Column("Acción", accessor="pk", empty_values=(), orderable=False)

    class Meta:
        model = Diferencia
        fields = ()
        sequence = ("numero", "objeto", "smartflex", "aplicacion", "clase", "decision")
        empty_text = "No hay diferencias con estos filtros."
        attrs = {"class": "tabla conciliacion", "id": "tabla-diferencias"}


def _opciones_html(opciones, elegida=""):
    """``<option>``s of (value, label) pairs, escaped, the chosen one selected (written once per
    page and reused by every row that needs them)."""
    partes = ['<option value="">Elija…</option>']
    for valor, etiqueta in opciones:
        marca = " selected" if str(valor) == str(elegida) else ""
        partes.append(f'<option value="{escape(valor)}"{marca}>{escape(etiqueta)}</option>')
    return mark_safe("".join(partes))


def texto_aplicacion(dif):
    """The application's side of a difference as it is now: the Solicitud's state and its OT's."""
    sol = dif.solicitud
    if sol is None:
        return "Sin caso en la aplicación"
    texto = f"Solicitud {sol.numero_smartflex}: {sol.get_estado_display()}"
    orden = getattr(sol, "orden", None) if Solicitud.orden.is_cached(sol) else None
    if orden is not None:
        texto += f"; OT {orden.numero}: {orden.get_estado_display()}"
    return texto


def filas_diferencias(difs, *, puede_actuar, zonas, asesores, borrador=None):
    """The rows of a page of differences, as dicts of texts (no query: ``selectors.diferencias_lista``
    joins the feed's row, the Solicitud, its OT and who resolved it).

    ``zonas``/``asesores``: [(pk, label, code or username)] of the active zones and asesores, read
    once by the view: «Crear el caso anulado» asks for the zone or the asesor only when Smartflex
    did not report one the application knows (``diferencias.resolver``'s rule). ``borrador``: an
    action refused on its data, {diferencia, accion, nota, zona, asesor, error}: its row's form
    opens again with what was typed and why it was refused."""
    caso = url_por_pk("solicitud")
    codigos = {codigo for _, _, codigo in zonas}
    usuarios = {usuario for _, _, usuario in asesores}
    opciones_zona = [(pk, etiqueta) for pk, etiqueta, _ in zonas]
    opciones_asesor = [(pk, etiqueta) for pk, etiqueta, _ in asesores]
    zona_html, asesor_html = _opciones_html(opciones_zona), _opciones_html(opciones_asesor)
    filas = []
    for dif in difs:
        f = dif.fuente
        propio = borrador if borrador and borrador.get("diferencia") == dif.pk else None
        abierta = dif.estado == Diferencia.Estado.ABIERTA
        acciones = []
        if abierta and puede_actuar:
            for nombre in diferencias.ACCIONES.get(dif.clase, ()):
                mio = propio if propio and propio.get("accion") == nombre else None
                crear = nombre == diferencias.CREAR_CASO
                pide_zona = crear and f.zona.strip() not in codigos
                pide_asesor = crear and f.asesor.strip() not in usuarios
                acciones.append(
                    {
                        "nombre": nombre,
                        "etiqueta": diferencias.ETIQUETAS_ACCION.get(nombre, nombre),
                        "nota_obligatoria": nombre == diferencias.ERROR_SMARTFLEX,
                        "pide_zona": pide_zona,
                        "pide_asesor": pide_asesor,
                        "zona_dice": f.zona.strip(),
                        "asesor_dice": f.asesor.strip(),
                        "opciones_zona": _opciones_html(opciones_zona, mio.get("zona", "")) if mio else zona_html,
                        "opciones_asesor": (
                            _opciones_html(opciones_asesor, mio.get("asesor", "")) if mio else asesor_html
                        ),
                        "abierta": bool(mio),
                        "nota": mio.get("nota", "") if mio else "",
                        "error": mio.get("error", "") if mio else "",
                    }
                )
        filas.append(
            {
                "id": dif.pk,
                "numero": f.numero,
                "objeto": f.get_objeto_display(),
                "sf_estado": f.get_estado_display(),
                "sf_texto": f.estado_texto if f.estado_texto and f.estado_texto.lower() != f.estado else "",
                "sf_fecha": fecha_hora(f.fecha),
                "sf_usuario": f.usuario,
                "sf_motivo": f.motivo,
                "url_caso": caso(dif.solicitud_id) if dif.solicitud_id else "",
                "aplicacion": texto_aplicacion(dif),
                "clase": dif.clase,
                "clase_texto": dif.get_clase_display(),
                "abierta": abierta,
                "detectada": fecha_hora(dif.detectada_at),
                "acciones": acciones,
                "resolucion": None
                if abierta
                else {
                    "como": dif.get_estado_display(),
                    "quien": nombre_usuario(dif.resuelta_por) if dif.resuelta_por_id else "",
                    "cuando": fecha_hora(dif.resuelta_at),
                    "automatica": dif.automatica,
                    "nota": dif.nota,
                },
                "nota_abierta": dif.nota if abierta else "",  # why an automatic application did not apply
            }
        )
    return filas


def filas_emparejamientos(emps, *, borrador=None):
    """The proposed re-entries of a page, as dicts of texts (no query: ``selectors.emparejamientos_lista``
    joins both Solicitudes): the cancelled one (number, when cancelled, state), the new one
    (number, when registered, how long after), the confidence with its band and reasons.
    ``borrador``: a refused decision, {emparejamiento, motivo, error}."""
    caso = url_por_pk("solicitud")
    filas = []
    for e in emps:
        a, n = e.anulada, e.nueva
        cancelada = a.cancelada_at
        banda = emparejamiento.nivel(e.confianza)  # alta ≥ 80 (same document and address), media ≥ 50
        propio = borrador if borrador and borrador.get("emparejamiento") == e.pk else None
        transcurrido = ""
        if cancelada and n.creado_at:
            delta = n.creado_at - cancelada
            transcurrido = (
                f"{reloj.duracion_texto(delta)} después de la anulación"
                if delta.total_seconds() >= 0
                else "antes de la anulación"
            )
        filas.append(
            {
                "id": e.pk,
                "anulada": a.numero_smartflex,
                "anulada_url": caso(a.pk),
                "anulada_cuando": fecha_hora(cancelada),
                "anulada_estado": a.get_estado_display(),
                "version": a.version,
                "nueva": n.numero_smartflex,
                "nueva_url": caso(n.pk),
                "nueva_cuando": fecha_hora(n.creado_at),
                "nueva_estado": n.get_estado_display(),
                "transcurrido": transcurrido,
                "confianza": e.confianza,
                "banda": banda,
                "banda_texto": emparejamiento.ETIQUETA[banda],
                "motivos": [str(m) for m in (e.motivos or [])],
                "estado": e.estado,
                "estado_texto": e.get_estado_display(),
                "automatico": e.automatico,
                "quien": nombre_usuario(e.resuelto_por) if e.resuelto_por_id else "",
                "cuando": fecha_hora(e.resuelto_at),
                "abierto": bool(propio),
                "motivo": propio.get("motivo", "") if propio else "",
                "error": propio.get("error", "") if propio else "",
            }
        )
    return filas
