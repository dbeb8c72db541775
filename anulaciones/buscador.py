"""The search box's text (issue 15, item 5): what a Solicitud is found by, and how what was typed
is read. Pure functions (no model imports): the model, the selector and the data migration
share them.

Each Solicitud keeps one normalized column, ``Solicitud.busqueda`` (lower case, accents
removed, every other character a space), built by ``texto_de_busqueda``::

     juana perez 1234567 lp 71234567 calle murillo 77 sf 100200 ot 777001 #1234567lp# #1234567# ...

- the words of the client's name, document, phone, street and door number, Smartflex and OT
  numbers, between single spaces and with a space at both ends (so " murillo 77 " is the
  street with its door number as whole words, and " per" the start of a word);
- each number (document, phone, Smartflex, OT) once more as ``#compact#`` (letters and digits
  without spaces: "sf100200") and ``#digits#`` ("100200"), so a number typed with other
  punctuation or without its letters is an *exact* match (``%#100200#%``) and its start a
  *prefix* one (``%#1002%``). ``#`` never appears in a normalized query.

One column, so PostgreSQL answers every shape of query from one trigram GIN index (migration
0014; pg_trgm treats ``#`` and spaces as word boundaries, so even ``%#77#%`` uses it); SQLite
reads the same column with a plain LIKE.
"""

import re
import unicodedata
from dataclasses import dataclass, field

MAX_CARACTERES = 100  # what may be typed (the SI/number forms and a full name with street fit)
# A word shorter than a trigram is looked for at the start of a word ("sf", "pe"): inside words
# it would match nearly everything and no trigram index could narrow it.
MIN_PALABRA = 3
# More matches than this and the text is too broad to rank ("calle" matches every row): only the
# exact numbers are listed, with a request to be more precise (the check reads at most this many).
MAX_RESULTADOS = 5000
_SI = re.compile(r"^si ?(\d{1,18})$")


def normalizar(texto):
    """Lower case, accents removed, letters and digits kept, anything else one space:
    "Pérez, Juan" → "perez juan"; "SF-100200" → "sf 100200"."""
    texto = unicodedata.normalize("NFKD", str(texto or ""))
    texto = "".join(c for c in texto if not unicodedata.combining(c)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in texto).split())


def compacto(texto):
    return normalizar(texto).replace(" ", "")


def digitos(texto):
    return "".join(c for c in normalizar(texto) if c in "0123456789")


def _formas_de_numero(valor):
    formas = [compacto(valor), digitos(valor)]
    d = formas[1]
    if len(d) == 11 and d.startswith("591"):  # a Bolivian phone with its country code
        formas.append(d[3:])
    return [f for f in formas if f]


def texto_de_busqueda(
    *,
    cliente_nombre="",
    cliente_documento="",
    cliente_telefono="",
    calle="",
    numero_puerta="",
    numero_smartflex="",
    numero_ot="",
):
    """The value of ``Solicitud.busqueda`` (see the module docstring)."""
    palabras = [
        normalizar(v)
        for v in (
            cliente_nombre,
            cliente_documento,
            cliente_telefono,
            f"{calle or ''} {numero_puerta or ''}",
            numero_smartflex,
            numero_ot,
        )
    ]
    marcas = []
    for valor in (cliente_documento, cliente_telefono, numero_smartflex, numero_ot):
        for forma in _formas_de_numero(valor):
            if forma not in marcas:
                marcas.append(forma)
    return " " + " ".join([p for p in palabras if p] + [f"#{m}#" for m in marcas]) + " "


@dataclass
class Consulta:
    """What was typed, read: ``error`` (a message for the user) or the normalized forms."""

    original: str = ""
    texto: str = ""  # normalized: "murillo 77"
    compacto: str = ""  # "murillo77"
    palabras: list = field(default_factory=list)  # each must be found, in any order (a short one
    # at the start of a word: "77" in "murillo 77", not inside a phone number)
    si: int | None = None  # a ServicioIngenieria number ("SI 123", or a bare number)
    si_explicito: bool = False  # typed as "SI 123"
    con_digitos: bool = False  # only a text with digits can be a number (exact or prefix match)
    solo_exacta: bool = False  # a short number: only exact matches (and the SI)
    error: str = ""

    @property
    def valida(self):
        return bool(self.texto) and not self.error


def leer(q):
    """Read a search box's text: control characters (NUL, which PostgreSQL refuses, tabs, line
    ends) are spaces; too long, or without a letter or a digit: ``error``."""
    original = re.sub(r"[\x00-\x1f\x7f]+", " ", q or "").strip()
    c = Consulta(original=original)
    if not original:
        return c
    if len(original) > MAX_CARACTERES:
        c.error = (
            f"La búsqueda es demasiado larga ({len(original)} caracteres): escriba como máximo "
            f"{MAX_CARACTERES}, por ejemplo el apellido del cliente o el número."
        )
        return c
    c.texto = normalizar(original)
    if not c.texto:
        c.error = (
            "La búsqueda no tiene letras ni números. Escriba un nombre, un documento, un teléfono, "
            "una calle con su número, o un número de solicitud, de OT o de SI."
        )
        return c
    c.compacto = c.texto.replace(" ", "")
    c.con_digitos = any(ch in "0123456789" for ch in c.compacto)
    # Each word once; one contained in another adds nothing.
    unicas = list(dict.fromkeys(c.texto.split()))
    c.palabras = [p for p in unicas if not any(p != o and p in o for o in unicas)]
    m = _SI.match(c.texto)
    if m:  # "SI 123": that SI's case, and nothing that merely contains "si" and "123"
        c.si, c.si_explicito, c.solo_exacta = int(m.group(1)), True, True
        return c
    if c.compacto.isdigit() and len(c.compacto) <= 18:
        c.si = int(c.compacto)
    if c.compacto.isdigit() and len(c.compacto) < MIN_PALABRA:  # "12": SI 12 or a number that is 12
        c.solo_exacta = True
    return c


# --- filling the column (data migration, maintenance) ------------------------------------
CAMPOS = ("cliente_nombre", "cliente_documento", "cliente_telefono", "calle", "numero_puerta", "numero_smartflex")


def rellenar(modelo, connection, *, lote=2000, solo_vacias=False, log=None):
    """Write ``busqueda`` for every row of ``modelo`` (the Solicitud model, historical or not),
    in batches by primary key, each in its own transaction. Returns the rows written."""
    from django.db import transaction

    tabla = connection.ops.quote_name(modelo._meta.db_table)
    ultimo, total = 0, 0
    while True:
        qs = modelo.objects.filter(pk__gt=ultimo).order_by("pk")
        if solo_vacias:
            qs = qs.filter(busqueda="")
        filas = list(qs.values_list("pk", *CAMPOS, "orden__numero")[:lote])
        if not filas:
            return total
        valores = [
            (texto_de_busqueda(**dict(zip(CAMPOS, f[1:7], strict=False)), numero_ot=f[7] or ""), f[0]) for f in filas
        ]
        with transaction.atomic(using=connection.alias), connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute(
                    f"UPDATE {tabla} AS s SET busqueda = v.b FROM unnest(%s::bigint[], %s::text[]) "
                    "AS v(id, b) WHERE s.id = v.id",
                    [[pk for _, pk in valores], [b for b, _ in valores]],
                )
            else:
                cur.executemany(f"UPDATE {tabla} SET busqueda = %s WHERE id = %s", valores)
        ultimo, total = filas[-1][0], total + len(filas)
        if log:
            log(total)
