from django.conf import settings
from django.db import models
from django_fsm import GET_STATE, FSMField, transition

from ..errors import DatosInvalidos
from ..roles import SISTEMA, Permiso, Rol, roles_de, zona_de
from .auditoria import Nombre, NumeroOT
from .base import Maquina, condicion, en_alcance_de
from .indices import trigramas_icontains
from .observacion import Observacion


def _destino_reporte(orden, ctx, *args, alcance=Observacion.Alcance.FONDO, **kwargs):
    """14–15.1: a de forma observation (e.g. equipment) does not stop the installation: the OT
    stays asignada and the asesor digitizes it once the OT is executed (19.1)."""
    return orden.Estado.ASIGNADA if alcance == Observacion.Alcance.FORMA else orden.Estado.OBSERVADA_EN_CAMPO


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
    NOMBRE = Nombre(NumeroOT("numero"), caso="solicitud__caso_id")

    numero = models.CharField("N° OT", max_length=30, unique=True)
    solicitud = models.OneToOneField("Solicitud", on_delete=models.PROTECT, related_name="orden")
    zona = models.ForeignKey("Zona", on_delete=models.PROTECT, related_name="ordenes")
    estado = FSMField(default=E.GENERADA, choices=Estado.choices, protected=True, db_index=True)
    tecnico = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ordenes_asignadas",
        verbose_name="técnico",
    )
    # Field report (14-15.1)
    datos_comerciales = models.TextField(blank=True)
    datos_tecnicos = models.TextField("datos técnicos", blank=True)
    equipos = models.TextField(blank=True)
    observacion_campo = models.TextField("observación de campo", blank=True)
    solicitudes_adicionales = models.TextField("solicitudes adicionales del cliente", blank=True)
    propuesta = models.CharField(max_length=10, choices=Propuesta.choices, blank=True)
    motivo_anulacion = models.TextField("motivo de anulación", blank=True)
    # Step 10: a cancellation coordinated with the zonal center waits in the COZ's queue until
    # the COZ of the OT's zone confirms it (both sides audited).
    anulacion_coordinada_at = models.DateTimeField("anulación coordinada", null=True, blank=True)
    anulacion_confirmada_at = models.DateTimeField("anulación confirmada por el COZ", null=True, blank=True)
    anulacion_confirmada_por = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="confirmada por",
    )
    ejecutada_at = models.DateTimeField("ejecutada", null=True, blank=True)

    objects = OrdenQuerySet.as_manager()

    class Meta:
        ordering = ["-creado_at"]
        verbose_name = "orden de trabajo"
        verbose_name_plural = "órdenes de trabajo"
        indexes = [
            models.Index(fields=["zona", "estado"]),
            models.Index(fields=["tecnico", "estado"]),
            # The COZ's queue «Anulaciones coordinadas por confirmar (10)»: only the unconfirmed ones.
            models.Index(
                fields=["zona", "anulacion_coordinada_at"],
                name="anul_ot_por_confirmar",
                condition=models.Q(anulacion_coordinada_at__isnull=False, anulacion_confirmada_at__isnull=True),
            ),
            # PostgreSQL only (anulaciones/models/indices.py): the filters by OT number (icontains).
            trigramas_icontains("numero", "anulaciones_ordendetrabajo_numero_trgm"),
        ]

    @staticmethod
    def nombre(numero):
        """«OT-2609-00001» as it is (the prefix once, issue 15.9); «OT 12345» for a bare number."""
        return NumeroOT.con_prefijo(numero)

    @property
    def zona_id_alcance(self):
        return self.zona_id

    @property
    def caso_id_auditoria(self):
        return self.solicitud.caso_id

    @condicion(
        "La solicitud fue observada después de asignarse: la OT queda retenida hasta que el caso "
        "se asigne de nuevo (pasos 6–7)."
    )
    def no_retenida(self):
        return self.solicitud.estado not in ("observada", "en_correccion", "corregida")

    @condicion("Esta OT no tiene una anulación coordinada pendiente de confirmar.")
    def anulacion_por_confirmar(self):
        return self.anulacion_coordinada_at is not None and self.anulacion_confirmada_at is None

    def _anular_solicitud(self, ctx):
        """The Solicitud is cancelled with its OT, unless it is waiting for its re-digitation (the
        OT was cancelled by ``anular_para_redigitacion`` itself)."""
        sol = self.solicitud
        sol.refresh_from_db(fields=["estado"])
        if sol.estado != "pendiente_redigitacion":
            ctx.aplicar(sol, "anular", motivo=self.motivo_anulacion)

    @staticmethod
    def _requerido(valor, campo, mensaje):
        if not (valor or "").strip():
            raise DatosInvalidos({campo: mensaje})
        return valor.strip()

    # --- transitions (procedure.md, OrdenDeTrabajo) ----------------------------------------
    @transition(
        field=estado,
        source=E.GENERADA,
        target=E.ASIGNADA,
        permission=Permiso(Rol.GESTION_RED, Rol.COC),
        custom={"paso": {Rol.GESTION_RED: "5.2", Rol.COC: "12"}, "label": "Asignar"},
    )
    def asignar(self, ctx, tecnico=None):
        if tecnico is not None:
            if Rol.TECNICO not in roles_de(tecnico) or zona_de(tecnico) != self.zona_id:
                raise DatosInvalidos({"tecnico": "Elija un técnico de la zona de la orden."})
            self.tecnico = tecnico

        def despues(ctx):
            ctx.aplicar(self.solicitud, "asignar_instalacion")

        return despues

    @transition(
        field=estado,
        source=E.ASIGNADA,
        target=GET_STATE(_destino_reporte, states=[E.OBSERVADA_EN_CAMPO, E.ASIGNADA]),
        permission=Permiso(Rol.TECNICO),
        custom={"paso": "14", "label": "Reportar observación de campo"},
    )
    def reportar_observacion(
        self,
        ctx,
        observacion,
        causa,
        alcance=Observacion.Alcance.FONDO,
        subsanable=True,
        datos_comerciales="",
        datos_tecnicos="",
        equipos="",
        solicitudes_adicionales="",
    ):
        self.observacion_campo = self._requerido(observacion, "observacion", "Describa la observación de campo.")
        self.datos_comerciales = datos_comerciales or ""
        self.datos_tecnicos = datos_tecnicos or ""
        self.equipos = equipos or ""
        self.solicitudes_adicionales = solicitudes_adicionales or ""
        self.tecnico = ctx.usuario
        obs = Observacion.nueva(
            ctx,
            solicitud=self.solicitud,
            orden=self,
            causa=causa,
            detalle=observacion,
            alcance=alcance,
            subsanable=subsanable,
        )
        if obs.alcance == Observacion.Alcance.FORMA:  # 19.1: pending on the Solicitud (one atomic UPDATE)
            self.solicitud.agregar_modificacion_pendiente(obs.detalle)
        # 15.1 in the timeline: what the técnico reported, beside the transition.
        partes = [
            ("Observación", obs.detalle),
            ("Datos comerciales", self.datos_comerciales),
            ("Datos técnicos", self.datos_tecnicos),
            ("Equipos", self.equipos),
            ("Solicitudes adicionales del cliente", self.solicitudes_adicionales),
        ]
        reporte = " · ".join(f"{k}: {v.strip()}" for k, v in partes if (v or "").strip())
        ctx.nota = f"{ctx.nota} {reporte}".strip() if ctx.nota else reporte

    @transition(
        field=estado,
        source=E.OBSERVADA_EN_CAMPO,
        target=E.REPORTADA_COZ,
        permission=Permiso(Rol.TECNICO),
        custom={"paso": {"gestionar": "16", "anular": "17"}, "label": "Reportar al COZ"},
    )
    def reportar_a_coz(self, ctx, propuesta):
        if propuesta not in self.Propuesta.values:
            raise DatosInvalidos({"propuesta": "Elija: gestionar por otro sector (16) o anular la OT (17)."})
        self.propuesta = propuesta
        ctx.paso = "16" if propuesta == self.Propuesta.GESTIONAR else "17"

    @transition(
        field=estado,
        source=[E.REPORTADA_COZ, E.GENERADA],
        target=E.EN_COC,
        permission=Permiso(Rol.COZ),
        custom={"paso": "18", "label": "Direccionar al COC"},
    )
    def direccionar_a_coc(self, ctx):
        pass

    @transition(
        field=estado,
        source=E.EN_COC,
        target=E.ASIGNADA,
        permission=Permiso(Rol.COC),
        custom={"paso": "12", "label": "Re-direccionar para instalación"},
    )
    def redireccionar_instalacion(self, ctx):
        def despues(ctx):
            ctx.aplicar(self.solicitud, "asignar_instalacion")

        return despues

    @transition(
        field=estado,
        source=E.EN_COC,
        target=E.ANULADA,
        permission=Permiso(Rol.COC),
        custom={
            "paso": "13",
            "label": "Ratificar anulación",
            "anula": True,
            "confirmar": "La OT y su solicitud quedan anuladas.",
        },
    )
    def ratificar_anulacion(self, ctx, motivo):
        self.motivo_anulacion = self._requerido(motivo, "motivo", "Indique el motivo de la anulación.")

        def despues(ctx):
            self._anular_solicitud(ctx)

        return despues

    @transition(
        field=estado,
        source=[E.GENERADA, E.ASIGNADA],
        target=E.ANULADA,
        permission=Permiso(Rol.COC),
        custom={
            "paso": "10",
            "label": "Coordinar anulación con el COZ",
            "anula": True,
            "confirmar": "La OT y su solicitud quedan anuladas; el COZ de la zona confirma la anulación.",
        },
    )
    def coordinar_anulacion(self, ctx, motivo):
        """Step 10: final; the COZ of the OT's zone is notified and confirms it from its queue."""
        self.motivo_anulacion = self._requerido(motivo, "motivo", "Indique el motivo de la anulación.")
        if not ctx.causa:  # the COC's own step 10 (not the OT following its Solicitud's cancellation)
            self.anulacion_coordinada_at = ctx.ahora

        def despues(ctx):
            self._anular_solicitud(ctx)

        return despues

    @transition(
        field=estado,
        source=E.ANULADA,
        target=E.ANULADA,
        permission=Permiso(Rol.COZ),
        conditions=[anulacion_por_confirmar],
        custom={"paso": "10", "label": "Confirmar anulación coordinada"},
    )
    def confirmar_anulacion(self, ctx):
        """Step 10, the zonal center's side: it has taken the cancelled OT off its field plan."""
        self.anulacion_confirmada_at = ctx.ahora
        self.anulacion_confirmada_por = ctx.usuario

    @transition(
        field=estado,
        source=E.ASIGNADA,
        target=E.EJECUTADA,
        permission=Permiso(Rol.TECNICO, Rol.COC),
        conditions=[no_retenida],
        custom={
            "paso": "12.1",
            "label": "Ejecutar (TEC-DPA-P01)",
            "confirmar": "La OT queda ejecutada y la solicitud, instalada.",
        },
    )
    def ejecutar(self, ctx):
        self.ejecutada_at = ctx.ahora
        if self.tecnico_id is None and ctx.rol == Rol.TECNICO:
            self.tecnico = ctx.usuario

        def despues(ctx):
            ctx.aplicar(self.solicitud, "marcar_instalada")

        return despues
