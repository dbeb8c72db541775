"""Who records, reads and imports the address knowledge (the pages, the API and the
navigation bar read these same sets)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import SinPermiso
from ..roles import Rol, roles_de

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ROLES_REGISTRO = (Rol.GESTION_RED, Rol.COC, Rol.TECNICO)
ROLES_MAPA = (Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION)
ROLES_IMPORTACION = (Rol.GESTION_RED,)


def exigir(usuario: User, roles: Iterable[str], mensaje: str) -> None:
    if not roles_de(usuario) & set(roles):
        raise SinPermiso(mensaje)
