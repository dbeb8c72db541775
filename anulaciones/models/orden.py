from django.conf import settings
from django.db import models
from django_fsm import FSMField, transition

from ..errors import DatosInvalidos
from ..roles import SISTEMA, Permiso, Rol, roles_de, zona_de
from .base import Maquina, en_alcance_de
from .observacion import Observacion


class OrdenQuerySet(models.QuerySet):
    def visibles_para(self, user):
        """COZ and TECNICO see only the OTs of their zone; digitation roles their cases."""
        return en_alcance_de(self, user, solicitud="solicitud__", zona="zona_id")



class OrdenDeTrabajo(Maquina):
    """Work order (OT): one per Solicitud, belongs to a zone."""

    class Estado(models.TextChoices):
        GENERADA = "generada", "Generada"
        ASIGNADA = "asignada", "Asignada"
        OBSERVADA_EN_CAMPO = "observada_en_campo", "Observada en campo"
        REPORTADA_COZ = "reportada_coz", "Reportada al COZ"
        EN_COC = "en_coc", "En COC"
        ANULADA = "anulada", "Anulada"
        EJECUTADA = "ejecutada", "Ejecutada"

    class Propuesta(models.TextChoices):
        GESTIONAR = "gestionar", "Gestionar por otro sector (16)"
        ANULAR = "anular", "Anular la OT (17)"

    E = Estado
    FINALES = (E.ANULADA, E.EJECUTADA)
    ROLES_CREACION = Permiso(SISTEMA, Rol.COC)
    TRANSICION_CREACION = "generar"

    numero = models.CharField("N° OT", max_length=30, unique=True)
    solicitud = models.OneToOneField("Solicitud", on_delete=models.PROTECT, related_name="orden")
    zona = models.ForeignKey("Zona", on_delete=models.PROTECT, related_name="ordenes")
    estado = FSMField(default=E.GENERADA, choices=Estado.choices, protected=True, db_index=True)
    tecnico = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="ordenes_asignadas", verbose_name="técnico")
    # Field report (14-15.1)
    datos_comerciales = models.TextField(blank=True)
    datos_tecnicos = models.TextField("datos técnicos", blank=True)
    equipos = models.TextField(blank=True)
    observacion_campo = models.TextField("observación de campo", blank=True)
    solicitudes_adicionales = models.TextField("solicitudes adicionales del cliente", blank=True)
    propuesta = models.CharField(max_length=10, choices=Propuesta.choices, blank=True)
    motivo_anulacion = models.TextField("motivo de anulación", blank=True)
    ejecutada_at = models.DateTimeField("ejecutada", null=True, blank=True)

    objects = OrdenQuerySet.as_manager()

    class Meta:
        ordering = ["-creado_at"]
        verbose_name = "orden de trabajo"
        verbose_name_plural = "órdenes de trabajo"
        indexes = [models.Index(fields=["zona", "estado"]), models.Index(fields=["tecnico", "estado"])]

    def __str__(self):
        return f"OT {self.numero}"

    @property
    def zona_id_alcance(self):
        return self.zona_id

    @property
    def caso_id_auditoria(self):
        return self.solicitud.caso_id

    @staticmethod
    def _requerido(valor, campo, mensaje):
        if not (valor or "").strip():
            raise DatosInvalidos({campo: mensaje})
        return valor.strip()

    # --- transitions (procedure.md, OrdenDeTrabajo) ----------------------------------------
    @transition(field=estado, source=E.GENERADA, target=E.ASIGNADA,
                permission=Permiso(Rol.GESTION_RED, Rol.COC),
                custom={"paso": {Rol.GESTION_RED: "5.2", Rol.COC: "12"}, "label": "Asignar"})
    def asignar(self, ctx, tecnico=None):
        if tecnico is not None:
            if Rol.TECNICO not in roles_de(tecnico) or zona_de(tecnico) != self.zona_id:
                raise DatosInvalidos({"tecnico": "Elija un técnico de la zona de la orden."})
            self.tecnico = tecnico

        def despues(ctx):
            ctx.aplicar(self.solicitud, "asignar_instalacion")
        return despues

    @transition(field=estado, source=E.ASIGNADA, target=E.OBSERVADA_EN_CAMPO,
                permission=Permiso(Rol.TECNICO),
                custom={"paso": "14", "label": "Reportar observación de campo"})
    def reportar_observacion(self, ctx, observacion, causa, alcance=Observacion.Alcance.FONDO,
                             subsanable=True, datos_comerciales="", datos_tecnicos="", equipos="",
                             solicitudes_adicionales=""):
        self.observacion_campo = self._requerido(observacion, "observacion", "Describa la observación de campo.")
        self.datos_comerciales = datos_comerciales or ""
        self.datos_tecnicos = datos_tecnicos or ""
        self.equipos = equipos or ""
        self.solicitudes_adicionales = solicitudes_adicionales or ""
        self.tecnico = ctx.usuario
        Observacion.nueva(ctx, solicitud=self.solicitud, orden=self, causa=causa, detalle=observacion,
                          alcance=alcance, subsanable=subsanable)

    @transition(field=estado, source=E.OBSERVADA_EN_CAMPO, target=E.REPORTADA_COZ,
                permission=Permiso(Rol.TECNICO),
                custom={"paso": {"gestionar": "16", "anular": "17"}, "label": "Reportar al COZ"})
    def reportar_a_coz(self, ctx, propuesta):
        if propuesta not in self.Propuesta.values:
            raise DatosInvalidos({"propuesta": "Elija: gestionar por otro sector (16) o anular la OT (17)."})
        self.propuesta = propuesta
        ctx.paso = "16" if propuesta == self.Propuesta.GESTIONAR else "17"

    @transition(field=estado, source=[E.REPORTADA_COZ, E.GENERADA], target=E.EN_COC,
                permission=Permiso(Rol.COZ),
                custom={"paso": "18", "label": "Direccionar al COC"})
    def direccionar_a_coc(self, ctx):
        pass

    @transition(field=estado, source=E.EN_COC, target=E.ASIGNADA, permission=Permiso(Rol.COC),
                custom={"paso": "12", "label": "Re-direccionar para instalación"})
    def redireccionar_instalacion(self, ctx):
        def despues(ctx):
            ctx.aplicar(self.solicitud, "asignar_instalacion")
        return despues

    @transition(field=estado, source=E.EN_COC, target=E.ANULADA, permission=Permiso(Rol.COC),
                custom={"paso": "13", "label": "Ratificar anulación"})
    def ratificar_anulacion(self, ctx, motivo):
        self.motivo_anulacion = self._requerido(motivo, "motivo", "Indique el motivo de la anulación.")

        def despues(ctx):
            ctx.aplicar(self.solicitud, "anular", motivo=self.motivo_anulacion)
        return despues

    @transition(field=estado, source=[E.GENERADA, E.ASIGNADA], target=E.ANULADA, permission=Permiso(Rol.COC),
                custom={"paso": "10", "label": "Coordinar anulación con el COZ"})
    def coordinar_anulacion(self, ctx, motivo):
        self.motivo_anulacion = self._requerido(motivo, "motivo", "Indique el motivo de la anulación.")

        def despues(ctx):
            ctx.aplicar(self.solicitud, "anular", motivo=self.motivo_anulacion)
        return despues

    @transition(field=estado, source=E.ASIGNADA, target=E.EJECUTADA, permission=Permiso(Rol.TECNICO, Rol.COC),
                custom={"paso": "12.1", "label": "Ejecutar (TEC-DPA-P01)"})
    def ejecutar(self, ctx):
        self.ejecutada_at = ctx.ahora
        if self.tecnico_id is None and ctx.rol == Rol.TECNICO:
            self.tecnico = ctx.usuario

        def despues(ctx):
            ctx.aplicar(self.solicitud, "marcar_instalada")
        return despues
