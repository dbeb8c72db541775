"""Zonifications feed the address knowledge (issue 7): connected once, by
``AnulacionesConfig.ready`` (``conectar``)."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Model

from ..errors import DatosInvalidos
from ..models import RegistroAuditoria, Zonificacion
from ..signals import transicion_realizada
from .escritura import aprender_de_zonificacion

logger = logging.getLogger("anulaciones.direcciones")


def _al_recibir(sender: type[Model], registro: RegistroAuditoria, objeto: Zonificacion, **kwargs: Any) -> None:
    if registro.transicion == "recibir" and registro.estado_origen == "":
        try:
            aprender_de_zonificacion(objeto)
        except DatosInvalidos as e:  # the zonification stands; only this piece of knowledge is lost
            logger.warning("Zonificación %s no alimentó el conocimiento de direcciones: %s", objeto.pk, e.errores)


def conectar() -> None:
    transicion_realizada.connect(_al_recibir, sender=Zonificacion, dispatch_uid="direcciones_zonificacion")
