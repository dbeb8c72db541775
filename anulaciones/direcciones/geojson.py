"""The knowledge as a GeoJSON point layer (RFC 7946) for QGIS: streaming, flat memory for any
size. The map page, its export and the API share the filters and the response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from django.db.models import Q, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from ..models import CajaNap, Calle, PuntoReferencia, Zona


def rango(desde: date | None, hasta: date | None) -> Q:
    """Rows recorded in [desde, hasta] (local dates, either may be None)."""
    tz = timezone.get_current_timezone()
    q = Q()
    if desde:
        q &= Q(creado_at__gte=timezone.make_aware(datetime.combine(desde, time.min), tz))
    if hasta:
        q &= Q(creado_at__lte=timezone.make_aware(datetime.combine(hasta, time.max), tz))
    return q


def capas(
    zona: Zona | None = None, desde: date | None = None, hasta: date | None = None
) -> list[tuple[str, QuerySet[Any]]]:
    """The querysets of the point layer: located streets, reference points and boxes."""
    filtro = rango(desde, hasta) & Q(latitud__isnull=False, longitud__isnull=False)
    if zona is not None:
        filtro &= Q(zona=zona)
    relacionados = ("zona", "solicitud", "registrado_por")
    return [
        (
            "calle",
            Calle.objects.filter(filtro).select_related(*relacionados).prefetch_related("aliases").order_by("pk"),
        ),
        ("punto_referencia", PuntoReferencia.objects.filter(filtro).select_related(*relacionados).order_by("pk")),
        ("caja_nap", CajaNap.objects.filter(filtro).select_related(*relacionados).order_by("pk")),
    ]


PROPIEDADES = [
    "kind",
    "name",
    "zone",
    "zone_name",
    "aliases",
    "source_case",
    "source_case_id",
    "origin",
    "recorded_by",
    "created",
    "created_date",
]


def _feature(tipo: str, obj: Any) -> dict[str, Any]:  # obj: a Calle, PuntoReferencia or CajaNap
    local = timezone.localtime(obj.creado_at)
    nombre = obj.codigo if tipo == "caja_nap" else obj.nombre
    aliases = "; ".join(a.nombre for a in obj.aliases.all()) if tipo == "calle" else ""
    return {
        "type": "Feature",
        "id": f"{tipo}-{obj.pk}",
        "geometry": {"type": "Point", "coordinates": [float(obj.longitud), float(obj.latitud)]},
        "properties": {
            "kind": tipo,
            "name": nombre,
            "zone": obj.zona.codigo if obj.zona else "",
            "zone_name": obj.zona.nombre if obj.zona else "",
            "aliases": aliases,
            "source_case": obj.solicitud.numero_smartflex if obj.solicitud else "",
            "source_case_id": obj.solicitud_id or 0,
            "origin": obj.origen,
            "recorded_by": obj.registrado_por.username,
            "created": local.isoformat(timespec="seconds"),
            "created_date": local.date().isoformat(),
        },
    }


def geojson_partes(zona: Zona | None = None, desde: date | None = None, hasta: date | None = None) -> Iterator[str]:
    """The FeatureCollection as a stream of text chunks (flat memory for any size)."""
    yield '{"type": "FeatureCollection", "name": "conocimiento_direcciones", "features": [\n'
    primero = True
    for tipo, qs in capas(zona, desde, hasta):
        for obj in qs if tipo == "calle" else qs.iterator(chunk_size=2000):
            yield ("" if primero else ",\n") + json.dumps(_feature(tipo, obj), ensure_ascii=False)
            primero = False
    yield "\n]}\n"


def geojson(zona: Zona | None = None, desde: date | None = None, hasta: date | None = None) -> dict[str, Any]:
    return json.loads("".join(geojson_partes(zona, desde, hasta)))


def respuesta_geojson(zona: Zona | None, desde: date | None, hasta: date | None) -> StreamingHttpResponse:
    """The layer as a download (``conocimiento_direcciones[_ZONA].geojson``), streamed."""
    nombre = f"conocimiento_direcciones{'_' + zona.codigo if zona else ''}.geojson"
    respuesta = StreamingHttpResponse(geojson_partes(zona, desde, hasta), content_type="application/geo+json")
    respuesta["Content-Disposition"] = f'attachment; filename="{nombre}"'
    return respuesta
