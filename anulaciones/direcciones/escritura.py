"""Recording knowledge: a street with its wrong names, a reference point, a box/NAP — from a
case (3.3), from a zonification (20) or from a GIS layer."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.db import transaction

from ..errors import DatosInvalidos, SinPermiso
from ..models import AliasCalle, CajaNap, Calle, PuntoReferencia, Solicitud, Zona, Zonificacion
from ..models.direcciones import Origen
from ..models.zonificacion import LAT_MAX, LAT_MIN, LON_MAX, LON_MIN
from ..texto import normalizar, normalizar_codigo
from .acceso import ROLES_REGISTRO, exigir

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A coordinate as typed (text, with a decimal point or comma), as a number, or none.
Coordenada = Decimal | float | str | None


def _decimal(valor: Coordenada, campo: str, errores: dict[str, str]) -> Decimal | None:
    if valor in (None, ""):
        return None
    try:
        d = Decimal(str(valor).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        errores[campo] = "Escriba grados decimales (por ejemplo -16.500000)."
        return None
    if not d.is_finite() or abs(d) > 1000:  # 1e400 or 1e28: quantize() below would fail (a 500)
        errores[campo] = "Escriba grados decimales (por ejemplo -16.500000)."
        return None
    return d.quantize(Decimal("0.000001"))


def validar_coordenadas(
    latitud: Coordenada, longitud: Coordenada, obligatorias: bool = False
) -> tuple[Decimal | None, Decimal | None]:
    """(lat, lon) as Decimals inside Bolivia's bounding box, or DatosInvalidos per field."""
    errores: dict[str, str] = {}
    lat = _decimal(latitud, "latitud", errores)
    lon = _decimal(longitud, "longitud", errores)
    if not errores:
        if (lat is None) != (lon is None) or (obligatorias and lat is None):
            errores["longitud" if lon is None else "latitud"] = "Indique latitud y longitud."
        if lat is not None and not LAT_MIN <= lat <= LAT_MAX:
            errores["latitud"] = f"La latitud debe estar entre {LAT_MIN} y {LAT_MAX} (Bolivia)."
        if lon is not None and not LON_MIN <= lon <= LON_MAX:
            errores["longitud"] = f"La longitud debe estar entre {LON_MIN} y {LON_MAX} (Bolivia)."
    if errores:
        raise DatosInvalidos(errores)
    return lat, lon


def campo_texto(valor: object, campo: str, errores: dict[str, str], largo: int = 200, obligatorio: bool = True) -> str:
    """A typed text, stripped; its problem (required, too long, control characters) goes to ``errores``."""
    valor = (valor or "").strip() if isinstance(valor, str) or valor is None else str(valor).strip()
    if obligatorio and not valor:
        errores[campo] = "Este campo es obligatorio."
    elif len(valor) > largo:
        errores[campo] = f"Máximo {largo} caracteres."
    elif any(ord(c) < 32 for c in valor):
        errores[campo] = "Contiene caracteres de control."
    return valor


def registrar_calle(
    usuario: User,
    *,
    nombre: str | None,
    aliases: str | Iterable[str] = (),
    zona: Zona | None = None,
    solicitud: Solicitud | None = None,
    latitud: Coordenada = None,
    longitud: Coordenada = None,
    origen: str = Origen.CASO,
) -> Calle:
    """A street's correct name and the wrong names people typed for it. An alias already known
    for another street now points to this one (the latest correction wins)."""
    errores: dict[str, str] = {}
    nombre = campo_texto(nombre, "nombre", errores)
    if isinstance(aliases, str):
        aliases = re.split(r"[;\n]", aliases)
    aliases = [campo_texto(a, "aliases", errores, obligatorio=False) for a in aliases]
    if not normalizar(nombre) and "nombre" not in errores:
        errores["nombre"] = "Escriba el nombre de la calle."
    lat, lon = _coordenadas_o_errores(latitud, longitud, errores)
    clave = normalizar(nombre)
    with transaction.atomic():
        calle = Calle.objects.filter(normalizado=clave, zona=zona).first()
        if calle is None:
            calle = Calle(nombre=nombre, zona=zona, solicitud=solicitud, registrado_por=usuario, origen=origen)
        if lat is not None:
            calle.latitud, calle.longitud = lat, lon
        calle.save()
        vistos = {clave}
        for alias in aliases:
            n = normalizar(alias)
            if not n or n in vistos:
                continue
            vistos.add(n)
            existente = AliasCalle.objects.filter(normalizado=n, calle__zona=zona).first()
            if existente is None:
                AliasCalle.objects.create(
                    calle=calle, nombre=alias, solicitud=solicitud, registrado_por=usuario, origen=origen
                )
            elif existente.calle_id != calle.pk:
                existente.calle = calle
                existente.save(update_fields=["calle"])
        # A name that is now correct is no longer an alias in this zone.
        AliasCalle.objects.filter(normalizado=clave, calle__zona=zona).delete()
    return calle


def _coordenadas_o_errores(
    latitud: Coordenada, longitud: Coordenada, errores: dict[str, str]
) -> tuple[Decimal | None, Decimal | None]:
    """Validated (lat, lon); raises DatosInvalidos with these and every earlier field error."""
    try:
        lat, lon = validar_coordenadas(latitud, longitud)
    except DatosInvalidos as e:
        errores.update(e.errores)
    if errores:
        raise DatosInvalidos(errores)
    return lat, lon


def registrar_punto(
    usuario: User,
    *,
    nombre: str | None,
    zona: Zona | None,
    latitud: Coordenada = None,
    longitud: Coordenada = None,
    solicitud: Solicitud | None = None,
    origen: str = Origen.CASO,
) -> PuntoReferencia:
    errores: dict[str, str] = {}
    nombre = campo_texto(nombre, "nombre", errores)
    if zona is None:
        errores["zona"] = "Indique la zona."
    lat, lon = _coordenadas_o_errores(latitud, longitud, errores)
    punto = PuntoReferencia.objects.filter(normalizado=normalizar(nombre), zona=zona).first()
    if punto is None:
        punto = PuntoReferencia(nombre=nombre, zona=zona, solicitud=solicitud, registrado_por=usuario, origen=origen)
    if lat is not None:
        punto.latitud, punto.longitud = lat, lon
    punto.save()
    return punto


def registrar_caja(
    usuario: User,
    *,
    codigo: str | None,
    zona: Zona | None,
    latitud: Coordenada = None,
    longitud: Coordenada = None,
    solicitud: Solicitud | None = None,
    origen: str = Origen.CASO,
) -> CajaNap:
    """A box/NAP, its zone and location; a known code takes the new zone and location."""
    errores: dict[str, str] = {}
    codigo = campo_texto(codigo, "codigo", errores, largo=60)
    if codigo and not normalizar_codigo(codigo):
        errores["codigo"] = "Escriba el código de la caja / NAP."
    if zona is None:
        errores["zona"] = "Indique la zona."
    lat, lon = _coordenadas_o_errores(latitud, longitud, errores)
    assert zona is not None  # refused above: errores["zona"] was raised
    caja = CajaNap.objects.filter(codigo_normalizado=normalizar_codigo(codigo)).first()
    if caja is None:
        caja = CajaNap(codigo=codigo, solicitud=solicitud, registrado_por=usuario, origen=origen)
    caja.zona = zona
    if lat is not None:
        caja.latitud, caja.longitud = lat, lon
    caja.save()
    return caja


def registrar_aprendido(
    usuario: User,
    solicitud: Solicitud,
    *,
    calle: str = "",
    aliases: str | Iterable[str] = "",
    referencia: str = "",
    ref_latitud: Coordenada = None,
    ref_longitud: Coordenada = None,
    caja: str = "",
    caja_latitud: Coordenada = None,
    caja_longitud: Coordenada = None,
    zona: Zona | None = None,
) -> dict[str, Calle | PuntoReferencia | CajaNap]:
    """3.3: what was learned while solving a case's address problem, in one transaction.
    Gestión de Red, the COC and técnicos (of the case's zone) record it."""
    exigir(usuario, ROLES_REGISTRO, "Solo Gestión de Red, el COC y los técnicos registran lo aprendido.")
    if not Solicitud.objects.visibles_para(usuario).filter(pk=solicitud.pk).exists():
        raise SinPermiso("Este caso no está a su cargo.")
    zona = zona or solicitud.zona
    textos = {"calle": calle, "referencia": referencia, "caja": caja}
    if not any((t or "").strip() for t in textos.values()):
        raise DatosInvalidos({"calle": "Registre al menos una calle, un punto de referencia o una caja."})
    hecho: dict[str, Calle | PuntoReferencia | CajaNap] = {}
    errores: dict[str, str] = {}
    with transaction.atomic():
        for clave, funcion in (
            ("calle", lambda: registrar_calle(usuario, nombre=calle, aliases=aliases, zona=zona, solicitud=solicitud)),
            (
                "referencia",
                lambda: registrar_punto(
                    usuario,
                    nombre=referencia,
                    zona=zona,
                    latitud=ref_latitud,
                    longitud=ref_longitud,
                    solicitud=solicitud,
                ),
            ),
            (
                "caja",
                lambda: registrar_caja(
                    usuario, codigo=caja, zona=zona, latitud=caja_latitud, longitud=caja_longitud, solicitud=solicitud
                ),
            ),
        ):
            if not (textos[clave] or "").strip():
                continue
            try:
                hecho[clave] = funcion()
            except DatosInvalidos as e:
                prefijo = {"calle": "", "referencia": "ref_", "caja": "caja_"}[clave]
                for campo, mensaje in e.errores.items():
                    destino = {"nombre": clave, "codigo": "caja", "aliases": "aliases"}.get(campo, prefijo + campo)
                    errores[destino] = mensaje
        if errores:
            transaction.set_rollback(True)
            raise DatosInvalidos(errores)
    return hecho


def aprender_de_zonificacion(zon: Zonificacion) -> None:
    """Step 20: a zonification's corrected zone, street, reference and coordinates join the
    knowledge (called after the zonification is received, see ``senales``)."""
    usuario, zona, sol = zon.recibida_por, zon.zona_corregida, zon.solicitud
    coords = {"latitud": zon.latitud, "longitud": zon.longitud}
    if normalizar(zon.calle):
        anterior = sol.calle if normalizar(sol.calle) != normalizar(zon.calle) else ""
        registrar_calle(
            usuario,
            nombre=zon.calle,
            aliases=[anterior] if anterior else [],
            zona=zona,
            solicitud=sol,
            origen=Origen.ZONIFICACION,
            **coords,
        )
    if normalizar(zon.referencia):
        registrar_punto(
            usuario, nombre=zon.referencia[:200], zona=zona, solicitud=sol, origen=Origen.ZONIFICACION, **coords
        )
    if normalizar_codigo(zon.caja_nap):
        registrar_caja(usuario, codigo=zon.caja_nap, zona=zona, solicitud=sol, origen=Origen.ZONIFICACION, **coords)
