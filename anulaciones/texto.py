"""Matching keys of names typed by people (base layer: no models, no services).

The address knowledge (``anulaciones.direcciones``) and its models store every street, reference
point and box/NAP with one of these keys in an indexed column, so both must compute it the same
way: this module is the one definition."""

from __future__ import annotations

import re
import unicodedata

# Street-type words dropped from the front of a name: «Av. Sucre», «Calle Sucre» and «Sucre» are
# one street.
PREFIJOS = {"av", "avenida", "avda", "calle", "c", "cl", "cll", "pasaje", "pje", "psje", "pasj"}


def sin_acentos(texto: str | None) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", texto or "") if not unicodedata.combining(c))


def normalizar(texto: str | None) -> str:
    """ "Av. Héroes del  Chaco" -> "heroes del chaco"; "CALLE Sucre" -> "sucre"."""
    palabras = re.sub(r"[^0-9a-zñ]+", " ", sin_acentos(texto).lower().replace("ñ", "n")).split()
    while len(palabras) > 1 and palabras[0] in PREFIJOS:
        palabras = palabras[1:]
    return " ".join(palabras)[:200]


def normalizar_codigo(codigo: str | None) -> str:
    """ "nap-01 " -> "NAP01": a box code without case, spaces or separators."""
    return re.sub(r"[^0-9A-Z]", "", sin_acentos(codigo).upper())[:60]
