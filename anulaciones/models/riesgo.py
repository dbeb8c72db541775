"""The history the risk at entry is scored from (issue 19): per factor of a Solicitud (its street,
box/NAP, zone, asesor, plan, request type) and value, how many Solicitudes had it and how many of
those were observed or cancelled, plus one row ``factor="base"`` with the totals (the base rate).

The rows are recomputed set-based by ``anulaciones.riesgo.recalcular_factores`` (the nightly task
``recalcular_riesgo``); a registration reads only the rows it needs (``FactorRiesgo.puntuar``: one
query for a whole batch, plus one for the street aliases) and scores with ``anulaciones.puntaje``.

The keys (``claves``) are computed here in Python and by the recompute in SQL; both must agree:
the street's key is ``Solicitud.clave_calle``; a box/NAP or plan is its text trimmed of spaces
with its ASCII letters in lower case (``clave_texto``; SQL: TRIM and LOWER / TRANSLATE); zone and
asesor their ids; the request type its value.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models

from .. import puntaje

if TYPE_CHECKING:
    from .solicitud import Solicitud

# Solicitudes scored per query: keeps each query's parameters far below SQLite's limit (32,766)
# whatever the size of a bulk call (an import batch, ANULACIONES_IMPORTACION_LOTE, is one query).
LOTE_PUNTAJE = 5_000  # at most 5 keys each besides the type: 25,000 parameters
_MAYUSCULAS = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def clave_texto(valor: str | None) -> str:
    """The key of a box/NAP or a plan: spaces trimmed, ASCII letters in lower case (what SQL's
    TRIM + LOWER does on SQLite and TRIM + TRANSLATE on PostgreSQL, whatever the collation)."""
    return (valor or "").strip(" ").translate(_MAYUSCULAS)[:200]


class FactorRiesgo(models.Model):
    """Aggregates of the history per (factor, key). Never edited by hand: rewritten whole by the
    recompute."""

    class Factor(models.TextChoices):
        BASE = puntaje.BASE, "Total (tasa base)"
        CALLE = puntaje.CALLE, "Calle"
        CAJA = puntaje.CAJA, "Caja / NAP"
        ZONA = puntaje.ZONA, "Zona"
        ASESOR = puntaje.ASESOR, "Asesor"
        PLAN = puntaje.PLAN, "Plan"
        TIPO = puntaje.TIPO, "Tipo de solicitud"

    factor = models.CharField(max_length=10, choices=Factor.choices)
    clave = models.CharField(max_length=200, blank=True)
    # How the key is named in a reason: the zone's and the asesor's names (the other keys are
    # named by the Solicitud's own text).
    etiqueta = models.CharField(max_length=200, blank=True, default="", db_default="")
    total = models.PositiveIntegerField("solicitudes")
    problemas = models.PositiveIntegerField("observadas o anuladas")
    calculado_at = models.DateTimeField("calculado")

    class Meta:
        ordering = ["factor", "clave"]
        verbose_name = "factor de riesgo"
        verbose_name_plural = "factores de riesgo"
        constraints = [models.UniqueConstraint(fields=["factor", "clave"], name="anul_factor_riesgo_clave")]

    def __str__(self) -> str:
        return f"{self.get_factor_display()} {self.etiqueta or self.clave}: {self.problemas} de {self.total}"

    # --- the keys of a Solicitud --------------------------------------------------------------
    @staticmethod
    def claves(s: Solicitud) -> dict[str, str]:
        """{factor: key} of the factors ``s`` has (``clave_calle`` already set). An empty street
        key, box/NAP or plan is no factor."""
        claves = {
            puntaje.CALLE: s.clave_calle,
            puntaje.CAJA: clave_texto(s.caja_nap),
            puntaje.ZONA: str(s.zona_id) if s.zona_id else "",
            puntaje.ASESOR: str(s.asesor_id) if s.asesor_id else "",
            puntaje.PLAN: clave_texto(s.plan),
            puntaje.TIPO: s.tipo or "",
        }
        return {f: c for f, c in claves.items() if c}

    @staticmethod
    def _texto(s: Solicitud, factor: str, etiqueta: str, calles: dict[str, str]) -> str:
        """How a reason names the Solicitud's value of ``factor``."""
        if factor == puntaje.CALLE:
            return calles.get(s.clave_calle) or (s.calle or "").strip()
        if factor == puntaje.CAJA:
            return (s.caja_nap or "").strip()
        if factor == puntaje.PLAN:
            return (s.plan or "").strip()
        if factor == puntaje.TIPO:
            return str(dict(type(s).Tipo.choices).get(s.tipo, s.tipo)).lower()
        return etiqueta or "(sin nombre)"

    # --- scoring ------------------------------------------------------------------------------
    @classmethod
    def puntuar(cls, solicitudes: list[Solicitud]) -> None:
        """Score unsaved (or saved) Solicitudes with the history as it is now: set ``clave_calle``,
        ``riesgo``, ``riesgo_banda``, ``riesgo_motivos`` and ``riesgo_sugerencias`` on each. Nothing
        is written. At most two queries per LOTE_PUNTAJE Solicitudes: the street aliases
        (``Solicitud.poner_claves_calle``) and the base row with every (factor, key) they need."""
        for inicio in range(0, len(solicitudes), LOTE_PUNTAJE):
            lote = solicitudes[inicio : inicio + LOTE_PUNTAJE]
            for s, p in zip(lote, cls.puntajes(lote), strict=True):
                s.riesgo = p.riesgo
                s.riesgo_banda = p.banda
                s.riesgo_motivos = p.motivos_guardados()
                s.riesgo_sugerencias = p.sugerencias

    @classmethod
    def puntajes(cls, solicitudes: list[Solicitud]) -> list[puntaje.Puntaje]:
        """The scores of ``solicitudes`` (sets their ``clave_calle``, nothing else): two queries."""
        if not solicitudes:
            return []
        modelo = type(solicitudes[0])
        calles = modelo.poner_claves_calle(solicitudes)
        claves = [cls.claves(s) for s in solicitudes]
        pedidas: defaultdict[str, set[str]] = defaultdict(set)
        for c in claves:
            for f, clave in c.items():
                pedidas[f].add(clave)
        # Plain SQL, one OR per factor (each an index range of the unique (factor, clave)): at
        # registration the ORM's compilation of this query cost several times the query itself.
        condiciones = ["(factor = %s AND clave = %s)"]
        params: list[str] = [puntaje.BASE, ""]
        for f, valores in sorted(pedidas.items()):
            condiciones.append(f"(factor = %s AND clave IN ({', '.join(['%s'] * len(valores))}))")
            params += [f, *sorted(valores)]
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT factor, clave, total, problemas, etiqueta FROM {cls._meta.db_table} "
                f"WHERE {' OR '.join(condiciones)}",
                params,
            )
            filas = {(f, c): (total, problemas, etiqueta) for f, c, total, problemas, etiqueta in cur.fetchall()}
        base = filas.get((puntaje.BASE, ""))
        return [
            cls.puntaje_de(s, c, filas, base[:2] if base else None, calles)
            for s, c in zip(solicitudes, claves, strict=True)
        ]

    @classmethod
    def puntaje_de(
        cls,
        s: Solicitud,
        claves: dict[str, str],
        filas: dict[tuple[str, str], tuple[int, int, str]],
        base: tuple[int, int] | None,
        calles: dict[str, str],
        **ajustes: Any,
    ) -> puntaje.Puntaje:
        """One score from aggregates at hand (``filas``: {(factor, key): (total, problemas,
        etiqueta)}); ``ajustes`` override the settings (prior, alfa, alto, medio)."""
        factores: dict[str, tuple[str, tuple[int, int] | None]] = {}
        for f, clave in claves.items():
            fila = filas.get((f, clave))
            factores[f] = (cls._texto(s, f, fila[2] if fila else "", calles), fila[:2] if fila else None)
        return puntaje.puntuar(
            base,
            factores,
            prior=ajustes.get("prior", settings.ANULACIONES_RIESGO_PRIOR),
            alfa=ajustes.get("alfa", settings.ANULACIONES_RIESGO_ALFA),
            alto=ajustes.get("alto", settings.ANULACIONES_RIESGO_ALTO),
            medio=ajustes.get("medio", settings.ANULACIONES_RIESGO_MEDIO),
            caja_vacia=not (s.caja_nap or "").strip(),
        )
