"""Logs a machine can read (issue 20.4): one line per request and per Celery task, through the
standard logging configuration (``LOGGING`` in config/settings/base.py).

- ``FormatoJson``: one JSON object per line (production's default, ``ANULACIONES_LOG_JSON=1``).
  Every record has ``ts``, ``nivel``, ``logger``, ``mensaje``; the request and task lines add their
  fields (``extra={"campos": {...}}``), and any line logged while a request or a task runs carries
  its ``request_id`` / ``tarea_id``, so the lines of one request can be grouped.
- ``FormatoLegible``: the same record as text for a developer's terminal (local's default).

The request line is written by ``anulaciones.middleware_registro``; the task line by the Celery
signal receivers below (connected in config/celery.py). Neither carries personal data: ids,
route names and counts only (no query string, no body, no username or e-mail).

A base module (the standard library and Django's URL resolver only): the settings name its
classes, and every layer may use it.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from django.urls import NoReverseMatch, reverse

PETICIONES = logging.getLogger("anulaciones.peticiones")
TAREAS = logging.getLogger("anulaciones.tareas")

# The ids of the request or task being served in this thread/task: every line logged meanwhile
# carries them (a warning of the transition path, a database fault) without passing them around.
contexto: ContextVar[dict[str, str] | None] = ContextVar("anulaciones_registro", default=None)


def _campos(record: logging.LogRecord) -> dict[str, Any]:
    campos = dict(contexto.get() or {})
    campos.update(getattr(record, "campos", None) or {})
    return campos


class FormatoJson(logging.Formatter):
    """One JSON object per record, on one line (a newline inside a message is escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        linea: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "nivel": record.levelname,
            "logger": record.name,
            "mensaje": record.getMessage(),
        }
        linea.update(_campos(record))
        if record.exc_info:
            linea["excepcion"] = self.formatException(record.exc_info)
        return json.dumps(linea, ensure_ascii=False, default=str)


class FormatoLegible(logging.Formatter):
    """``time LEVEL logger: message key=value …`` for a terminal."""

    def __init__(self, fmt=None, datefmt=None, style="%", **kwargs):
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt, style, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        texto = super().format(record)
        campos = _campos(record)
        if not campos:
            return texto
        primera, _, resto = texto.partition("\n")
        pares = " ".join(f"{k}={v}" for k, v in campos.items() if v is not None)
        return f"{primera} [{pares}]" + (f"\n{resto}" if resto else "")


def en_contexto(**ids: str) -> Token:
    """Set the ids every line carries until ``fuera_de_contexto(token)``."""
    return contexto.set({**(contexto.get() or {}), **ids})


def fuera_de_contexto(token: Token) -> None:
    contexto.reset(token)


# Words a ``<str:>`` part of a path may be logged as (the transitions' and the machines' names,
# given by ``middleware_registro``): anything else there is whatever the client typed.
PALABRAS_SEGURAS: set[str] = set()


def _segura(parte: object) -> bool:
    return isinstance(parte, int) or (isinstance(parte, str) and (parte.isdigit() or parte in PALABRAS_SEGURAS))


def ruta_segura(request) -> str | None:
    """The path of a request as it may be logged: as it is when it is made of its route's fixed
    words, numeric ids and ``PALABRAS_SEGURAS``; otherwise its route's pattern (a ``<str:>`` part
    is whatever the client typed: a name searched, say); None when no route matched. Never the
    query string."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    if match.view_name and all(_segura(v) for v in (*match.args, *match.kwargs.values())):
        # Only ids in it — and nothing else either: the route's name and those ids give back the
        # very path (a catch-all pattern, or a regex that lets text through, does not).
        try:
            if reverse(match.view_name, args=match.args, kwargs=match.kwargs) == request.path:
                return request.path
        except NoReverseMatch:
            pass
    return "/" + str(match.route)


class SinDatosPersonales(logging.Filter):
    """On the handler: Django's own request lines (``django.request``'s "Not Found: /path",
    ``django.security.csrf``'s "Forbidden (…): /path") quote the raw path, which may carry what
    the client typed; it is replaced by ``ruta_segura``. The request's own line has the rest, and
    its id joins them (Django writes "Not Found" after the middleware, out of its context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        request_id = getattr(request, "id_peticion", None)
        if request_id and not getattr(record, "campos", None):
            record.campos = {"request_id": request_id}
        if request is not None and isinstance(record.args, tuple) and record.args:
            crudas = {getattr(request, "path", None), getattr(request, "path_info", None)}
            try:
                crudas.add(request.get_full_path())
            except Exception:  # noqa: BLE001 — a request too broken to rebuild its path
                pass
            crudas.discard(None)
            segura = ruta_segura(request) or "-"
            record.args = tuple(segura if isinstance(a, str) and a in crudas else a for a in record.args)
        return True


# --- Celery tasks ------------------------------------------------------------------------------
# Start time and context token per task id, between task_prerun and task_postrun (same process,
# same thread: the worker runs one task per process or thread, the eager test run in line).
_en_curso: dict[str, tuple[float, Token]] = {}
_fallos: dict[str, str] = {}


def _cuentas(resultado: Any) -> dict[str, int | float] | None:
    """The counts of a task's result: a dict's numbers (a list counts as its length), a list's
    length. Nothing else of the result is logged (it could carry more than ids)."""
    if isinstance(resultado, dict):
        cuentas: dict[str, int | float] = {}
        for clave, valor in resultado.items():
            if isinstance(valor, bool):
                cuentas[str(clave)] = int(valor)
            elif isinstance(valor, int | float):
                cuentas[str(clave)] = valor
            elif isinstance(valor, list | tuple | set | frozenset | dict):
                cuentas[str(clave)] = len(valor)
        return cuentas
    if isinstance(resultado, list | tuple | set):
        return {"n": len(resultado)}
    return None


def tarea_empieza(task_id=None, task=None, **kwargs) -> None:
    """``task_prerun``: start the clock and put the task id in the context of its lines."""
    if task_id:
        _en_curso[task_id] = (time.perf_counter(), en_contexto(tarea_id=task_id))


def tarea_falla(task_id=None, exception=None, **kwargs) -> None:
    """``task_failure``: remember the exception's type for the task's line (not its message:
    it may quote data)."""
    if task_id and exception is not None:
        _fallos[task_id] = type(exception).__name__


def tarea_termina(task_id=None, task=None, retval=None, state=None, **kwargs) -> None:
    """``task_postrun``: the task's one line: name, id, state, duration, counts."""
    inicio, token = _en_curso.pop(task_id, (None, None))
    campos: dict[str, Any] = {
        "tarea": getattr(task, "name", None),
        "tarea_id": task_id,
        "estado": state,
        "duracion_ms": round((time.perf_counter() - inicio) * 1000, 1) if inicio is not None else None,
    }
    error = _fallos.pop(task_id, None)
    if error:
        campos["error"] = error
    elif state == "SUCCESS":
        cuentas = _cuentas(retval)
        if cuentas is not None:
            campos["resultado"] = cuentas
    nivel = logging.INFO if state in ("SUCCESS", "RETRY", None) else logging.ERROR
    TAREAS.log(nivel, "tarea %s %s", campos["tarea"], state, extra={"campos": campos})
    if token is not None:
        try:
            fuera_de_contexto(token)
        except ValueError:  # set in another context (a thread pool's other thread): leave it
            pass
