"""One log line and the metrics of every request (issue 20.3 and 20.4).

Placed first in MIDDLEWARE, so it sees the final answer of every other middleware (an HTTPS
redirect, a 413, the 409/503 of ``FallosDeBaseDeDatos``) and times all of them.

The line (logger ``anulaciones.peticiones``, formatted by ``anulaciones.registro``) carries ids and
names only: method, path, route name, status, duration, user id, the object's id and the
transition, the request id. Never the query string, the body, a username or an e-mail — and a path
is logged only when it is made of the route's fixed words and numeric ids: otherwise (a ``<str:>``
part, a path no route matches) the route's pattern is logged instead, since such a part is whatever
the client typed (a name searched, say).
"""

from __future__ import annotations

import re
import time
import uuid
from functools import cache

from django.utils.functional import SimpleLazyObject, empty

from . import contadores, registro
from .models import MAQUINAS
from .transitions import transiciones

_ID_VALIDO = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


@cache
def _transiciones_conocidas() -> frozenset[str]:
    return frozenset(nombre for modelo in MAQUINAS for nombre in transiciones(modelo))


# The slugs of /accion/<modelo>/<pk>/<nombre>/ (views.comun.MODELOS).
_MODELOS = frozenset({"solicitud", "orden", "servicio", "zonificacion"})


def id_de_peticion(cabecera: str | None) -> str:
    """The caller's X-Request-ID when it is a plain token (a proxy's or load balancer's id, so the
    lines join theirs), otherwise a new one: a header is never logged as the client wrote it."""
    if cabecera and _ID_VALIDO.match(cabecera):
        return cabecera
    return uuid.uuid4().hex


def _usuario_id(request) -> int | None:
    """The user's id if something already read the user (a lazy user is not loaded here: that
    would cost a query on pages that never needed it, and the log is not worth one)."""
    usuario = getattr(request, "user", None)
    if usuario is None:
        return None
    if isinstance(usuario, SimpleLazyObject) and usuario._wrapped is empty:
        return None
    return usuario.pk if getattr(usuario, "is_authenticated", False) else None


def campos_de_peticion(request, status: int, segundos: float, request_id: str) -> dict:
    match = getattr(request, "resolver_match", None)
    kwargs = match.kwargs if match else {}
    vista = getattr(match.func, "view_class", None) if match else None
    path = registro.ruta_segura(request)
    transicion = getattr(vista, "nombre", None) or kwargs.get("nombre")
    modelo = kwargs.get("modelo")
    campos = {
        "metodo": contadores.metodo(request.method),
        "path": path,
        "ruta": match.view_name if match else None,
        "status": status,
        "duracion_ms": round(segundos * 1000, 1),
        "usuario_id": _usuario_id(request),
        "request_id": request_id,
    }
    pk = kwargs.get("pk")
    if isinstance(pk, int) or (isinstance(pk, str) and pk.isdigit() and len(pk) < 19):
        campos["objeto_id"] = int(pk)
    if isinstance(modelo, str) and modelo in _MODELOS:
        campos["modelo"] = modelo
    elif getattr(vista, "recurso", None):
        campos["modelo"] = vista.recurso
    if isinstance(transicion, str) and transicion in _transiciones_conocidas():
        campos["transicion"] = transicion
    return campos


class RegistroDePeticiones:
    def __init__(self, get_response):
        self.get_response = get_response
        registro.PALABRAS_SEGURAS.update(_MODELOS | _transiciones_conocidas())

    def __call__(self, request):
        inicio = time.perf_counter()
        request_id = request.id_peticion = id_de_peticion(request.headers.get("X-Request-ID"))
        token = registro.en_contexto(request_id=request_id)
        try:
            respuesta = self.get_response(request)
            segundos = time.perf_counter() - inicio
            campos = campos_de_peticion(request, respuesta.status_code, segundos, request_id)
            contadores.contar_peticion(campos["metodo"], campos["ruta"] or "ninguna", respuesta.status_code, segundos)
            registro.PETICIONES.info(
                "%s %s %s", campos["metodo"], campos["path"] or "-", campos["status"], extra={"campos": campos}
            )
            respuesta["X-Request-ID"] = request_id
            return respuesta
        finally:
            registro.fuera_de_contexto(token)
