import re
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.signals import post_init, post_save
from django_fsm import FSMField, transition

from .. import buscador, reloj
from ..errors import DatosInvalidos, SinPermiso
from ..roles import ROLES_DIGITACION, SISTEMA, Permiso, Rol
from ..texto import normalizar, sin_acentos
from .auditoria import Campo, Nombre
from .base import Maquina, alcance_asesor, condicion, en_alcance_de
from .conciliacion import Emparejamiento
from .indices import trigramas, trigramas_icontains
from .observacion import Observacion
from .organizacion import LARGO_EXPLICACION, CalendarioLaboral, Caso, recortar_explicacion

# --- the customer's keys a re-entry is paired on (issue 18, anulaciones.emparejamiento) ---------
DOCUMENTO_MINIMO = 4  # characters of a document that can mean one person
TELEFONO_MINIMO = 7  # digits of a phone number (Bolivia: 7 landline, 8 mobile)
TELEFONO_DIGITOS = 8  # the last digits compared: a country or area prefix typed or not is one number


def claves_cliente(documento, telefono, calle, numero_puerta):
    """(document, phone, address) as compared between a cancelled Solicitud and a new one, each
    "" when too short to mean anything. Document: letters and digits in capitals, no separators
    («4.455.667-LP» = «4455667 lp»), at least DOCUMENTO_MINIMO. Phone: the last TELEFONO_DIGITOS
    digits, at least TELEFONO_MINIMO. Address: ``texto.normalizar`` of street + door number (the
    key of ``Solicitud.clave_de_calle``, with the number), only when it ends in a number after a
    street: «Calle 21» + «100» or «Av. Busch 123» are a door; «Calle 21», «Av. 6 de Agosto» or a
    door «S/N» are a whole street, not a customer."""
    doc = re.sub(r"[^0-9A-Z]", "", sin_acentos(documento or "").upper())
    tel = re.sub(r"\D", "", telefono or "")[-TELEFONO_DIGITOS:]
    dire = normalizar(f"{calle or ''} {numero_puerta or ''}")
    return (
        doc if len(doc) >= DOCUMENTO_MINIMO else "",
        tel if len(tel) >= TELEFONO_MINIMO else "",
        dire if len(partes := dire.split()) > 1 and re.search(r"\d", partes[-1]) else "",
    )


class SolicitudQuerySet(models.QuerySet):
    def visibles_para(self, user):
        """Zone- and ownership-scoped list of Solicitudes for a user."""
        return en_alcance_de(self, user, zona="zona_id")

    def abiertas(self):
        return self.exclude(estado__in=Solicitud.FINALES)

    # The search column (``busqueda``) is written on every path that writes the data it is
    # made of: ``Solicitud.save``, these two bulk paths (Smartflex import:
    # ``transitions.crear_en_bloque`` / ``actualizar_datos_en_bloque``) and the OT's own save.
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for o in objs:
            if not o.busqueda:
                o.preparar_busqueda()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if set(fields) & set(buscador.CAMPOS):
            Solicitud.preparar_busquedas(objs)
            fields = [*fields, "busqueda"] if "busqueda" not in fields else fields
        return super().bulk_update(objs, fields, *args, **kwargs)


class Solicitud(Maquina):
    """Service request registered by the asesor (step 1)."""

    class Tipo(models.TextChoices):
        INSTALACION = "instalacion", "Instalación"
        TRASLADO = "traslado", "Traslado"
        MIGRACION = "migracion", "Migración"

    class Estado(models.TextChoices):
        REGISTRADA = "registrada", "Registrada"
        OBSERVADA = "observada", "Observada"
        EN_CORRECCION = "en_correccion", "En corrección"
        CORREGIDA = "corregida", "Corregida"
        EN_INSTALACION = "en_instalacion", "En instalación"
        ANULADA = "anulada", "Anulada"
        PENDIENTE_REDIGITACION = "pendiente_redigitacion", "Pendiente de re-digitación"
        REDIGITADA = "redigitada", "Re-digitada"
        INSTALADA = "instalada", "Instalada"

    E = Estado
    FINALES = (E.ANULADA, E.REDIGITADA, E.INSTALADA)
    ROLES_CREACION = Permiso(*ROLES_DIGITACION)
    TRANSICION_CREACION = "registrar"
    PASO_CREACION = "1"
    NOMBRE = Nombre("Solicitud ", Campo("numero_smartflex"), caso="caso_id")

    numero_smartflex = models.CharField("N° Smartflex", max_length=30, unique=True)
    tipo = models.CharField(max_length=20, choices=Tipo.choices, default=Tipo.INSTALACION, db_index=True)
    cliente_nombre = models.CharField("cliente", max_length=200)
    cliente_documento = models.CharField("documento del cliente", max_length=30, blank=True)
    cliente_telefono = models.CharField("teléfono del cliente", max_length=40, blank=True)
    calle = models.CharField(max_length=200)
    numero_puerta = models.CharField("número", max_length=20, blank=True)
    zona = models.ForeignKey("Zona", on_delete=models.PROTECT, related_name="solicitudes")
    referencias = models.TextField("referencias de dirección", blank=True)
    caja_nap = models.CharField("caja / NAP más cercana", max_length=60, blank=True)
    plan = models.CharField(max_length=120, blank=True)
    vendedor = models.CharField(max_length=120, blank=True)
    asesor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="solicitudes")
    registrada_por = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="solicitudes_registradas",
        null=True,
        blank=True,
    )
    observaciones = models.TextField(blank=True, help_text="Campo observación de la solicitud (pasos 4.1 y 19).")
    estado = FSMField(default=E.REGISTRADA, choices=Estado.choices, protected=True, db_index=True)
    caso = models.ForeignKey("Caso", on_delete=models.PROTECT, related_name="solicitudes")
    reemplazada_por = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reemplaza"
    )
    motivo_anulacion = models.TextField("motivo de anulación", blank=True)
    # 5.2 / 3.3: why it was cancelled before the SI's day ended or with no contact attempt.
    justificacion_anulacion = models.TextField("justificación de la anulación", blank=True, default="", db_default="")
    redigitacion_vence_at = models.DateTimeField("re-digitación vence", null=True, blank=True, db_index=True)
    # When it was cancelled (``anular``, ``anular_para_redigitacion``; the real Smartflex date when
    # the cancellation was imported): the re-entries of the same customer are paired from it.
    anulada_at = models.DateTimeField("anulada", null=True, blank=True, db_index=True)
    # When the 19.2 clock started (the cancellation) and why it ends at redigitacion_vence_at
    # (reloj.explicar_redigitacion): what the deadline is recomputed from when the calendar changes.
    redigitacion_desde = models.DateTimeField("re-digitación desde", null=True, blank=True)
    redigitacion_explicacion = models.CharField(
        "por qué vence entonces la re-digitación", max_length=LARGO_EXPLICACION, blank=True, default="", db_default=""
    )  # rows written by SQL (bench, import) too
    redigitacion_tardia = models.BooleanField("re-digitación fuera de plazo", default=False)
    # Set (with redigitacion_tardia) by the deadline task when the 2 hours pass unanswered and the
    # asesor's TEAM_LEADER is notified; once set, nobody is escalated again.
    redigitacion_escalada_at = models.DateTimeField("re-digitación escalada", null=True, blank=True)
    modificacion_pendiente = models.TextField(
        "modificación de forma pendiente",
        blank=True,
        help_text="Observación de forma: se digita una vez ejecutada la OT (19.1).",
    )
    # Address check at registration (issue 7, anulaciones.direcciones): the warnings shown to
    # whoever registered it, and whether they saved anyway ("Guardar de todos modos").
    advertencias_direccion = models.JSONField("advertencias de dirección", default=list, blank=True)
    advertencia_aceptada = models.BooleanField("advertencia aceptada", default=False, db_index=True)
    # Search box (issue 15, item 5): client name, document, phone, street + door number,
    # Smartflex and OT numbers, normalized (anulaciones.buscador). Trigram GIN index on
    # PostgreSQL (migration 0014). Never edited: written by save() and the bulk paths.
    busqueda = models.TextField("texto de búsqueda", blank=True, default="", db_default="", editable=False)
    # Risk at entry (issue 19, anulaciones.riesgo): the street's key as registered (its known
    # alias resolved; corrections of the street do not move it: the history stays with what was
    # typed), and the score the history gave at registration (``FactorRiesgo.puntuar``) with its
    # reasons and suggestions. ``riesgo_aceptado``: saved anyway with a high risk on the form.
    # Rows written without them (SQL, an older release) take the database defaults.
    clave_calle = models.CharField(
        "clave de la calle", max_length=200, blank=True, default="", db_default="", editable=False
    )
    riesgo = models.FloatField("riesgo", null=True, blank=True, editable=False)
    riesgo_banda = models.CharField(
        "nivel de riesgo",
        max_length=5,
        choices=[("bajo", "Bajo"), ("medio", "Medio"), ("alto", "Alto")],
        blank=True,
        default="",
        db_default="",
        editable=False,
    )
    riesgo_motivos = models.JSONField(
        "motivos del riesgo",
        default=list,
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
        editable=False,
    )
    riesgo_sugerencias = models.JSONField(
        "sugerencias para bajar el riesgo",
        default=list,
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
        editable=False,
    )
    riesgo_aceptado = models.BooleanField("riesgo alto aceptado", default=False, db_default=False)

    objects = SolicitudQuerySet.as_manager()

    class Meta:
        ordering = ["-creado_at"]
        verbose_name = "solicitud"
        verbose_name_plural = "solicitudes"
        indexes = [
            models.Index(fields=["asesor", "estado"]),
            models.Index(fields=["zona", "estado"]),
            # Tablero de Control filtered by zone: the SI → Solicitud join reads only the index.
            models.Index(fields=["zona", "id"]),
            models.Index(fields=["caso", "creado_at"]),
            # Risk (issue 19): the Tablero's «high risk registered today», the review queues by
            # risk, the recompute's backfill of the street key.
            models.Index(fields=["riesgo_banda", "creado_at"], name="anul_sol_riesgo_banda"),
            models.Index(fields=["-riesgo", "creado_at"], name="anul_sol_riesgo_cola"),
            models.Index(fields=["clave_calle"], name="anul_sol_clave_calle"),
            # PostgreSQL only (anulaciones/models/indices.py): the search box over ``busqueda``,
            # and the list and API filters by number, client and street (icontains).
            trigramas("busqueda", "anulaciones_solicitud_busqueda_trgm"),
            *[
                trigramas_icontains(campo, f"anulaciones_solicitud_{campo}_trgm")
                for campo in ("numero_smartflex", "cliente_nombre", "calle")
            ],
        ]

    # --- search column -----------------------------------------------------------------------
    @classmethod
    def from_db(cls, db, field_names, values, *args, **kwargs):
        obj = super().from_db(db, field_names, values, *args, **kwargs)
        obj._fuentes_guardadas = obj._fuentes_busqueda()
        return obj

    def refresh_from_db(self, using=None, fields=None, from_queryset=None, **kwargs):
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset, **kwargs)
        antes = getattr(self, "_fuentes_guardadas", None)
        ahora = self._fuentes_busqueda()
        if fields is None or antes is None:
            self._fuentes_guardadas = ahora
        else:  # only the fields read again are known to equal the database now
            self._fuentes_guardadas = tuple(
                n if c in fields else a for c, a, n in zip(buscador.CAMPOS, antes, ahora, strict=False)
            )

    def _fuentes_busqueda(self):
        return tuple(self.__dict__.get(c) for c in buscador.CAMPOS)  # never loads a deferred field

    def _numero_ot_conocido(self):
        """The OT number without a query, or None when only the database knows it."""
        if getattr(self, "_numero_ot", None):
            return self._numero_ot
        cache = self._state.fields_cache
        if "orden" in cache:
            return cache["orden"].numero if cache["orden"] is not None else ""
        if self._state.adding:  # its OT is born next, numbered like this unless told otherwise
            return f"OT-{self.numero_smartflex}"
        return None

    def preparar_busqueda(self, numero_ot=None):
        """Compute ``busqueda`` from the current data. ``numero_ot``: the number of the OT about to
        be created with it (the bulk import), when it is not the default OT-<N° Smartflex>."""
        if numero_ot:
            self._numero_ot = numero_ot
        numero = self._numero_ot_conocido()
        if numero is None:
            from .orden import OrdenDeTrabajo

            numero = OrdenDeTrabajo.objects.filter(solicitud_id=self.pk).values_list("numero", flat=True).first()
        self.busqueda = buscador.texto_de_busqueda(
            **{c: getattr(self, c) for c in buscador.CAMPOS}, numero_ot=numero or ""
        )

    @classmethod
    def preparar_busquedas(cls, objs):
        """``preparar_busqueda`` for many rows: the OT numbers not at hand in one query."""
        from .orden import OrdenDeTrabajo

        faltan = [o.pk for o in objs if o._numero_ot_conocido() is None]
        numeros = dict(
            OrdenDeTrabajo.objects.filter(solicitud_id__in=faltan).values_list("solicitud_id", "numero")
            if faltan
            else {}
        )
        for o in objs:
            if o._numero_ot_conocido() is None:
                o._numero_ot = numeros.get(o.pk) or ""
            o.preparar_busqueda()

    def save(self, *args, **kwargs):
        """Keeps ``busqueda`` in step with the data it is made of (recomputed only when that
        data changed since it was read: a transition's save costs no query for it)."""
        campos = kwargs.get("update_fields")
        if campos is None or set(campos) & set(buscador.CAMPOS):
            vacia = "busqueda" in self.__dict__ and not self.__dict__["busqueda"]
            if self._state.adding or vacia or self._fuentes_busqueda() != getattr(self, "_fuentes_guardadas", None):
                self.preparar_busqueda()
                if campos is not None:
                    kwargs["update_fields"] = {*campos, "busqueda"}
        super().save(*args, **kwargs)
        self._fuentes_guardadas = self._fuentes_busqueda()

    # --- risk: the street's key --------------------------------------------------------------
    @staticmethod
    def clave_de_calle(calle):
        """The matching key of a street as typed (``texto.normalizar``), before aliases."""
        return normalizar(calle or "")

    @classmethod
    def poner_claves_calle(cls, objs):
        """Set ``clave_calle`` on each object: its street's key or, when that key is a known
        alias (``AliasCalle.normalizado``), the key of the street it is an alias of (the least
        one when several streets share the alias: the recompute's rule too). One query for all.
        Returns {key: correct street's name} for the keys that came from an alias."""
        from django.db import connection

        from .direcciones import AliasCalle, Calle

        propias = [(o, cls.clave_de_calle(o.calle)) for o in objs]  # unsaved objects are unhashable
        nombres = sorted({c for _, c in propias if c})
        canonicas: dict = {}
        if nombres:
            # Plain SQL: at registration the ORM's compilation cost more than the query (issue 19.5).
            with connection.cursor() as cur:
                cur.execute(
                    f"SELECT a.normalizado, c.normalizado, c.nombre FROM {AliasCalle._meta.db_table} a "
                    f"JOIN {Calle._meta.db_table} c ON c.id = a.calle_id "
                    f"WHERE a.normalizado IN ({', '.join(['%s'] * len(nombres))})",
                    nombres,
                )
                filas = cur.fetchall()
            for alias, clave, nombre in filas:
                if clave and (alias not in canonicas or clave < canonicas[alias][0]):
                    canonicas[alias] = (clave, nombre)
        for o, c in propias:
            o.clave_calle = canonicas[c][0] if c in canonicas else c
        return {clave: nombre for clave, nombre in canonicas.values()}

    # --- scope -----------------------------------------------------------------------------
    def en_alcance(self, user, rol):
        propio = alcance_asesor(self, user, rol)
        if propio is not None:
            return propio
        return super().en_alcance(user, rol)

    @property
    def zona_id_alcance(self):
        return self.zona_id

    @property
    def caso_id_auditoria(self):
        return self.caso_id

    def servicios_abiertos(self):
        from .servicio import ServicioIngenieria

        return self.servicios.filter(estado__in=ServicioIngenieria.ABIERTOS)

    def agregar_modificacion_pendiente(self, texto):
        """Append a de forma observation to the pending modification (19.1) in one UPDATE, so it
        never overwrites a concurrent one."""
        from django.db.models import Case, F, Value, When
        from django.db.models.functions import Concat

        texto = texto.strip()
        type(self).objects.filter(pk=self.pk).update(
            modificacion_pendiente=Case(
                When(modificacion_pendiente="", then=Value(texto)),
                default=Concat(F("modificacion_pendiente"), Value("\n" + texto)),
                output_field=models.TextField(),
            )
        )

    def ultima_observacion(self):
        return self.observaciones_registradas.order_by("-creado_at", "-pk").first()

    def _solo_observaciones_de_forma(self):
        if "observaciones_registradas" in getattr(self, "_prefetched_objects_cache", {}):
            # Lists prefetch them, so offering the buttons costs no query per row.
            alcances = {o.alcance for o in self.observaciones_registradas.all()}
        else:
            alcances = set(self.observaciones_registradas.values_list("alcance", flat=True))
        return alcances == {Observacion.Alcance.FORMA}

    @condicion(
        "Las observaciones del caso son de forma: se corrigen una vez ejecutada la OT (19.1), no con una re-digitación."
    )
    def observacion_de_fondo(self):
        """Re-digitation (8–9) is for an error de fondo; a case observed only de forma is
        installed and corrected afterwards (19.1). (A cancellation is never refused for this:
        the customer may ask for it.)"""
        return not self._solo_observaciones_de_forma()

    @condicion("La orden de trabajo aún no fue ejecutada.")
    def orden_ejecutada(self):
        orden = getattr(self, "orden", None)
        return orden is not None and orden.estado == "ejecutada"

    @condicion(
        "Una solicitud en instalación se anula para re-digitación solo cuando su OT está en el COC "
        "(pasos 14 → 16 → 18 → 11)."
    )
    def orden_en_coc_si_en_instalacion(self):
        if self.estado != self.E.EN_INSTALACION:
            return True
        orden = getattr(self, "orden", None)
        return orden is not None and orden.estado == "en_coc"

    @condicion(
        "La OT está reportada por el técnico (pasos 14–17): el COZ debe direccionarla al COC (18), "
        "que decide su re-direccionamiento (12) o su anulación (13)."
    )
    def orden_fuera_del_campo(self):
        """A cancellation takes its OT with it; an OT the técnico reported is with the COZ, and only
        the COC, once the COZ directs it there (18), decides on it (11–13)."""
        orden = getattr(self, "orden", None)
        return orden is None or orden.estado not in ("observada_en_campo", "reportada_coz")

    @condicion("La re-digitación aún está en plazo: se anula en definitiva solo pasadas sus 2 horas (19.2).")
    def redigitacion_vencida(self):
        if self.estado != self.E.PENDIENTE_REDIGITACION:
            return True
        from django.utils import timezone

        return self.redigitacion_vence_at is None or self.redigitacion_vence_at <= timezone.now()

    def _anotar(self, ctx, texto):
        sello = f"[{ctx.ahora_local:%d/%m/%Y %H:%M} {ctx.usuario.get_username()}] {texto.strip()}"
        self.observaciones = f"{self.observaciones}\n{sello}".strip()

    # Structured data a correction (4.1) may change: what the field needs to find the customer.
    CAMPOS_CORREGIBLES = {
        "calle": "Calle",
        "numero_puerta": "Número",
        "referencias": "Referencias de dirección",
        "caja_nap": "Caja / NAP",
    }

    def _corregir(self, ctx, cambios):
        """Apply the corrected structured data; returns the unsaved Correccion rows (changed only)."""
        from .observacion import Correccion

        filas = []
        for campo, valor in cambios.items():
            if valor is None:
                continue
            valor = str(valor).strip()
            maximo = getattr(self._meta.get_field(campo), "max_length", None)
            if maximo and len(valor) > maximo:
                raise DatosInvalidos({campo: f"Máximo {maximo} caracteres."})
            if campo == "calle" and not valor:
                raise DatosInvalidos({campo: "La calle no puede quedar vacía."})
            anterior = getattr(self, campo) or ""
            if valor == anterior:
                continue
            setattr(self, campo, valor)
            filas.append(
                Correccion(
                    solicitud=self,
                    caso_id=self.caso_id,
                    campo=campo,
                    etiqueta=self.CAMPOS_CORREGIBLES[campo],
                    anterior=anterior,
                    nuevo=valor,
                    paso=ctx.paso,
                    usuario=ctx.usuario,
                    rol=ctx.rol,
                    creado_at=ctx.ahora,
                )
            )
        return filas

    def _hay_que_justificar(self, ahora):
        """5.2 / 3.3: a cancellation before an SI's day has ended, or with no attempt to reach the
        subscriber, needs an explicit justification. Returns the reason, or ''."""
        from .observacion import IntentoContacto

        motivos = []
        if self.servicios.filter(estado="abierto", vence_at__gt=ahora).exists():
            motivos.append("el Servicio de Ingeniería aún está en plazo (5.2)")
        if not IntentoContacto.objects.filter(caso_id=self.caso_id).exists():
            motivos.append("no hay intento de contacto con el abonado registrado (3.3)")
        return " y ".join(motivos)

    def _anular_orden(self, ctx, motivo):
        """The OT is cancelled with its Solicitud: step 10 from generada/asignada, 13 from en_coc."""
        orden = getattr(self, "orden", None)
        if orden is None:
            return
        orden.refresh_from_db(fields=["estado"])
        nombre = "ratificar_anulacion" if orden.estado == "en_coc" else "coordinar_anulacion"
        ctx.aplicar(orden, nombre, motivo=motivo)

    # --- transitions (procedure.md, Solicitud) --------------------------------------------
    @transition(
        field=estado,
        source=[E.REGISTRADA, E.CORREGIDA, E.EN_INSTALACION],
        target=E.OBSERVADA,
        permission=Permiso(Rol.GESTION_RED, Rol.COC),
        custom={"paso": {Rol.GESTION_RED: "2", Rol.COC: "6"}, "label": "Observar"},
    )
    def observar(self, ctx, causa, detalle, alcance=Observacion.Alcance.FONDO, subsanable=True):
        """From en_instalacion (step 6 on a request assigned automatically, step 7): the OT,
        already asignada, is held (``OrdenDeTrabajo.no_retenida``) until the case is assigned again."""
        obs = Observacion.nueva(
            ctx,
            solicitud=self,
            orden=getattr(self, "orden", None),
            causa=causa,
            detalle=detalle,
            alcance=alcance,
            subsanable=subsanable,
        )
        if obs.alcance == Observacion.Alcance.FORMA:
            self.modificacion_pendiente = f"{self.modificacion_pendiente}\n{obs.detalle}".strip()

    @transition(
        field=estado,
        source=E.OBSERVADA,
        target=E.EN_CORRECCION,
        permission=Permiso(Rol.GESTION_RED, Rol.COC),
        custom={"paso": {Rol.GESTION_RED: "3", Rol.COC: "7"}, "label": "Solicitar corrección (SI)"},
    )
    def solicitar_correccion(self, ctx, requerido, destinatario=None, destinatarios=None):
        """One SI per recipient (step 7: Monitoras Plataforma, Team Leader Ventas and Gestión de
        Red at once); ``destinatario`` (one) and ``destinatarios`` (several) add up."""
        from .servicio import ServicioIngenieria

        elegidos = list(dict.fromkeys([*([destinatario] if destinatario else []), *(destinatarios or [])]))
        if not elegidos:
            raise DatosInvalidos({"destinatario": "Elija el destinatario del Servicio de Ingeniería."})
        for d in elegidos:
            ServicioIngenieria.validar_destinatario(d)
        if not (requerido or "").strip():
            raise DatosInvalidos({"requerido": "Indique qué se requiere del destinatario (3.2)."})

        def despues(ctx):
            for d in elegidos:
                ctx.crear(
                    ServicioIngenieria.para(
                        self, ctx, tipo=ServicioIngenieria.Tipo.CORRECCION, destinatario=d, requerido=requerido
                    )
                )

        return despues

    @transition(
        field=estado,
        source=E.EN_CORRECCION,
        target=E.CORREGIDA,
        permission=Permiso(*ROLES_DIGITACION),
        custom={"paso": "4.1", "label": "Digitar modificación"},
    )
    def digitar_modificacion(
        self, ctx, modificacion="", calle=None, numero_puerta=None, referencias=None, caja_nap=None
    ):
        """4.1: the modification goes into ``observaciones`` and into the structured data it
        corrects (caja/NAP, address, references), each change kept as a Correccion; 4.2: the
        open correction SIs addressed to the digitation roles close as atendido."""
        correcciones = self._corregir(
            ctx, {"calle": calle, "numero_puerta": numero_puerta, "referencias": referencias, "caja_nap": caja_nap}
        )
        texto = (modificacion or "").strip()
        cambios = "; ".join(f"{c.etiqueta}: {c.anterior or '—'} → {c.nuevo or '—'}" for c in correcciones)
        if not texto and not cambios:
            raise DatosInvalidos({"modificacion": "Escriba la modificación digitada o corrija un dato."})
        self._anotar(ctx, " ".join(p for p in (texto, f"[{cambios}]" if cambios else "") if p))
        respuesta = texto or cambios

        def despues(ctx):
            from .observacion import Correccion
            from .servicio import ServicioIngenieria

            Correccion.objects.bulk_create(correcciones)
            for si in self.servicios_abiertos().filter(
                tipo=ServicioIngenieria.Tipo.CORRECCION, destinatario__in=ROLES_DIGITACION
            ):
                ctx.aplicar(si, "atender", respuesta=respuesta)

        return despues

    @transition(
        field=estado,
        source=[E.REGISTRADA, E.OBSERVADA, E.EN_CORRECCION, E.CORREGIDA],
        target=E.EN_INSTALACION,
        permission=Permiso(Rol.GESTION_RED, Rol.COC),
        custom={
            "paso": {Rol.GESTION_RED: "5.2", Rol.COC: "12"},
            "label": "Asignar para instalación",
            "confirmar": "La solicitud pasa a instalación, su OT queda asignada y los Servicios "
            "de Ingeniería abiertos se cierran sin atención.",
        },
    )
    def asignar_instalacion(self, ctx):
        def despues(ctx):
            for si in self.servicios_abiertos():
                ctx.aplicar(si, "cerrar_sin_atencion", nota="Solicitud asignada para instalación.")
            if getattr(self, "orden", None) is not None:
                ctx.aplicar(self.orden, "asignar")  # an OT held since step 6 is already asignada

        return despues

    @transition(
        field=estado,
        source=[E.REGISTRADA, E.OBSERVADA, E.EN_CORRECCION, E.CORREGIDA, E.EN_INSTALACION, E.PENDIENTE_REDIGITACION],
        target=E.ANULADA,
        permission=Permiso(Rol.GESTION_RED, Rol.COC),
        conditions=[redigitacion_vencida, orden_fuera_del_campo],
        custom={
            "paso": {Rol.GESTION_RED: "5.2", Rol.COC: "10"},
            "label": "Anular",
            "anula": True,
            "confirmar": "La solicitud y su OT quedan anuladas y los Servicios de Ingeniería "
            "abiertos se cierran sin atención.",
        },
    )
    def anular(self, ctx, motivo, justificacion=""):
        """Final. Never refused because the observations are only de forma (the customer may ask
        to cancel). From pendiente_redigitacion: the re-digitation never came (after its 2 hours).
        Taken by a person (not as the effect of an OT's cancellation), it needs a justification
        when an SI of the case is still in its day or nobody tried to reach the subscriber."""
        if not (motivo or "").strip():
            raise DatosInvalidos({"motivo": "Indique el motivo de la anulación."})
        self.motivo_anulacion = motivo.strip()
        self.anulada_at = ctx.ahora
        justificacion = (justificacion or "").strip()
        if not ctx.causa:
            falta = self._hay_que_justificar(ctx.ahora)
            if falta and not justificacion:
                raise DatosInvalidos({"justificacion": f"Justifique la anulación: {falta}."})
            self.justificacion_anulacion = justificacion if falta else ""
        Caso.marcar_probable(self.caso_id, ctx.ahora)

        def despues(ctx):
            for si in self.servicios_abiertos():
                ctx.aplicar(si, "cerrar_sin_atencion", nota="Solicitud anulada.")
            self._anular_orden(ctx, self.motivo_anulacion)

        return despues

    @transition(
        field=estado,
        source=[E.OBSERVADA, E.EN_INSTALACION],
        target=E.PENDIENTE_REDIGITACION,
        permission=Permiso(Rol.COC),
        conditions=[observacion_de_fondo, orden_en_coc_si_en_instalacion, orden_fuera_del_campo],
        custom={
            "paso": "9",
            "label": "Anular para re-digitación",
            "anula": True,
            "confirmar": "La solicitud y su OT se anulan y se pide la re-digitación, que corre "
            "con un plazo de 2 horas (19.2).",
        },
    )
    def anular_para_redigitacion(self, ctx, datos_precisos, destinatario=Rol.ASESOR):
        """8–9: the Solicitud (and its OT) are cancelled and an SI asks for the re-digitation with
        the precise data observed; the 2-hour clock starts. From en_instalacion, the técnico's
        branch (14 → 16 → 18 → 11): its OT is en_coc and is cancelled with it (13)."""
        from .servicio import ServicioIngenieria

        if not (datos_precisos or "").strip():
            raise DatosInvalidos({"datos_precisos": "Detalle los datos precisos observados (9.1)."})
        ServicioIngenieria.validar_destinatario(destinatario)
        self.motivo_anulacion = f"Re-digitación: {datos_precisos.strip()}"
        self.anulada_at = ctx.ahora
        calendario = CalendarioLaboral.de_zona(self.zona_id)
        self.redigitacion_desde = ctx.ahora
        self.redigitacion_vence_at = reloj.vencimiento_redigitacion(calendario, ctx.ahora)
        self.redigitacion_explicacion = recortar_explicacion(
            reloj.explicar_redigitacion(calendario, ctx.ahora, self.redigitacion_vence_at)
        )
        Caso.marcar_probable(self.caso_id, ctx.ahora)

        def despues(ctx):
            for si in self.servicios_abiertos():
                ctx.aplicar(si, "cerrar_sin_atencion", nota="Solicitud anulada para re-digitación.")
            ctx.crear(
                ServicioIngenieria.para(
                    self,
                    ctx,
                    tipo=ServicioIngenieria.Tipo.REDIGITACION,
                    destinatario=destinatario,
                    requerido=datos_precisos,
                    vence_at=self.redigitacion_vence_at,
                    explicacion=self.redigitacion_explicacion,
                    calendario=calendario,
                ),
                paso="9.1",
            )
            self._anular_orden(ctx, self.motivo_anulacion)

        return despues

    @transition(
        field=estado,
        source=E.PENDIENTE_REDIGITACION,
        target=E.REDIGITADA,
        permission=Permiso(*ROLES_DIGITACION),
        custom={"paso": "19.2", "label": "Registrar re-digitación"},
    )
    def registrar_redigitacion(self, ctx, nueva):
        """``nueva``: the data of the new Solicitud, registered into the same case. Late (past the
        2 hours): flagged, and escalated to the asesor's TEAM_LEADER unless the deadline task
        already did (the notice is unique per case, so it is sent exactly once)."""
        self.redigitacion_tardia = bool(self.redigitacion_vence_at and ctx.ahora > self.redigitacion_vence_at)
        if self.redigitacion_tardia and self.redigitacion_escalada_at is None:
            self.redigitacion_escalada_at = ctx.ahora
        if not isinstance(nueva, dict):
            raise DatosInvalidos({"nueva": "Faltan los datos de la nueva solicitud."})
        datos = dict(nueva)
        datos.pop("asesor_id", None)
        datos["asesor"] = self.asesor  # the case stays with its asesor, whoever re-digits it

        def despues(ctx):
            nueva_sol = ctx.crear_solicitud(datos, caso=self.caso)
            self.reemplazada_por = nueva_sol
            self.save(update_fields=["reemplazada_por"])
            for si in self.servicios_abiertos().filter(tipo="redigitacion"):
                ctx.aplicar(si, "atender", respuesta=f"Re-digitada como {nueva_sol.numero_smartflex}.")

        return despues

    # --- 19.2 when the re-entry was registered on its own (issue 18) ----------------------------
    def claves(self):
        """The customer's keys this Solicitud is paired on (``claves_cliente``)."""
        return claves_cliente(self.cliente_documento, self.cliente_telefono, self.calle, self.numero_puerta)

    @property
    def cancelada_at(self):
        """When the case was cancelled: the start of its 19.2 clock when it had one (a final
        ``anular`` after the 2 hours moves ``anulada_at`` later, not the cancellation the
        customer re-entered after), else ``anulada_at``."""
        return self.redigitacion_desde or self.anulada_at

    @staticmethod
    def ventana_redigitacion():
        """ANULACIONES_SMARTFLEX_VENTANA_HORAS: how long after a cancellation a new Solicitud of
        the same customer is taken as its re-entry."""
        return timedelta(hours=settings.ANULACIONES_SMARTFLEX_VENTANA_HORAS)

    def mismo_cliente(self, otra):
        """Whether ``otra`` is this one's customer: the same document, phone, address
        (``claves``) or name (normalized)."""
        if any(a and a == b for a, b in zip(self.claves(), otra.claves(), strict=True)):
            return True
        nombre = normalizar(self.cliente_nombre or "")
        return bool(nombre) and nombre == normalizar(otra.cliente_nombre or "")

    def _redigitacion_vinculable(self, numero):
        """The Solicitud numbered ``numero`` locked, or the DatosInvalidos that says why it cannot
        be this one's re-digitation. The locks: this Solicitud is held by the path already; the
        new one is locked second. Every link locks its cancelled Solicitud first and then the new
        one (``emparejamiento.vincular`` too), and nothing else holds a new one while waiting for
        a cancelled one, so two links of the same Solicitud queue instead of crossing."""
        from django.utils import timezone

        def no(mensaje):
            return DatosInvalidos({"numero_nueva": mensaje})

        if not numero:
            raise no("Indique el N° Smartflex de la solicitud ya registrada que re-digita esta.")
        nueva = type(self).objects.select_for_update().filter(numero_smartflex=numero).first()
        if nueva is None:
            raise no(f"No existe una solicitud con el N° Smartflex {numero}: regístrela o impórtela primero.")
        if nueva.pk == self.pk:
            raise no("Es la misma solicitud anulada: indique el número de la solicitud nueva.")
        if nueva.estado in (self.E.ANULADA, self.E.PENDIENTE_REDIGITACION, self.E.REDIGITADA):
            raise no(f"La solicitud {numero} está «{nueva.get_estado_display()}»: no puede ser la re-digitación.")
        if type(self).objects.filter(reemplazada_por_id=nueva.pk).exists():
            raise no(f"La solicitud {numero} ya es la re-digitación de otra solicitud.")
        if type(self).objects.filter(caso_id=nueva.caso_id).exclude(pk=nueva.pk).exists():
            raise no(f"La solicitud {numero} ya forma parte de un caso con otras solicitudes.")
        inicio = self.cancelada_at
        if inicio is None:
            raise no(f"No consta cuándo se anuló {self}: no se puede juzgar su re-digitación.")
        cuando = timezone.localtime(nueva.creado_at)
        if nueva.creado_at <= inicio:
            raise no(
                f"La solicitud {numero} se registró el {cuando:%d/%m/%Y %H:%M}, antes de la anulación "
                f"({timezone.localtime(inicio):%d/%m/%Y %H:%M}): no puede ser su re-digitación."
            )
        ventana = self.ventana_redigitacion()
        if self.estado == self.E.ANULADA and nueva.creado_at - inicio > ventana:
            raise no(
                f"La solicitud {numero} se registró {reloj.duracion_texto(nueva.creado_at - inicio)} después de "
                f"la anulación, fuera de la ventana de {reloj.duracion_texto(ventana)}: una solicitud anulada "
                "se re-abre como re-digitada solo con un reingreso dentro de ella."
            )
        return nueva

    @transition(
        field=estado,
        source=[E.PENDIENTE_REDIGITACION, E.ANULADA],
        target=E.REDIGITADA,
        permission=Permiso(Rol.GESTION_RED, Rol.COC, *ROLES_DIGITACION, SISTEMA),
        custom={"paso": "19.2", "label": "Vincular re-digitación registrada"},
    )
    def vincular_redigitacion(self, ctx, numero_nueva):
        """19.2 when the re-entry is already registered on its own (typed in Smartflex and
        imported, or registered in the application as a new case): the Solicitud numbered
        ``numero_nueva``, registered after this one was cancelled, becomes its re-digitation and
        joins this case. From ``anulada`` only a re-entry within ANULACIONES_SMARTFLEX_VENTANA_HORAS
        of the cancellation reopens it (the case the seed's 19.2 saves).

        The 19.2 clock is judged on the real times: late when the new one was registered after
        ``redigitacion_vence_at`` (an ``anulada`` one that never had the clock gets it now, counted
        from its cancellation), whenever the link is made; late ones are escalated like
        ``registrar_redigitacion``'s. The new one's case is emptied into this one: its
        observations, contact attempts and corrections move here, and it keeps its (immutable)
        audit rows with ``unido_a`` pointing here, so this case's timeline shows them.

        The system user (SISTEMA) may take it for a pair whose data itself proves it — same
        document and same address (``emparejamiento.emparejar`` with
        ANULACIONES_SMARTFLEX_VINCULAR_AUTOMATICO): checked here, on the data, so no other path
        can use the system's role to link a weaker pair."""
        from .observacion import Correccion, IntentoContacto

        numero = (numero_nueva or "").strip()
        nueva = self._redigitacion_vinculable(numero)
        if ctx.rol != SISTEMA:
            # A person links only what they may see, and only the same customer: a number typed
            # by mistake (or on purpose) must not move someone else's request into this case.
            if not nueva.en_alcance(ctx.usuario, ctx.rol):
                raise DatosInvalidos(
                    {"numero_nueva": f"No existe una solicitud con el N° Smartflex {numero} entre las que usted ve."}
                )
            if not self.mismo_cliente(nueva):
                raise DatosInvalidos(
                    {
                        "numero_nueva": f"La solicitud {numero} no es del mismo cliente: no coinciden el documento, "
                        "el teléfono, la dirección ni el nombre."
                    }
                )
        if ctx.rol == SISTEMA:
            doc, _, dire = self.claves()
            doc_n, _, dire_n = nueva.claves()
            if not (doc and dire and doc == doc_n and dire == dire_n):
                raise SinPermiso(
                    "El sistema vincula solo las re-digitaciones con el mismo documento y la misma dirección; "
                    "esta la decide una persona."
                )
        if self.estado == self.E.ANULADA and not self.redigitacion_vence_at:
            calendario = CalendarioLaboral.de_zona(self.zona_id)
            inicio = self.cancelada_at
            self.redigitacion_desde = inicio
            self.redigitacion_vence_at = reloj.vencimiento_redigitacion(calendario, inicio)
            self.redigitacion_explicacion = recortar_explicacion(
                reloj.explicar_redigitacion(calendario, inicio, self.redigitacion_vence_at)
            )
        self.redigitacion_tardia = bool(self.redigitacion_vence_at and nueva.creado_at > self.redigitacion_vence_at)
        if self.redigitacion_tardia and self.redigitacion_escalada_at is None:
            self.redigitacion_escalada_at = ctx.ahora
        self.reemplazada_por = nueva
        caso_nuevo = nueva.caso_id

        def despues(ctx):
            from .servicio import ServicioIngenieria

            # It joins the case, and the case stays with its asesor (as with registrar_redigitacion).
            type(self).objects.filter(pk=nueva.pk).update(
                caso_id=self.caso_id, asesor_id=self.asesor_id, actualizado_at=ctx.ahora
            )
            nueva.caso_id, nueva.asesor_id = self.caso_id, self.asesor_id
            for modelo in (Observacion, IntentoContacto, Correccion):  # not audit rows: they follow the case
                modelo.objects.filter(caso_id=caso_nuevo).update(caso_id=self.caso_id)
            probable = Caso.objects.filter(pk=caso_nuevo).values_list("probable_at", flat=True).first()
            Caso.objects.filter(pk=caso_nuevo).update(unido_a_id=self.caso_id)
            if probable is not None:  # the case is probable from the earliest of the two
                Caso.objects.filter(Q(probable_at__isnull=True) | Q(probable_at__gt=probable), pk=self.caso_id).update(
                    probable_at=probable
                )
            for si in self.servicios_abiertos().filter(tipo=ServicioIngenieria.Tipo.REDIGITACION):
                if ctx.aplicar(si, "atender", respuesta=f"Re-digitada como {nueva.numero_smartflex} (vinculada)."):
                    # answered when the new one was registered, not when the link was made
                    ServicioIngenieria.objects.filter(pk=si.pk).update(fuera_de_plazo=nueva.creado_at > si.vence_at)
            # The proposals of this pair are settled by the link, whichever path took it.
            pares = Emparejamiento.objects.filter(estado=Emparejamiento.Estado.PROPUESTO)
            pares.filter(anulada_id=self.pk, nueva_id=nueva.pk).update(
                estado=Emparejamiento.Estado.VINCULADO, resuelto_por=ctx.usuario, resuelto_at=ctx.ahora
            )
            pares.filter(Q(anulada_id=self.pk) | Q(nueva_id=nueva.pk)).update(
                estado=Emparejamiento.Estado.DESCARTADO, resuelto_por=ctx.usuario, resuelto_at=ctx.ahora
            )

        return despues

    @transition(
        field=estado,
        source=E.EN_INSTALACION,
        target=E.INSTALADA,
        permission=Permiso(Rol.COC, Rol.TECNICO),
        conditions=[orden_ejecutada],
        custom={"paso": "12.1", "label": "Marcar instalada", "confirmar": "La solicitud queda instalada."},
    )
    def marcar_instalada(self, ctx):
        pass

    @transition(
        field=estado,
        source=E.INSTALADA,
        target=E.INSTALADA,
        permission=Permiso(*ROLES_DIGITACION),
        custom={"paso": "19.1", "label": "Digitar modificación de forma"},
    )
    def modificar_forma(self, ctx, modificacion):
        if not (modificacion or "").strip():
            raise DatosInvalidos({"modificacion": "Escriba la modificación de forma digitada."})
        self._anotar(ctx, modificacion)
        self.modificacion_pendiente = ""


# --- the OT number inside the search column ---------------------------------------------------
def _recordar_numero_ot(sender, instance, **kwargs):
    instance._numero_guardado = instance.__dict__.get("numero")


def _numero_ot_en_busqueda(sender, instance, created, raw=False, **kwargs):
    """An OT born or renumbered (admin) rewrites its Solicitud's search column — in memory only
    when it already holds that number (an OT numbered OT-<N° Smartflex>: no query)."""
    numero = instance.__dict__.get("numero")
    if raw or (not created and numero == getattr(instance, "_numero_guardado", numero)):
        return
    instance._numero_guardado = numero
    sol = instance._state.fields_cache.get("solicitud")
    if sol is None:
        sol = Solicitud.objects.get(pk=instance.solicitud_id)
    sol._numero_ot = numero
    antes = sol.__dict__.get("busqueda")
    sol.preparar_busqueda()
    if sol.busqueda != antes:
        Solicitud.objects.filter(pk=sol.pk).update(busqueda=sol.busqueda)


post_init.connect(_recordar_numero_ot, sender="anulaciones.OrdenDeTrabajo", dispatch_uid="busqueda_ot_init")
post_save.connect(_numero_ot_en_busqueda, sender="anulaciones.OrdenDeTrabajo", dispatch_uid="busqueda_ot_save")
