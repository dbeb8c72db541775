"""Django admin: every model readable and searchable, the state read-only, transitions as
admin actions that go through the one transition path (anulaciones.transitions.aplicar)."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.utils import timezone

from . import avisos, cola, relato, transitions
from . import direcciones as conocimiento
from .errors import ErrorDominio
from .espanol import cuenta
from .models import (
    AliasCalle,
    CajaNap,
    CalendarioLaboral,
    Calle,
    Caso,
    Correccion,
    Entrega,
    FactorRiesgo,
    Feriado,
    ImportacionSmartflex,
    IntentoContacto,
    Notificacion,
    Observacion,
    OrdenDeTrabajo,
    Perfil,
    PuntoReferencia,
    RegistroAuditoria,
    ServicioIngenieria,
    Solicitud,
    Zona,
    Zonificacion,
)
from .roles import Rol, roles_de


def _accion(modelo, nombre, t):
    """An admin action for a transition without input data; with data it needs the form."""

    def accion(modeladmin, request, queryset):
        hechas, errores = 0, []
        for obj in queryset:
            try:
                transitions.aplicar(obj, nombre, request.user)
                hechas += 1
            except ErrorDominio as e:
                errores.append(f"{obj}: {e.mensaje}")
        if hechas:
            modeladmin.message_user(
                request,
                f"«{t.custom.get('label', nombre)}» aplicada a {cuenta(hechas, 'registro', 'registros')}.",
                messages.SUCCESS,
            )
        for error in errores:
            modeladmin.message_user(request, error, messages.ERROR)

    accion.__name__ = f"accion_{nombre}"
    accion.short_description = f"{t.custom.get('label', nombre)} (paso {transitions.paso_de(t, None)})"
    return accion


def acciones_de(modelo):
    """Admin actions for the transitions that take no data beyond the user."""
    import inspect

    res = []
    for nombre, t in transitions.transiciones(modelo).items():
        params = list(inspect.signature(getattr(modelo, nombre).__wrapped__).parameters.values())[2:]
        if all(p.default is not inspect.Parameter.empty for p in params):
            res.append(_accion(modelo, nombre, t))
    return res


# --- scope: a staff user sees in the admin what its role and zone see in the application ----------
def _solicitudes_visibles(user):
    return Solicitud.objects.visibles_para(user).values("pk")


def _ve_todo(user):
    from .models.base import VEN_TODO

    return bool(roles_de(user) & VEN_TODO)


class AlcanceAdmin(admin.ModelAdmin):
    """Lists, searches, filters, raw-id pop-ups and actions read ``get_queryset``: it is cut to the
    rows the user's roles and zone reach in the application (``visibles_para``); superusers see
    everything. An object out of scope answers 404, like a missing one, so ids cannot be probed
    (Django's default for a missing object is a redirect to the index, also replaced by 404)."""

    def alcance(self, qs, user):  # pragma: no cover - every subclass says its scope
        return qs.none()

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return self.alcance(qs, request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No existe o no está a su alcance.")
        return obj


class PorSolicitudAdmin(AlcanceAdmin):
    """Rows hanging from a Solicitud: visible when their Solicitud is."""

    def alcance(self, qs, user):
        return qs if _ve_todo(user) else qs.filter(solicitud__in=_solicitudes_visibles(user))


class PorRolesAdmin(AlcanceAdmin):
    """Rows the application shows to some roles only, whole."""

    roles_alcance = frozenset()

    def alcance(self, qs, user):
        return qs if roles_de(user) & set(self.roles_alcance) else qs.none()


class MaquinaAdmin(AlcanceAdmin):
    readonly_fields = ("estado", "version", "creado_at", "actualizado_at", "historial")
    list_per_page = 50

    def get_actions(self, request):
        acciones = super().get_actions(request)
        acciones.pop("delete_selected", None)
        for accion in acciones_de(self.model):
            acciones[accion.__name__] = (accion, accion.__name__, accion.short_description)
        return acciones

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False  # births go through the transition path (forms, API, import), audited

    def has_change_permission(self, request, obj=None):
        return False  # read-only: a save here would skip the version check and the audit row

    @admin.display(description="transiciones (auditoría)")
    def historial(self, obj):
        from django.utils.html import format_html_join

        if obj is None or obj.pk is None:
            return "—"
        return (
            format_html_join(  # told in words (anulaciones.relato), like the case page
                "\n",
                '<div data-hecho="{}">{} · {}{}{}</div>',
                (
                    (
                        h.transicion,
                        timezone.localtime(h.fecha).strftime("%d/%m/%Y %H:%M"),
                        h.texto,
                        f" · {h.estados}" if h.estados else "",
                        f" — «{h.nota}»" if h.nota else "",
                    )
                    for h in relato.de_objeto(obj)
                ),
            )
            or "—"
        )


class SoloLecturaAdmin(AlcanceAdmin):
    """Records written only by the application (audit log, deliveries): read, never edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- the working calendar (issue 17): every change recomputes the pending deadlines ------------------
def recalcular_plazos():
    """After the admin's transaction commits, the open SIs' and pending re-digitations' deadlines
    are recomputed with the calendars as saved (the Celery task «recalcular_plazos», audited as a
    change by the system)."""
    cola.encolar("recalcular_plazos")


class RecalculaPlazosAdmin(admin.ModelAdmin):
    """A change here changes the clocks: saved or deleted (one or many), the deadlines follow."""

    recalcular_al_borrar = True

    def save_related(self, request, form, formsets, change):  # after the object and its inlines
        super().save_related(request, form, formsets, change)
        if self.cambia_plazos(form, formsets, change):
            recalcular_plazos()

    def cambia_plazos(self, form, formsets, change):
        return not change or form.has_changed() or any(f.has_changed() for f in formsets)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        if self.recalcular_al_borrar:
            recalcular_plazos()

    def delete_queryset(self, request, queryset):  # the bulk «delete selected» action
        super().delete_queryset(request, queryset)
        if self.recalcular_al_borrar:
            recalcular_plazos()


class FeriadosPropiosFormSet(BaseInlineFormSet):
    """Two rows of one save with the same date: refused with the form (the conditional unique
    constraint is checked by the database only, after the calendar was saved: a 500 otherwise)."""

    def clean(self):
        super().clean()
        vistas = set()
        for form in self.forms:
            if not getattr(form, "cleaned_data", None) or form.cleaned_data.get("DELETE"):
                continue
            fecha = form.cleaned_data.get("fecha")
            if fecha in vistas:
                form.add_error("fecha", "Ese calendario ya tiene un feriado en esa fecha.")
            vistas.add(fecha)


class FeriadoInline(admin.TabularInline):
    model = Feriado
    formset = FeriadosPropiosFormSet
    fields = ("fecha", "nombre")
    extra = 1
    verbose_name = "feriado propio"
    verbose_name_plural = "feriados propios (además de los de todos los calendarios)"


@admin.register(CalendarioLaboral)
class CalendarioLaboralAdmin(RecalculaPlazosAdmin):
    list_display = ("nombre", "predeterminado", "horario", "zonas_del_calendario")
    search_fields = ("nombre",)
    inlines = [FeriadoInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("zonas")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        campo = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "horario":
            campo.widget.attrs.update(rows=2, cols=60)
        return campo

    @admin.display(description="zonas")
    def zonas_del_calendario(self, obj):
        return ", ".join(z.nombre for z in obj.zonas.all()) or "—"


@admin.register(Zona)
class ZonaAdmin(RecalculaPlazosAdmin):
    list_display = ("codigo", "nombre", "activa", "calendario")
    list_select_related = ("calendario",)
    list_filter = ("calendario",)
    search_fields = ("codigo", "nombre")

    recalcular_al_borrar = False  # a zone with Solicitudes cannot be deleted (PROTECT)

    def cambia_plazos(self, form, formsets, change):
        return change and "calendario" in form.changed_data  # a new zone has no SI yet


@admin.register(Feriado)
class FeriadoAdmin(RecalculaPlazosAdmin):
    list_display = ("fecha", "nombre", "calendario")
    list_select_related = ("calendario",)
    list_filter = ("calendario",)
    search_fields = ("nombre",)
    date_hierarchy = "fecha"


class SoloSuperusuario:
    """Users and their profiles (zone, team) are the superuser's: a staff user of a role sees in
    the admin only what the application shows it (issue 13)."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Perfil)
class PerfilAdmin(SoloSuperusuario, admin.ModelAdmin):
    list_display = ("usuario", "zona", "team_leader")
    list_select_related = ("usuario", "zona", "team_leader")
    search_fields = ("usuario__username", "usuario__first_name", "usuario__last_name")
    list_filter = ("zona",)


class PerfilInline(admin.StackedInline):
    model = Perfil
    fk_name = "usuario"
    can_delete = False


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class UsuarioAdmin(SoloSuperusuario, UserAdmin):
    inlines = [PerfilInline]


@admin.register(Caso)
class CasoAdmin(AlcanceAdmin):
    list_display = ("id", "creado_at", "probable_at")
    readonly_fields = ("creado_at", "probable_at")
    date_hierarchy = "creado_at"

    def alcance(self, qs, user):
        return qs if _ve_todo(user) else qs.filter(pk__in=Solicitud.objects.visibles_para(user).values("caso_id"))

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Solicitud)
class SolicitudAdmin(MaquinaAdmin):
    list_display = ("numero_smartflex", "tipo", "cliente_nombre", "zona", "asesor", "estado", "creado_at")
    list_filter = ("estado", "tipo", "zona")
    list_select_related = ("zona", "asesor")
    search_fields = ("numero_smartflex", "cliente_nombre", "calle", "orden__numero")
    raw_id_fields = ("asesor", "registrada_por", "caso", "reemplazada_por")
    readonly_fields = MaquinaAdmin.readonly_fields + (
        "caso",
        "reemplazada_por",
        "redigitacion_desde",
        "redigitacion_vence_at",
        "redigitacion_explicacion",
        "redigitacion_tardia",
        "motivo_anulacion",
    )
    date_hierarchy = "creado_at"

    def alcance(self, qs, user):
        return qs.visibles_para(user)


@admin.register(OrdenDeTrabajo)
class OrdenAdmin(MaquinaAdmin):
    list_display = ("numero", "solicitud", "zona", "tecnico", "estado", "creado_at")
    list_filter = ("estado", "zona")
    list_select_related = ("zona", "solicitud", "tecnico")
    search_fields = ("numero", "solicitud__numero_smartflex", "solicitud__cliente_nombre")
    raw_id_fields = ("solicitud", "tecnico")
    readonly_fields = MaquinaAdmin.readonly_fields + ("ejecutada_at", "motivo_anulacion")

    def alcance(self, qs, user):
        return qs.visibles_para(user)


@admin.register(ServicioIngenieria)
class ServicioAdmin(MaquinaAdmin):
    list_display = ("id", "solicitud", "tipo", "destinatario", "estado", "vence_at", "fuera_de_plazo")
    list_filter = ("estado", "tipo", "destinatario")
    list_select_related = ("solicitud",)
    search_fields = ("solicitud__numero_smartflex", "requerido", "respuesta")
    raw_id_fields = ("solicitud", "orden", "observacion", "asesor", "abierto_por", "cerrado_por")
    readonly_fields = MaquinaAdmin.readonly_fields + (
        "vence_at",
        "vence_explicacion",
        "aviso_at",
        "aviso_enviado_at",
        "cerrado_at",
        "cerrado_por",
        "fuera_de_plazo",
    )

    def alcance(self, qs, user):
        return qs.visibles_para(user)


@admin.register(Zonificacion)
class ZonificacionAdmin(MaquinaAdmin):
    list_display = ("id", "orden", "zona_anterior", "zona_corregida", "tipo_correccion", "estado", "creado_at")
    list_filter = ("estado", "zona_corregida", "tipo_correccion")
    list_select_related = ("orden", "zona_anterior", "zona_corregida")
    search_fields = ("orden__numero", "solicitud__numero_smartflex", "calle", "caja_nap")
    raw_id_fields = ("orden", "solicitud", "recibida_por")
    readonly_fields = MaquinaAdmin.readonly_fields + ("digitada_at", "remitida_at")

    def alcance(self, qs, user):
        return qs.filter(solicitud__in=_solicitudes_visibles(user))


@admin.register(Observacion)
class ObservacionAdmin(PorSolicitudAdmin):
    list_display = ("solicitud", "paso", "area", "causa", "alcance", "registrada_por", "creado_at")
    list_filter = ("area", "causa", "alcance")
    list_select_related = ("solicitud", "registrada_por")
    search_fields = ("solicitud__numero_smartflex", "detalle")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False  # observations are recorded by «observar» / «reportar_observacion»

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IntentoContacto)
class IntentoContactoAdmin(PorSolicitudAdmin):
    list_display = ("solicitud", "realizado_at", "usuario", "canal", "resultado")
    list_filter = ("canal", "resultado")
    list_select_related = ("solicitud", "usuario")
    search_fields = ("solicitud__numero_smartflex", "detalle")


@admin.register(RegistroAuditoria)
class RegistroAuditoriaAdmin(SoloLecturaAdmin):
    """Read-only: the audit log is append-only."""

    list_display = (
        "creado_at",
        "que_paso",
        "objeto",
        "transicion",
        "paso",
        "estado_origen",
        "estado_destino",
        "usuario",
        "rol",
    )
    list_filter = ("transicion", "rol", "content_type")
    list_select_related = ("usuario", "content_type")
    search_fields = ("objeto", "transicion", "nota", "usuario__username")
    date_hierarchy = "creado_at"
    readonly_fields = ("que_paso",)

    def get_queryset(self, request):
        # The user, the content type and each SI birth's recipient in the list's one query.
        return relato.registros(super().get_queryset(request))

    @admin.display(description="qué pasó")
    def que_paso(self, obj):
        return relato.relatar_uno(obj)

    def alcance(self, qs, user):
        # The case page's timeline: every row of a case the user sees.
        if _ve_todo(user):
            return qs
        return qs.filter(caso_id__in=Solicitud.objects.visibles_para(user).values("caso_id"))

    def get_actions(self, request):
        return {}


@admin.register(Correccion)
class CorreccionAdmin(SoloLecturaAdmin, PorSolicitudAdmin):
    """Read-only: corrections are written by step 4.1 (``digitar_modificacion``)."""

    list_display = ("creado_at", "solicitud", "etiqueta", "anterior", "nuevo", "paso", "usuario", "rol")
    list_select_related = ("solicitud", "usuario")
    search_fields = ("solicitud__numero_smartflex", "anterior", "nuevo")
    date_hierarchy = "creado_at"


@admin.register(Entrega)
class EntregaAdmin(SoloLecturaAdmin, PorRolesAdmin):
    """Read-only: deliveries are built by the month-end task or the Entregas page (21.1)."""

    roles_alcance = frozenset({Rol.FACTURACION, Rol.GESTION_RED})  # anulaciones.entregas

    list_display = (
        "mes",
        "numero",
        "filas",
        "generada_at",
        "generada_por",
        "enviada_at",
        "estado",
        "recibida_at",
        "recibida_por",
    )
    list_filter = ("estado",)
    list_select_related = ("generada_por", "recibida_por")


@admin.register(Notificacion)
class NotificacionAdmin(AlcanceAdmin):
    list_display = ("creado_at", "usuario", "tipo", "titulo", "leida_at", "correo_enviado_at")
    list_filter = ("tipo",)
    list_select_related = ("usuario",)
    search_fields = ("clave", "usuario__username")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*avisos.RELACIONADOS)

    @admin.display(description="título")
    def titulo(self, obj):
        return avisos.presentar([obj])[0].titulo

    date_hierarchy = "creado_at"

    def alcance(self, qs, user):
        return qs.filter(usuario=user)  # the application shows each person its own

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ImportacionSmartflex)
class ImportacionSmartflexAdmin(PorRolesAdmin):
    """Read-only: imports are run from the Importar page or `manage.py importar_smartflex`."""

    roles_alcance = frozenset({Rol.GESTION_RED, Rol.COC})  # views/importacion.py

    list_display = ("creado_at", "nombre", "usuario", "etapa", "total", "creadas", "actualizadas", "con_error")
    list_filter = ("etapa",)
    list_select_related = ("usuario",)
    search_fields = ("nombre", "usuario__username")
    exclude = ("errores", "avisos")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- address knowledge (issue 7) ----------------------------------------------------------------
class ConocimientoAdmin(PorRolesAdmin):
    """The matching key is computed on save; who and when are set from the request. Read by
    the roles of the map page and of the GIS import (direcciones.ROLES_MAPA, ROLES_IMPORTACION)."""

    roles_alcance = frozenset({*conocimiento.ROLES_MAPA, *conocimiento.ROLES_IMPORTACION})

    list_select_related = ("zona", "solicitud", "registrado_por")
    list_filter = ("origen", "zona")
    readonly_fields = ("registrado_por", "creado_at")
    raw_id_fields = ("solicitud",)
    date_hierarchy = "creado_at"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.registrado_por = request.user
        super().save_model(request, obj, form, change)


class AliasCalleInline(admin.TabularInline):
    model = AliasCalle
    fields = ("nombre", "solicitud", "origen", "registrado_por", "creado_at")
    readonly_fields = ("registrado_por", "creado_at")
    raw_id_fields = ("solicitud",)
    extra = 1


@admin.register(Calle)
class CalleAdmin(ConocimientoAdmin):
    list_display = ("nombre", "zona", "latitud", "longitud", "origen", "solicitud", "registrado_por", "creado_at")
    search_fields = ("nombre", "normalizado", "aliases__normalizado")
    inlines = [AliasCalleInline]

    def save_formset(self, request, form, formset, change):
        for alias in formset.save(commit=False):
            if alias.registrado_por_id is None:
                alias.registrado_por = request.user
            alias.save()
        for alias in formset.deleted_objects:
            alias.delete()


@admin.register(PuntoReferencia)
class PuntoReferenciaAdmin(ConocimientoAdmin):
    list_display = ("nombre", "zona", "latitud", "longitud", "origen", "solicitud", "registrado_por", "creado_at")
    search_fields = ("nombre", "normalizado")


@admin.register(CajaNap)
class CajaNapAdmin(ConocimientoAdmin):
    list_display = ("codigo", "zona", "latitud", "longitud", "origen", "solicitud", "registrado_por", "creado_at")
    search_fields = ("codigo", "codigo_normalizado")


# --- risk at entry (issue 19) -----------------------------------------------------------------
@admin.register(FactorRiesgo)
class FactorRiesgoAdmin(SoloLecturaAdmin, PorRolesAdmin):
    """The history's aggregates, rewritten whole by the nightly recompute (anulaciones.riesgo):
    read here by the roles of the evaluation page, never edited."""

    roles_alcance = frozenset({Rol.GESTION_RED, Rol.JEFE_DIVISION})

    list_display = ("factor", "clave", "etiqueta", "total", "problemas", "calculado_at")
    list_filter = ("factor",)
    search_fields = ("clave", "etiqueta")
    ordering = ("factor", "-total")
