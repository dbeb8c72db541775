"""Spanish as people write it (issue 15.9): a count and its noun agree — «1 caso», «3 casos»,
«0 casos», never «caso(s)» — through ``ngettext`` (Spanish plural rule: singular for 1 only),
and whole numbers grouped by thousands with a point, as the project writes them elsewhere
(«12.345»; decimals with a comma come from Django's «es» formats)."""

from django.utils.numberformat import format as formato_numero
from django.utils.translation import ngettext


def numero(n):
    """12345 -> «12.345»; 1234 -> «1.234»."""
    return formato_numero(n, ",", grouping=3, thousand_sep=".", force_grouping=True)


def palabra(n, singular, plural):
    """The form that agrees with ``n``: palabra(1, "caso", "casos") -> «caso»."""
    return ngettext(singular, plural, n)


def cuenta(n, singular, plural):
    """«1 caso», «3 casos», «12.345 casos»."""
    return f"{numero(n)} {palabra(n, singular, plural)}"
