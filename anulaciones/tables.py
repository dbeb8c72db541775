"""django-tables2 tables: columns and links, no queries (the selectors join everything in)."""
import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from . import transitions
from .calendario import plazo
from .models import ServicioIngenieria

ACCIONES_TABLERO = ("asignar_instalacion", "anular")  # the 5.2 decision


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


class AccionesColumn(tables.Column):
    """The 5.2 decision on the row's Solicitud: only the transitions the state machine offers
    this user now (``transitions.disponibles``); the server checks again on POST."""

    def __init__(self, **kwargs):
        kwargs.setdefault("empty_values", ())
        kwargs.setdefault("orderable", False)
        kwargs.setdefault("verbose_name", "Decisión (5.2)")
        super().__init__(**kwargs)

    def render(self, record, table):
        request = table.request
        sol = record.solicitud
        ofrecidas = [n for n, _ in transitions.disponibles(sol, request.user) if n in ACCIONES_TABLERO]
        if not ofrecidas:
            return "—"
        url = reverse("tablero_decidir", args=[sol.pk])
        ocultos = format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<input type="hidden" name="version" value="{}">'
            '<input type="hidden" name="volver" value="{}">',
            get_token(request), sol.version, request.GET.urlencode())
        partes = []
        if "asignar_instalacion" in ofrecidas:
            partes.append(format_html(
                '<form method="post" action="{}" class="accion">{}'
                '<button type="submit" name="accion" value="asignar_instalacion">Asignar para instalación</button>'
                "</form>", url, ocultos))
        if "anular" in ofrecidas:
            partes.append(format_html(
                '<details class="accion-anular"><summary>Anular</summary>'
                '<form method="post" action="{}" class="accion">{}'
                '<label for="motivo-{}">Motivo de la anulación</label>'
                '<textarea id="motivo-{}" name="motivo" rows="2" required></textarea>'
                '<button type="submit" name="accion" value="anular">Confirmar anulación</button>'
                "</form></details>", url, ocultos, record.pk, record.pk))
        return format_html_join("", "{}", ((p,) for p in partes))


class TableroTable(tables.Table):
    """Tablero de Control (5.1): open and overdue SIs, red when past their deadline."""

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
    estado = tables.Column("Estado", accessor="estado", order_by=("estado", "vence_at", "pk"))
    acciones = AccionesColumn()

    class Meta:
        model = ServicioIngenieria
        fields = ()
        sequence = ("numero", "tipo", "destinatario", "zona", "asesor", "observacion", "abierto", "vence",
                    "restante", "estado", "acciones")
        order_by = ("vence",)
        empty_text = "No hay Servicios de Ingeniería con estos filtros."
        attrs = {"class": "tabla tablero", "id": "tabla-tablero"}
        row_attrs = {
            "class": lambda record: "vencido" if esta_vencido(record) else "",
            "data-solicitud": lambda record: record.solicitud.numero_smartflex,
        }

    def render_asesor(self, value):
        return nombre_usuario(value)

    def render_destinatario(self, record):
        return destinatario(record)

    def render_observacion(self, record):
        return texto_observacion(record)

    def render_restante(self, record):
        texto = tiempo_restante(record.vence_at)
        if esta_vencido(record):
            return format_html('<span class="rojo">{}</span>', texto)
        return texto


# --- export: the same rows and columns as the page -----------------------------------------
COLUMNAS_EXPORTACION = ("Solicitud", "Tipo", "Destinatario", "Zona", "Asesor", "Observación", "Abierto", "Vence",
                        "Tiempo restante", "Estado")


def fila_exportacion(si, ahora):
    """One export row (datetimes local and naive, as a spreadsheet wants them)."""
    return (
        si.solicitud.numero_smartflex, si.get_tipo_display(), destinatario(si),
        si.solicitud.zona.nombre, nombre_usuario(si.asesor), texto_observacion(si),
        local(si.creado_at).replace(tzinfo=None), local(si.vence_at).replace(tzinfo=None),
        tiempo_restante(si.vence_at, ahora), si.get_estado_display(),
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
