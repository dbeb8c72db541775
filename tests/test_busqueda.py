"""The search box: Smartflex number, client name, address or OT number, within what the user
may see."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anulaciones import transitions as T
from anulaciones.roles import Rol

from .test_tablero import casos_en_correccion

pytestmark = pytest.mark.django_db

ENLACE = re.compile(r'href="/solicitudes/(\d+)/"')


def encontrados(respuesta):
    assert respuesta.status_code == 200
    return [int(pk) for pk in ENLACE.findall(respuesta.content.decode())]


@pytest.fixture
def datos(nueva_solicitud, zonas):
    a = nueva_solicitud(numero_smartflex="SF-100200", cliente_nombre="Juana Mamani", calle="Av. Busch",
                        numero_ot="OT-777001")
    b = nueva_solicitud(numero_smartflex="SF-100201", cliente_nombre="Rosa Quispe", calle="Calle Murillo",
                        numero_ot="OT-777002", zona=zonas[1])
    return a, b


def test_busca_por_numero_nombre_calle_u_ot(client, u, datos):
    a, b = datos
    client.force_login(u.gestion_red)
    assert set(encontrados(client.get("/buscar/?q=SF-1002"))) == {a.pk, b.pk}
    assert encontrados(client.get("/buscar/?q=quispe")) == [b.pk]  # case-insensitive, partial
    assert encontrados(client.get("/buscar/?q=busch")) == [a.pk]
    assert encontrados(client.get("/buscar/?q=777002")) == [b.pk]
    r = client.get("/buscar/?q=Nadie+Conocido")
    assert encontrados(r) == [] and "Ninguna solicitud coincide" in r.content.decode()
    html = client.get("/buscar/?q=Mamani").content.decode()
    for texto in ("SF-100200", "OT-777001", "Juana Mamani", "Av. Busch 123", "Zona Norte", "Registrada"):
        assert texto in html


def test_un_numero_exacto_lleva_al_caso(client, u, datos):
    a, b = datos
    client.force_login(u.coc)
    r = client.get("/buscar/?q=sf-100201")
    assert r.status_code == 302 and r["Location"] == f"/solicitudes/{b.pk}/"
    r = client.get("/buscar/?q=+OT-777001+")
    assert r.status_code == 302 and r["Location"] == f"/solicitudes/{a.pk}/"


def test_vacia_no_lista_nada(client, u, datos):
    client.force_login(u.gestion_red)
    r = client.get("/buscar/?q=")
    assert encontrados(r) == [] and "Escriba un número" in r.content.decode()


def test_cada_rol_solo_encuentra_lo_que_puede_ver(client, u, datos, crear_usuario, zonas, nueva_solicitud):
    a, b = datos  # a in zone 1, b in zone 2, both of u.asesor
    otro = crear_usuario(Rol.ASESOR, "otra_asesora")
    c = T.crear_solicitud(otro, numero_smartflex="SF-100299", cliente_nombre="Ana Choque", calle="Calle 3",
                          zona=zonas[0])
    vistos = {}
    for rol in (Rol.ASESOR, Rol.TEAM_LEADER, Rol.COZ, Rol.TECNICO, Rol.MONITORA, Rol.JEFE_DIVISION):
        client.force_login(u.por_rol[rol])
        vistos[rol] = set(encontrados(client.get("/buscar/?q=SF-1002")))
    assert vistos[Rol.ASESOR] == vistos[Rol.TEAM_LEADER] == {a.pk, b.pk}  # own / team's cases
    assert vistos[Rol.COZ] == vistos[Rol.TECNICO] == {a.pk, c.pk}  # their zone
    assert vistos[Rol.MONITORA] == vistos[Rol.JEFE_DIVISION] == {a.pk, b.pk, c.pk}
    # An exact number out of scope is not revealed either.
    client.force_login(u.asesor)
    r = client.get("/buscar/?q=SF-100299")
    assert r.status_code == 200 and encontrados(r) == []


def test_anonimo_va_al_login(client):
    r = client.get("/buscar/?q=SF")
    assert r.status_code == 302 and "/cuentas/login/" in r["Location"]


def test_consultas_constantes_10_y_1000_resultados(client, u, zonas):
    client.force_login(u.gestion_red)

    def consultas():
        with CaptureQueriesContext(connection) as ctx:
            r = client.get("/buscar/?q=SFM-&sort=-orden")
        assert r.status_code == 200
        return len(ctx.captured_queries), len(encontrados(r))

    casos_en_correccion(10, u, zonas)
    con_10, filas = consultas()
    assert filas == 10
    casos_en_correccion(990, u, zonas)
    con_1000, filas = consultas()
    assert filas == 25  # one page
    assert con_10 == con_1000, (con_10, con_1000)
    print(f"/buscar/: {con_1000} queries with 10 and with 1,000 matches")
