"""Health endpoints (issue 20), on django-health-check's checks and view.

- ``/salud/vivo``: the process answers. Touches nothing (no database, no session): a liveness
  probe must not fail because a dependency is down, or the orchestrator restarts healthy
  processes in a loop.
- ``/salud/listo``: ready to serve. PostgreSQL, the Celery broker, the cache, the file storage,
  migrations applied and the clocks (``operacion.relojes_atrasados``). JSON; no login. HTTP 503
  when one of the first five fails: this process cannot serve. A late clock is reported
  (``"relojes": "fallo"``, ``"estado": "degradado"``) with 200: the beat is one process for the
  whole system, and failing every web process's readiness for it would take the site out for a
  fault no web process can fix; the alert goes to people (banner, e-mail, metric).
  It names the checks and says ok or fallo, nothing more:
  no host, version or exception text for whoever can reach it.
- ``/salud/detalle``: the same checks for staff (login, ``is_staff``) with the reason of each
  failure and the periodic tasks' last runs.

The checks that use the ORM run in the request's thread (``sync_to_async(thread_sensitive=True)``):
on its connection, inside a test's transaction, without leaving a connection open in an executor
thread. The database and broker probes run in the executor with their own timeouts (a hung
server answers "fallo" after a few seconds instead of holding the probe).
"""

import asyncio
import dataclasses
import datetime
import os
from typing import Any, ClassVar

from asgiref.sync import sync_to_async
from celery import current_app
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from health_check import checks
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from . import operacion
from .espanol import cuenta
from .models import EjecucionPeriodica


@dataclasses.dataclass
class BaseDeDatos(checks.Database):
    nombre: ClassVar[str] = "base_de_datos"


@dataclasses.dataclass
class Cache(checks.Cache):
    nombre: ClassVar[str] = "cache"


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (Redis: it answers PING). With the embedded
    filesystem broker: its message folder exists and is writable."""

    nombre: ClassVar[str] = "broker"
    timeout: datetime.timedelta = dataclasses.field(default=datetime.timedelta(seconds=2), repr=False)

    def run(self) -> None:
        app = current_app._get_current_object()
        segundos = self.timeout.total_seconds()
        try:
            with app.connection_for_write(connect_timeout=segundos) as conexion:
                conexion.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=segundos)
                if conexion.transport_cls == "filesystem":
                    carpeta = (app.conf.broker_transport_options or {}).get("data_folder_out", ".")
                    if not os.access(carpeta, os.W_OK):
                        raise ServiceUnavailable("La carpeta del broker filesystem no existe o no se puede escribir")
                else:
                    cliente = getattr(conexion.default_channel, "client", None)
                    if cliente is not None and hasattr(cliente, "ping"):
                        cliente.ping()
        except ServiceUnavailable:
            raise
        except Exception as e:
            raise ServiceUnavailable(f"Broker inaccesible: {type(e).__name__}") from e


@dataclasses.dataclass
class EnElHiloDeLaPeticion(HealthCheck):
    """A synchronous check that uses the ORM: run in the request's thread (module docstring)."""

    async def run(self) -> None:
        await sync_to_async(self.comprobar, thread_sensitive=True)()

    def comprobar(self) -> None:
        raise NotImplementedError


@dataclasses.dataclass
class Almacenamiento(EnElHiloDeLaPeticion):
    """The default file storage (PostgreSQL, S3 or disk) saves, reads and deletes a file."""

    nombre: ClassVar[str] = "almacenamiento"

    def comprobar(self) -> None:
        checks.Storage().run()


@dataclasses.dataclass
class Migraciones(EnElHiloDeLaPeticion):
    """Every migration of the code is applied to the database. Asked on every probe (a few ms:
    the migration modules are imported once per process) rather than remembered, so a
    rollback of the database is seen too."""

    nombre: ClassVar[str] = "migraciones"

    def comprobar(self) -> None:
        ejecutor = MigrationExecutor(connection)
        plan = ejecutor.migration_plan(ejecutor.loader.graph.leaf_nodes())
        if plan:
            nombres = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
            raise ServiceUnavailable(f"{cuenta(len(plan), 'migración', 'migraciones')} sin aplicar: {nombres}")


@dataclasses.dataclass
class Relojes(EnElHiloDeLaPeticion):
    """The dead man's switch: the sweep and the month-end check run (``anulaciones.operacion``).
    A late clock is e-mailed to the staff once from here (``vigilar_relojes``)."""

    nombre: ClassVar[str] = "relojes"
    degrada: ClassVar[bool] = True  # reported, but the probe stays 200 (see the module's docstring)

    def comprobar(self) -> None:
        atrasados = operacion.vigilar_relojes()
        if atrasados:
            raise ServiceUnavailable("; ".join(a["motivo"] for a in atrasados))


COMPROBACIONES = (BaseDeDatos, Broker, Cache, Almacenamiento, Migraciones, Relojes)


class Listo(HealthCheckView):
    """Readiness: JSON whatever the Accept header, 200 or 503, check names and ok/fallo only."""

    checks = COMPROBACIONES

    async def resultados(self) -> list[Any]:
        with self.get_executor() as executor:
            return list(await asyncio.gather(*(c.get_result(executor) for c in self.get_checks())))

    async def get(self, request, *args, **kwargs):
        resultados = await self.resultados()
        fallo = any(r.error for r in resultados if not getattr(r.check, "degrada", False))
        degradado = any(r.error for r in resultados)
        return JsonResponse(
            {
                "estado": "fallo" if fallo else "degradado" if degradado else "ok",
                "comprobaciones": {r.check.nombre: "fallo" if r.error else "ok" for r in resultados},
            },
            status=503 if fallo else 200,
        )


class Detalle(Listo):
    """The staff's view: each check with its reason and time, the periodic tasks' last runs."""

    async def get(self, request, *args, **kwargs):
        usuario = await request.auser()
        if not usuario.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not usuario.is_staff:
            raise PermissionDenied
        resultados = await self.resultados()
        contexto = await sync_to_async(_contexto_detalle, thread_sensitive=True)(resultados)
        return await sync_to_async(render, thread_sensitive=True)(
            request, "salud/detalle.html", contexto, status=503 if contexto["fallo"] else 200
        )


def _contexto_detalle(resultados: list[Any]) -> dict[str, Any]:
    ejecuciones = []
    for fila in EjecucionPeriodica.objects.order_by("nombre"):
        fila.intervalo = operacion.intervalo(fila.nombre)
        ejecuciones.append(fila)
    return {
        "comprobaciones": [
            {
                "nombre": r.check.nombre,
                "ok": not r.error,
                "motivo": r.error.message if r.error else "",
                "segundos": r.time_taken,
            }
            for r in resultados
        ],
        "fallo": any(r.error for r in resultados),
        "ejecuciones": ejecuciones,
        "atrasados": operacion.relojes_atrasados(),
    }


@never_cache
def vivo(request):
    return JsonResponse({"estado": "ok"})


# Included by config/urls.py under /salud/ (no trailing slash: what probes are configured with).
urlpatterns = [
    path("vivo", vivo, name="salud_vivo"),
    path("listo", Listo.as_view(), name="salud_listo"),
    path("detalle", Detalle.as_view(), name="salud_detalle"),
]
