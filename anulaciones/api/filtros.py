"""Filters of the API lists, as on the pages: state, zone, local dates, number."""
import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.utils import extend_schema_field

from .. import selectors
from ..models import Entrega, OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion


class FechasMixin(django_filters.FilterSet):
    """``desde``/``hasta``: local calendar days (settings.TIME_ZONE) of ``creado_at``, inclusive."""

    desde = django_filters.DateFilter(method="filtrar_desde", help_text="Creado desde (AAAA-MM-DD, hora local).")
    hasta = django_filters.DateFilter(method="filtrar_hasta", help_text="Creado hasta (AAAA-MM-DD, inclusive).")

    def filtrar_desde(self, qs, name, value):
        return qs.filter(creado_at__gte=selectors.dia_local(value)[0])

    def filtrar_hasta(self, qs, name, value):
        return qs.filter(creado_at__lt=selectors.dia_local(value)[1])


class SolicitudFiltro(FechasMixin):
    estado = django_filters.MultipleChoiceFilter(choices=Solicitud.Estado.choices)
    tipo = django_filters.ChoiceFilter(choices=Solicitud.Tipo.choices)
    zona = django_filters.CharFilter(field_name="zona__codigo", help_text="Código de zona.")
    numero = django_filters.CharFilter(method="filtrar_numero", help_text="N° Smartflex u OT (parcial).")
    asesor = django_filters.CharFilter(field_name="asesor__username")

    class Meta:
        model = Solicitud
        fields = []

    def filtrar_numero(self, qs, name, value):
        return qs.filter(Q(numero_smartflex__icontains=value) | Q(orden__numero__icontains=value))


class OrdenFiltro(FechasMixin):
    estado = django_filters.MultipleChoiceFilter(choices=OrdenDeTrabajo.Estado.choices)
    zona = django_filters.CharFilter(field_name="zona__codigo")
    numero = django_filters.CharFilter(method="filtrar_numero", help_text="N° OT o Smartflex (parcial).")

    class Meta:
        model = OrdenDeTrabajo
        fields = []

    def filtrar_numero(self, qs, name, value):
        return qs.filter(Q(numero__icontains=value) | Q(solicitud__numero_smartflex__icontains=value))


class ServicioFiltro(FechasMixin):
    estado = django_filters.MultipleChoiceFilter(choices=ServicioIngenieria.Estado.choices)
    tipo = django_filters.ChoiceFilter(choices=ServicioIngenieria.Tipo.choices)
    destinatario = django_filters.ChoiceFilter(choices=ServicioIngenieria._meta.get_field("destinatario").choices)
    zona = django_filters.CharFilter(field_name="zona__codigo")
    numero = django_filters.CharFilter(field_name="solicitud__numero_smartflex", lookup_expr="icontains")
    vista = django_filters.ChoiceFilter(choices=[("vencen_hoy", "Vencen hoy"), ("vencidos", "Vencidos"),
                                                 ("atendidos_hoy", "Atendidos hoy")], method="filtrar_vista",
                                        help_text="Vistas rápidas del Tablero de Control.")

    class Meta:
        model = ServicioIngenieria
        fields = []

    def filtrar_vista(self, qs, name, value):
        return {"vencen_hoy": selectors.tablero_vencen_hoy, "vencidos": selectors.tablero_vencidos,
                "atendidos_hoy": selectors.tablero_atendidos_hoy}[value](qs)


class ZonificacionFiltro(FechasMixin):
    estado = django_filters.MultipleChoiceFilter(choices=Zonificacion.Estado.choices)
    zona = django_filters.CharFilter(field_name="zona_corregida__codigo")
    numero = django_filters.CharFilter(field_name="orden__numero", lookup_expr="icontains")

    class Meta:
        model = Zonificacion
        fields = []


class CampoMes(forms.CharField):
    """A month typed AAAA-MM (``views.entregas.mes_de``): its first day."""

    def to_python(self, valor):
        from ..views.entregas import mes_de

        valor = super().to_python(valor)
        if valor in self.empty_values:
            return None
        try:
            return mes_de(valor)
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$"})
class MesFilter(django_filters.Filter):
    field_class = CampoMes


class EntregaFiltro(django_filters.FilterSet):
    mes = MesFilter(field_name="mes", help_text="El mes entregado, AAAA-MM.")
    estado = django_filters.ChoiceFilter(choices=Entrega.Estado.choices,
                                         help_text="generada: sin acuse de recibo; recibida: con acuse.")

    class Meta:
        model = Entrega
        fields = []
