"""The one path every transition takes — forms, API, admin actions and Celery tasks.

    aplicar(obj, "observar", usuario, causa="calle", detalle="...")

locks the row, checks that nobody changed it since ``obj`` was read (``version``), checks the
user's role and scope, the state and the conditions (``introspeccion.exigir``), runs the
transition, saves, writes the audit row, runs the transition's cross-machine effects (each one
audited the same way, inside the same transaction) and queues the ``transicion_realizada``
signal for after the commit.

Creations (step 1, the OT, SIs, zonifications) go through ``crear_*`` here as well, so they are
checked and audited like any transition.

Lock order (issue 13). Every transaction here takes the row locks of a case top-down: Caso →
Solicitud → OT → SI. A Solicitud transition locks its Solicitud, then what its effects touch; an
OT or SI transition first locks its Solicitud, then its own row (``_bloquear``). So every
transaction that touches a case's OT or SIs holds that case's Solicitud first, and two of them
queue on that one row instead of each holding what the other waits for (``anular`` on the
Solicitud against ``ejecutar`` on its OT used to deadlock). The Caso row is only ever updated
(``Caso.marcar_probable``) by a transaction that already holds one of its Solicitudes, and no
transaction locks a Caso before a Solicitud. Reconciliation with Smartflex (issue 18) locks
above a case: a feed's stored statuses (``EstadoSmartflex``, pk order), then their differences,
then the Solicitud its decision changes (``diferencias.resolver``; the feed's import takes the
first two in that order). What still fails with a deadlock or a
serialization failure is run again a few times (``_en_transaccion``), then answered with a
``Conflicto`` (409), never a 500.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Model
from django.utils import timezone
from django_fsm import TransitionNotAllowed, can_proceed

from ..errors import Conflicto, DatosInvalidos, SinPermiso, TransicionNoPermitida
from ..models import (
    Caso,
    FactorRiesgo,
    IntentoContacto,
    OrdenDeTrabajo,
    RegistroAuditoria,
    ServicioIngenieria,
    Solicitud,
    Zona,
    Zonificacion,
)
from ..roles import USUARIO_SISTEMA, Rol, roles_de
from .auditoria import auditar
from .fallos import MENSAJE_CRUCE, SQLSTATES_REINTENTABLES, es_cruce, sqlstate
from .introspeccion import M, ModeloMaquina, NoEncontrado, Objeto, exigir, meta_transicion, paso_de, validar_datos

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

T = TypeVar("T")


# --- transactions: deadlocks and serialization failures are retried, then a 409 -----------
INTENTOS = 3


def _en_transaccion(cuerpo: Callable[[], T]) -> T:
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
                log.info(
                    "Transacción abortada (%s) dentro de otra: sin reintento.",
                    SQLSTATES_REINTENTABLES.get(sqlstate(e) or ""),
                )
                raise Conflicto(MENSAJE_CRUCE) from e
            raise
    for intento in range(1, INTENTOS + 1):
        confirmada: list[bool] = []
        try:
            with transaction.atomic():
                transaction.on_commit(partial(confirmada.append, True))  # the first hook: runs once committed
                return cuerpo()
        except DatabaseError as e:
            if confirmada or not es_cruce(e):
                raise
            if intento == INTENTOS:
                log.warning(
                    "Transacción abortada %s veces (%s); se responde Conflicto.",
                    intento,
                    SQLSTATES_REINTENTABLES.get(sqlstate(e) or ""),
                )
                raise Conflicto(MENSAJE_CRUCE) from e
            log.info(
                "Transacción abortada (%s), intento %s de %s.",
                SQLSTATES_REINTENTABLES.get(sqlstate(e) or ""),
                intento,
                INTENTOS,
            )
            time.sleep(random.uniform(0.01, 0.05) * intento)
    raise AssertionError("unreachable: the last attempt returns or raises")


def usuario_sistema() -> User:
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=USUARIO_SISTEMA, defaults={"is_active": True})
    return user


# --- the context a transition body and its effects see -----------------------------------
@dataclass
class Contexto:
    usuario: Any  # the user model's instance
    rol: str
    ahora: datetime
    nota: str = ""
    paso: str = ""
    causa: str = ""  # the transition this one is an effect of
    registros: list[RegistroAuditoria] = field(default_factory=list)

    @property
    def ahora_local(self) -> datetime:
        return timezone.localtime(self.ahora)

    def derivado(self, causa: str) -> Contexto:
        return Contexto(
            self.usuario,
            self.rol,
            self.ahora,
            nota=f"Efecto de {causa}.",
            paso=self.paso,
            causa=causa,
            registros=self.registros,
        )

    def aplicar(self, obj: M, nombre: str, nota: str | None = None, **datos: Any) -> M | None:
        """A cross-machine effect: same user, no second role check, applied only when the
        target's state allows it (so effects that meet each other stop). ``obj`` takes the
        saved row's values (``_igualar``)."""
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
        _igualar(obj, actual)
        return actual

    def crear(self, obj: M, paso: str | None = None) -> M:
        """Save a new machine object and audit its birth (∅ → initial state)."""
        try:
            obj.full_clean(exclude=["estado"])  # the protected FSM field is set by the machine only
        except ValidationError as e:
            raise DatosInvalidos(_mensajes(e)) from e
        obj.save()
        auditar(
            obj, self, obj.TRANSICION_CREACION, "", obj.estado, paso=paso or getattr(obj, "PASO_CREACION", self.paso)
        )
        return obj

    def crear_solicitud(self, datos: dict[str, Any], caso: Caso | None = None) -> Solicitud:
        datos = dict(datos)
        numero_ot = datos.pop("numero_ot", None)
        nueva = Solicitud(
            **_solo_campos(Solicitud, datos), registrada_por=self.usuario, caso=caso or Caso.objects.create()
        )
        FactorRiesgo.puntuar([nueva])  # the risk at entry, stored with it (issue 19): two reads
        self.crear(nueva, paso="1")
        orden = OrdenDeTrabajo(
            numero=numero_ot or f"OT-{nueva.numero_smartflex}", solicitud=nueva, zona_id=nueva.zona_id
        )
        self.crear(orden, paso="1")
        return nueva


def _igualar(copia: Objeto, fila: Objeto) -> None:
    """An effect changed the row behind ``copia`` through ``fila`` (read again under the lock):
    the copy takes the saved values, so whoever still holds it — the body that took the effect,
    the object the path returns (the API answers from it) — sees the row as it is now."""
    if copia is fila:
        return
    for f in type(fila)._meta.concrete_fields:
        antes = copia.__dict__.get(f.attname)
        copia.__dict__[f.attname] = fila.__dict__[f.attname]  # __dict__: the state field is protected
        if f.is_relation and antes != fila.__dict__[f.attname] and f.is_cached(copia):
            f.delete_cached_value(copia)


def _mensajes(error: ValidationError) -> dict[str, str]:
    if hasattr(error, "message_dict"):
        return {k: " ".join(v) for k, v in error.message_dict.items()}
    return {"__all__": " ".join(error.messages)}


def _solo_campos(modelo: type[Model], datos: dict[str, Any]) -> dict[str, Any]:
    nombres = {f.name for f in modelo._meta.concrete_fields} | {f.attname for f in modelo._meta.concrete_fields}
    desconocidos = set(datos) - nombres
    if desconocidos:
        raise DatosInvalidos({k: "Dato no reconocido." for k in sorted(desconocidos)})
    protegidos = {"id", "estado", "version", "caso", "caso_id", "reemplazada_por", "reemplazada_por_id"}
    prohibidos = set(datos) & protegidos
    if prohibidos:
        raise DatosInvalidos({k: "Este dato no se puede fijar al registrar." for k in sorted(prohibidos)})
    return datos


def _ejecutar(actual: M, nombre: str, ctx: Contexto, datos: dict[str, Any]) -> M:
    """Apply a checked transition to the locked row: body, save, audit, effects."""
    modelo = type(actual)
    _, t = meta_transicion(modelo, nombre)
    validar_datos(modelo, nombre, datos)
    if not (ctx.causa and isinstance(t.custom.get("paso"), dict)):
        ctx.paso = paso_de(t, ctx.rol)  # an effect whose step depends on the role keeps its cause's step
    origen = actual.estado
    try:
        despues = getattr(actual, nombre)(ctx, **datos)
    except TransitionNotAllowed as e:  # a guard the caller did not check: still a 409, never a 500
        raise TransicionNoPermitida(f"No se puede «{t.custom.get('label', nombre)}» en {actual} ahora.") from e
    actual.version += 1
    actual.save()
    auditar(actual, ctx, nombre, origen, actual.estado, paso=ctx.paso)
    if despues:
        despues(ctx.derivado(nombre))
    return actual


# Machines below a Solicitud: an OT or SI transition locks the Solicitud first (the lock order of
# the module docstring). The locked Solicitud is then the one the scope check, the conditions
# and the effects read (no lazy query for it later).
_BAJO_SOLICITUD = (OrdenDeTrabajo, ServicioIngenieria)


def _bloquear(modelo: type[M], obj: M) -> M:
    if modelo in _BAJO_SOLICITUD:
        try:
            solicitud = Solicitud.objects.select_for_update().get(pk=obj.solicitud_id)
        except Solicitud.DoesNotExist:
            raise modelo.DoesNotExist from None
        actual = modelo.objects.select_for_update().get(pk=obj.pk)
        actual.solicitud = solicitud  # the same row (an OT or SI never changes its Solicitud)
    else:
        actual = modelo.objects.select_for_update().get(pk=obj.pk)
    _conservar_relacionados(obj, actual)
    return actual


def _conservar_relacionados(leido: Objeto, actual: Objeto) -> None:
    """The locked row keeps the zones and users the caller already read with it (rows no
    transition changes), when it still points to the same ones: what the caller shows
    afterwards needs no query for them."""
    fijos = (Zona, get_user_model())
    for f in type(actual)._meta.concrete_fields:
        if (
            f.is_relation
            and f.related_model in fijos
            and f.is_cached(leido)
            and not f.is_cached(actual)
            and leido.__dict__.get(f.attname) == actual.__dict__.get(f.attname)
        ):
            f.set_cached_value(actual, f.get_cached_value(leido))


def aplicar(
    obj: M,
    nombre: str,
    usuario: User,
    *,
    nota: str = "",
    version: int | None = None,
    refrescar: bool = True,
    ocurrido_at: datetime | None = None,
    **datos: Any,
) -> M:
    """Take transition ``nombre`` on ``obj`` as ``usuario``. Returns the updated object (the
    locked row, as saved, its effects included).

    ``version``: the version the user saw (defaults to ``obj.version``); if the row moved on
    since, Conflicto. Raises SinPermiso (role or scope), TransicionNoPermitida (state or
    condition), DatosInvalidos (data), NoEncontrado (no such object or transition).
    ``refrescar=False``: ``obj`` is left as it was (no re-read), for callers that only use the
    returned object. ``ocurrido_at``: when it really happened, for a change recorded after the
    fact (a cancellation made in Smartflex, issue 18): the body, its effects and the audit rows
    take that time (never later than now); the caller says so in ``nota``.
    """
    modelo = type(obj)
    meta_transicion(modelo, nombre)  # an unknown transition: NoEncontrado before any query
    esperado = obj.version if version is None else version
    actual = _en_transaccion(partial(_aplicar, obj, modelo, nombre, usuario, esperado, nota, datos, ocurrido_at))
    if refrescar and obj is not actual:
        obj.refresh_from_db()
    return actual


def _aplicar(
    obj: M,
    modelo: type[M],
    nombre: str,
    usuario: User,
    esperado: int,
    nota: str,
    datos: dict[str, Any],
    ocurrido_at: datetime | None = None,
) -> M:
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
            "Revise el estado actual antes de continuar."
        )
    rol = exigir(actual, nombre, usuario)  # the refusals of ``comprobar``, now under the lock
    ahora = timezone.now()
    ctx = Contexto(usuario=usuario, rol=rol, ahora=min(ocurrido_at, ahora) if ocurrido_at else ahora, nota=nota or "")
    _ejecutar(actual, nombre, ctx, datos)
    return actual


# --- creations --------------------------------------------------------------------------
def rol_de_creacion(modelo: ModeloMaquina, instancia: Model, usuario: User) -> str:
    """The role ``usuario`` creates ``instancia`` with (``modelo.ROLES_CREACION``), or SinPermiso."""
    rol = modelo.ROLES_CREACION.rol_para(instancia, usuario)
    if rol is None:
        raise SinPermiso(f"Su rol no permite registrar {modelo._meta.verbose_name}.")
    return rol


def crear_solicitud(usuario: User, **datos: Any) -> Solicitud:
    """Step 1: register a Solicitud (and its OT, generada). ASESOR registers own cases;
    MONITORA and TEAM_LEADER register for an asesor."""
    if "asesor" not in datos and "asesor_id" not in datos:
        if Rol.ASESOR not in roles_de(usuario):
            raise DatosInvalidos({"asesor": "Indique el asesor de la solicitud."})
        datos["asesor"] = usuario
    probe = Solicitud(**{k: datos[k] for k in ("asesor", "asesor_id") if k in datos})
    rol = rol_de_creacion(Solicitud, probe, usuario)
    with transaction.atomic():
        ctx = Contexto(usuario=usuario, rol=rol, ahora=timezone.now())
        return ctx.crear_solicitud(datos)


def abrir_servicio(
    solicitud: Solicitud, usuario: User, *, tipo: str, destinatario: str, requerido: str, impedimento: str = ""
) -> ServicioIngenieria:
    """Open an SI outside a Solicitud transition (20.2 impediments: ``impedimento`` says which)."""

    def cuerpo() -> ServicioIngenieria:
        sol = Solicitud.objects.select_for_update().get(pk=solicitud.pk)
        probe = ServicioIngenieria(solicitud=sol)
        rol = rol_de_creacion(ServicioIngenieria, probe, usuario)
        ctx = Contexto(usuario=usuario, rol=rol, ahora=timezone.now())
        paso = "20.2" if tipo == ServicioIngenieria.Tipo.IMPEDIMENTO else ("3.1" if rol == Rol.GESTION_RED else "7")
        return ctx.crear(
            ServicioIngenieria.para(
                sol, ctx, tipo=tipo, destinatario=destinatario, requerido=requerido, impedimento=impedimento
            ),
            paso=paso,
        )

    return _en_transaccion(cuerpo)


def recibir_zonificacion(orden: OrdenDeTrabajo, usuario: User, **datos: Any) -> Zonificacion:
    """Step 20.1: the zonification form of an executed OT."""
    datos = _solo_campos(Zonificacion, dict(datos))

    def cuerpo() -> Zonificacion:
        ot = _bloquear(OrdenDeTrabajo, orden)  # its Solicitud first, then the OT (lock order)
        zon = Zonificacion(
            orden=ot,
            solicitud=ot.solicitud,
            recibida_por=usuario,
            zona_anterior_id=datos.get("zona_anterior_id", ot.zona_id),
            **{k: v for k, v in datos.items() if k != "zona_anterior_id"},
        )
        rol = rol_de_creacion(Zonificacion, zon, usuario)
        ctx = Contexto(usuario=usuario, rol=rol, ahora=timezone.now())
        return ctx.crear(zon)

    return _en_transaccion(cuerpo)


def registrar_contacto(
    solicitud: Solicitud,
    usuario: User,
    *,
    canal: str,
    resultado: str,
    detalle: str = "",
    realizado_at: datetime | None = None,
) -> IntentoContacto:
    """3.3: an attempt to reach the subscriber, by Gestión de Red or the COC."""
    rol = next((r for r in (Rol.GESTION_RED, Rol.COC) if r in roles_de(usuario)), None)
    if rol is None:
        raise SinPermiso("Solo Gestión de Red y el COC registran intentos de contacto.")
    contacto = IntentoContacto(
        solicitud=solicitud,
        caso_id=solicitud.caso_id,
        usuario=usuario,
        rol=rol,
        canal=canal,
        resultado=resultado,
        detalle=detalle or "",
        realizado_at=realizado_at or timezone.now(),
    )
    try:
        contacto.full_clean()
    except ValidationError as e:
        raise DatosInvalidos(_mensajes(e)) from e
    contacto.save()
    return contacto
