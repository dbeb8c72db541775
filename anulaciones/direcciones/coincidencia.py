"""The check of an address at registration (step 1, and the API): what an asesor typed against
the knowledge, with a constant number of queries (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Q, QuerySet

from ..models import AliasCalle, CajaNap, Calle, Observacion, PuntoReferencia, Solicitud, Zona
from ..texto import normalizar, normalizar_codigo

# Observations whose cause is an address: what the knowledge exists to prevent (the map shows them).
CAUSAS_DIRECCION = (Observacion.Causa.CALLE, Observacion.Causa.CAJA_NAP)
MAX_CANDIDATOS = 10
MAX_CANDIDATOS_SIN_TRIGRAMAS = 500

# What is matched by its normalized key.
Conocido = TypeVar("Conocido", AliasCalle, Calle, PuntoReferencia)


# --- distance ------------------------------------------------------------------------------------
def distancia(a: str, b: str, tope: int = 2) -> int:
    """Levenshtein distance of a and b (any value above ``tope`` returned as tope + 1)."""
    if abs(len(a) - len(b)) > tope:
        return tope + 1
    previa = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        actual = [i]
        for j, cb in enumerate(b, 1):
            actual.append(min(previa[j] + 1, actual[j - 1] + 1, previa[j - 1] + (ca != cb)))
        if min(actual) > tope:
            return tope + 1
        previa = actual
    return previa[-1]


def tolerancia(n: str) -> int:
    return 2 if len(n) >= 12 else 1


def _trigramas() -> bool:
    return connection.vendor == "postgresql"


def _candidatos(qs: QuerySet[Conocido], n: str) -> list[Conocido]:
    """Rows of ``qs`` whose key is close to ``n`` (bounded by an index on every backend)."""
    if not n:
        return []
    if _trigramas():
        from django.contrib.postgres.search import TrigramDistance  # PostgreSQL only

        # Nearest names first, straight from the GiST trigram index (KNN "<->" ordering): no
        # similarity threshold, so short names with one wrong letter ("bush"/"buch") are found too.
        qs = qs.annotate(distancia_trgm=TrigramDistance("normalizado", n)).order_by("distancia_trgm")
        limite = MAX_CANDIDATOS
    else:
        largo = Q(largo__gte=len(n) - 1, largo__lte=len(n) + 1)
        qs = qs.filter((Q(prefijo=n[:2]) & largo) | (Q(sufijo=n[-2:]) & largo))
        limite = MAX_CANDIDATOS_SIN_TRIGRAMAS
    return list(qs[:limite])


def _mas_cercano(filas: Iterable[Conocido], n: str) -> Conocido | None:
    mejor: Conocido | None = None
    dist: int | None = None
    for fila in filas:
        d = distancia(n, fila.normalizado, tolerancia(n))
        if d <= tolerancia(n) and (dist is None or d < dist):
            mejor, dist = fila, d
    return mejor


# --- the check at registration (step 1, and the API) --------------------------------------------
def _zona_q(zona_id: int | None, campo: str = "zona") -> Q:
    return Q(**{f"{campo}_id": zona_id}) | Q(**{f"{campo}__isnull": True}) if zona_id else Q()


def verificar(
    *, calle: str = "", zona: Zona | int | None = None, referencias: str = "", caja_nap: str = ""
) -> list[dict[str, Any]]:
    """Warnings for the address an asesor typed: [{campo, tipo, valor, sugerencia, mensaje}].

    - a known wrong street name (alias), exactly or with one letter wrong -> the correct name;
    - a name one letter away from a known correct one -> "¿quiso decir …?";
    - a reference point or a box known in another zone -> that zone.
    A correct name, an unknown name or a box of the same zone give no warning. At most 7 queries.
    """
    zona_id = (zona.pk if isinstance(zona, Zona) else zona) or None
    advertencias: list[dict[str, Any]] = []
    n = normalizar(calle)
    if n:
        calles = Calle.objects.filter(_zona_q(zona_id))
        aliases = AliasCalle.objects.filter(_zona_q(zona_id, "calle__zona")).select_related("calle")
        if not calles.filter(normalizado=n).exists():
            alias = aliases.filter(normalizado=n).first()
            exacto = alias is not None
            if alias is None:
                alias = _mas_cercano(_candidatos(aliases, n), n)
            parecida = None if alias else _mas_cercano(_candidatos(calles, n), n)
            if alias is not None:
                correcta = alias.calle.nombre
                advertencias.append(
                    {
                        "campo": "calle",
                        "tipo": "alias",
                        "valor": calle,
                        "sugerencia": correcta,
                        "mensaje": (
                            f"«{calle}» es un nombre erróneo conocido"
                            if exacto
                            else f"«{calle}» se parece a «{alias.nombre}», un nombre erróneo conocido"
                        )
                        + f" de la calle «{correcta}». Verifique la dirección con el cliente.",
                    }
                )
            elif parecida is not None and parecida.normalizado != n:
                advertencias.append(
                    {
                        "campo": "calle",
                        "tipo": "parecida",
                        "valor": calle,
                        "sugerencia": parecida.nombre,
                        "mensaje": f"No se conoce la calle «{calle}»: ¿quiso decir «{parecida.nombre}»?",
                    }
                )
    n = normalizar(referencias)
    if n and zona_id:
        puntos = list(PuntoReferencia.objects.filter(normalizado=n).select_related("zona")[:MAX_CANDIDATOS])
        if not puntos:
            cercano = _mas_cercano(_candidatos(PuntoReferencia.objects.select_related("zona"), n), n)
            puntos = [cercano] if cercano else []
        if puntos and not any(p.zona_id == zona_id for p in puntos):
            p = puntos[0]
            advertencias.append(
                {
                    "campo": "referencias",
                    "tipo": "otra_zona",
                    "valor": referencias,
                    "sugerencia": p.zona.nombre,
                    "mensaje": f"El punto de referencia «{p.nombre}» está registrado en la zona «{p.zona.nombre}», "
                    "no en la zona elegida.",
                }
            )
    codigo = normalizar_codigo(caja_nap)
    if codigo and zona_id:
        caja = CajaNap.objects.filter(codigo_normalizado=codigo).select_related("zona").first()
        if caja is not None and caja.zona_id != zona_id:
            advertencias.append(
                {
                    "campo": "caja_nap",
                    "tipo": "otra_zona",
                    "valor": caja_nap,
                    "sugerencia": caja.zona.nombre,
                    "mensaje": f"La caja / NAP «{caja.codigo}» pertenece a la zona «{caja.zona.nombre}», "
                    "no a la zona elegida.",
                }
            )
    return advertencias


def observaciones_prevenidas(zona: Zona | None = None) -> int:
    """Solicitudes registered with an accepted address warning and never observed."""
    qs = Solicitud.objects.filter(advertencia_aceptada=True, caso__probable_at__isnull=True)
    if zona is not None:
        qs = qs.filter(zona=zona)
    return qs.count()
