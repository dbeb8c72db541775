"""What the machines declare, read without the database: a model's transitions, their sources,
targets, labels and steps, what a user may take now, and ``comprobar``: the one place that words
a refusal. The path raises it under the row lock; the pages and the API ask it first, to offer
a button or refuse before reading a body."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Model
from django_fsm import FSMMeta, can_proceed

from ..errors import DatosInvalidos, ErrorDominio, SinPermiso, TransicionNoPermitida
from ..roles import Rol

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# An instance of one of the machines (models.MAQUINAS), and its class. Typed Any: the state field,
# the creation transition and the per-machine fields (``solicitud_id``, ``destinatario``…) are
# declared by each model, not by ``models.base.Maquina``, and the path reaches transitions by name.
Objeto = Any
ModeloMaquina = type[Any]
# The same, where a function returns the object it was given: its callers keep its own type.
M = TypeVar("M", bound=Objeto)

# A django-fsm ``Transition``. Typed Any: its ``permission`` is one of ours (``roles.Permiso``, with
# ``rol_para``), where django-fsm declares a permission name or a bare callable.
Transicion = Any


class NoEncontrado(ErrorDominio):
    codigo_http = 404


def transiciones(modelo: type[Model]) -> dict[str, Transicion]:
    """{name: django-fsm Transition (of its first source)} of a machine, in declaration order."""
    resultado: dict[str, Transicion] = {}
    for nombre, metodo in vars(modelo).items():
        meta = getattr(metodo, "_django_fsm", None)
        if meta is not None:
            resultado[nombre] = next(iter(meta.transitions.values()))
    return resultado


def fuentes(modelo: type[Model], nombre: str) -> list[str]:
    metodo = getattr(modelo, nombre)
    return list(metodo._django_fsm.transitions.keys())


def meta_transicion(modelo: type[Model], nombre: str) -> tuple[FSMMeta, Transicion]:
    """(django-fsm meta, Transition of its first source) of transition ``nombre``; NoEncontrado
    when the model has no such transition."""
    metodo = getattr(modelo, nombre, None) if isinstance(nombre, str) and not nombre.startswith("_") else None
    meta = getattr(metodo, "_django_fsm", None)
    if meta is None:
        raise NoEncontrado(f"La transición «{nombre}» no existe para {modelo._meta.verbose_name}.")
    return meta, next(iter(meta.transitions.values()))


def etiqueta(modelo: type[Model], nombre: str) -> str:
    _, t = meta_transicion(modelo, nombre)
    return t.custom.get("label", nombre)


def paso_de(t: Transicion, rol: str | None) -> str:
    paso = t.custom.get("paso", "")
    if isinstance(paso, dict):
        return paso.get(rol) or "/".join(dict.fromkeys(paso.values()))
    return paso


def destinos(t: Transicion) -> list[str]:
    """The states a transition may lead to (one, or those of a GET_STATE target)."""
    return list(getattr(t.target, "allowed_states", None) or [t.target])


def siguientes_pasos(obj: Objeto) -> list[dict[str, Any]]:
    """What can happen next to obj, whoever may do it: [{nombre, label, paso, roles (labels),
    disponible, motivo}] for every transition whose source is obj's state, in declaration order.
    ``motivo`` is the condition's message when it does not hold yet (e.g. a deadline)."""
    res: list[dict[str, Any]] = []
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
        res.append(
            {
                "nombre": nombre,
                "label": t.custom.get("label", nombre),
                "paso": paso_de(t, None),
                "roles": etiquetas,
                "disponible": not motivo,
                "motivo": motivo,
            }
        )
    return res


def disponibles(obj: Objeto, usuario: User) -> list[tuple[str, str]]:
    """The transitions this user may take on obj now: [(name, label)] — buttons come from here.
    The same rules as ``comprobar``, without wording a refusal per button."""
    res: list[tuple[str, str]] = []
    for nombre, t in transiciones(type(obj)).items():
        if t.custom.get("interna"):
            continue  # taken by the application itself (e.g. «remitir», by a delivery)
        if can_proceed(getattr(obj, nombre)) and t.permission(obj, usuario):
            res.append((nombre, t.custom.get("label", nombre)))
    return res


# --- the refusals ----------------------------------------------------------------------------
def exigir(obj: Objeto, nombre: str, usuario: User) -> str:
    """``comprobar`` that raises the refusal. Returns the role ``usuario`` takes it with."""
    _, t = meta_transicion(type(obj), nombre)
    label = t.custom.get("label", nombre)
    rol = t.permission.rol_para(obj, usuario)
    if rol is None:  # no role for it, or the role does not reach this object (zone, own case, team)
        raise SinPermiso(f"Su rol no permite «{label}» en {obj}.")
    bound = getattr(obj, nombre)
    if not can_proceed(bound, check_conditions=False):
        raise TransicionNoPermitida(f"No se puede «{label}»: {obj} está «{obj.get_estado_display()}».")
    for condicion in bound._django_fsm.get_transition(obj.estado).conditions:
        if not condicion(obj):
            raise TransicionNoPermitida(getattr(condicion, "mensaje", "La transición no procede ahora."))
    return rol


def comprobar(obj: Objeto, nombre: str, usuario: User) -> ErrorDominio | None:
    """None when ``usuario`` may take transition ``nombre`` on ``obj`` as it is now; otherwise the
    refusal the path would raise (not raised): NoEncontrado (no such transition), SinPermiso
    (role or scope), TransicionNoPermitida (state or condition). The path checks again under the
    row lock, with its version check first; the data is checked by the path alone."""
    try:
        exigir(obj, nombre, usuario)
    except ErrorDominio as rechazo:
        return rechazo
    return None


def validar_datos(modelo: type[Model], nombre: str, datos: dict[str, Any]) -> None:
    """Unknown or missing data is a DatosInvalidos with a message per field, never a TypeError."""
    params = list(inspect.signature(getattr(modelo, nombre).__wrapped__).parameters.values())[2:]  # self, ctx
    nombres = {p.name for p in params}
    errores = {k: "Dato no reconocido para esta transición." for k in datos if k not in nombres}
    for p in params:
        if p.default is inspect.Parameter.empty and p.name not in datos:
            errores[p.name] = "Este campo es obligatorio."
    if errores:
        raise DatosInvalidos(errores)


def consecuencia(modelo: type[Model], nombre: str) -> str:
    """What confirming an irreversible transition does, as its ``custom["confirmar"]`` declares
    (issue 15.7); "" for the others. On the web a POST of one of these without ``confirmado=1``
    applies nothing and answers with a confirmation page; the API and the admin do not ask."""
    metodo = getattr(modelo, nombre, None)
    meta = getattr(metodo, "_django_fsm", None)
    if meta is None:
        return ""
    return next(iter(meta.transitions.values())).custom.get("confirmar", "")


def anula(modelo: type[Model], nombre: str) -> bool:
    """True for the cancellations (``custom["anula"]``): their form and confirmation list the
    case's contact attempts (3.3), which the decision rests on."""
    metodo = getattr(modelo, nombre, None)
    meta = getattr(metodo, "_django_fsm", None)
    return bool(meta and next(iter(meta.transitions.values())).custom.get("anula"))


def irreversibles(modelos: Iterable[type[Model]]) -> dict[tuple[type[Model], str], str]:
    """{(model, name): consequence} of every transition of ``modelos`` declared ``confirmar``."""
    return {
        (m, n): t.custom["confirmar"] for m in modelos for n, t in transiciones(m).items() if t.custom.get("confirmar")
    }
