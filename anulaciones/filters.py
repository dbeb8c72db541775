"""django-filter FilterSets: the filters of each list, shared by its page and its export."""
import django_filters
from django import forms
from django.contrib.auth import get_user_model

from . import selectors
from .models import ServicioIngenieria, Zona
from .roles import Rol


def _asesores(request=None):
    return get_user_model().objects.filter(groups__name=Rol.ASESOR).order_by("first_name", "last_name", "username")


class NombreUsuarioChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class AsesorFilter(django_filters.ModelChoiceFilter):
    field_class = NombreUsuarioChoice


_FECHA = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


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
                                        empty_label="Todos los abiertos")
    estado = django_filters.MultipleChoiceFilter(label="Estado", choices=ESTADOS,
                                                 widget=forms.CheckboxSelectMultiple)
    tipo = django_filters.ChoiceFilter(label="Tipo", choices=ServicioIngenieria.Tipo.choices, empty_label="Todos")
    destinatario = django_filters.ChoiceFilter(
        label="Destinatario", choices=[(r, Rol(r).label) for r in ServicioIngenieria.DESTINATARIOS],
        empty_label="Todos")
    zona = django_filters.ModelChoiceFilter(label="Zona", field_name="solicitud__zona",
                                            queryset=Zona.objects.order_by("nombre"), empty_label="Todas")
    asesor = AsesorFilter(label="Asesor", queryset=_asesores, empty_label="Todos")
    abierto_el = django_filters.DateFilter(label="Abierto el", method="filtrar_abierto_el", widget=_FECHA)
    abierto_desde = django_filters.DateFilter(label="Abierto desde", method="filtrar_abierto_desde", widget=_FECHA)
    abierto_hasta = django_filters.DateFilter(label="Abierto hasta", method="filtrar_abierto_hasta", widget=_FECHA)

    class Meta:
        model = ServicioIngenieria
        fields = []

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
