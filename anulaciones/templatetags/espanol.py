"""``{% load espanol %}``: counts in Spanish (anulaciones/espanol.py).

{{ n|cuenta:"caso,casos" }}       «1 caso», «3 casos», «12.345 casos»
{{ n|plural:"digitada,digitadas" }}  the word alone, agreeing with n
{{ n|numero }}                    «12.345»
"""

from django import template

from .. import espanol

register = template.Library()


def _formas(formas):
    singular, _, plural = formas.partition(",")
    return singular, plural or singular


@register.filter
def cuenta(n, formas):
    return espanol.cuenta(n, *_formas(formas))


@register.filter
def plural(n, formas):
    return espanol.palabra(n, *_formas(formas))


@register.filter
def numero(n):
    return espanol.numero(n)
