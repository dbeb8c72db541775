"""The one path every transition takes — forms, API, admin actions and Celery tasks.

    aplicar(obj, "observar", usuario, causa="calle", detalle="...")

locks the row, checks that nobody changed it since ``obj`` was read (``version``), checks the
user's role and scope, checks the state, runs the transition, saves, writes the audit row,
runs the transition's cross-machine effects (each one audited the same way, inside the same
transaction) and queues the ``transicion_realizada`` signal for after the commit.

Creations (step 1, the OT, SIs, zonifications) go through ``crear_*`` here as well, so they are
checked and audited like any transition.

Lock order (issue 13). Every transaction here takes the row locks of a case top-down: Caso →
Solicitud → OT → SI. A Solicitud transition locks its Solicitud, then what its effects touch; an
OT or SI transition first locks its Solicitud, then its own row (``_bloquear``). So every
transaction that touches a case's OT or SIs holds that case's Solicitud first, and two of them
queue on that one row instead of each holding what the other waits for (``anular`` on the
Solicitud against ``ejecutar`` on its OT used to deadlock). The Caso row is only ever updated
(``Caso.marcar_probable``) by a transaction that already holds one of its Solicitudes, and no
transaction locks a Caso before a Solicitud. What still fails with a deadlock or a
serialization failure is run again a few times (``_en_transaccion``), then answered with a
``Conflicto`` (409), never a 500.
"""
import inspect
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Lookup
from django.utils import timezone
from django_fsm import TransitionNotAllowed, can_proceed

from .errors import Conflicto, DatosInvalidos, ErrorDominio, SinPermiso, TransicionNoPermitida
from .models import (Caso, IntentoContacto, OrdenDeTrabajo, RegistroAuditoria, ServicioIngenieria, Solicitud,
                     Zonificacion)
from .roles import USUARIO_SISTEMA, Rol, roles_de
from .signals import transicion_auditada, transicion_realizada


log = logging.getLogger(__name__)


class NoEncontrado(ErrorDominio):
    codigo_http = 404


# --- transactions: deadlocks and serialization failures are retried, then a 409 -----------
# SQLSTATEs after which PostgreSQL rolled the whole transaction back and running it again may
# succeed: deadlock_detected, serialization_failure.
SQLSTATES_REINTENTABLES = {"40P01": "bloqueo mutuo", "40001": "fallo de serialización"}
INTENTOS = 3
MENSAJE_CRUCE = ("Otra operación sobre el mismo caso se cruzó con esta y no pudo completarse; no se guardó "
                 "ningún cambio. Revise el estado actual y vuelva a intentarlo.")


def sqlstate(exc):
    """The SQLSTATE of a database error (psycopg 3 ``sqlstate``, psycopg2 ``pgcode``), or None."""
    for e in (exc, getattr(exc, "__cause__", None)):
        codigo = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if codigo:
            return codigo
    return None


def es_cruce(exc):
    """A deadlock or serialization failure: the database rolled the transaction back."""
    return isinstance(exc, DatabaseError) and sqlstate(exc) in SQLSTATES_REINTENTABLES


def _en_transaccion(cuerpo):
    """Run ``cuerpo()`` in one transaction. When PostgreSQL aborts it with a deadlock or a
    serialization failure, everything was rolled back: run it again (at most INTENTOS times,
    after a short random pause), then raise Conflicto. Inside a caller's transaction there is
    no retry (the caller's locks are what it crossed with): Conflicto at once, and the caller's
    transaction stays usable (this block was a savepoint). An error raised after the commit (by
    an on_commit receiver) is never retried: the transition is done."""
    if transaction.get_connection().in_atomic_block:
        try:
            with transaction.atomic():
                return cuerpo()
        except DatabaseError as e:
            if es_cruce(e):
                log.info("Transacción abortada (%s) dentro de otra: sin reintento.",
                         SQLSTATES_REINTENTABLES[sqlstate(e)])
                raise Conflicto(MENSAJE_CRUCE) from e
            raise
    for intento in range(1, INTENTOS + 1):
        confirmada = []
        try:
            with transaction.atomic():
                transaction.on_commit(partial(confirmada.append, True))  # the first hook: runs once committed
                return cuerpo()
        except DatabaseError as e:
            if confirmada or not es_cruce(e):
                raise
            if intento == INTENTOS:
                log.warning("Transacción abortada %s veces (%s); se responde Conflicto.", intento,
                            SQLSTATES_REINTENTABLES[sqlstate(e)])
                raise Conflicto(MENSAJE_CRUCE) from e
            log.info("Transacción abortada (%s), intento %s de %s.", SQLSTATES_REINTENTABLES[sqlstate(e)],
                     intento, INTENTOS)
            time.sleep(random.uniform(0.01, 0.05) * intento)


# --- introspection of the machines ------------------------------------------------------
def transiciones(modelo):
    """{name: django-fsm Transition (of its first source)} of a machine, in declaration order."""
    resultado = {}
    for nombre, metodo in vars(modelo).items():
        meta = getattr(metodo, "_django_fsm", None)
        if meta is not None:
            resultado[nombre] = next(iter(meta.transitions.values()))
    return resultado


def fuentes(modelo, nombre):
    metodo = getattr(modelo, nombre)
    return list(metodo._django_fsm.transitions.keys())


def _meta_transicion(modelo, nombre):
    metodo = getattr(modelo, nombre, None) if isinstance(nombre, str) and not nombre.startswith("_") else None
    meta = getattr(metodo, "_django_fsm", None)
    if meta is None:
        raise NoEncontrado(f"La transición «{nombre}» no existe para {modelo._meta.verbose_name}.")
    return meta, next(iter(meta.transitions.values()))


def etiqueta(modelo, nombre):
    _, t = _meta_transicion(modelo, nombre)
    return t.custom.get("label", nombre)


def paso_de(t, rol):
    paso = t.custom.get("paso", "")
    if isinstance(paso, dict):
        return paso.get(rol) or "/".join(dict.fromkeys(paso.values()))
    return paso


def destinos(t):
    """The states a transition may lead to (one, or those of a GET_STATE target)."""
    return list(getattr(t.target, "allowed_states", None) or [t.target])


def siguientes_pasos(obj):
    """What can happen next to obj, whoever may do it: [{nombre, label, paso, roles (labels),
    disponible, motivo}] for every transition whose source is obj's state, in declaration order.
    ``motivo`` is the condition's message when it does not hold yet (e.g. a deadline)."""
    from .roles import Rol

    res = []
    for nombre in transiciones(type(obj)):
        meta = getattr(type(obj), nombre)._django_fsm
        if not meta.has_transition(obj.estado):
            continue
        t = meta.get_transition(obj.estado)
        if t.custom.get("interna"):
            continue
        motivo = next((getattr(c, "mensaje", "Aún no procede.") for c in t.conditions if not c(obj)), "")
        roles = getattr(t.permission, "roles", ())
        if type(t.permission).__name__ == "PermisoDestinatario":
            roles = (obj.destinatario,)
        etiquetas = [Rol(r).label if r in Rol.values else "el sistema" for r in roles]
        res.append({"nombre": nombre, "label": t.custom.get("label", nombre), "paso": paso_de(t, None),
                    "roles": etiquetas, "disponible": not motivo, "motivo": motivo})
    return res


def disponibles(obj, usuario):
    """The transitions this user may take on obj now: [(name, label)] — buttons come from here."""
    res = []
    for nombre, t in transiciones(type(obj)).items():
        if t.custom.get("interna"):
            continue  # taken by the application itself (e.g. «remitir», by a delivery)
        if can_proceed(getattr(obj, nombre)) and t.permission(obj, usuario):
            res.append((nombre, t.custom.get("label", nombre)))
    return res


def usuario_sistema():
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=USUARIO_SISTEMA, defaults={"is_active": True})
    return user


# --- the context a transition body and its effects see -----------------------------------
@dataclass
class Contexto:
    usuario: object
    rol: str
    ahora: object
    nota: str = ""
    paso: str = ""
    causa: str = ""  # the transition this one is an effect of
    registros: list = field(default_factory=list)

    @property
    def ahora_local(self):
        return timezone.localtime(self.ahora)

    def derivado(self, causa):
        return Contexto(self.usuario, self.rol, self.ahora, nota=f"Efecto de {causa}.", paso=self.paso,
                        causa=causa, registros=self.registros)

    def aplicar(self, obj, nombre, nota=None, **datos):
        """A cross-machine effect: same user, no second role check, applied only when the
        target's state allows it (so effects that meet each other stop)."""
        actual = type(obj).objects.select_for_update().get(pk=obj.pk)
        if not can_proceed(getattr(actual, nombre), check_conditions=False):
            return None
        hijo = self.derivado(self.causa)
        if nota:
            hijo.nota = nota
        actual._como_efecto = True  # guards are a person's; an effect only needs its source state
        try:
            _ejecutar(actual, nombre, hijo, datos)
        finally:
            actual._como_efecto = False
        return actual

    def crear(self, obj, paso=None):
        """Save a new machine object and audit its birth (∅ → initial state)."""
        try:
            obj.full_clean(exclude=["estado"])  # the protected FSM field is set by the machine only
        except ValidationError as e:
            raise DatosInvalidos(_mensajes(e)) from e
        obj.save()
        _auditar(obj, self, obj.TRANSICION_CREACION, "", obj.estado, paso or getattr(obj, "PASO_CREACION", self.paso))
        return obj

    def crear_solicitud(self, datos, caso=None):
        datos = dict(datos)
        numero_ot = datos.pop("numero_ot", None)
        nueva = Solicitud(**_solo_campos(Solicitud, datos), registrada_por=self.usuario,
                          caso=caso or Caso.objects.create())
        self.crear(nueva, paso="1")
        orden = OrdenDeTrabajo(numero=numero_ot or f"OT-{nueva.numero_smartflex}", solicitud=nueva,
                               zona_id=nueva.zona_id)
        self.crear(orden, paso="1")
        return nueva


def _mensajes(error):
    if hasattr(error, "message_dict"):
        return {k: " ".join(v) for k, v in error.message_dict.items()}
    return {"__all__": " ".join(error.messages)}


def _solo_campos(modelo, datos):
    nombres = {f.name for f in modelo._meta.concrete_fields} | {f.attname for f in modelo._meta.concrete_fields}
    desconocidos = set(datos) - nombres
    if desconocidos:
        raise DatosInvalidos({k: "Dato no reconocido." for k in sorted(desconocidos)})
    protegidos = {"id", "estado", "version", "caso", "caso_id", "reemplazada_por", "reemplazada_por_id"}
    prohibidos = set(datos) & protegidos
    if prohibidos:
        raise DatosInvalidos({k: "Este dato no se puede fijar al registrar." for k in sorted(prohibidos)})
    return datos


def _auditar(obj, ctx, transicion, origen, destino, paso):
    registro = RegistroAuditoria.objects.create(
        content_type=ContentType.objects.get_for_model(type(obj)), object_id=obj.pk, objeto=str(obj)[:120],
        caso_id=obj.caso_id_auditoria, transicion=transicion, paso=paso or "", estado_origen=origen or "",
        estado_destino=destino, usuario=ctx.usuario, rol=ctx.rol, creado_at=ctx.ahora, nota=ctx.nota or "",
    )
    ctx.registros.append(registro)
    transicion_auditada.send(sender=type(obj), registro=registro, objeto=obj)  # the notices, with the change
    transaction.on_commit(partial(transicion_realizada.send, sender=type(obj), registro=registro, objeto=obj))
    return registro


def _validar_datos(metodo, datos):
    """Unknown or missing data is a DatosInvalidos with a message per field, never a TypeError."""
    firma = inspect.signature(metodo)
    params = list(firma.parameters.values())[2:]  # self, ctx
    nombres = {p.name for p in params}
    errores = {k: "Dato no reconocido para esta transición." for k in datos if k not in nombres}
    for p in params:
        if p.default is inspect.Parameter.empty and p.name not in datos:
            errores[p.name] = "Este campo es obligatorio."
    if errores:
        raise DatosInvalidos(errores)


def _ejecutar(actual, nombre, ctx, datos):
    """Apply a checked transition to the locked row: body, save, audit, effects."""
    modelo = type(actual)
    meta, t = _meta_transicion(modelo, nombre)
    metodo = getattr(modelo, nombre).__wrapped__
    _validar_datos(metodo, datos)
    if not (ctx.causa and isinstance(t.custom.get("paso"), dict)):
        ctx.paso = paso_de(t, ctx.rol)  # an effect whose step depends on the role keeps its cause's step
    origen = actual.estado
    try:
        despues = getattr(actual, nombre)(ctx, **datos)
    except TransitionNotAllowed as e:  # a guard the caller did not check: still a 409, never a 500
        raise TransicionNoPermitida(f"No se puede «{t.custom.get('label', nombre)}» en {actual} ahora.") from e
    actual.version += 1
    actual.save()
    _auditar(actual, ctx, nombre, origen, actual.estado, ctx.paso)
    if despues:
        despues(ctx.derivado(nombre))
    return actual


# Machines below a Solicitud: an OT or SI transition locks the Solicitud first (the lock order of
# the module docstring). The locked Solicitud is then the one the scope check, the conditions
# and the effects read (no lazy query for it later).
_BAJO_SOLICITUD = (OrdenDeTrabajo, ServicioIngenieria)


def _bloquear(modelo, obj):
    if modelo in _BAJO_SOLICITUD:
        try:
            solicitud = Solicitud.objects.select_for_update().get(pk=obj.solicitud_id)
        except Solicitud.DoesNotExist:
            raise modelo.DoesNotExist from None
        actual = modelo.objects.select_for_update().get(pk=obj.pk)
        actual.solicitud = solicitud  # the same row (an OT or SI never changes its Solicitud)
        return actual
    return modelo.objects.select_for_update().get(pk=obj.pk)


def aplicar(obj, nombre, usuario, *, nota="", version=None, refrescar=True, **datos):
    """Take transition ``nombre`` on ``obj`` as ``usuario``. Returns the updated object.

    ``version``: the version the user saw (defaults to ``obj.version``); if the row moved on
    since, Conflicto. Raises SinPermiso (role or scope), TransicionNoPermitida (state or
    condition), DatosInvalidos (data), NoEncontrado (no such object or transition).
    ``refrescar=False``: ``obj`` is left as it was (no re-read), for callers that only use the
    returned object or read it again themselves (the API).
    """
    modelo = type(obj)
    _, t = _meta_transicion(modelo, nombre)
    esperado = obj.version if version is None else version
    actual = _en_transaccion(partial(_aplicar, obj, modelo, t, nombre, usuario, esperado, nota, datos))
    if refrescar and obj is not actual:
        obj.refresh_from_db()
    return actual


def _aplicar(obj, modelo, t, nombre, usuario, esperado, nota, datos):
    """``aplicar``'s transaction (run again by ``_en_transaccion`` after a deadlock)."""
    try:
        actual = _bloquear(modelo, obj)
    except modelo.DoesNotExist:
        raise NoEncontrado(f"No existe {modelo._meta.verbose_name} {obj.pk}.") from None
    if actual.version != esperado:
        ultimo = RegistroAuditoria.de_objeto(actual).select_related("usuario").last()
        quien = f" por {ultimo.usuario.get_full_name() or ultimo.usuario.username}" if ultimo and ultimo.usuario else ""
        raise Conflicto(
            f"{actual} fue modificado{quien} mientras usted lo veía: ahora está «{actual.get_estado_display()}». "
            "Revise el estado actual antes de continuar.")
    rol = t.permission.rol_para(actual, usuario)
    if rol is None:
        raise SinPermiso(f"Su rol no permite «{t.custom.get('label', nombre)}» en {actual}.")
    bound = getattr(actual, nombre)
    if not can_proceed(bound, check_conditions=False):
        raise TransicionNoPermitida(
            f"No se puede «{t.custom.get('label', nombre)}»: {actual} está «{actual.get_estado_display()}».")
    actual_t = bound._django_fsm.get_transition(actual.estado)
    for condicion in actual_t.conditions:
        if not condicion(actual):
            raise TransicionNoPermitida(getattr(condicion, "mensaje", "La transición no procede ahora."))
    ctx = Contexto(usuario=usuario, rol=rol, ahora=timezone.now(), nota=nota or "")
    _ejecutar(actual, nombre, ctx, datos)
    return actual


# --- creations --------------------------------------------------------------------------
def _rol_creacion(modelo, instancia, usuario):
    rol = modelo.ROLES_CREACION.rol_para(instancia, usuario)
    if rol is None:
        raise SinPermiso(f"Su rol no permite registrar {modelo._meta.verbose_name}.")
    return rol


def crear_solicitud(usuario, **datos):
    """Step 1: register a Solicitud (and its OT, generada). ASESOR registers own cases;
    MONITORA and TEAM_LEADER register for an asesor."""
    if "asesor" not in datos and "asesor_id" not in datos:
        if Rol.ASESOR not in roles_de(usuario):
            raise DatosInvalidos({"asesor": "Indique el asesor de la solicitud."})
        datos["asesor"] = usuario
    probe = Solicitud(**{k: datos[k] for k in ("asesor", "asesor_id") if k in datos})
    rol = _rol_creacion(Solicitud, probe, usuario)
    with transaction.atomic():
        ctx = Contexto(usuario=usuario, rol=rol, ahora=timezone.now())
        return ctx.crear_solicitud(datos)


def abrir_servicio(solicitud, usuario, *, tipo, destinatario, requerido, impedimento=""):
    """Open an SI outside a Solicitud transition (20.2 impediments: ``impedimento`` says which)."""
    def cuerpo():
        sol = Solicitud.objects.select_for_update().get(pk=solicitud.pk)
        probe = ServicioIngenieria(solicitud=sol)
        rol = _rol_creacion(ServicioIngenieria, probe, usuario)
        ctx = Contexto(usuario=usuario, rol=rol, ahora=timezone.now())
        paso = "20.2" if tipo == ServicioIngenieria.Tipo.IMPEDIMENTO else ("3.1" if rol == Rol.GESTION_RED else "7")
        return ctx.crear(ServicioIngenieria.para(sol, ctx, tipo=tipo, destinatario=destinatario,
                                                 requerido=requerido, impedimento=impedimento), paso=paso)
    return _en_transaccion(cuerpo)


def recibir_zonificacion(orden, usuario, **datos):
    """Step 20.1: the zonification form of an executed OT."""
    datos = _solo_campos(Zonificacion, dict(datos))

    def cuerpo():
        ot = _bloquear(OrdenDeTrabajo, orden)  # its Solicitud first, then the OT (lock order)
        zon = Zonificacion(orden=ot, solicitud=ot.solicitud, recibida_por=usuario,
                           zona_anterior_id=datos.get("zona_anterior_id", ot.zona_id),
                           **{k: v for k, v in datos.items() if k != "zona_anterior_id"})
        rol = _rol_creacion(Zonificacion, zon, usuario)
        ctx = Contexto(usuario=usuario, rol=rol, ahora=timezone.now())
        return ctx.crear(zon)
    return _en_transaccion(cuerpo)


def registrar_contacto(solicitud, usuario, *, canal, resultado, detalle="", realizado_at=None):
    """3.3: an attempt to reach the subscriber, by Gestión de Red or the COC."""
    rol = next((r for r in (Rol.GESTION_RED, Rol.COC) if r in roles_de(usuario)), None)
    if rol is None:
        raise SinPermiso("Solo Gestión de Red y el COC registran intentos de contacto.")
    contacto = IntentoContacto(solicitud=solicitud, caso_id=solicitud.caso_id, usuario=usuario, rol=rol,
                               canal=canal, resultado=resultado, detalle=detalle or "",
                               realizado_at=realizado_at or timezone.now())
    try:
        contacto.full_clean()
    except ValidationError as e:
        raise DatosInvalidos(_mensajes(e)) from e
    contacto.save()
    return contacto


# --- set-based transitions (deadline tasks, the month's delivery) --------------------------
def aplicar_en_bloque(queryset, nombre, usuario, nota="", **datos):
    """Take transition ``nombre`` on every row of ``queryset`` that is in one of its sources,
    in a constant number of queries: lock (skip rows another worker holds), one UPDATE, one
    INSERT of the audit rows. Same metadata as ``aplicar``: sources, target, the roles of
    the transition's ``Permiso``. Only for transitions whose body has no effects: no data, no
    conditions, no query and no follow-up (``despues``); the fields the body sets (e.g.
    ``remitida_at = ctx.ahora``, or from ``datos``, the same for every row) are set on every row. Returns the list of changed pks.

    When the user's role does not depend on the row (a role that reaches every case, e.g. the
    system user's SISTEMA) and the model's audit text has an SQL form (``_auditoria_sql``), the
    rows are never loaded: one INSERT … SELECT … FOR UPDATE SKIP LOCKED … RETURNING writes the
    audit rows from the locked rows, then one UPDATE moves them. Otherwise the rows are loaded
    to check the role and scope of each one.

    After the commit, ``transiciones_en_bloque`` is sent once (sender=model, registros=[...],
    pks=[...]) — not ``transicion_realizada`` per row. ``registros`` is a sequence of the audit
    rows, read from the database when a receiver first looks at it.
    """
    import copy

    from django.db import connection
    from django.db.models import F
    from django.test.utils import CaptureQueriesContext

    from .signals import transiciones_en_bloque

    modelo = queryset.model
    meta, t = _meta_transicion(modelo, nombre)
    origenes = fuentes(modelo, nombre)
    destino = t.target
    metodo = getattr(modelo, nombre).__wrapped__
    _validar_datos(metodo, datos)
    if any(tr.conditions for tr in meta.transitions.values()):
        raise TypeError(f"{nombre} has conditions: use aplicar()")
    with transaction.atomic():
        relacionados = {ServicioIngenieria: ("solicitud",), Zonificacion: ("orden", "solicitud"),
                        OrdenDeTrabajo: ("solicitud",)}.get(modelo, ())  # str() and caso_id of each row
        bloqueo = queryset.filter(estado__in=origenes).select_for_update(skip_locked=True, of=("self",))
        rol = _rol_uniforme(t.permission, usuario)
        en_sql = rol is not None and modelo in _auditoria_sql() and connection.features.can_return_rows_from_bulk_insert
        if en_sql:
            filas = None
            # Any one row (no ORDER BY: sorting the batch to take its first row cost 0.1 s per
            # 10,000), locked like the rest.
            muestra = next(iter(bloqueo.select_related(*relacionados).order_by()[:1]), None)
        else:
            filas = list(bloqueo.select_related(*relacionados))
            muestra = filas[0] if filas else None
        if muestra is None:
            return []
        if filas is not None:
            roles = {t.permission.rol_para(f, usuario) for f in filas}  # role and scope of every row
            if None in roles or len(roles) != 1:
                raise SinPermiso(f"Su rol no permite «{t.custom.get('label', nombre)}» en todos los registros.")
            rol = roles.pop()
        ctx = Contexto(usuario=usuario, rol=rol, ahora=timezone.now(), nota=nota or "")
        ctx.paso = paso_de(t, rol)
        # The body, run once on a copy of one row: it must not touch the database nor return
        # effects; what it sets is what every row gets.
        muestra = copy.copy(muestra)
        antes = {f.attname: getattr(muestra, f.attname) for f in modelo._meta.concrete_fields}
        with CaptureQueriesContext(connection) as consultas:
            despues = getattr(muestra, nombre)(ctx, **datos)
        if despues is not None or consultas.captured_queries:
            raise TypeError(f"{nombre} has effects: use aplicar()")
        cambios = {k: getattr(muestra, k) for k, v in antes.items()
                   if k not in ("estado", "version") and getattr(muestra, k) != v}
        ct = ContentType.objects.get_for_model(modelo)
        if filas is None:  # the audit rows straight from the locked rows, which stay in the database
            registros = _auditar_en_sql(bloqueo, nombre, destino, ct, ctx)
            pks = [object_id for _, object_id in registros]
            registros = _RegistrosDeBloque([pk for pk, _ in registros])
        else:
            pks = [f.pk for f in filas]
            registros = RegistroAuditoria.objects.bulk_create([
                RegistroAuditoria(content_type=ct, object_id=f.pk, objeto=str(f)[:120], caso_id=f.caso_id_auditoria,
                                  transicion=nombre, paso=ctx.paso or "", estado_origen=f.estado,
                                  estado_destino=destino, usuario=usuario, rol=rol, creado_at=ctx.ahora,
                                  nota=ctx.nota)
                for f in filas])
        if not pks:  # every row was taken by another worker between the two statements
            return []
        hechas = modelo.objects.filter(filtro_pks(pks), estado__in=origenes).update(
            estado=destino, version=F("version") + 1, actualizado_at=ctx.ahora, **cambios)
        if hechas != len(pks):  # another process moved some of them (SQLite has no row locks)
            raise Conflicto("Otro proceso modificó los registros al mismo tiempo; reintente.")
        transaction.on_commit(partial(transiciones_en_bloque.send, sender=modelo, registros=registros, pks=pks))
    return pks


def filtro_pks(pks):
    """``pk IN pks`` for filter(): on PostgreSQL one array parameter (``pk = ANY(%s)``), since
    binding and planning an IN list of 10,000 placeholders costs more than running it."""
    from django.db import connection
    from django.db.models import F, Q

    if connection.vendor != "postgresql":
        return Q(pk__in=pks)
    return _IgualAAlguno(F("pk"), [int(pk) for pk in pks])


class _IgualAAlguno(Lookup):
    """``lhs = ANY(%s)``, the list bound as one PostgreSQL array."""

    lookup_name = "igual_a_alguno"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, self.rhs]


def _rol_uniforme(permiso, usuario):
    """The role ``permiso`` gives ``usuario`` on every row whatever the row, or None when it may
    depend on the row: PermisoDestinatario (the SI's destinatario), a role limited to a scope
    (ASESOR, TEAM_LEADER, COZ, TECNICO: ``en_alcance`` looks at the row) or no role at all. A
    role that reaches every case (VEN_TODO, SISTEMA among them) is in scope on every row."""
    from .models.base import VEN_TODO
    from .roles import Permiso

    if type(permiso).rol_para is not Permiso.rol_para:
        return None
    mios = roles_de(usuario)
    rol = next((r for r in permiso.roles if r in mios), None)
    return rol if rol in VEN_TODO else None


@lru_cache(maxsize=None)
def _auditoria_sql():
    """{model: (SQL expression of ``str(obj)``, path to the case id)} — what ``aplicar_en_bloque``
    writes in ``objeto`` and ``caso`` without loading the rows. Must stay equal to the models'
    ``__str__`` and ``caso_id_auditoria`` (tests/test_relojes.py compares them)."""
    from django.db.models import Case, CharField, F, Value, When
    from django.db.models.functions import Cast, Concat

    def texto(campo):
        return Cast(campo, CharField())

    tipo_si = Case(*[When(tipo=v, then=Value(etiqueta)) for v, etiqueta in ServicioIngenieria.Tipo.choices],
                   default=F("tipo"), output_field=CharField())

    def ot(numero):  # OrdenDeTrabajo.nombre: «OT-2609-…» as it is, «OT 123» for a bare number
        return Case(When(**{f"{numero}__istartswith": "OT"}, then=texto(numero)),
                    default=Concat(Value("OT "), texto(numero)), output_field=CharField())
    return {
        ServicioIngenieria: (Concat(Value("SI "), texto("pk"), Value(" ("), tipo_si, Value(")"),
                                    output_field=CharField()), "solicitud__caso_id"),
        Zonificacion: (Concat(Value("Zonificación "), texto("pk"), Value(" de la "), ot("orden__numero"),
                              output_field=CharField()), "solicitud__caso_id"),
        OrdenDeTrabajo: (ot("numero"), "solicitud__caso_id"),
        Solicitud: (Concat(Value("Solicitud "), texto("numero_smartflex"), output_field=CharField()), "caso_id"),
    }




def _auditar_en_sql(bloqueo, nombre, destino, ct, ctx):
    """One INSERT … SELECT of the audit rows of the rows ``bloqueo`` locks (FOR UPDATE SKIP
    LOCKED, in its order), ``estado`` read as the origin before the UPDATE. Returns
    [(audit pk, object pk)]."""
    from django.db import connection
    from django.db.models import F
    from django.db.models.functions import Left

    objeto, caso = _auditoria_sql()[bloqueo.model]
    # Annotation names are always the column aliases of the SELECT (plain field names may not be).
    sql, params = (bloqueo.annotate(objeto_auditoria=Left(objeto, 120), caso_auditoria=F(caso),
                                    pk_auditoria=F("pk"), estado_auditoria=F("estado"))
                   .values_list("pk_auditoria", "objeto_auditoria", "caso_auditoria", "estado_auditoria")
                   .query.sql_with_params())
    q = connection.ops.quote_name
    pk, estado = "pk_auditoria", "estado_auditoria"
    creado = RegistroAuditoria._meta.get_field("creado_at").get_db_prep_value(ctx.ahora, connection)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {q(RegistroAuditoria._meta.db_table)} (content_type_id, object_id, objeto, caso_id, "
            "transicion, paso, estado_origen, estado_destino, usuario_id, rol, creado_at, nota) "
            f"SELECT %s, x.{pk}, x.objeto_auditoria, x.caso_auditoria, %s, %s, x.{estado}, %s, %s, %s, %s, %s "
            f"FROM ({sql}) x RETURNING id, object_id",
            [ct.pk, nombre, ctx.paso or "", destino, ctx.usuario.pk, ctx.rol, creado, ctx.nota or "", *params])
        return cur.fetchall()


class _RegistrosDeBloque(Sequence):
    """The audit rows of one ``aplicar_en_bloque`` call, as RegistroAuditoria objects in the order
    they were written, read from the database the first time a receiver looks at them."""

    def __init__(self, pks):
        self.pks = pks
        self._filas = None

    def _cargar(self):
        if self._filas is None:
            por_pk = RegistroAuditoria.objects.in_bulk(self.pks)
            self._filas = [por_pk[pk] for pk in self.pks]
        return self._filas

    def __len__(self):
        return len(self.pks)

    def __getitem__(self, i):
        return self._cargar()[i]


# --- set-based births and data updates (the Smartflex import) -------------------------------
ROLES_IMPORTACION = (Rol.GESTION_RED, Rol.COC, "SISTEMA")
# Data of a Solicitud that Smartflex may correct while the Solicitud is not final. Not the
# number, the zone (corrected by zonification, 20), the asesor (ownership) nor the state.
CAMPOS_DATOS_SMARTFLEX = ("tipo", "cliente_nombre", "cliente_documento", "cliente_telefono", "calle",
                          "numero_puerta", "referencias", "caja_nap", "plan", "vendedor")


def _rol_importacion(usuario):
    rol = next((r for r in ROLES_IMPORTACION if r in roles_de(usuario)), None)
    if rol is None:
        raise SinPermiso("Solo Gestión de Red, el COC o el sistema importan desde Smartflex.")
    return rol


def _fechas_de_registro(fechas):
    """Set ``creado_at`` of just-born Solicitudes ({pk: date}) in one UPDATE. On PostgreSQL a
    join with two arrays (linear); elsewhere one CASE with a branch per distinct date (a
    branch per row made the statement quadratic: ~0.5 s per 1,000-row batch)."""
    from collections import defaultdict

    from django.db import connection
    from django.db.models import Case, DateTimeField, Value, When

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"UPDATE {Solicitud._meta.db_table} AS s SET creado_at = f.creado_at "
                        "FROM unnest(%s::bigint[], %s::timestamptz[]) AS f(id, creado_at) WHERE s.id = f.id",
                        [list(fechas), list(fechas.values())])
        return
    por_fecha = defaultdict(list)
    for pk, f in fechas.items():
        por_fecha[f].append(pk)
    Solicitud.objects.filter(pk__in=list(fechas)).update(creado_at=Case(
        *[When(pk__in=pks, then=Value(f)) for f, pks in por_fecha.items()], output_field=DateTimeField()))


def crear_en_bloque(usuario, filas, *, nota=""):
    """Births of Solicitudes born in Smartflex, each with its OT, in a constant number of
    queries per call: Casos, Solicitudes, OTs and one audit row per object («registrar» and
    «generar», step 1, like ``crear_solicitud``), all in one transaction.

    ``filas``: dicts of Solicitud fields (``zona_id``, ``asesor_id``… already validated by the
    caller: no ``full_clean`` per row), plus optional ``numero_ot`` and ``creado_at`` (the
    registration date in Smartflex). Who may: GESTION_RED, COC, the system (ROLES_IMPORTACION).
    Returns the new Solicitudes. No per-row ``transicion_realizada`` signal: births have no
    side effects; ``transiciones_en_bloque`` is sent once per model after the commit.
    """
    from .signals import transiciones_en_bloque

    if not filas:
        return []
    rol = _rol_importacion(usuario)
    ahora = timezone.now()
    with transaction.atomic():
        casos = Caso.objects.bulk_create([Caso() for _ in filas])
        if any(c.pk is None for c in casos):  # backends without RETURNING (not PostgreSQL nor SQLite)
            raise RuntimeError("bulk_create did not return primary keys")
        nuevas, fechas = [], {}
        for fila, caso in zip(filas, casos):
            datos = {k: v for k, v in fila.items() if k not in ("numero_ot", "creado_at")}
            nuevas.append(Solicitud(**datos, caso=caso, registrada_por=usuario))
            nuevas[-1].preparar_busqueda(numero_ot=fila.get("numero_ot"))  # the search column, with its OT
        Solicitud.objects.bulk_create(nuevas)
        for fila, s in zip(filas, nuevas):
            if fila.get("creado_at"):
                fechas[s.pk] = fila["creado_at"]
        if fechas:  # auto_now_add: the Smartflex registration date is set afterwards, in one UPDATE
            _fechas_de_registro(fechas)
            for s in nuevas:
                s.creado_at = fechas.get(s.pk, s.creado_at)
        ordenes = OrdenDeTrabajo.objects.bulk_create([
            OrdenDeTrabajo(numero=fila.get("numero_ot") or f"OT-{s.numero_smartflex}", solicitud=s, zona_id=s.zona_id)
            for fila, s in zip(filas, nuevas)])
        registros = []
        for modelo, objetos in ((Solicitud, nuevas), (OrdenDeTrabajo, ordenes)):
            ct = ContentType.objects.get_for_model(modelo)
            registros.append(RegistroAuditoria.objects.bulk_create([
                RegistroAuditoria(content_type=ct, object_id=o.pk, objeto=str(o)[:120],
                                  caso_id=(o.caso_id if modelo is Solicitud else o.solicitud.caso_id),
                                  transicion=modelo.TRANSICION_CREACION, paso="1", estado_origen="",
                                  estado_destino=o.estado, usuario=usuario, rol=rol, creado_at=ahora, nota=nota)
                for o in objetos]))
        for modelo, objetos, regs in ((Solicitud, nuevas, registros[0]), (OrdenDeTrabajo, ordenes, registros[1])):
            transaction.on_commit(partial(transiciones_en_bloque.send, sender=modelo, registros=regs,
                                          pks=[o.pk for o in objetos]))
    return nuevas


def actualizar_datos_en_bloque(usuario, cambios, *, nota=""):
    """Correct data fields (CAMPOS_DATOS_SMARTFLEX) of Solicitudes not in a final state, set-based:
    lock the rows, one bulk UPDATE (``version`` + 1, so a form opened on the old data gets a
    Conflicto), one audit row per Solicitud («actualizar_datos», same state, the fields in the
    note). ``cambios``: {solicitud_pk: {field: value}}. Returns (updated pks, {pk: reason} of
    those left alone)."""
    if not cambios:
        return [], {}
    rol = _rol_importacion(usuario)
    invalidos = {c for d in cambios.values() for c in d} - set(CAMPOS_DATOS_SMARTFLEX)
    if invalidos:
        raise DatosInvalidos({c: "Este dato no se actualiza desde Smartflex." for c in sorted(invalidos)})
    ahora = timezone.now()
    omitidas, hechas, registros = {}, [], []
    with transaction.atomic():
        filas = list(Solicitud.objects.select_for_update().filter(pk__in=list(cambios)).order_by("pk"))
        ct = ContentType.objects.get_for_model(Solicitud)
        campos = set()
        for s in filas:
            if s.estado in Solicitud.FINALES:
                omitidas[s.pk] = f"La solicitud está «{s.get_estado_display()}»: sus datos ya no se modifican."
                continue
            for campo, valor in cambios[s.pk].items():
                setattr(s, campo, valor)
                campos.add(campo)
            s.version += 1
            s.actualizado_at = ahora
            hechas.append(s)
            registros.append(RegistroAuditoria(
                content_type=ct, object_id=s.pk, objeto=str(s)[:120], caso_id=s.caso_id, transicion="actualizar_datos",
                paso="1", estado_origen=s.estado, estado_destino=s.estado, usuario=usuario, rol=rol, creado_at=ahora,
                nota=f"{nota} Datos corregidos: {', '.join(sorted(cambios[s.pk]))}.".strip()))
        if hechas:
            Solicitud.objects.bulk_update(hechas, sorted(campos | {"version", "actualizado_at"}), batch_size=500)
            RegistroAuditoria.objects.bulk_create(registros)
    return [s.pk for s in hechas], omitidas
