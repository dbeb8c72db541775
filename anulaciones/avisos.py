"""Notices as people read them. A ``Notificacion`` stores facts (kind, recipient, the objects it
refers to); its title, text and link are rendered here, from the template
``notificaciones/avisos/<tipo>.txt`` (``<tipo>_lote.txt`` for a batch summary), whenever the
notice is shown (the notifications page, the admin) or mailed. Each text has this one source.

A template defines three blocks: ``titulo``, ``texto`` and ``enlace`` (a path). Whitespace inside
a block is collapsed, so the templates can be laid out for reading. The context: ``n`` (the
notice), ``servicio``, ``solicitud``, ``orden``, ``entrega``, ``datos`` and, for a batch,
``servicios`` (its first SIs) and ``total``.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, cast

from django.template import Context
from django.template.loader import get_template
from django.template.loader_tags import BlockNode

from .models import ServicioIngenieria

if TYPE_CHECKING:
    from django.template.backends.django import Template as PlantillaDjango

# What rendering reads: select_related these on a queryset of notices (a constant number of
# queries per page whatever the number of notices).
RELACIONADOS = ("servicio__solicitud", "solicitud", "orden", "entrega")
BLOQUES = ("titulo", "texto", "enlace")


@dataclass(frozen=True)
class Aviso:
    """A rendered notice: the fields of the Notificacion plus ``titulo``, ``texto`` and ``url``."""

    notificacion: object
    titulo: str
    texto: str
    url: str

    def __getattr__(self, nombre):
        return getattr(self.notificacion, nombre)


@lru_cache(maxsize=64)
def _plantilla(nombre):
    plantilla = cast("PlantillaDjango", get_template(nombre)).template  # the Django engine's, with its nodes
    bloques = cast("list[BlockNode]", plantilla.nodelist.get_nodes_by_type(BlockNode))  # of that type only
    return plantilla, {b.name: b for b in bloques}


def _bloques(nombre, contexto):
    plantilla, bloques = _plantilla(nombre)
    ctx = Context(contexto, autoescape=False)  # plain text: the HTML pages escape it when they show it
    with ctx.bind_template(plantilla):
        return {b: " ".join(bloques[b].nodelist.render(ctx).split()) if b in bloques else "" for b in BLOQUES}


def nombre_plantilla(n):
    return f"notificaciones/avisos/{n.tipo}{'_lote' if 'servicios' in n.datos else ''}.txt"


def presentar(notificaciones):
    """[Aviso] of the notices, in their order. Reads the SIs of batch summaries in one query; the
    rest comes from ``RELACIONADOS`` (select them with the notices)."""
    notificaciones = list(notificaciones)
    ids = {pk for n in notificaciones for pk in n.datos.get("servicios", ())}
    servicios = ServicioIngenieria.objects.select_related("solicitud").in_bulk(ids) if ids else {}
    res = []
    for n in notificaciones:
        lote = [servicios[pk] for pk in n.datos.get("servicios", ()) if pk in servicios]
        b = _bloques(
            nombre_plantilla(n),
            {
                "n": n,
                "servicio": n.servicio,
                "solicitud": n.solicitud,
                "orden": n.orden,
                "entrega": n.entrega,
                "datos": n.datos,
                "servicios": lote,
                "total": n.datos.get("total", len(lote)),
            },
        )
        res.append(Aviso(n, b["titulo"], b["texto"], b["enlace"]))
    return res
