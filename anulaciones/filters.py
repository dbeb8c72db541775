"""django-filter FilterSets: the filters of each list, shared by its page and its export."""
import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from django.db.models import F, Q

from . import selectors
from .models import OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zona
from .models.base import VEN_TODO, equipo_de
from .roles import Rol, roles_de


def _asesores(request=None):
    return get_user_model().objects.filter(groups__name=Rol.ASESOR).order_by("first_name", "last_name", "username")


# --- widgets written in Python ---------------------------------------------------------------
# Django renders a widget through its template engine: a template for the <select> and one
# more per <option> (zones, asesores: ~100 per page). These widgets keep Django's context
# (``get_context``: attributes, ids, selected options, aria-* of errors) and write the markup
# its templates write, in Python: the filter form of the Tablero cost a third of the page.
def _atributos(attrs):
    """django/forms/widgets/attrs.html"""
    return "".join(f" {conditional_escape(k)}" if v is True else f' {conditional_escape(k)}="{conditional_escape(v)}"'
                   for k, v in attrs.items() if v is not False)


def _input(w):
    """django/forms/widgets/input.html"""
    valor = f' value="{conditional_escape(w["value"])}"' if w["value"] is not None else ""
    return (f'<input type="{conditional_escape(w["type"])}" name="{conditional_escape(w["name"])}"{valor}'
            f'{_atributos(w["attrs"])}>')


class FechaRapida(forms.DateInput):
    def _render(self, template_name, context, renderer=None):
        return mark_safe(_input(context["widget"]))


class SelectRapido(forms.Select):
    def _render(self, template_name, context, renderer=None):
        """django/forms/widgets/select.html and select_option.html"""
        w = context["widget"]
        partes = [f'<select name="{conditional_escape(w["name"])}"{_atributos(w["attrs"])}>']
        for grupo, opciones, _ in w["optgroups"]:
            if grupo:
                partes.append(f'\n  <optgroup label="{conditional_escape(grupo)}">')
            partes.extend(f'\n  <option value="{conditional_escape(o["value"])}"{_atributos(o["attrs"])}>'
                          f'{conditional_escape(o["label"])}</option>' for o in opciones)
            if grupo:
                partes.append("\n  </optgroup>")
        partes.append("\n</select>")
        return mark_safe("".join(partes))


class CasillasRapidas(forms.CheckboxSelectMultiple):
    def _render(self, template_name, context, renderer=None):
        """django/forms/widgets/multiple_input.html and input_option.html"""
        w = context["widget"]
        ident, clase = w["attrs"].get("id"), w["attrs"].get("class")
        ident = f' id="{conditional_escape(ident)}"' if ident else ""
        clase = f' class="{conditional_escape(clase)}"' if clase else ""
        partes = [f"<div{ident}{clase}>"]
        for grupo, opciones, _ in w["optgroups"]:
            if grupo:
                partes.append(f"\n  <div><label>{conditional_escape(grupo)}</label>")
            for o in opciones:
                campo = _input(o)
                if o["wrap_label"]:
                    para = f' for="{conditional_escape(o["attrs"]["id"])}"' if o["attrs"].get("id") else ""
                    campo = f"<label{para}>{campo} {conditional_escape(o['label'])}</label>"
                partes.append(f"<div>\n    {campo}</div>")
            if grupo:
                partes.append("\n  </div>")
        partes.append("\n</div>")
        return mark_safe("".join(partes))


def _form_div(c):
    """django/forms/div.html"""
    errores, campos, ocultos = c["errors"], c["fields"], c["hidden_fields"]
    partes = [str(errores) if errores else ""]
    if errores and not campos:
        partes.append(f"<div>{''.join(str(o) for o in ocultos)}</div>")
    for i, (bf, _) in enumerate(campos):
        clases = bf.css_classes()
        partes.append(f'\n  <div{f" class={chr(34)}{conditional_escape(clases)}{chr(34)}" if clases else ""}>\n    '
                      f"{bf.as_field_group()}")
        if i == len(campos) - 1:
            partes.extend(str(o) for o in ocultos)
        partes.append("\n</div>")
    if not campos and not errores:
        partes.extend(str(o) for o in ocultos)
    return "".join(partes)


def _campo(c):
    """django/forms/field.html"""
    bf = c["field"]
    partes = []
    if bf.use_fieldset:
        aria = bf.aria_describedby
        partes.append(f'<fieldset{f" aria-describedby={chr(34)}{conditional_escape(aria)}{chr(34)}" if aria else ""}>')
        if bf.label:
            partes.append(bf.legend_tag())
    elif bf.label:
        partes.append(bf.label_tag())
    if bf.help_text:
        ident = f' id="{conditional_escape(bf.auto_id)}_helptext"' if bf.auto_id else ""
        partes.append(f'<div class="helptext"{ident}>{bf.help_text}</div>')
    if bf.errors:
        partes.append(str(bf.errors))
    partes.append(f"\n{bf}")
    if bf.use_fieldset:
        partes.append("</fieldset>")
    return "".join(partes)


def _etiqueta(c):
    """django/forms/label.html"""
    if not c["use_tag"]:
        return conditional_escape(c["label"])
    return f'<{c["tag"]}{_atributos(c["attrs"] or {})}>{conditional_escape(c["label"])}</{c["tag"]}>'


class RenderizadorRapido(DjangoTemplates):
    """The form's own templates (form, field group, label) written in Python; anything else
    (error lists) still through the templates."""

    EN_PYTHON = {"django/forms/div.html": _form_div, "django/forms/field.html": _campo,
                 "django/forms/label.html": _etiqueta}

    def render(self, template_name, context, request=None):
        escribir = self.EN_PYTHON.get(template_name)
        return escribir(context) if escribir else super().render(template_name, context, request)


class FormularioRapido(forms.Form):
    default_renderer = RenderizadorRapido()  # one instance: its template engine is built once


class OpcionesSinCursor(ModelChoiceIterator):
    """The options from one plain query, kept on the form's queryset: Django's iterator reads
    them through ``QuerySet.iterator()``, a server-side cursor on PostgreSQL (DECLARE … WITH
    HOLD, FETCH, CLOSE: three round trips for 30 zones)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ModeloChoice(forms.ModelChoiceField):
    """A ModelChoiceField that reads its options once per form: the chosen value is looked up
    among them (Django runs one more query, ``queryset.get(pk=…)``, to validate it)."""

    iterator = OpcionesSinCursor
    widget = SelectRapido

    def to_python(self, value):
        if value in self.empty_values:
            return None
        self.validate_no_null_characters(value)
        invalido = ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                   params={"value": value})
        campo = self.queryset.model._meta.get_field(self.to_field_name) if self.to_field_name else \
            self.queryset.model._meta.pk
        try:
            clave = campo.to_python(getattr(value, campo.attname, value))
        except (ValueError, TypeError, ValidationError):
            raise invalido from None
        for obj in self.queryset:  # evaluated once, kept for the options
            if getattr(obj, campo.attname) == clave:
                return obj
        raise invalido


class OpcionesDeFilas(OpcionesSinCursor):
    def choice(self, fila):
        return (fila[0], self.field.etiqueta(fila))


class NombreUsuarioChoice(ModeloChoice):
    """Users as options, read as (pk, first_name, last_name, username) rows of one query: no
    model instance per option (a large operator has hundreds of asesores: 500 at 1,000,000
    Solicitudes in bench/). The cleaned value is the chosen user's pk."""

    iterator = OpcionesDeFilas

    def __init__(self, queryset, **kwargs):
        super().__init__(queryset.values_list("pk", "first_name", "last_name", "username"), **kwargs)

    @staticmethod
    def etiqueta(fila):
        _, nombre, apellido, usuario = fila
        return f"{nombre} {apellido}".strip() or usuario  # User.get_full_name() or username

    def to_python(self, value):
        if value in self.empty_values:
            return None
        self.validate_no_null_characters(value)
        try:
            pk = int(value)
        except (ValueError, TypeError):
            pk = None
        if pk is None or not any(fila[0] == pk for fila in self.queryset):  # the options, read once
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                  params={"value": value})
        return pk


class ModeloFilter(django_filters.ModelChoiceFilter):
    field_class = ModeloChoice


class AsesorFilter(django_filters.ModelChoiceFilter):
    field_class = NombreUsuarioChoice


_FECHA = FechaRapida(attrs={"type": "date"}, format="%Y-%m-%d")


class TableroFilter(django_filters.FilterSet):
    """Filters of the Tablero de Control (5.1). With no state chosen (and no "atendidos hoy"
    preset) it lists the open and overdue SIs."""

    PRESETS = (
        ("vencen_hoy", "Vencen hoy"),
        ("vencidos", "Vencidos"),
        ("atendidos_hoy", "Atendidos hoy"),
    )
    ESTADOS = [(e.value, e.label) for e in (ServicioIngenieria.E.ABIERTO, ServicioIngenieria.E.VENCIDO,
                                            ServicioIngenieria.E.ATENDIDO)]

    vista = django_filters.ChoiceFilter(label="Vista rápida", choices=PRESETS, method="filtrar_vista",
                                        empty_label="Todos los abiertos", widget=SelectRapido)
    estado = django_filters.MultipleChoiceFilter(label="Estado", choices=ESTADOS, widget=CasillasRapidas)
    tipo = django_filters.ChoiceFilter(label="Tipo", choices=ServicioIngenieria.Tipo.choices, empty_label="Todos",
                                       widget=SelectRapido)
    destinatario = django_filters.ChoiceFilter(
        label="Destinatario", choices=[(r, Rol(r).label) for r in ServicioIngenieria.DESTINATARIOS],
        empty_label="Todos", widget=SelectRapido)
    zona = ModeloFilter(label="Zona", field_name="zona", queryset=Zona.objects.order_by("nombre"),
                        empty_label="Todas")
    asesor = AsesorFilter(label="Asesor", queryset=_asesores, empty_label="Todos")
    abierto_el = django_filters.DateFilter(label="Abierto el", method="filtrar_abierto_el", widget=_FECHA)
    abierto_desde = django_filters.DateFilter(label="Abierto desde", method="filtrar_abierto_desde", widget=_FECHA)
    abierto_hasta = django_filters.DateFilter(label="Abierto hasta", method="filtrar_abierto_hasta", widget=_FECHA)

    class Meta:
        model = ServicioIngenieria
        fields = []
        form = FormularioRapido

    def filter_queryset(self, queryset):
        datos = self.form.cleaned_data
        if not datos.get("estado") and datos.get("vista") != "atendidos_hoy":
            queryset = selectors.tablero_abiertos(queryset)
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
        return {
            "vencen_hoy": selectors.tablero_vencen_hoy,
            "vencidos": selectors.tablero_vencidos,
            "atendidos_hoy": selectors.tablero_atendidos_hoy,
        }[value](queryset)


# --- the lists of Solicitudes and OTs (/solicitudes/, /ordenes/) ------------------------------
def _asesores_visibles(request=None):
    """The asesores whose cases the user may see (models/base.py ``en_alcance_de``): every one for
    the roles that read every case and for the zonal ones (a zone holds any asesor's cases), the
    team for a team leader, herself for an asesor."""
    user = getattr(request, "user", None)
    roles = roles_de(user)
    qs = _asesores()
    if roles & (VEN_TODO | {Rol.COZ, Rol.TECNICO}):
        return qs
    q = Q(pk__in=[])
    if Rol.ASESOR in roles:
        q |= Q(pk=user.pk)
    if Rol.TEAM_LEADER in roles:
        q |= Q(pk__in=equipo_de(user))
    return qs.filter(q)


class FormularioLista(FormularioRapido):
    def clean(self):
        datos = super().clean()
        for campo in ("desde", "hasta"):
            if datos.get(campo) and not selectors.fecha_admisible(datos[campo]):
                self.add_error(campo, selectors.FECHAS_MENSAJE)
        if datos.get("desde") and datos.get("hasta") and datos["desde"] > datos["hasta"]:
            self.add_error("hasta", "«Hasta» es anterior a «desde».")
        return datos


class ListaCasosFilter(django_filters.FilterSet):
    """Filters, queue and order of a list of cases, all in the query string (a filtered list is a
    link to keep or share). ``colas``: the user's home queues this list can show
    (views/inicio.py ``DefCola``); ``cola=<clave>`` narrows the list to one, in its order.

    Subclasses name their model's fields: ``CAMPOS`` (asesor, tipo, número) and ``COLUMNAS``,
    the sortable columns as {key: (label, fields)}."""

    POR_DEFECTO = ("-creado_at", "-pk")
    COLUMNAS = {}
    VENCE = {"vence": ("Vence", ("vence",))}

    cola = django_filters.ChoiceFilter(label="Cola de su inicio", method="filtrar_cola", empty_label="Ninguna",
                                       widget=SelectRapido)
    numero = django_filters.CharFilter(label="N° Smartflex u OT", method="filtrar_numero", max_length=60)
    zona = ModeloFilter(label="Zona", field_name="zona", queryset=Zona.objects.order_by("nombre"),
                        empty_label="Todas")
    tipo = django_filters.ChoiceFilter(label="Tipo", choices=Solicitud.Tipo.choices, empty_label="Todos",
                                       widget=SelectRapido)
    desde = django_filters.DateFilter(label="Desde", method="filtrar_desde", widget=_FECHA)
    hasta = django_filters.DateFilter(label="Hasta", method="filtrar_hasta", widget=_FECHA)
    sort = django_filters.ChoiceFilter(label="Ordenar por", method="sin_filtrar", empty_label="Orden predeterminado",
                                       widget=SelectRapido)

    class Meta:
        fields = []
        form = FormularioLista

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
            opcion for clave, (etiqueta, _) in self.columnas.items()
            for opcion in ((clave, f"{etiqueta} (ascendente)"), (f"-{clave}", f"{etiqueta} (descendente)"))]

    @property
    def cola_elegida(self):
        return self.colas.get(self.form.cleaned_data.get("cola") or "") if self.is_valid() else None

    @property
    def orden_elegido(self):
        return (self.form.cleaned_data.get("sort") or "") if self.is_valid() else ""

    def filtrar_cola(self, queryset, name, value):
        return self.colas[value].filtrar(queryset, self.request.user)

    def filtrar_numero(self, queryset, name, value):
        q = selectors.texto_busqueda(value)
        return queryset.filter(self.numero_q(q)) if q else queryset

    # Local calendar days (America/La_Paz by default), as ranges on the indexed creado_at.
    def filtrar_desde(self, queryset, name, value):
        return queryset.filter(creado_at__gte=selectors.dia_local(value)[0])

    def filtrar_hasta(self, queryset, name, value):
        return queryset.filter(creado_at__lt=selectors.dia_local(value)[1])

    def sin_filtrar(self, queryset, name, value):
        return queryset  # the order is applied last (filter_queryset)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        orden = self.form.cleaned_data.get("sort")
        if orden:
            desc = orden.startswith("-")
            campos = self.columnas[orden.removeprefix("-")][1]
            return queryset.order_by(*[F(c).desc(nulls_last=True) if desc else F(c).asc(nulls_last=True)
                                       for c in campos], "-pk" if desc else "pk")
        cola = self.colas.get(self.form.cleaned_data.get("cola") or "")
        return queryset.order_by(*(cola.orden if cola else self.POR_DEFECTO))


class SolicitudListaFilter(ListaCasosFilter):
    COLUMNAS = {
        "numero": ("N° Smartflex", ("numero_smartflex",)), "tipo": ("Tipo", ("tipo",)),
        "cliente": ("Cliente", ("cliente_nombre",)), "zona": ("Zona", ("zona__nombre",)),
        "asesor": ("Asesor", ("asesor__first_name", "asesor__last_name", "asesor__username")),
        "estado": ("Estado", ("estado",)), "registrada": ("Registrada", ("creado_at",)),
    }

    asesor = AsesorFilter(label="Asesor", field_name="asesor", queryset=_asesores_visibles, empty_label="Todos")
    estado = django_filters.ChoiceFilter(label="Estado", choices=Solicitud.Estado.choices, empty_label="Todos",
                                         widget=SelectRapido)

    class Meta(ListaCasosFilter.Meta):
        model = Solicitud

    @staticmethod
    def numero_q(q):
        return Q(numero_smartflex__icontains=q) | Q(orden__numero__icontains=q)


class OrdenListaFilter(ListaCasosFilter):
    FECHA = "Generada"
    COLUMNAS = {
        "numero": ("N° OT", ("numero",)), "solicitud": ("Solicitud", ("solicitud__numero_smartflex",)),
        "tipo": ("Tipo", ("solicitud__tipo",)), "cliente": ("Cliente", ("solicitud__cliente_nombre",)),
        "zona": ("Zona", ("zona__nombre",)),
        "asesor": ("Asesor", ("solicitud__asesor__first_name", "solicitud__asesor__last_name",
                              "solicitud__asesor__username")),
        "tecnico": ("Técnico", ("tecnico__username",)),
        "estado": ("Estado", ("estado",)), "generada": ("Generada", ("creado_at",)),
    }

    asesor = AsesorFilter(label="Asesor", field_name="solicitud__asesor", queryset=_asesores_visibles,
                          empty_label="Todos")
    tipo = django_filters.ChoiceFilter(label="Tipo", field_name="solicitud__tipo", choices=Solicitud.Tipo.choices,
                                       empty_label="Todos", widget=SelectRapido)
    estado = django_filters.ChoiceFilter(label="Estado", choices=OrdenDeTrabajo.Estado.choices, empty_label="Todos",
                                         widget=SelectRapido)

    class Meta(ListaCasosFilter.Meta):
        model = OrdenDeTrabajo

    @staticmethod
    def numero_q(q):
        return Q(numero__icontains=q) | Q(solicitud__numero_smartflex__icontains=q)
