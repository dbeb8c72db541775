"""One selector and one FilterSet per list (issue 16): a page and its API list show the same cases
for the same query string — the Tablero de Control and GET /api/v1/servicios/ (its open-only
default and its quick views included), /solicitudes/ and /ordenes/ and theirs."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anulaciones import transitions as T
from anulaciones.models import ServicioIngenieria

pytestmark = pytest.mark.django_db

FILA_TABLERO = re.compile(r'<tr class="(?:vencido )?(?:even|odd)" data-solicitud="([^"]+)"')


def api(user):
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return c


def _api_lista(cliente, recurso, consulta, campo):
    r = cliente.get(f"/api/v1/{recurso}/?{consulta}{'&' if consulta else ''}por_pagina=500")
    assert r.status_code == 200, (consulta, r.json())
    return [fila[campo] for fila in r.json()["results"]]


@pytest.fixture
def sis(esc, u, zonas):
    """SIs in every state, for two recipients, in two zones; one answered today."""
    norte, sur = zonas
    abierto = esc.servicio()
    vencido = esc.servicio("vencido")
    esc.servicio("atendido")
    esc.servicio("cerrado_sin_atencion")
    esc.servicio(destinatario="MONITORA")
    al_sur = esc.solicitud("observada", zona=sur)
    T.aplicar(al_sur, "solicitar_correccion", u.gestion_red, destinatario="ASESOR", requerido="Caja")
    # One open SI already past its deadline (the deadline task has not marked it yet).
    ServicioIngenieria.objects.filter(pk=abierto.pk).update(vence_at=timezone.now() - timedelta(hours=1))
    return {"norte": norte, "sur": sur, "vencido": vencido}


@pytest.mark.parametrize(
    "consulta",
    [
        "",
        "vista=vencidos",
        "vista=vencen_hoy",
        "vista=atendidos_hoy",
        "estado=atendido",
        "estado=abierto&estado=vencido",
        "estado=cerrado_sin_atencion",
        "destinatario=MONITORA",
        "tipo=correccion",
        "zona={sur}",
        "zona={norte}&destinatario=ASESOR",
        "numero=SF",
        "asesor={asesor}",
        "sort=-numero",
        "abierto_el={hoy}",
        "abierto_desde={hoy}&abierto_hasta={hoy}",
    ],
)
def test_tablero_y_api_de_servicios_listan_los_mismos_casos(client, u, sis, settings, consulta):
    settings.ANULACIONES_TABLERO_POR_PAGINA = 100
    consulta = consulta.format(sur=sis["sur"].pk, norte=sis["norte"].pk, asesor=u.asesor.pk, hoy=timezone.localdate())
    client.force_login(u.gestion_red)
    r = client.get(f"/tablero/?{consulta}")
    assert r.status_code == 200
    pagina = FILA_TABLERO.findall(r.content.decode())
    assert sorted(pagina) == sorted(_api_lista(api(u.gestion_red), "servicios", consulta, "numero_smartflex"))
    if not consulta:  # the default is the open and overdue SIs, on both
        assert len(pagina) == 4


def test_sin_filtros_la_api_de_servicios_lista_solo_los_abiertos(u, sis):
    estados = {s["estado"] for s in api(u.gestion_red).get("/api/v1/servicios/").json()["results"]}
    assert estados == {"abierto", "vencido"}


def _filas_lista(r):
    cuerpo = r.content.decode().split('<table id="lista">', 1)[1].split("</table>", 1)[0]
    return [int(pk) for pk in re.findall(r'<tr><td><a href="/(?:solicitudes|ordenes)/(\d+)/"', cuerpo)]


@pytest.mark.parametrize("lista", ["solicitudes", "ordenes"])
@pytest.mark.parametrize(
    "consulta",
    [
        "",
        "estado={estado}",
        "zona={sur}",
        "zona=Z2",
        "numero=SF",
        "tipo=instalacion",
        "desde={hoy}",
        "sort=-numero",
        "sort=zona",
        "asesor={asesor}",
        "asesor=asesor",
    ],
)
def test_listas_y_api_listan_los_mismos_casos_en_el_mismo_orden(client, u, esc, zonas, lista, consulta):
    norte, sur = zonas
    for estado in ("registrada", "observada", "anulada"):
        esc.solicitud(estado)
    esc.solicitud("registrada", zona=sur)
    esc.orden("asignada")
    consulta = consulta.format(
        estado="observada" if lista == "solicitudes" else "asignada",
        sur=sur.pk,
        hoy=timezone.localdate(),
        asesor=u.asesor.pk,
    )
    client.force_login(u.coc)
    r = client.get(f"/{lista}/?{consulta}")
    assert r.status_code == 200, consulta
    assert _filas_lista(r) == _api_lista(api(u.coc), lista, consulta, "id"), consulta


def test_la_api_de_servicios_sigue_aceptando_desde_y_hasta(u, sis):
    """The API's date names before issue 16 still filter (they are «abierto desde / hasta»)."""
    cliente = api(u.gestion_red)
    hoy, manana = timezone.localdate(), timezone.localdate() + timedelta(days=1)
    assert _api_lista(cliente, "servicios", f"desde={hoy}", "numero_smartflex")
    assert _api_lista(cliente, "servicios", f"desde={manana}", "numero_smartflex") == []
    assert _api_lista(cliente, "servicios", f"hasta={hoy}", "numero_smartflex") == _api_lista(
        cliente, "servicios", f"abierto_hasta={hoy}", "numero_smartflex"
    )
    assert cliente.get("/api/v1/servicios/?desde=ayer").status_code == 400
