"""Lost-update protection on the API (issue 13, item 11): an object's GET carries its version as
``ETag``; a transition accepts it back in ``If-Match`` (as well as ``version`` in the body) and
answers 409 when someone changed the object in between."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anulaciones import transitions as T
from anulaciones.models import OrdenDeTrabajo, RegistroAuditoria, ServicioIngenieria, Solicitud, Zonificacion

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def cliente(user):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return c

    return cliente


def _url(s, transicion="observar"):
    return f"/api/v1/solicitudes/{s.pk}/{transicion}/"


OBSERVAR = {"causa": "calle", "detalle": "Calle sin número"}


@pytest.mark.parametrize(
    "recurso,modelo,estado",
    [
        ("solicitudes", Solicitud, "observada"),
        ("ordenes", OrdenDeTrabajo, "asignada"),
        ("servicios", ServicioIngenieria, "abierto"),
        ("zonificaciones", Zonificacion, "digitada"),
    ],
)
def test_el_get_de_un_objeto_lleva_su_version_como_etag(api, esc, u, recurso, modelo, estado):
    obj = esc.en(modelo, estado)
    r = api(u.coc).get(f"/api/v1/{recurso}/{obj.pk}/")
    assert r.status_code == 200
    assert r["ETag"] == f'"{obj.version}"' and r.json()["version"] == obj.version
    assert "ETag" not in api(u.coc).get(f"/api/v1/{recurso}/")  # a list has no single version


def test_if_match_vigente_aplica_y_devuelve_la_nueva_etag(api, esc, u):
    s = esc.solicitud("registrada")
    c = api(u.gestion_red)
    etag = c.get(f"/api/v1/solicitudes/{s.pk}/")["ETag"]
    r = c.post(_url(s), OBSERVAR, format="json", HTTP_IF_MATCH=etag)
    assert r.status_code == 200, r.json()
    s.refresh_from_db()
    assert s.estado == "observada" and r["ETag"] == f'"{s.version}"' == f'"{r.json()["version"]}"'


def test_dos_clientes_con_la_misma_etag_el_segundo_recibe_409(api, esc, u):
    """The lost update: both read version N; the second writer is told, nothing of it is applied."""
    s = esc.solicitud("registrada")
    gestion, coc = api(u.gestion_red), api(u.coc)
    etag = gestion.get(f"/api/v1/solicitudes/{s.pk}/")["ETag"]
    assert coc.get(f"/api/v1/solicitudes/{s.pk}/")["ETag"] == etag
    assert coc.post(_url(s), OBSERVAR, format="json", HTTP_IF_MATCH=etag).status_code == 200
    antes = RegistroAuditoria.objects.count()
    r = gestion.post(_url(s, "asignar_instalacion"), {}, format="json", HTTP_IF_MATCH=etag)
    assert r.status_code == 409, r.json()
    assert "fue modificado" in r.json()["detail"]
    s.refresh_from_db()
    assert s.estado == "observada" and RegistroAuditoria.objects.count() == antes


@pytest.mark.parametrize("cabecera", ['W/"{v}"', ' "{v}" ', "*"])
def test_if_match_debil_con_espacios_o_asterisco(api, esc, u, cabecera):
    s = esc.solicitud("registrada")
    r = api(u.gestion_red).post(_url(s), OBSERVAR, format="json", HTTP_IF_MATCH=cabecera.format(v=s.version))
    assert r.status_code == 200, r.json()


@pytest.mark.parametrize("cabecera", ["0", '"abc"', '"0", "1"', 'W/"-1"', '""', '"' + "9" * 19 + '"', "**"])
def test_if_match_mal_formado_es_400(api, esc, u, cabecera):
    s = esc.solicitud("registrada")
    r = api(u.gestion_red).post(_url(s), OBSERVAR, format="json", HTTP_IF_MATCH=cabecera)
    assert r.status_code == 400, r.json()
    assert "If-Match" in r.json()["errores"]
    s.refresh_from_db()
    assert s.estado == "registrada"


def test_if_match_y_version_del_cuerpo_distintas_es_400_iguales_vale(api, esc, u):
    s = esc.solicitud("registrada")
    c = api(u.gestion_red)
    r = c.post(_url(s), {**OBSERVAR, "version": s.version + 1}, format="json", HTTP_IF_MATCH=f'"{s.version}"')
    assert r.status_code == 400 and "If-Match" in r.json()["errores"]
    s.refresh_from_db()
    assert s.estado == "registrada"
    r = c.post(_url(s), {**OBSERVAR, "version": s.version}, format="json", HTTP_IF_MATCH=f'"{s.version}"')
    assert r.status_code == 200, r.json()


def test_version_vieja_en_el_cuerpo_sigue_dando_409(api, esc, u):
    s = esc.solicitud("registrada")
    version = s.version
    T.aplicar(s, "observar", u.coc, causa="calle", detalle="Otro usuario primero")
    r = api(u.gestion_red).post(_url(s, "asignar_instalacion"), {"version": version}, format="json")
    assert r.status_code == 409


def test_sin_if_match_ni_version_se_aplica_al_estado_actual(api, esc, u):
    """Documented (docs/api.md): without a precondition the transition applies to whatever the
    current state is, within the machine's rules."""
    s = esc.solicitud("registrada")
    T.aplicar(s, "observar", u.coc, causa="calle", detalle="Otro usuario primero")
    r = api(u.gestion_red).post(_url(s, "asignar_instalacion"), {}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["estado"] == "en_instalacion"


def test_el_orden_de_los_controles_no_cambia(api, esc, u):
    """Scope (404), role (403) and state (409) come before the precondition."""
    s = esc.solicitud("registrada")
    assert api(u.asesor).post(_url(s), OBSERVAR, format="json", HTTP_IF_MATCH="mal").status_code == 403
    s2 = esc.solicitud("anulada")
    assert api(u.gestion_red).post(_url(s2), OBSERVAR, format="json", HTTP_IF_MATCH="mal").status_code == 409


def test_el_esquema_documenta_if_match_y_etag(api, u):
    esquema = api(u.asesor).get("/api/v1/schema/?format=json").json()
    op = esquema["paths"]["/api/v1/solicitudes/{id}/observar/"]["post"]
    if_match = [p for p in op["parameters"] if p["in"] == "header" and p["name"] == "If-Match"]
    assert if_match and not if_match[0].get("required", False) and "409" in if_match[0]["description"]
    assert "ETag" in op["responses"]["200"]["headers"]
    detalle = esquema["paths"]["/api/v1/ordenes/{id}/"]["get"]
    assert "ETag" in detalle["responses"]["200"]["headers"]
