from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, transition

from .. import reloj
from ..errors import DatosInvalidos
from ..roles import SISTEMA, Permiso, PermisoDestinatario, Rol
from .auditoria import Campo, Etiqueta, Nombre
from .base import VEN_TODO, Maquina, alcance_asesor, condicion, en_alcance_de
from .organizacion import LARGO_EXPLICACION, CalendarioLaboral, recortar_explicacion


class ServicioQuerySet(models.QuerySet):
    def visibles_para(self, user):
        """SIs of the cases the user may see; none for COZ and TECNICO (they work on OTs)."""
        return en_alcance_de(self, user, solicitud="solicitud__", ven_todo=VEN_TODO - {Rol.FACTURACION})

    def abiertos(self):
        return self.filter(estado__in=ServicioIngenieria.ABIERTOS)

    def vencidos(self, ahora=None):
        """Overdue (5.2), the rule of ``ServicioIngenieria.esta_vencido`` as a filter: marked
        ``vencido`` by the deadline task, or still ``abierto`` past its deadline (the task has not
        caught up yet)."""
        ahora = ahora or timezone.now()
        E = ServicioIngenieria.E
        return self.filter(models.Q(estado=E.VENCIDO) | models.Q(estado=E.ABIERTO, vence_at__lt=ahora))


class ServicioIngenieria(Maquina):
    """Engineering-service ticket (SI): must be answered the same working day (4.2)."""

    class Tipo(models.TextChoices):
        CORRECCION = "correccion", "Corrección"
        REDIGITACION = "redigitacion", "Re-digitación"
        IMPEDIMENTO = "impedimento", "Impedimento"

    class Impedimento(models.TextChoices):
        """Step 20.2: what keeps Gestión de Red from digitizing a zonification."""

        CIERRE_OT = "cierre_ot", "Falta de cierre de OT por el Centro de Operaciones"
        COMERCIAL = "comercial", "Impedimento comercial"
        SISTEMA = "sistema", "Problema de sistema"

    class Estado(models.TextChoices):
        ABIERTO = "abierto", "Abierto"
        VENCIDO = "vencido", "Vencido"
        ATENDIDO = "atendido", "Atendido"
        CERRADO_SIN_ATENCION = "cerrado_sin_atencion", "Cerrado sin atención"

    E = Estado
    ABIERTOS = (E.ABIERTO, E.VENCIDO)
    FINALES = (E.ATENDIDO, E.CERRADO_SIN_ATENCION)
    DESTINATARIOS = (Rol.ASESOR, Rol.MONITORA, Rol.TEAM_LEADER, Rol.GESTION_RED, Rol.COC)
    ROLES_CREACION = Permiso(Rol.GESTION_RED, Rol.COC)
    TRANSICION_CREACION = "abrir"
    NOMBRE = Nombre("SI ", Campo("pk"), " (", Etiqueta("tipo"), ")", caso="solicitud__caso_id")

    solicitud = models.ForeignKey("Solicitud", on_delete=models.PROTECT, related_name="servicios")
    # The Solicitud's zone, copied so the Tablero counts and lists a zone's open SIs from one
    # index whatever the size of the tables (bench/, issue 8). One writer: the database (triggers
    # of migration 0009: on insert, on a save that writes the column, and whenever the Solicitud's
    # zone changes). Python never sets it. The triggers are needed anyway for the writers Python
    # does not see (a queryset update of Solicitudes, the bulk import, SQL); a second writer in
    # Python could only disagree with them. In memory it is what the row was read with (None on
    # an SI just created): read the zone through ``solicitud``.
    zona = models.ForeignKey(
        "Zona", null=True, editable=False, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    orden = models.ForeignKey(
        "OrdenDeTrabajo", null=True, blank=True, on_delete=models.PROTECT, related_name="servicios"
    )
    tipo = models.CharField(max_length=20, choices=Tipo.choices, db_index=True)
    impedimento = models.CharField(
        "impedimento (20.2)", max_length=20, choices=Impedimento.choices, blank=True, default="", db_default=""
    )  # rows written by SQL (bench, imports) too
    destinatario = models.CharField(max_length=20, choices=[(r, Rol(r).label) for r in DESTINATARIOS], db_index=True)
    observacion = models.ForeignKey(
        "Observacion", null=True, blank=True, on_delete=models.SET_NULL, related_name="servicios"
    )
    vendedor = models.CharField(max_length=120, blank=True)
    asesor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="servicios_como_asesor"
    )
    requerido = models.TextField("qué se requiere", help_text="3.2: mejor referencia de dirección, caja más cercana…")
    vence_at = models.DateTimeField("vence", db_index=True)
    # Why it is due then (reloj.explicar_si, or the re-digitation's), shown with the deadline.
    vence_explicacion = models.CharField(
        "por qué vence entonces", max_length=LARGO_EXPLICACION, blank=True, default="", db_default=""
    )  # rows written by SQL (bench) too
    # When the warning is due: ANULACIONES_AVISO_MINUTOS of working time before vence_at, never
    # before the SI was opened (reloj.momento_aviso). Null on rows written without it (an older
    # release, SQL): the sweep then warns from vence_at (tasks.avisar_por_vencer).
    aviso_at = models.DateTimeField("aviso de vencimiento", null=True, blank=True)
    estado = FSMField(default=E.ABIERTO, choices=Estado.choices, protected=True, db_index=True)
    abierto_por = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cerrado_por = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cerrado_at = models.DateTimeField("cerrado", null=True, blank=True, db_index=True)
    respuesta = models.TextField(blank=True)
    fuera_de_plazo = models.BooleanField(default=False)
    aviso_enviado_at = models.DateTimeField("aviso de vencimiento enviado", null=True, blank=True)

    objects = ServicioQuerySet.as_manager()

    class Meta:
        ordering = ["vence_at", "pk"]
        verbose_name = "servicio de ingeniería"
        verbose_name_plural = "servicios de ingeniería"
        indexes = [
            models.Index(fields=["estado", "vence_at"]),
            models.Index(fields=["destinatario", "estado"]),
            models.Index(fields=["estado", "solicitud"]),  # open SIs joined to their Solicitud, index only
            models.Index(fields=["estado", "cerrado_at"]),  # Tablero: «atendidos hoy»
            # The warning sweep: the open SIs not warned yet whose warning is due.
            models.Index(
                fields=["estado", "aviso_at"],
                condition=models.Q(aviso_enviado_at__isnull=True),
                name="anul_si_aviso_pendiente",
            ),
            # Tablero filtered by zone: the open SIs of a zone in deadline order, and their COUNT.
            models.Index(
                fields=["zona", "vence_at", "id"],
                condition=models.Q(estado__in=["abierto", "vencido"]),
                name="anul_si_abiertos_zona",
            ),
            # The open SIs in Solicitud order: the Tablero's COUNT joins them to the zone's
            # Solicitudes as a merge of two index-only scans.
            models.Index(
                fields=["solicitud"],
                condition=models.Q(estado__in=["abierto", "vencido"]),
                name="anul_si_abiertos_solicitud",
            ),
        ]

    def esta_vencido(self, ahora=None):
        """Overdue (5.2): the one definition (``ServicioQuerySet.vencidos`` is the same rule in SQL).
        Marked ``vencido``, or still ``abierto`` with its deadline passed; a closed SI never is."""
        if self.estado == self.E.VENCIDO:
            return True
        return self.estado == self.E.ABIERTO and self.vence_at < (ahora or timezone.now())

    def en_alcance(self, user, rol):
        propio = alcance_asesor(self.solicitud, user, rol)
        return True if propio is None else propio

    @property
    def caso_id_auditoria(self):
        return self.solicitud.caso_id

    @classmethod
    def validar_destinatario(cls, destinatario):
        if destinatario not in cls.DESTINATARIOS:
            raise DatosInvalidos({"destinatario": "Elija el destinatario del Servicio de Ingeniería."})

    @classmethod
    def para(
        cls,
        solicitud,
        ctx,
        *,
        tipo,
        destinatario,
        requerido,
        vence_at=None,
        explicacion="",
        calendario=None,
        impedimento="",
    ):
        """A new SI on a Solicitud with what 3.1 asks it to carry (number, observation,
        vendedor, asesor). Unsaved: the transition path saves and audits it.

        Its deadline (4.2): the end of the working day of the Solicitud's zone's calendar
        (``reloj.vencimiento_si``), explained in ``vence_explicacion``; or ``vence_at`` and
        ``explicacion`` when given (the re-digitation's, 19.2). ``calendario``: the zone's
        ``reloj.Calendario`` when the caller has it already (else read, two queries)."""
        cls.validar_destinatario(destinatario)
        if tipo not in cls.Tipo.values:
            raise DatosInvalidos({"tipo": "Tipo de Servicio de Ingeniería desconocido."})
        if not (requerido or "").strip():
            raise DatosInvalidos({"requerido": "Indique qué se requiere del destinatario."})
        if tipo == cls.Tipo.IMPEDIMENTO and impedimento not in cls.Impedimento.values:
            raise DatosInvalidos({"impedimento": "Elija el impedimento (20.2)."})
        if tipo != cls.Tipo.IMPEDIMENTO:
            impedimento = ""
        cal = calendario or CalendarioLaboral.de_zona(solicitud.zona_id)
        if vence_at is None:
            vence_at = reloj.vencimiento_si(cal, ctx.ahora)
            explicacion = reloj.explicar_si(cal, ctx.ahora, vence_at)
        return cls(
            impedimento=impedimento,
            solicitud=solicitud,
            orden=getattr(solicitud, "orden", None),
            tipo=tipo,
            destinatario=destinatario,
            observacion=solicitud.ultima_observacion(),
            vendedor=solicitud.vendedor,
            asesor=solicitud.asesor,
            requerido=requerido.strip(),
            vence_at=vence_at,
            vence_explicacion=recortar_explicacion(explicacion),
            aviso_at=cls.momento_aviso(cal, ctx.ahora, vence_at),
            abierto_por=ctx.usuario,
        )

    @staticmethod
    def momento_aviso(cal, abierto, vence_at):
        """When the warning of an SI opened at ``abierto`` and due at ``vence_at`` is due: its
        working time before the deadline (``reloj.momento_aviso``), or at once — the next sweep
        in working hours — when the SI was opened with less than that left."""
        aviso = reloj.momento_aviso(cal, vence_at)
        return max(aviso, abierto) if abierto else aviso

    def _cerrar(self, ctx, respuesta):
        self.cerrado_por = ctx.usuario
        self.cerrado_at = ctx.ahora
        self.respuesta = (respuesta or "").strip()
        self.fuera_de_plazo = ctx.ahora > self.vence_at

    @condicion("Un SI de re-digitación se cierra solo al registrar la nueva solicitud (19.2).")
    def no_es_redigitacion(self):
        return self.tipo != self.Tipo.REDIGITACION

    # --- transitions (procedure.md, ServicioIngenieria) ------------------------------------
    @transition(
        field=estado,
        source=[E.ABIERTO, E.VENCIDO],
        target=E.ATENDIDO,
        permission=PermisoDestinatario(),
        conditions=[no_es_redigitacion],
        custom={"paso": "4.2", "label": "Atender"},
    )
    def atender(self, ctx, respuesta):
        if not (respuesta or "").strip():
            raise DatosInvalidos({"respuesta": "Escriba la respuesta al Servicio de Ingeniería."})
        self._cerrar(ctx, respuesta)

    @transition(
        field=estado,
        source=E.ABIERTO,
        target=E.VENCIDO,
        permission=Permiso(SISTEMA),
        custom={"paso": "5.2", "label": "Vencer", "en_bloque": True},
    )
    def vencer(self, ctx):
        pass

    @transition(
        field=estado,
        source=[E.ABIERTO, E.VENCIDO],
        target=E.CERRADO_SIN_ATENCION,
        permission=Permiso(Rol.GESTION_RED, Rol.COC),
        conditions=[no_es_redigitacion],
        custom={
            "paso": "5.2",
            "label": "Cerrar sin atención",
            "confirmar": "El Servicio de Ingeniería se cierra sin respuesta.",
        },
    )
    def cerrar_sin_atencion(self, ctx):
        self._cerrar(ctx, ctx.nota)
