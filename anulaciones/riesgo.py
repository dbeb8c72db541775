"""Risk of observation or cancellation at entry (issue 19): the history's aggregates, the form's
preview and the monthly evaluation. docs/riesgo.md tells the whole story.

What counts as a problem. A Solicitud registered before an instant ``corte`` is a *problem* as of
``corte`` when, before ``corte``, an observation was recorded on it (``Observacion``), it was
cancelled (an audit row «anular» or «anular_para_redigitacion» on it) or its OT was cancelled (an
audit row on its OT of a transition that ends in «anulada»).

What a Solicitud is judged by: the data it was registered with. Its street is ``clave_calle``
(written at registration, never moved by a correction) with the aliases known before ``corte``
resolved; its box/NAP is the one it was registered with (the first correction's «antes» when
the box was corrected, 4.1); zone, asesor, plan and type as stored.

- ``recalcular_factores(corte=None)``: backfills the street keys still empty, then rewrites every
  ``FactorRiesgo`` row in one transaction with one INSERT … SELECT … GROUP BY (constant number of
  queries). The nightly task ``recalcular_riesgo`` runs it.
- ``vista_previa(datos)``: the score of data not saved yet (the registration form), no write.
- ``evaluar(mes)``: the scores the month's Solicitudes would have had with the history before the
  month (aggregates computed on the fly with the same SQL, bounded at the month's first instant),
  against what happened to them by the month's end. Reads nothing dated on or after the next
  month's first instant (a box corrected later is read for its «antes»: the value it had).

Keys agree between Python (``models.riesgo``) and this SQL: a box/NAP or plan is TRIM'd with its
ASCII letters lowered (LOWER on SQLite, which lowers only ASCII; TRANSLATE on PostgreSQL, whatever
its collation would do to other letters).
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, Model, Q, Sum, Value, When
from django.utils import timezone

from . import puntaje
from .models import (
    AliasCalle,
    Calle,
    Correccion,
    FactorRiesgo,
    Observacion,
    OrdenDeTrabajo,
    RegistroAuditoria,
    Solicitud,
    Zona,
)
from .transitions import transiciones

BANDAS = puntaje.BANDAS
BANDA_TEXTO = puntaje.BANDA_TEXTO
# A Solicitud's own cancellations; its OT's are the OT machine's transitions into «anulada».
ANULACIONES_SOLICITUD = ("anular", "anular_para_redigitacion")
# Street keys backfilled per batch (one SELECT, one alias lookup and one UPDATE each).
LOTE_CLAVES = 2_000
_MAYUSCULAS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def anulaciones_orden() -> tuple[str, ...]:
    """The OT's transitions that end in «anulada» (step 10's coordination, 13's ratification and
    the COZ's confirmation)."""
    nombres = tuple(n for n, t in transiciones(OrdenDeTrabajo).items() if t.target == OrdenDeTrabajo.E.ANULADA)
    if not nombres:  # pragma: no cover - the OT machine always has them
        raise RuntimeError("The OT machine has no transition into «anulada».")
    return nombres


# --- the SQL shared by the recompute and the evaluation ----------------------------------------
def _minusculas(expresion: str) -> str:
    if connection.vendor == "postgresql":
        return f"TRANSLATE({expresion}, '{_MAYUSCULAS}', '{_MAYUSCULAS.lower()}')"
    return f"LOWER({expresion})"


def _binario() -> str:
    """MIN over keys by code point, as Python compares them (``Solicitud.poner_claves_calle``)."""
    return ' COLLATE "C"' if connection.vendor == "postgresql" else ""


def _instante(valor: datetime) -> Any:
    """A datetime as the database compares it with a stored one (SQLite: UTC text)."""
    return connection.ops.adapt_datetimefield_value(valor)


def _solicitudes_sql(
    desde: datetime | None, hasta: datetime, problemas_hasta: datetime, alias_hasta: datetime
) -> tuple[str, list[Any]]:
    """``WITH … p AS (…)``: the Solicitudes registered in [desde, hasta) with the keys they were
    registered with and ``problema`` (1/0) as of ``problemas_hasta``; aliases recorded before
    ``alias_hasta``. The caller appends what it selects from ``p``."""
    t = {
        "sol": Solicitud._meta.db_table,
        "obs": Observacion._meta.db_table,
        "aud": RegistroAuditoria._meta.db_table,
        "ot": OrdenDeTrabajo._meta.db_table,
        "corr": Correccion._meta.db_table,
        "alias": AliasCalle._meta.db_table,
        "calle": Calle._meta.db_table,
    }
    tipos = ContentType.objects.get_for_models(Solicitud, OrdenDeTrabajo)  # cached after the first call
    de_orden = anulaciones_orden()
    en_sol = ", ".join(["%s"] * len(ANULACIONES_SOLICITUD))
    en_ot = ", ".join(["%s"] * len(de_orden))
    limite = _instante(problemas_hasta)
    sql = f"""
WITH prob AS (
    SELECT o.solicitud_id AS id FROM {t["obs"]} o WHERE o.creado_at < %s
    UNION
    SELECT a.object_id FROM {t["aud"]} a
    WHERE a.content_type_id = %s AND a.transicion IN ({en_sol}) AND a.creado_at < %s
    UNION
    SELECT ot.solicitud_id FROM {t["aud"]} a JOIN {t["ot"]} ot ON ot.id = a.object_id
    WHERE a.content_type_id = %s AND a.transicion IN ({en_ot}) AND a.creado_at < %s
),
alias AS (
    SELECT a.normalizado AS alias, MIN(c.normalizado{_binario()}) AS canonica
    FROM {t["alias"]} a JOIN {t["calle"]} c ON c.id = a.calle_id
    WHERE a.creado_at < %s AND c.normalizado <> ''
    GROUP BY a.normalizado
),
caja0 AS (
    SELECT c.solicitud_id, c.anterior FROM {t["corr"]} c
    JOIN (SELECT solicitud_id, MIN(id) AS id FROM {t["corr"]} WHERE campo = 'caja_nap' GROUP BY solicitud_id) f
      ON f.id = c.id
),
p AS MATERIALIZED (
    SELECT s.id,
           COALESCE(al.canonica, s.clave_calle) AS calle,
           {_minusculas("TRIM(COALESCE(c0.anterior, s.caja_nap))")} AS caja,
           s.zona_id,
           s.asesor_id,
           {_minusculas("TRIM(s.plan)")} AS plan,
           s.tipo,
           CASE WHEN pr.id IS NULL THEN 0 ELSE 1 END AS problema
    FROM {t["sol"]} s
    LEFT JOIN prob pr ON pr.id = s.id
    LEFT JOIN alias al ON al.alias = s.clave_calle
    LEFT JOIN caja0 c0 ON c0.solicitud_id = s.id
    WHERE s.creado_at < %s{" AND s.creado_at >= %s" if desde is not None else ""}
)"""
    params: list[Any] = [
        limite,
        tipos[Solicitud].pk,
        *ANULACIONES_SOLICITUD,
        limite,
        tipos[OrdenDeTrabajo].pk,
        *de_orden,
        limite,
        _instante(alias_hasta),
        _instante(hasta),
    ]
    if desde is not None:
        params.append(_instante(desde))
    return sql, params


def _agregados_sql(corte: datetime) -> tuple[str, list[Any]]:
    """``WITH …, agregados(factor, clave, etiqueta, total, problemas)``: the history as of ``corte``
    (Solicitudes and problems before it), one row per (factor, key) plus the base row."""
    sql, params = _solicitudes_sql(None, corte, corte, corte)
    User = get_user_model()
    nombre = "TRIM(u.first_name || ' ' || u.last_name)"
    grupo = "COUNT(*), SUM(p.problema)"
    sql += f""",
agregados (factor, clave, etiqueta, total, problemas) AS (
    SELECT 'base', '', '', COUNT(*), COALESCE(SUM(p.problema), 0) FROM p
    UNION ALL
    SELECT 'calle', p.calle, '', {grupo} FROM p WHERE p.calle <> '' GROUP BY p.calle
    UNION ALL
    SELECT 'caja', p.caja, '', {grupo} FROM p WHERE p.caja <> '' GROUP BY p.caja
    UNION ALL
    SELECT 'zona', CAST(p.zona_id AS VARCHAR(20)), MAX(SUBSTR(z.nombre, 1, 200)), {grupo}
    FROM p JOIN {Zona._meta.db_table} z ON z.id = p.zona_id GROUP BY p.zona_id
    UNION ALL
    SELECT 'asesor', CAST(p.asesor_id AS VARCHAR(20)),
           MAX(SUBSTR(CASE WHEN {nombre} = '' THEN u.username ELSE {nombre} END, 1, 200)), {grupo}
    FROM p JOIN {User._meta.db_table} u ON u.id = p.asesor_id GROUP BY p.asesor_id
    UNION ALL
    SELECT 'plan', p.plan, '', {grupo} FROM p WHERE p.plan <> '' GROUP BY p.plan
    UNION ALL
    SELECT 'tipo', p.tipo, '', {grupo} FROM p WHERE p.tipo <> '' GROUP BY p.tipo
)"""
    return sql, params


def agregados(corte: datetime) -> dict[tuple[str, str], tuple[int, int, str]]:
    """{(factor, key): (total, problemas, etiqueta)} as of ``corte``, computed now (one query)."""
    sql, params = _agregados_sql(corte)
    with connection.cursor() as cur:
        cur.execute(sql + " SELECT factor, clave, etiqueta, total, problemas FROM agregados", params)
        return {(f, c): (int(n), int(k), e or "") for f, c, e, n, k in cur.fetchall()}


# --- the recompute -------------------------------------------------------------------------------
def rellenar_claves_calle(lote: int = LOTE_CLAVES) -> int:
    """Write ``clave_calle`` where it is still empty (rows of an older release, SQL), in batches of
    ``lote`` rows by id: per batch one SELECT, one alias lookup and one UPDATE, each batch committed
    on its own outside a caller's transaction. A street whose key is empty stays so (it is passed
    once per run). Returns how many rows got a key."""
    hechas = 0
    ultimo = 0
    while True:
        filas = [
            SimpleNamespace(pk=pk, calle=calle, clave_calle="")
            for pk, calle in Solicitud.objects.filter(clave_calle="", pk__gt=ultimo)
            .order_by("pk")
            .values_list("pk", "calle")[:lote]
        ]
        if not filas:
            return hechas
        ultimo = filas[-1].pk
        Solicitud.poner_claves_calle(filas)
        con_clave = {f.pk: f.clave_calle for f in filas if f.clave_calle}
        if con_clave:
            _escribir_claves(con_clave)
        hechas += len(con_clave)
        if len(filas) < lote:
            return hechas


def _escribir_claves(claves: dict[int, str]) -> None:
    """One UPDATE: on PostgreSQL a join with two arrays, elsewhere a CASE with a branch per key."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {Solicitud._meta.db_table} AS s SET clave_calle = f.clave "
                "FROM unnest(%s::bigint[], %s::text[]) AS f(id, clave) WHERE s.id = f.id AND s.clave_calle = ''",
                [list(claves), list(claves.values())],
            )
        return
    por_clave: dict[str, list[int]] = {}
    for pk, clave in claves.items():
        por_clave.setdefault(clave, []).append(pk)
    Solicitud.objects.filter(pk__in=list(claves), clave_calle="").update(
        clave_calle=Case(*[When(pk__in=pks, then=Value(c)) for c, pks in por_clave.items()], output_field=CharField())
    )


def recalcular_factores(corte: datetime | None = None) -> dict[str, int]:
    """Rewrite the history's aggregates (``FactorRiesgo``) as of ``corte`` (default: now): first the
    street keys still empty, then, in one transaction, DELETE and one INSERT … SELECT … GROUP BY per
    factor (UNION ALL). A constant number of queries once the keys are filled; readers keep seeing
    the previous rows until the commit. Returns {"claves_calle", "factores", "solicitudes",
    "problemas"} (the keys filled, the rows written, the history's totals)."""
    ahora = timezone.now()
    corte = corte or ahora
    claves = rellenar_claves_calle()
    sql, params = _agregados_sql(corte)
    tabla = FactorRiesgo._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":  # a second recompute waits; readers do not
            cur.execute(f"LOCK TABLE {tabla} IN EXCLUSIVE MODE")
        cur.execute(f"DELETE FROM {tabla}")
        cur.execute(
            sql + f" INSERT INTO {tabla} (factor, clave, etiqueta, total, problemas, calculado_at) "
            "SELECT factor, clave, etiqueta, total, problemas, %s FROM agregados",
            [*params, _instante(ahora)],
        )
        es_base = Q(factor=puntaje.BASE, clave="")
        escritas = FactorRiesgo.objects.aggregate(
            factores=Count("pk", filter=~es_base),
            solicitudes=Sum("total", filter=es_base, default=0),
            problemas=Sum("problemas", filter=es_base, default=0),
        )
    return {"claves_calle": claves, **escritas}


# --- the form's preview -------------------------------------------------------------------------
CAMPOS_PREVIA = ("calle", "caja_nap", "plan", "tipo")


def vista_previa(datos: dict[str, Any]) -> dict[str, Any]:
    """The score of a registration not saved yet (the form while it is typed): ``datos`` may hold
    calle, caja_nap, plan, tipo, and zona / asesor (objects or ids; zona_id / asesor_id too).
    Nothing is written; two queries. Returns {"riesgo", "banda", "banda_texto", "motivos",
    "sugerencias"} as ``Solicitud`` stores them (``riesgo`` None and ``banda`` '' without history)."""
    # Raw form input, not validated yet: no NUL (PostgreSQL refuses it in text), no more than
    # the column holds, ids only within a bigint. Whatever is off simply weighs nothing.
    s = Solicitud(
        **{
            c: str(datos.get(c) or "").replace("\x00", "")[: getattr(Solicitud._meta.get_field(c), "max_length", None)]
            for c in CAMPOS_PREVIA
        }
    )
    for campo in ("zona", "asesor"):
        valor = datos.get(campo, datos.get(f"{campo}_id"))
        if isinstance(valor, Model):
            setattr(s, campo, valor)
        elif valor not in (None, ""):
            try:
                pk = int(valor)
            except (TypeError, ValueError):
                continue
            if 0 < pk < 2**63:
                setattr(s, f"{campo}_id", pk)
    FactorRiesgo.puntuar([s])
    return {
        "riesgo": s.riesgo,
        "banda": s.riesgo_banda,
        "banda_texto": BANDA_TEXTO[s.riesgo_banda] if s.riesgo_banda else "",
        "motivos": s.riesgo_motivos,
        "sugerencias": s.riesgo_sugerencias,
    }


# --- the evaluation -----------------------------------------------------------------------------
def _primer_instante(dia: date) -> datetime:
    return timezone.make_aware(datetime(dia.year, dia.month, dia.day))


def _tasa(k: int, n: int) -> float | None:
    return k / n if n else None


def evaluar(mes: date) -> dict[str, Any]:
    """How the score would have done in ``mes`` (any day of it): the month's Solicitudes scored with
    the history before the month's first instant (local time), against whether they were observed
    or cancelled before the next month's first instant. Three queries (content types cached)."""
    inicio = mes.replace(day=1)
    siguiente = (inicio + timedelta(days=32)).replace(day=1)
    corte, fin = _primer_instante(inicio), _primer_instante(siguiente)
    historia = agregados(corte)
    base_fila = historia.get((puntaje.BASE, ""))
    base = base_fila[:2] if base_fila else None
    sql, params = _solicitudes_sql(corte, fin, fin, corte)
    with connection.cursor() as cur:
        cur.execute(sql + " SELECT id, calle, caja, zona_id, asesor_id, plan, tipo, problema FROM p", params)
        filas = cur.fetchall()
    prior, alfa = settings.ANULACIONES_RIESGO_PRIOR, settings.ANULACIONES_RIESGO_ALFA
    alto, medio = settings.ANULACIONES_RIESGO_ALTO, settings.ANULACIONES_RIESGO_MEDIO
    puntuadas: list[tuple[float, int, int, str]] = []  # (riesgo, id, problema, banda)
    sin_puntaje = [0, 0]
    for pk, calle, caja, zona_id, asesor_id, plan, tipo, problema in filas:
        claves = {
            puntaje.CALLE: calle or "",
            puntaje.CAJA: caja or "",
            puntaje.ZONA: str(zona_id) if zona_id else "",
            puntaje.ASESOR: str(asesor_id) if asesor_id else "",
            puntaje.PLAN: plan or "",
            puntaje.TIPO: tipo or "",
        }
        factores: dict[str, tuple[str, tuple[int, int] | None]] = {}
        for f, c in claves.items():
            if c:
                fila = historia.get((f, c))
                factores[f] = ("", fila[:2] if fila else None)
        p = puntaje.puntuar(base, factores, prior=prior, alfa=alfa, alto=alto, medio=medio)
        if p.riesgo is None:
            sin_puntaje[0] += 1
            sin_puntaje[1] += int(problema)
        else:
            puntuadas.append((p.riesgo, pk, int(problema), p.banda))
    n = len(filas)
    k = sum(int(f[-1]) for f in filas)
    puntuadas.sort(key=lambda x: (-x[0], x[1]))
    decil = puntuadas[: math.ceil(len(puntuadas) / 10)]
    decil_k = sum(x[2] for x in decil)
    altos = [x for x in puntuadas if x[3] == puntaje.ALTO]
    altos_k = sum(x[2] for x in altos)
    bandas = []
    for b in BANDAS:
        de_banda = [x for x in puntuadas if x[3] == b]
        bandas.append(
            {
                "banda": b,
                "banda_texto": BANDA_TEXTO[b],
                "n": len(de_banda),
                "riesgo_medio": sum(x[0] for x in de_banda) / len(de_banda) if de_banda else None,
                "tasa_observada": _tasa(sum(x[2] for x in de_banda), len(de_banda)),
            }
        )
    if sin_puntaje[0]:
        bandas.append(
            {
                "banda": "",
                "banda_texto": BANDA_TEXTO[""],
                "n": sin_puntaje[0],
                "riesgo_medio": None,
                "tasa_observada": _tasa(sin_puntaje[1], sin_puntaje[0]),
            }
        )
    return {
        "mes": f"{inicio:%Y-%m}",
        "solicitudes": n,
        "problemas": k,
        "tasa_base": _tasa(k, n),
        "decil_superior": {"n": len(decil), "problemas": decil_k, "tasa": _tasa(decil_k, len(decil))},
        "alto": {"n": len(altos), "precision": _tasa(altos_k, len(altos)), "recall": _tasa(altos_k, k)},
        "bandas": bandas,
        "historia": {
            "solicitudes": base[0] if base else 0,
            "problemas": base[1] if base else 0,
            "tasa": _tasa(base[1], base[0]) if base else None,
        },
        "corte_datos": corte.isoformat(),
        "fin_resultados": fin.isoformat(),
    }


# Seconds an evaluation is kept; any new Solicitud, observation or audit row changes its key anyway.
EVALUACION_SEGUNDOS = 6 * 3600


def evaluar_guardada(mes: date) -> dict[str, Any]:
    """``evaluar(mes)`` through the cache (the pages and the API): 5.3 s at 1,000,000
    Solicitudes, for figures that only change when data is written. The key holds the month, the
    score's settings, the newest id of every table it reads rows from (Solicitudes, observations,
    audit rows, corrections, aliases) and the last recompute (which also fills street keys): one
    query of index-only maxima. A new row, a change through the transition path (it writes an
    audit row) or a recompute gives a new key. A change written around the application (SQL,
    shell) is seen when the entry expires (EVALUACION_SEGUNDOS)."""
    from django.core.cache import cache

    tablas = (Solicitud, Observacion, RegistroAuditoria, Correccion, AliasCalle)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT "
            + ", ".join(f"(SELECT max(id) FROM {m._meta.db_table})" for m in tablas)
            + f", (SELECT max(calculado_at) FROM {FactorRiesgo._meta.db_table})"
        )
        sello = cur.fetchone()
    ajustes = (
        settings.ANULACIONES_RIESGO_PRIOR,
        settings.ANULACIONES_RIESGO_ALFA,
        settings.ANULACIONES_RIESGO_ALTO,
        settings.ANULACIONES_RIESGO_MEDIO,
        settings.TIME_ZONE,
    )
    huella = hashlib.sha256(repr((*ajustes, *sello)).encode()).hexdigest()[:32]  # a key any cache takes
    clave = f"riesgo:evaluacion:{mes:%Y-%m}:{huella}"
    guardada = cache.get(clave)
    if guardada is None:
        guardada = evaluar(mes)
        cache.set(clave, guardada, EVALUACION_SEGUNDOS)
    return guardada
