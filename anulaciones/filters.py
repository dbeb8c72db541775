"""django-filter FilterSets: one per list, shared by its page, its API list and its export, so the
three always agree (the Tablero's open-only default and its quick views included).

Widgets are Django's own, drawn with Django's markup by the project's templates/filtros/.
Options read from the database (zones, asesores) are read once per form, as (pk, label) rows: that
one query serves the options shown and the validation of the value chosen.
"""

import functools

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet
from django.forms import renderers
from django.template import loader
from drf_spectacular.utils import extend_schema_field

from . import selectors
from .models import (
    Diferencia,
    Emparejamiento,
    Entrega,
    OrdenDeTrabajo,
    ServicioIngenieria,
    Solicitud,
    Zona,
    Zonificacion,
)
from .models.base import VEN_TODO, equipo_de
from .roles import Rol, roles_de


# --- how the filter forms render ------------------------------------------------------------------
class RenderizadorFiltros(renderers.DjangoTemplates):
    """Django's form renderer, except for the templates in ``PROPIAS``, which are the project's
    (templates/filtros/): the same markup as Django's, each one template where Django's includes
    one per option and one more for every element's attributes (a filter form holds ~100 options),
    and the field group written into the form's template."""

    PROPIAS = {
        "django/forms/widgets/select.html": "filtros/lista.html",
        "django/forms/widgets/checkbox_select.html": "filtros/casillas.html",
        "django/forms/widgets/text.html": "filtros/campo.html",
        "django/forms/widgets/date.html": "filtros/campo.html",
    }

    def get_template(self, template_name):
        propia = self.PROPIAS.get(template_name, template_name)
        if propia.startswith("filtros/"):
            return loader.get_template(propia)  # the project's templates (settings.TEMPLATES)
        return super().get_template(template_name)


class FormularioFiltros(forms.Form):
    default_renderer = RenderizadorFiltros()  # one instance: its template engine is built once
    template_name_div = "filtros/formulario.html"


# --- options read once ---------------------------------------------------------------------------
class OpcionChoiceField(django_filters.fields.ChoiceField):
    """A choice among rows read for the form, as (pk as text, label). ``alias()``: another name of
    each option accepted in the query string ({name: pk}; a zone's code, a user's username: what the
    API documents), looked up when the value is not an option's pk (what the pages send)."""

    def __init__(self, *args, alias=dict, **kwargs):
        self.alias = alias
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        alias = self.alias()
        return value if value in alias.values() else alias.get(value, value)


class OpcionFilter(django_filters.ChoiceFilter):
    """``opciones(request) -> (choices, alias)`` is called at most once per form, when its options
    are shown or a value is validated (a list or export without this filter reads nothing; the API
    schema documents the value as a string)."""

    field_class = OpcionChoiceField

    def __init__(self, *args, opciones, **kwargs):
        self.opciones = opciones
        super().__init__(*args, **kwargs)

    @property
    def field(self):
        if not hasattr(self, "_field"):
            leidas = functools.cache(lambda: self.opciones(getattr(self.parent, "request", None)))
            self.extra.update(choices=lambda: leidas()[0], alias=lambda: leidas()[1])
        return super().field


def _zonas(request=None):
    filas = list(Zona.objects.order_by("nombre").values_list("pk", "nombre", "codigo"))
    return [(str(pk), nombre) for pk, nombre, _ in filas], {codigo: str(pk) for pk, _, codigo in filas}


def _asesores(request=None):
    return get_user_model().objects.filter(groups__name=Rol.ASESOR).order_by("first_name", "last_name", "username")


def _opciones_de_usuarios(qs):
    filas = list(qs.values_list("pk", "first_name", "last_name", "username"))
    # The label of User.get_full_name(), or the username.
    return (
        [(str(pk), f"{nombre} {apellido}".strip() or usuario) for pk, nombre, apellido, usuario in filas],
        {usuario: str(pk) for pk, _, _, usuario in filas},
    )


def _asesores_visibles(request=None):
    """The asesores whose cases the user may see (models/base.py ``en_alcance_de``): every one for
    the roles that read every case and for the zonal ones (a zone holds any asesor's cases), the
    team for a team leader, herself for an asesor."""
    user = getattr(request, "user", None)
    roles = roles_de(user)
    qs = _asesores()
    if not roles & (VEN_TODO | {Rol.COZ, Rol.TECNICO}):
        q = Q(pk__in=[])
        if Rol.ASESOR in roles:
            q |= Q(pk=user.pk)
        if Rol.TEAM_LEADER in roles:
            q |= Q(pk__in=equipo_de(user))
        qs = qs.filter(q)
    return _opciones_de_usuarios(qs)


def _todos_los_asesores(request=None):
    return _opciones_de_usuarios(_asesores())


@extend_schema_field({"type": "string", "description": "La zona: su código (o su id)."})
class ZonaFilter(OpcionFilter):
    pass


@extend_schema_field({"type": "string", "description": "El asesor: su nombre de usuario (o su id)."})
class AsesorFilter(OpcionFilter):
    pass


def filtro_zona(**kwargs):
    return ZonaFilter(label="Zona", opciones=_zonas, empty_label="Todas", **kwargs)


def filtro_asesor(opciones, **kwargs):
    return AsesorFilter(label="Asesor", opciones=opciones, empty_label="Todos", **kwargs)


# --- one value on the page, several through the API -----------------------------------------------
class UnoOVarios(forms.Select):
    """A plain <select> that also reads its parameter repeated (``estado=a&estado=b``); the empty
    option («Todos») is no value."""

    def value_from_datadict(self, data, files, name):
        valores = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        return [v for v in valores if v not in (None, "")] or None


class VariosChoiceField(django_filters.fields.MultipleChoiceField):
    widget = UnoOVarios

    def __init__(self, *args, empty_label=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.empty_label = empty_label  # after the parent's (which sets None)


class EstadoFilter(django_filters.MultipleChoiceFilter):
    """The state, chosen from a <select>; repeatable in the query string (any of them)."""

    field_class = VariosChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)  # a column of the row itself: no duplicates to remove
        kwargs.setdefault("empty_label", "Todos")
        super().__init__(*args, **kwargs)


_FECHA = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _numero():
    return django_filters.CharFilter(label="N° Smartflex u OT", method="filtrar_numero", max_length=60)


class NumeroMixin:
    """``numero``: part of a Smartflex or OT number (``NUMERO``: the fields it is looked for in)."""

    NUMERO = ()

    def filtrar_numero(self, queryset, name, value):
        q = selectors.texto_busqueda(value)
        if not q:
            return queryset
        return queryset.filter(Q(*[Q(**{f"{campo}__icontains": q}) for campo in self.NUMERO], _connector=Q.OR))


# --- Tablero de Control (5.1) and the API's list of SIs -------------------------------------------
class TableroFilter(NumeroMixin, django_filters.FilterSet):
    """Filters of the Tablero de Control (5.1), its exports and GET /api/v1/servicios/. With no
    state chosen (and no «atendidos hoy» view) it lists the open and overdue SIs."""

    PRESETS = tuple((clave, etiqueta) for clave, (etiqueta, _) in selectors.VISTAS_TABLERO.items())
    ESTADOS = [(e.value, e.label) for e in ServicioIngenieria.E]
    NUMERO = ("solicitud__numero_smartflex", "solicitud__orden__numero")

    vista = django_filters.ChoiceFilter(
        label="Vista rápida", choices=PRESETS, method="filtrar_vista", empty_label="Todos los abiertos"
    )
    numero = _numero()
    estado = django_filters.MultipleChoiceFilter(
        label="Estado", choices=ESTADOS, distinct=False, widget=forms.CheckboxSelectMultiple
    )
    tipo = django_filters.ChoiceFilter(label="Tipo", choices=ServicioIngenieria.Tipo.choices, empty_label="Todos")
    destinatario = django_filters.ChoiceFilter(
        label="Destinatario", choices=[(r, Rol(r).label) for r in ServicioIngenieria.DESTINATARIOS], empty_label="Todos"
    )
    zona = filtro_zona(field_name="zona")
    asesor = filtro_asesor(_todos_los_asesores, field_name="asesor")
    abierto_el = django_filters.DateFilter(label="Abierto el", method="filtrar_abierto_el", widget=_FECHA)
    abierto_desde = django_filters.DateFilter(label="Abierto desde", method="filtrar_abierto_desde", widget=_FECHA)
    abierto_hasta = django_filters.DateFilter(label="Abierto hasta", method="filtrar_abierto_hasta", widget=_FECHA)

    class Meta:
        model = ServicioIngenieria
        fields = []
        form = FormularioFiltros

    def filter_queryset(self, queryset):
        datos = self.form.cleaned_data
        if not datos.get("estado") and datos.get("vista") != "atendidos_hoy":
            queryset = queryset.abiertos()
        return super().filter_queryset(queryset)

    # Dates are local calendar days (America/La_Paz by default), compared as ranges so the
    # index on creado_at is used.
    def filtrar_abierto_el(self, queryset, name, value):
        inicio, fin = selectors.dia_local(value)
        return queryset.filter(creado_at__gte=inicio, creado_at__lt=fin)

    def filtrar_abierto_desde(self, queryset, name, value):
        return queryset.filter(creado_at__gte=selectors.dia_local(value)[0])

    def filtrar_abierto_hasta(self, queryset, name, value):
        return queryset.filter(creado_at__lt=selectors.dia_local(value)[1])

    def filtrar_vista(self, queryset, name, value):
        return selectors.VISTAS_TABLERO[value][1](queryset)


class ServicioApiFilter(TableroFilter):
    """GET /api/v1/servicios/: the Tablero's FilterSet, plus ``desde``/``hasta``, the API's names
    (before issue 16) for «abierto desde / hasta», so a client that sends them is not silently
    given the unfiltered list."""

    desde = django_filters.DateFilter(method="filtrar_abierto_desde")
    hasta = django_filters.DateFilter(method="filtrar_abierto_hasta")


# --- the lists of Solicitudes and OTs (/solicitudes/, /ordenes/ and their API lists) ---------------
class FormularioLista(FormularioFiltros):
    def clean(self):
        datos = super().clean()
        for campo in ("desde", "hasta"):
            if datos.get(campo) and not selectors.fecha_admisible(datos[campo]):
                self.add_error(campo, selectors.FECHAS_MENSAJE)
        if datos.get("desde") and datos.get("hasta") and datos["desde"] > datos["hasta"]:
            self.add_error("hasta", "«Hasta» es anterior a «desde».")
        return datos


class CreadoEntreFilter(django_filters.FilterSet):
    """``desde``/``hasta``: local calendar days (America/La_Paz by default) of ``creado_at``,
    inclusive, as ranges on the indexed column."""

    desde = django_filters.DateFilter(label="Desde", method="filtrar_desde", widget=_FECHA)
    hasta = django_filters.DateFilter(label="Hasta", method="filtrar_hasta", widget=_FECHA)

    class Meta:
        fields = []
        form = FormularioLista

    def filtrar_desde(self, queryset, name, value):
        return queryset.filter(creado_at__gte=selectors.dia_local(value)[0])

    def filtrar_hasta(self, queryset, name, value):
        return queryset.filter(creado_at__lt=selectors.dia_local(value)[1])


class ListaCasosFilter(NumeroMixin, CreadoEntreFilter):
    """Filters, queue and order of a list of cases, all in the query string (a filtered list is a
    link to keep or share). ``colas``: the user's home queues this list can show
    (views/inicio.py ``DefCola``); ``cola=<clave>`` narrows the list to one, in its order.

    Subclasses name their model's fields: ``NUMERO`` (where a number is looked for) and
    ``COLUMNAS``, the sortable columns as {key: (label, fields)}."""

    POR_DEFECTO = ("-creado_at", "-pk")
    COLUMNAS = {}
    VENCE = {"vence": ("Vence", ("vence",))}

    cola = django_filters.ChoiceFilter(label="Cola de su inicio", method="filtrar_cola", empty_label="Ninguna")
    numero = _numero()
    zona = filtro_zona(field_name="zona")
    tipo = django_filters.ChoiceFilter(label="Tipo", choices=Solicitud.Tipo.choices, empty_label="Todos")
    sort = django_filters.ChoiceFilter(label="Ordenar por", method="sin_filtrar", empty_label="Orden predeterminado")

    class Meta(CreadoEntreFilter.Meta):
        pass

    ORDEN_CAMPOS = ("cola", "numero", "zona", "asesor", "tipo", "estado", "desde", "hasta", "sort")
    FECHA = "Registrada"

    def __init__(self, data=None, *args, colas=(), **kwargs):
        super().__init__(data, *args, **kwargs)
        self.filters = {k: self.filters[k] for k in self.ORDEN_CAMPOS}
        self.filters["desde"].label = f"{self.FECHA} desde"
        self.filters["hasta"].label = f"{self.FECHA} hasta"
        self.colas = {c.clave: c for c in colas}
        self.filters["cola"].extra["choices"] = [(c.clave, c.titulo) for c in colas]
        pedida = self.colas.get((data or {}).get("cola") or "")
        self.columnas = {**self.COLUMNAS, **(self.VENCE if pedida and pedida.con_plazo else {})}
        self.filters["sort"].extra["choices"] = [
            opcion
            for clave, (etiqueta, _) in self.columnas.items()
            for opcion in ((clave, f"{etiqueta} (ascendente)"), (f"-{clave}", f"{etiqueta} (descendente)"))
        ]

    @property
    def cola_elegida(self):
        return self.colas.get(self.form.cleaned_data.get("cola") or "") if self.is_valid() else None

    @property
    def orden_elegido(self):
        return (self.form.cleaned_data.get("sort") or "") if self.is_valid() else ""

    def filtrar_cola(self, queryset: QuerySet, name: str, value: str) -> QuerySet:  # typed for the OpenAPI schema
        return self.colas[value].filtrar(queryset, self.request.user)

    def sin_filtrar(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # the order is applied last (filter_queryset)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        orden = self.form.cleaned_data.get("sort")
        if orden:
            desc = orden.startswith("-")
            campos = self.columnas[orden.removeprefix("-")][1]
            return queryset.order_by(
                *[F(c).desc(nulls_last=True) if desc else F(c).asc(nulls_last=True) for c in campos],
                "-pk" if desc else "pk",
            )
        cola = self.colas.get(self.form.cleaned_data.get("cola") or "")
        pedido = self.form.cleaned_data.get("orden") or ""  # issue 19: «Ordenar por: llegada | riesgo»
        if cola:
            return queryset.order_by(*cola.orden_de(pedido))
        return queryset.order_by(*(selectors.ORDEN_RIESGO if pedido == "riesgo" else self.POR_DEFECTO))


class SolicitudListaFilter(ListaCasosFilter):
    NUMERO = ("numero_smartflex", "orden__numero")
    COLUMNAS = {
        "numero": ("N° Smartflex", ("numero_smartflex",)),
        "tipo": ("Tipo", ("tipo",)),
        "cliente": ("Cliente", ("cliente_nombre",)),
        "zona": ("Zona", ("zona__nombre",)),
        "asesor": ("Asesor", ("asesor__first_name", "asesor__last_name", "asesor__username")),
        "estado": ("Estado", ("estado",)),
        "riesgo": ("Riesgo", ("riesgo",)),
        "registrada": ("Registrada", ("creado_at",)),
    }
    ORDEN_CAMPOS = (
        "cola",
        "numero",
        "zona",
        "asesor",
        "tipo",
        "estado",
        "riesgo_banda",
        "registrada",
        "desde",
        "hasta",
        "sort",
        "orden",
    )

    asesor = filtro_asesor(_asesores_visibles, field_name="asesor")
    estado = EstadoFilter(label="Estado", choices=Solicitud.Estado.choices)
    # Issue 19: the risk of observation or cancellation scored at entry.
    riesgo_banda = django_filters.ChoiceFilter(
        label="Riesgo al registrar",
        choices=selectors.BANDAS_RIESGO,
        empty_label="Todos",
        help_text="La banda de riesgo de observación o anulación calculada al registrar: alto, medio o bajo.",
    )
    registrada = django_filters.ChoiceFilter(
        label="Registrada",
        choices=[("hoy", "Hoy")],
        method="filtrar_registrada",
        empty_label="Cualquier día",
        help_text="hoy: solo las registradas hoy (día local).",
    )
    orden = django_filters.ChoiceFilter(
        label="Orden",
        choices=[("riesgo", "Por riesgo (el más alto primero)")],
        method="sin_filtrar",
        empty_label="Por llegada",
        help_text="riesgo: el riesgo más alto primero (sin puntaje al final), a igual riesgo la más antigua; "
        "sin efecto si se elige «sort».",
    )

    class Meta(ListaCasosFilter.Meta):
        model = Solicitud

    def filtrar_registrada(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return selectors.registradas_hoy(queryset) if value == "hoy" else queryset


class OrdenListaFilter(ListaCasosFilter):
    FECHA = "Generada"
    NUMERO = ("numero", "solicitud__numero_smartflex")
    COLUMNAS = {
        "numero": ("N° OT", ("numero",)),
        "solicitud": ("Solicitud", ("solicitud__numero_smartflex",)),
        "tipo": ("Tipo", ("solicitud__tipo",)),
        "cliente": ("Cliente", ("solicitud__cliente_nombre",)),
        "zona": ("Zona", ("zona__nombre",)),
        "asesor": (
            "Asesor",
            ("solicitud__asesor__first_name", "solicitud__asesor__last_name", "solicitud__asesor__username"),
        ),
        "tecnico": ("Técnico", ("tecnico__username",)),
        "estado": ("Estado", ("estado",)),
        "generada": ("Generada", ("creado_at",)),
    }

    asesor = filtro_asesor(_asesores_visibles, field_name="solicitud__asesor")
    tipo = django_filters.ChoiceFilter(
        label="Tipo", field_name="solicitud__tipo", choices=Solicitud.Tipo.choices, empty_label="Todos"
    )
    estado = EstadoFilter(label="Estado", choices=OrdenDeTrabajo.Estado.choices)

    class Meta(ListaCasosFilter.Meta):
        model = OrdenDeTrabajo


# --- zonifications (API list only: the home's queue «zonificar» lists their Solicitudes) -----------
class ZonificacionFilter(CreadoEntreFilter):
    estado = EstadoFilter(label="Estado", choices=Zonificacion.Estado.choices)
    zona = filtro_zona(field_name="zona_corregida")
    numero = django_filters.CharFilter(label="N° OT", field_name="orden__numero", lookup_expr="icontains")

    class Meta(CreadoEntreFilter.Meta):
        model = Zonificacion


# --- deliveries to Div. Facturación (21.1) -------------------------------------------------------
class CampoMes(forms.CharField):
    """A month typed AAAA-MM (``selectors.mes_de``): its first day."""

    def to_python(self, valor):
        valor = super().to_python(valor)
        if valor in self.empty_values:
            return None
        try:
            return selectors.mes_de(valor)
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$"})
class MesFilter(django_filters.Filter):
    field_class = CampoMes


class EntregaFilter(django_filters.FilterSet):
    mes = MesFilter(label="Mes", field_name="mes", help_text="El mes entregado, AAAA-MM.")
    estado = django_filters.ChoiceFilter(
        label="Estado", choices=Entrega.Estado.choices, help_text="generada: sin acuse de recibo; recibida: con acuse."
    )

    class Meta:
        model = Entrega
        fields = []


# --- reconciliation with Smartflex (issue 18): the page /smartflex/conciliacion/ and its API lists ----
class DiferenciaFilter(NumeroMixin, django_filters.FilterSet):
    """The differences with Smartflex: the page's list and GET /api/v1/smartflex/diferencias/.
    Without ``estado`` the ``vista`` decides: the open ones (default), the resolved ones, or all.
    Dates are local days of the status's date in Smartflex."""

    VISTAS = (("abiertas", "Abiertas"), ("resueltas", "Resueltas"), ("todas", "Todas"))
    NUMERO = ("fuente__numero", "solicitud__numero_smartflex", "solicitud__orden__numero")

    vista = django_filters.ChoiceFilter(
        label="Mostrar",
        choices=VISTAS,
        method="sin_filtrar",
        empty_label=None,
        help_text="resueltas: las ya resueltas (quién, cuándo, cómo); todas: abiertas y resueltas. Sin «estado» "
        "ni «vista», las abiertas.",
    )
    numero = django_filters.CharFilter(label="N° Smartflex u OT", method="filtrar_numero", max_length=60)
    clase = django_filters.ChoiceFilter(label="Clase", choices=Diferencia.Clase.choices, empty_label="Todas")
    estado = EstadoFilter(label="Estado", choices=Diferencia.Estado.choices)
    zona = filtro_zona(method="filtrar_zona")
    desde = django_filters.DateFilter(label="Fecha en Smartflex desde", method="filtrar_desde", widget=_FECHA)
    hasta = django_filters.DateFilter(label="Fecha en Smartflex hasta", method="filtrar_hasta", widget=_FECHA)

    class Meta:
        model = Diferencia
        fields: list[str] = []
        form = FormularioLista

    @property
    def vista_elegida(self) -> str:
        datos = self.form.cleaned_data if self.is_valid() else {}
        if datos.get("estado"):
            return ""
        return datos.get("vista") or "abiertas"

    def filter_queryset(self, queryset):
        vista = self.vista_elegida if self.is_valid() else "abiertas"
        if vista == "abiertas":
            queryset = queryset.filter(estado=Diferencia.Estado.ABIERTA)
        elif vista == "resueltas":
            queryset = queryset.exclude(estado=Diferencia.Estado.ABIERTA)
        return super().filter_queryset(queryset)

    def sin_filtrar(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # ``vista`` is applied in filter_queryset (it depends on ``estado``)

    def filtrar_zona(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """The zone of the application's Solicitud; for a number the application does not know,
        the zone code Smartflex reported."""
        return queryset.filter(
            Q(solicitud__zona_id=value)
            | Q(solicitud__isnull=True, fuente__zona__in=Zona.objects.filter(pk=value).values("codigo"))
        )

    def filtrar_desde(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(fuente__fecha__gte=selectors.dia_local(value)[0])

    def filtrar_hasta(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(fuente__fecha__lt=selectors.dia_local(value)[1])


class EmparejamientoFilter(NumeroMixin, django_filters.FilterSet):
    """GET /api/v1/smartflex/emparejamientos/: without ``estado``, the proposed ones (those waiting
    for a person)."""

    NUMERO = ("anulada__numero_smartflex", "nueva__numero_smartflex")

    estado = EstadoFilter(
        label="Estado",
        choices=Emparejamiento.Estado.choices,
        help_text="propuesto, vinculado, descartado (repetible). Sin él, los propuestos.",
    )
    numero = django_filters.CharFilter(label="N° Smartflex", method="filtrar_numero", max_length=60)

    class Meta:
        model = Emparejamiento
        fields: list[str] = []
        form = FormularioFiltros

    def filter_queryset(self, queryset):
        if not getattr(self.form, "cleaned_data", {}).get("estado"):
            queryset = queryset.filter(estado=Emparejamiento.Estado.PROPUESTO)
        return super().filter_queryset(queryset)
