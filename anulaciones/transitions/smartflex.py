"""Set-based births and data updates: the Smartflex import. Checked and audited like the single
path (one audit row per object, written by ``auditoria``), in a constant number of queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, Value, When
from django.utils import timezone

from ..errors import DatosInvalidos, SinPermiso
from ..models import Caso, FactorRiesgo, OrdenDeTrabajo, RegistroAuditoria, Solicitud
from ..roles import Rol, roles_de
from .auditoria import auditar_filas, registro
from .camino import Contexto

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ROLES_IMPORTACION = (Rol.GESTION_RED, Rol.COC, "SISTEMA")
# Data of a Solicitud that Smartflex may correct while the Solicitud is not final. Not the
# number, the zone (corrected by zonification, 20), the asesor (ownership) nor the state.
CAMPOS_DATOS_SMARTFLEX = (
    "tipo",
    "cliente_nombre",
    "cliente_documento",
    "cliente_telefono",
    "calle",
    "numero_puerta",
    "referencias",
    "caja_nap",
    "plan",
    "vendedor",
)
PASO_IMPORTACION = "1"


def _contexto(usuario: User, nota: str) -> Contexto:
    rol = next((r for r in ROLES_IMPORTACION if r in roles_de(usuario)), None)
    if rol is None:
        raise SinPermiso("Solo Gestión de Red, el COC o el sistema importan desde Smartflex.")
    return Contexto(usuario=usuario, rol=rol, ahora=timezone.now(), nota=nota or "", paso=PASO_IMPORTACION)


def _fechas_de_registro(fechas: dict[int, datetime]) -> None:
    """Set ``creado_at`` of just-born Solicitudes ({pk: date}) in one UPDATE. On PostgreSQL a
    join with two arrays (linear); elsewhere one CASE with a branch per distinct date (a branch
    per row made the statement quadratic)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {Solicitud._meta.db_table} AS s SET creado_at = f.creado_at "
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS f(id, creado_at) WHERE s.id = f.id",
                [list(fechas), list(fechas.values())],
            )
        return
    por_fecha: defaultdict[datetime, list[int]] = defaultdict(list)
    for pk, f in fechas.items():
        por_fecha[f].append(pk)
    Solicitud.objects.filter(pk__in=list(fechas)).update(
        creado_at=Case(*[When(pk__in=pks, then=Value(f)) for f, pks in por_fecha.items()], output_field=DateTimeField())
    )


def crear_en_bloque(usuario: User, filas: list[dict[str, Any]], *, nota: str = "") -> list[Solicitud]:
    """Births of Solicitudes born in Smartflex, each with its OT, in a constant number of
    queries per call: Casos, Solicitudes, OTs and one audit row per object («registrar» and
    «generar», step 1, like ``crear_solicitud``), all in one transaction.

    ``filas``: dicts of Solicitud fields (``zona_id``, ``asesor_id``… already validated by the
    caller: no ``full_clean`` per row), plus optional ``numero_ot`` and ``creado_at`` (the
    registration date in Smartflex). Who may: GESTION_RED, COC, the system (ROLES_IMPORTACION).
    Returns the new Solicitudes. No per-row ``transicion_realizada`` signal: births have no
    side effects; ``transiciones_en_bloque`` is sent once per model after the commit.
    """
    if not filas:
        return []
    ctx = _contexto(usuario, nota)
    with transaction.atomic():
        casos = Caso.objects.bulk_create([Caso() for _ in filas])
        if any(c.pk is None for c in casos):  # backends without RETURNING (not PostgreSQL nor SQLite)
            raise RuntimeError("bulk_create did not return primary keys")
        nuevas: list[Solicitud] = []
        fechas: dict[int, datetime] = {}
        for fila, caso in zip(filas, casos, strict=True):
            datos = {k: v for k, v in fila.items() if k not in ("numero_ot", "creado_at")}
            nuevas.append(Solicitud(**datos, caso=caso, registrada_por=usuario))
            nuevas[-1].preparar_busqueda(numero_ot=fila.get("numero_ot"))  # the search column, with its OT
        FactorRiesgo.puntuar(nuevas)  # the risk at entry (issue 19): two reads for the whole batch
        Solicitud.objects.bulk_create(nuevas)
        for fila, s in zip(filas, nuevas, strict=True):
            if fila.get("creado_at"):
                fechas[s.pk] = fila["creado_at"]
        if fechas:  # auto_now_add: the Smartflex registration date is set afterwards, in one UPDATE
            _fechas_de_registro(fechas)
            for s in nuevas:
                s.creado_at = fechas.get(s.pk, s.creado_at)
        ordenes = OrdenDeTrabajo.objects.bulk_create(
            [
                OrdenDeTrabajo(
                    numero=fila.get("numero_ot") or f"OT-{s.numero_smartflex}", solicitud=s, zona_id=s.zona_id
                )
                for fila, s in zip(filas, nuevas, strict=True)
            ]
        )
        for modelo, objetos in ((Solicitud, nuevas), (OrdenDeTrabajo, ordenes)):
            filas_auditoria = [registro(o, ctx, modelo.TRANSICION_CREACION, "", o.estado) for o in objetos]
            for r, o in zip(filas_auditoria, objetos, strict=True):
                # A birth in Smartflex is audited at its registration date there (a case created
                # by reconciliation is cancelled at its real date afterwards: the timeline keeps
                # the registration first); the note says it was imported.
                cuando = fechas.get(o.pk if modelo is Solicitud else getattr(o, "solicitud_id", 0))
                if cuando is not None and cuando < ctx.ahora:
                    r.creado_at = cuando
            auditar_filas(modelo, filas_auditoria)
    return nuevas


def actualizar_datos_en_bloque(
    usuario: User, cambios: dict[int, dict[str, Any]], *, nota: str = ""
) -> tuple[list[int], dict[int, str]]:
    """Correct data fields (CAMPOS_DATOS_SMARTFLEX) of Solicitudes not in a final state, set-based:
    lock the rows, one bulk UPDATE (``version`` + 1, so a form opened on the old data gets a
    Conflicto), one audit row per Solicitud («actualizar_datos», same state, the fields in the
    note). ``cambios``: {solicitud_pk: {field: value}}. Returns (updated pks, {pk: reason} of
    those left alone)."""
    if not cambios:
        return [], {}
    ctx = _contexto(usuario, nota)
    invalidos = {c for d in cambios.values() for c in d} - set(CAMPOS_DATOS_SMARTFLEX)
    if invalidos:
        raise DatosInvalidos({c: "Este dato no se actualiza desde Smartflex." for c in sorted(invalidos)})
    omitidas: dict[int, str] = {}
    hechas: list[Solicitud] = []
    registros: list[RegistroAuditoria] = []
    with transaction.atomic():
        filas = list(Solicitud.objects.select_for_update().filter(pk__in=list(cambios)).order_by("pk"))
        campos: set[str] = set()
        for s in filas:
            if s.estado in Solicitud.FINALES:
                omitidas[s.pk] = f"La solicitud está «{s.get_estado_display()}»: sus datos ya no se modifican."
                continue
            for campo, valor in cambios[s.pk].items():
                setattr(s, campo, valor)
                campos.add(campo)
            s.version += 1
            s.actualizado_at = ctx.ahora
            hechas.append(s)
            registros.append(
                registro(
                    s,
                    ctx,
                    transicion="actualizar_datos",
                    origen=s.estado,
                    destino=s.estado,
                    nota=f"{ctx.nota} Datos corregidos: {', '.join(sorted(cambios[s.pk]))}.".strip(),
                )
            )
        if hechas:
            Solicitud.objects.bulk_update(hechas, sorted(campos | {"version", "actualizado_at"}), batch_size=500)
            auditar_filas(Solicitud, registros, avisar=False)
    return [s.pk for s in hechas], omitidas
