"""Issue 7 through the pages and the API: Gestión de Red records what it learned from a case,
downloads the layer (ogrinfo reads it), and the next asesor typing that wrong street is warned,
may save anyway, and the warning stays on the Solicitud."""

import json
import shutil
import subprocess

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anulaciones import direcciones as D
from anulaciones import transitions as T
from anulaciones.models import CajaNap, Calle, PuntoReferencia, Solicitud

pytestmark = pytest.mark.django_db


def _datos_registro(zona, **extra):
    datos = {
        "numero_smartflex": "SF-WEB-1",
        "tipo": "instalacion",
        "cliente_nombre": "Ana Quispe",
        "calle": "Av. Bush",
        "numero_puerta": "12",
        "zona": zona.pk,
        "referencias": "Frente al colegio",
        "caja_nap": "NAP-01",
        "plan": "Fibra",
        "vendedor": "Luis",
    }
    datos.update(extra)
    return datos


def test_gestion_red_registra_exporta_y_el_siguiente_asesor_es_advertido(client, u, esc, zona, tmp_path):
    """The issue's «done when», end to end through the pages."""
    caso = esc.solicitud("observada", calle="Av. Bush")
    client.force_login(u.gestion_red)
    pagina = client.get(f"/solicitudes/{caso.pk}/").content.decode()
    assert f"/solicitudes/{caso.pk}/aprendido/" in pagina and "Registrar lo aprendido" in pagina
    r = client.post(
        f"/solicitudes/{caso.pk}/aprendido/",
        {
            "calle": "Avenida Germán Busch",
            "aliases": "Av. Bush",
            "referencia": "Colegio Don Bosco",
            "ref_latitud": "-16.5012",
            "ref_longitud": "-68.1299",
            "caja": "",
            "zona": "",
        },
    )
    assert r.status_code == 302 and r.url == f"/solicitudes/{caso.pk}/"
    punto = PuntoReferencia.objects.get()
    assert punto.solicitud == caso and punto.registrado_por == u.gestion_red and punto.zona == zona

    r = client.get("/direcciones/conocimiento.geojson", {"zona": zona.codigo})
    assert r.status_code == 200 and r["Content-Type"] == "application/geo+json"
    assert "attachment" in r["Content-Disposition"]
    archivo = tmp_path / "capa.geojson"
    archivo.write_bytes(b"".join(r.streaming_content))
    capa = json.loads(archivo.read_text())
    assert [f["properties"]["name"] for f in capa["features"]] == ["Colegio Don Bosco"]
    if shutil.which("ogrinfo"):  # test_direcciones.py checks every attribute (and is skipped without it)
        salida = subprocess.run(
            ["ogrinfo", "-ro", "-al", "-so", str(archivo)], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        assert "Geometry: Point" in salida and "Feature Count: 1" in salida

    client.force_login(u.asesor)
    r = client.post("/solicitudes/nueva/", _datos_registro(zona, calle="AV. BÚCH"))  # accents, case, one letter
    pagina = r.content.decode()
    assert r.status_code == 200 and not Solicitud.objects.filter(numero_smartflex="SF-WEB-1").exists()
    assert "Advertencias de dirección" in pagina and "Avenida Germán Busch" in pagina
    assert 'name="guardar_de_todos_modos"' in pagina
    r = client.post("/solicitudes/nueva/", _datos_registro(zona, calle="AV. BÚCH", guardar_de_todos_modos="1"))
    nueva = Solicitud.objects.get(numero_smartflex="SF-WEB-1")
    assert r.status_code == 302 and nueva.advertencia_aceptada and nueva.calle == "AV. BÚCH"
    assert nueva.advertencias_direccion[0]["sugerencia"] == "Avenida Germán Busch"
    assert "Guardada de todos modos" in client.get(f"/solicitudes/{nueva.pk}/").content.decode()

    # the correct name: registered at once, without warning
    r = client.post(
        "/solicitudes/nueva/", _datos_registro(zona, numero_smartflex="SF-WEB-2", calle="avenida german busch")
    )
    correcta = Solicitud.objects.get(numero_smartflex="SF-WEB-2")
    assert r.status_code == 302 and correcta.advertencias_direccion == [] and not correcta.advertencia_aceptada


def test_registrar_lo_aprendido_roles_y_errores(client, u, esc):
    caso = esc.solicitud("observada")
    client.force_login(u.asesor)
    assert "Registrar lo aprendido" not in client.get(f"/solicitudes/{caso.pk}/").content.decode()
    assert client.post(f"/solicitudes/{caso.pk}/aprendido/", {"calle": "Sucre"}).status_code == 403
    client.force_login(u.tecnico)
    r = client.post(
        f"/solicitudes/{caso.pk}/aprendido/", {"caja": "NAP-5", "caja_latitud": "-34.6", "caja_longitud": "-58.4"}
    )
    assert r.status_code == 400 and "Bolivia" in r.content.decode() and not CajaNap.objects.exists()
    r = client.post(
        f"/solicitudes/{caso.pk}/aprendido/", {"caja": "NAP-5", "caja_latitud": "-16.5", "caja_longitud": "-68.1"}
    )
    assert r.status_code == 302 and CajaNap.objects.get().registrado_por == u.tecnico


def test_mapa_de_la_zona_svg_sin_internet_y_consultas_constantes(client, u, esc, zona, django_assert_max_num_queries):
    def poblar(n):
        for i in range(n):
            D.registrar_punto(
                u.gestion_red,
                nombre=f"Punto {len(PuntoReferencia.objects.all())}-{i}",
                zona=zona,
                latitud=f"-16.{500 + i}",
                longitud=f"-68.{100 + i}",
            )
            D.registrar_caja(
                u.gestion_red,
                codigo=f"NAP-{CajaNap.objects.count()}-{i}",
                zona=zona,
                latitud=f"-16.{510 + i}",
                longitud=f"-68.{110 + i}",
            )
            D.registrar_calle(
                u.gestion_red,
                nombre=f"Calle {CajaNap.objects.count()}-{i}",
                zona=zona,
                latitud=f"-16.{520 + i}",
                longitud=f"-68.{120 + i}",
            )
            s = esc.solicitud("registrada", caja_nap=f"NAP-{CajaNap.objects.count() - 1}-{i}")
            T.aplicar(s, "observar", u.gestion_red, causa="caja_nap", detalle="La caja no corresponde")

    poblar(2)
    client.force_login(u.gestion_red)
    assert "/direcciones/mapa/" in client.get("/").content.decode()  # nav link «Mapa»
    with CaptureQueriesContext(connection) as pocas:
        r = client.get("/direcciones/mapa/", {"zona": zona.codigo})
    pagina = r.content.decode()
    assert r.status_code == 200 and "<svg" in pagina and "<circle" in pagina and "<rect" in pagina
    assert pagina.count("<path") >= 2  # the triangles of the observed cases (+ legend)
    for texto in ("Punto de referencia", "Caja / NAP", "Caso observado"):  # the legend, readable without colour
        assert texto in pagina
    assert "http://" not in pagina.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no tile server / CDN
    assert 'id="casos"' in pagina and "Calle 1-0" in pagina  # a located street, labelled on the map
    poblar(20)
    with django_assert_max_num_queries(len(pocas)):
        r = client.get("/direcciones/mapa/", {"zona": zona.codigo})
    assert r.status_code == 200 and r.content.decode().count("<tr>") == 22 + 1  # 22 cases + header
    client.force_login(u.asesor)
    assert client.get("/direcciones/mapa/").status_code == 403
    assert client.get("/direcciones/conocimiento.geojson").status_code == 403


def test_observaciones_prevenidas_en_el_mapa(client, u, zona, nueva_solicitud, esc):
    nueva_solicitud(advertencias_direccion=[{"mensaje": "x"}], advertencia_aceptada=True)
    observada = nueva_solicitud(advertencias_direccion=[{"mensaje": "x"}], advertencia_aceptada=True)
    T.aplicar(observada, "observar", u.gestion_red, causa="calle", detalle="Calle inexistente")
    nueva_solicitud()
    assert D.observaciones_prevenidas() == 1
    client.force_login(u.gestion_red)
    pagina = client.get("/direcciones/mapa/", {"zona": zona.codigo}).content.decode()
    assert "Observaciones prevenidas:</strong> 1 solicitud" in pagina


def test_importar_capa_desde_la_pagina_informa_filas(client, u, zona):
    from django.core.files.uploadedfile import SimpleUploadedFile

    contenido = b"kind,name,zone,aliases,lat,lon\ncalle,Av. Arce,Z1,Avenida Arze,,\ncaja_nap,NAP-9,Z1,,-99,-68.1\n"
    client.force_login(u.coc)
    assert client.get("/direcciones/importar/").status_code == 403
    client.force_login(u.gestion_red)
    r = client.post("/direcciones/importar/", {"archivo": SimpleUploadedFile("capa.csv", contenido)})
    pagina = r.content.decode()
    assert r.status_code == 200 and 'id="errores"' in pagina and "<td>3</td>" in pagina and "latitud" in pagina
    assert Calle.objects.get().nombre == "Av. Arce"


def test_api_verificar_geojson_y_registro_con_advertencias(u, esc, zona):
    caso = esc.solicitud("observada")
    D.registrar_aprendido(
        u.gestion_red,
        caso,
        calle="Calle Murillo",
        aliases="Murilo",
        caja="NAP-01",
        caja_latitud="-16.5",
        caja_longitud="-68.15",
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=u.asesor).key}")
    r = api.post("/api/v1/direcciones/verificar/", {"calle": "MURILÓ", "zona": zona.codigo}, format="json")
    assert r.status_code == 200 and r.json()["advertencias"][0]["sugerencia"] == "Calle Murillo"
    datos = {"numero_smartflex": "SF-API-1", "cliente_nombre": "Ana", "calle": "Murilo", "zona": zona.codigo}
    r = api.post("/api/v1/solicitudes/", datos, format="json")
    assert r.status_code == 400 and "Calle Murillo" in r.json()["errores"]["calle"]
    assert "aceptar_advertencias" in r.json()["errores"]
    r = api.post("/api/v1/solicitudes/", {**datos, "aceptar_advertencias": True}, format="json")
    assert r.status_code == 201 and r.json()["advertencia_aceptada"] is True
    assert r.json()["advertencias_direccion"][0]["tipo"] == "alias"
    r = api.post(
        "/api/v1/solicitudes/", {**datos, "numero_smartflex": "SF-API-2", "calle": "Calle Murillo"}, format="json"
    )
    assert r.status_code == 201 and r.json()["advertencias_direccion"] == []

    assert api.get("/api/v1/direcciones/geojson/").status_code == 403  # asesor
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=u.gestion_red).key}")
    r = api.get("/api/v1/direcciones/geojson/", {"zona": zona.codigo, "desde": "2000-01-01"})
    assert r.status_code == 200 and r["Content-Type"] == "application/geo+json"
    capa = json.loads(b"".join(r.streaming_content))
    assert capa["type"] == "FeatureCollection" and capa["features"][0]["properties"]["kind"] == "caja_nap"
    assert api.get("/api/v1/direcciones/geojson/", {"desde": "0001-01-01"}).status_code == 400
