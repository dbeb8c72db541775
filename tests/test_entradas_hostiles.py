"""Issue 13, item 6: no 500 from a query string or a form. Each URL listed in the issue gets a
Spanish 400 (a form shown again with what was typed) or a clamped / ignored value; the API
answers JSON for a too-large body and for any server error."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from anulaciones.models import CajaNap, Entrega, Notificacion, PuntoReferencia

pytestmark = pytest.mark.django_db


# --- /buscar/?q=%00 ---------------------------------------------------------------------------
@pytest.mark.parametrize("q", ["%00", "abc%00def", "SF-%00", "%00%00%00", "%01%1F"])
def test_buscar_con_nul_no_es_500(client, u, esc, q):
    esc.solicitud()
    client.force_login(u.asesor)
    r = client.get(f"/buscar/?q={q}")
    assert r.status_code == 200
    assert 'name="q" value="' + q.replace("%00", " ").replace("%01%1F", " ").strip() + '"' in r.content.decode()


def test_buscar_sin_nul_sigue_encontrando(client, u, esc):
    s = esc.solicitud()
    client.force_login(u.gestion_red)
    r = client.get("/buscar/", {"q": f"{s.cliente_nombre[:5]}\x00", "page": "1"})
    assert r.status_code == 200
    assert s.numero_smartflex in r.content.decode()


# --- per_page: clamped to 1..ANULACIONES_MAX_POR_PAGINA wherever a table reads it --------------
@pytest.mark.parametrize("per_page", ["-1", "0", "²", "1e400", "99999999999999999999999", "-99999999999", "١٢"])
@pytest.mark.parametrize("url,rol", [("/tablero/", "gestion_red"), ("/buscar/?q=Juana", "coc")])
def test_per_page_malo_no_es_500(client, u, esc, url, rol, per_page):
    esc.servicio("abierto")
    client.force_login(getattr(u, rol))
    sep = "&" if "?" in url else "?"
    r = client.get(f"{url}{sep}per_page={per_page}&page={per_page}")
    assert r.status_code == 200, (url, per_page, r.status_code)
    assert 1 <= r.context["tabla"].paginator.per_page <= 200


def test_per_page_tope(client, u, esc, settings):
    settings.ANULACIONES_MAX_POR_PAGINA = 2
    for _ in range(3):
        esc.servicio("abierto")
    client.force_login(u.gestion_red)
    r = client.get("/tablero/?per_page=40000")
    assert r.status_code == 200
    assert r.context["tabla"].paginator.per_page == 2
    assert len(r.context["tabla"].page.object_list) == 2
    r = client.get("/tablero/?per_page=1")
    assert r.context["tabla"].paginator.per_page == 1
    r = client.get("/tablero/?per_page=-1")
    assert r.context["tabla"].paginator.per_page == 1


def test_tope_por_defecto_es_200(settings):
    assert settings.ANULACIONES_MAX_POR_PAGINA == 200


# --- POST /notificaciones/leer/ with id=² ------------------------------------------------------
@pytest.mark.parametrize("ident", ["²", "99999999999999999999999", "-1", "", "\x00", "1e400"])
def test_marcar_notificacion_con_id_raro(client, u, ident):
    n = Notificacion.objects.create(usuario=u.asesor, tipo=Notificacion.Tipo.values[0], clave="k")
    client.force_login(u.asesor)
    r = client.post("/notificaciones/leer/", {"id": ident})
    assert r.status_code == 302
    n.refresh_from_db()
    assert n.leida_at is None


# --- POST /solicitudes/<id>/aprendido/ with ref_latitud=1e400 -----------------------------------
@pytest.mark.parametrize("campo", ["ref_latitud", "ref_longitud", "caja_latitud", "caja_longitud"])
@pytest.mark.parametrize("valor", ["1e400", "-1e400", "1e28", "NaN", "Infinity", "²", "1,2,3"])
def test_aprendido_coordenada_enorme_es_400(client, u, esc, campo, valor):
    s = esc.solicitud()
    client.force_login(u.gestion_red)
    pareja = {
        "ref_latitud": "ref_longitud",
        "ref_longitud": "ref_latitud",
        "caja_latitud": "caja_longitud",
        "caja_longitud": "caja_latitud",
    }[campo]
    datos = {"referencia": "Plaza", "caja": "NAP-9", campo: valor, pareja: "-16.5"}
    r = client.post(f"/solicitudes/{s.pk}/aprendido/", datos)
    assert r.status_code == 400, r.status_code
    html = r.content.decode()
    assert "grados decimales" in html.lower()
    assert f'value="{valor}"' in html  # what was typed, shown again
    assert not PuntoReferencia.objects.exists() and not CajaNap.objects.exists()


# --- POST /direcciones/importar/ with deeply nested JSON ----------------------------------------
@pytest.mark.parametrize(
    "contenido",
    [
        "[" * 100_000 + "]" * 100_000,
        "{" + '"a":{' * 50_000 + "}" * 50_001,
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {
                            "kind": "calle",
                            "name": "X",
                            "zone": "Z1",
                            "aliases": json.loads("[" * 30 + "]" * 30),
                        },
                        "geometry": None,
                    }
                ],
            }
        ),
    ],
)
def test_importar_json_muy_anidado_es_400(client, u, zona, contenido):
    client.force_login(u.gestion_red)
    archivo = SimpleUploadedFile("capa.geojson", contenido.encode(), content_type="application/geo+json")
    r = client.post("/direcciones/importar/", {"archivo": archivo})
    assert r.status_code == 400
    assert "anidad" in r.content.decode()


def test_importar_json_poco_anidado_sigue_valiendo(client, u, zona):
    client.force_login(u.gestion_red)
    capa = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"kind": "punto_referencia", "name": "Plaza [central] {1}", "zone": zona.codigo},
                "geometry": {"type": "Point", "coordinates": [-68.15, -16.5]},
            }
        ],
    }
    archivo = SimpleUploadedFile("capa.geojson", json.dumps(capa).encode())
    r = client.post("/direcciones/importar/", {"archivo": archivo})
    assert r.status_code == 200
    assert PuntoReferencia.objects.filter(nombre="Plaza [central] {1}").exists()


@pytest.mark.parametrize(
    "nombre,contenido",
    [
        ("capa.csv", "kind;name;zone;lat;lon\npunto_referencia;X;{z};1e400;-68.15\ncaja_nap;N;{z};-16.5;-1e28\n"),
        (
            "capa.geojson",
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"kind": "punto_referencia", "name": "P", "zone": "{z}"},
                            "geometry": {"type": "Point", "coordinates": [1e300, -16.5]},
                        }
                    ],
                }
            ),
        ),
    ],
)
def test_importar_capa_con_coordenadas_enormes_informa_la_fila(client, u, zona, nombre, contenido):
    """A coordinate no column holds is the row's error in the report, not a 500."""
    client.force_login(u.gestion_red)
    archivo = SimpleUploadedFile(nombre, contenido.replace("{z}", zona.codigo).encode())
    r = client.post("/direcciones/importar/", {"archivo": archivo})
    assert r.status_code == 200
    assert "grados decimales" in r.content.decode()
    assert not PuntoReferencia.objects.exists() and not CajaNap.objects.exists()


# --- POST /entregas/generar/ with mes=9999-12, 0001-01, 2024-02-30 --------------------------------
@pytest.mark.parametrize(
    "mes",
    [
        "9999-12",
        "0001-01",
        "2024-02-30",
        "1999-12",
        "2101-01",
        "2024-13",
        "2024-00",
        "²⁰²⁴-01",
        "2024-1-1",
        "2024",
        "-2024-01",
        "99999999999999999999-01",
        "2024-01\x00",
        "x" * 10_000,
    ],
)
def test_generar_entrega_mes_invalido_es_400(client, u, mes):
    client.force_login(u.gestion_red)
    r = client.post("/entregas/generar/", {"mes": mes})
    assert r.status_code == 400, (mes, r.status_code)
    html = r.content.decode()
    assert "AAAA-MM" in html or "2000" in html
    assert not Entrega.objects.exists()


def test_generar_entrega_mes_valido_sigue_valiendo(client, u, django_capture_on_commit_callbacks):
    client.force_login(u.gestion_red)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/entregas/generar/", {"mes": "2026-11"})
    assert r.status_code == 302
    assert Entrega.objects.get().mes.isoformat() == "2026-11-01"


# --- API: JSON for a too-large body and for any server error ---------------------------------------
@pytest.fixture
def api_cliente(u):
    from rest_framework.authtoken.models import Token

    return Client(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=u.gestion_red).key}", raise_request_exception=False
    )


@pytest.mark.parametrize(
    "content_type,cuerpo",
    [
        ("application/json", json.dumps({"calle": "x" * 5000})),
        ("application/x-www-form-urlencoded", "calle=" + "x" * 5000),
    ],
)
def test_api_cuerpo_demasiado_grande_es_413_json(api_cliente, settings, content_type, cuerpo):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    r = api_cliente.post("/api/v1/direcciones/verificar/", cuerpo, content_type=content_type)
    assert r.status_code == 413
    assert r["Content-Type"].startswith("application/json")
    datos = r.json()
    assert datos["errores"] == {} and "grande" in datos["detail"]


def test_api_campo_multipart_demasiado_grande_es_413_json(api_cliente, settings):
    """A multipart body is not refused by its length (files are limited by each form), but its
    fields are: RequestDataTooBig from the parser answers 413 JSON too."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    r = api_cliente.post("/api/v1/direcciones/verificar/", {"calle": "x" * 5000})  # multipart/form-data
    assert r.status_code == 413
    assert r.json()["errores"] == {}


def test_api_cuerpo_normal_sigue_valiendo(api_cliente, zona):
    r = api_cliente.post(
        "/api/v1/direcciones/verificar/", {"calle": "Av. Busch", "zona": zona.codigo}, content_type="application/json"
    )
    assert r.status_code == 200


def test_api_error_del_servidor_es_json(api_cliente, monkeypatch, caplog):
    from anulaciones.api import views

    def romper(*args, **kwargs):
        raise RuntimeError("fallo de prueba")

    monkeypatch.setattr(views.IndicadorView, "get", romper)
    r = api_cliente.get("/api/v1/indicador/")
    assert r.status_code == 500
    assert r["Content-Type"].startswith("application/json")
    assert r.json() == {"detail": "Error interno del servidor; el incidente quedó registrado.", "errores": {}}
    assert any("fallo de prueba" in str(rec.exc_info) for rec in caplog.records if rec.exc_info)


def test_pagina_con_error_del_servidor_sigue_siendo_html(client, u, monkeypatch):
    """Outside /api/ the Spanish 500 page stays."""
    from anulaciones.views import busqueda

    monkeypatch.setattr(busqueda.selectors, "buscar_solicitudes", lambda **kw: 1 / 0)
    c = Client(raise_request_exception=False)
    c.force_login(u.asesor)
    r = c.get("/buscar/?q=abc")
    assert r.status_code == 500
    assert r["Content-Type"].startswith("text/html")


def test_api_json_anidado_es_400_en_json(u, esc, client):
    """A deeply nested JSON body to an API transition: a 400 in JSON, not a RecursionError (500)."""
    s = esc.solicitud("registrada")
    client.force_login(u.gestion_red)
    cuerpo = "[" * 100_000 + "]" * 100_000
    r = client.post(f"/api/v1/solicitudes/{s.pk}/observar/", cuerpo, content_type="application/json")
    assert r.status_code == 400 and r["Content-Type"].startswith("application/json")
    assert "anidado" in r.json()["detail"]
    s.refresh_from_db()
    assert s.estado == "registrada"


def test_cuerpo_mayor_que_lo_que_acepta_la_pagina_es_413_sin_leerlo(u, client):
    """A multipart body to a page that takes no file (the login, an API list) is refused by its
    Content-Length before the CSRF check parses it (which would spool the file part to disk)."""
    grande = b"x" * (3 * 1024 * 1024)
    r = client.post("/cuentas/login/", {"username": "x", "password": "y", "f": __import__("io").BytesIO(grande)})
    assert r.status_code == 413 and "supera el máximo" in r.content.decode()
    client.force_login(u.asesor)
    r = client.post("/api/v1/solicitudes/", {"f": __import__("io").BytesIO(grande)})
    assert r.status_code == 413 and r["Content-Type"].startswith("application/json")


def test_la_api_responde_json_aunque_se_pida_html(u, client):
    """No browsable API (its pages carry inline style the CSP refuses): JSON whatever the Accept."""
    client.force_login(u.gestion_red)
    r = client.get("/api/v1/solicitudes/", HTTP_ACCEPT="text/html")
    assert r.status_code in (200, 406)
    assert r["Content-Type"].startswith("application/json")


def test_capa_csv_con_demasiadas_columnas_se_rechaza(u, client):
    from anulaciones import direcciones as D
    from anulaciones.errors import DatosInvalidos

    texto = ",".join(["kind", "name", "zone"] + [f"c{i}" for i in range(200)]) + "\n" + "calle,Murillo,Z1\n" * 50
    with pytest.raises(DatosInvalidos) as e:
        list(D._filas_csv(texto))
    assert "columnas" in e.value.errores["archivo"]
