"""Logs a machine can read (issue 20.4): one JSON line per request and per task, through the
configured handler (LOGGING's "console": its formatter and its filter), ids only."""

import io
import json
import logging

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anulaciones import tasks
from anulaciones.registro import FormatoJson, FormatoLegible

pytestmark = pytest.mark.django_db


@pytest.fixture
def lineas():
    """What the configured console handler writes, JSON-formatted, as parsed objects (each line
    must be one JSON object)."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    flujo = io.StringIO()
    anterior_flujo = handler.setStream(flujo)
    anterior_formato = handler.formatter
    handler.setFormatter(FormatoJson())

    def leer():
        texto = flujo.getvalue()
        return [json.loads(linea) for linea in texto.splitlines()]

    leer.texto = flujo.getvalue
    yield leer
    handler.setStream(anterior_flujo)
    handler.setFormatter(anterior_formato)


def _peticiones(objs):
    return [o for o in objs if o["logger"] == "anulaciones.peticiones"]


def test_an_api_transition_is_one_line_with_user_object_and_transition(lineas, esc, u):
    s = esc.solicitud("registrada")
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=u.gestion_red).key}")
    r = c.post(
        f"/api/v1/solicitudes/{s.pk}/observar/?q=x",
        {"causa": "calle", "detalle": "Calle sin número"},
        format="json",
        HTTP_X_REQUEST_ID="lb-1234",
    )
    assert r.status_code == 200, r.content
    assert r["X-Request-ID"] == "lb-1234"
    (linea,) = _peticiones(lineas())
    assert linea["metodo"] == "POST"
    assert linea["path"] == f"/api/v1/solicitudes/{s.pk}/observar/"  # no query string
    assert linea["ruta"] == "api-solicitudes-observar"
    assert linea["status"] == 200
    assert isinstance(linea["duracion_ms"], float)
    assert linea["usuario_id"] == u.gestion_red.pk
    assert linea["objeto_id"] == s.pk
    assert linea["modelo"] == "solicitudes"
    assert linea["transicion"] == "observar"
    assert linea["request_id"] == "lb-1234"
    assert linea["nivel"] == "INFO" and linea["ts"]


def test_a_page_and_a_page_transition(lineas, client, esc, u):
    s = esc.solicitud("registrada")
    client.force_login(u.gestion_red)
    assert client.get(f"/solicitudes/{s.pk}/").status_code == 200
    client.post(f"/accion/solicitud/{s.pk}/asignar_instalacion/", {})
    pagina, accion = _peticiones(lineas())
    assert pagina["path"] == f"/solicitudes/{s.pk}/"
    assert pagina["ruta"] == "solicitud" and pagina["status"] == 200
    assert pagina["usuario_id"] == u.gestion_red.pk and pagina["objeto_id"] == s.pk
    assert "transicion" not in pagina
    assert len(pagina["request_id"]) == 32  # generated: none came with the request
    assert accion["ruta"] == "transicion" and accion["metodo"] == "POST"
    assert accion["path"] == f"/accion/solicitud/{s.pk}/asignar_instalacion/"
    assert accion["modelo"] == "solicitud" and accion["transicion"] == "asignar_instalacion"
    assert accion["objeto_id"] == s.pk
    assert pagina["request_id"] != accion["request_id"]


def test_every_line_is_one_json_object_and_lines_within_a_request_carry_its_id(lineas, client, u):
    client.force_login(u.monitora)
    client.get("/no-existe/", HTTP_X_REQUEST_ID="abc-1")
    client.get("/tablero/")
    objs = lineas()
    assert len(lineas.texto().splitlines()) == len(objs) >= 2
    no_encontrada = [o for o in objs if o.get("status") == 404 and o["logger"] == "anulaciones.peticiones"]
    assert no_encontrada and no_encontrada[0]["path"] is None and no_encontrada[0]["ruta"] is None
    # Django's own "Not Found" line, written during the request, carries the request's id.
    django = [o for o in objs if o["logger"] == "django.request"]
    assert django and django[0]["request_id"] == "abc-1"


def test_no_personal_data_from_path_query_or_body(lineas, client, esc, u):
    nombre, documento = "Juana Mamani Quispe", "4829731"
    s = esc.solicitud("registrada", cliente_nombre=nombre, cliente_documento=documento)
    client.force_login(u.gestion_red)
    client.get("/buscar/", {"q": f"{nombre} {documento}"})
    client.get(f"/api/v1/{nombre}/{documento}/")  # the API's catch-all 404
    client.get(f"/accion/{nombre}/{s.pk}/{documento}/")  # <str:> parts: 404
    client.post("/solicitudes/nueva/", {"cliente_nombre": nombre, "cliente_documento": documento})
    c = APIClient()
    c.force_authenticate(u.gestion_red)
    c.post(f"/api/v1/solicitudes/{s.pk}/observar/", {"causa": "calle", "detalle": f"{nombre} {documento}"})
    c.get("/api/v1/solicitudes/", {"search": nombre, "cliente_documento": documento})
    texto = lineas.texto()
    objs = lineas()
    assert len(_peticiones(objs)) == 6
    for dato in (*nombre.split(), documento, u.gestion_red.username):
        assert dato.lower() not in texto.lower(), dato
    accion = next(o for o in objs if o.get("ruta") == "transicion")
    assert accion["path"] == "/accion/<str:modelo>/<int:pk>/<str:nombre>/"
    assert "modelo" not in accion and "transicion" not in accion


def test_a_task_run_is_one_line_with_its_counts(lineas, esc, u, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    tasks.barrer_plazos.delay()
    (linea,) = [o for o in lineas() if o["logger"] == "anulaciones.tareas"]
    assert linea["tarea"] == "anulaciones.tasks.barrer_plazos"
    assert linea["estado"] == "SUCCESS"
    assert linea["tarea_id"] and isinstance(linea["duracion_ms"], float)
    assert linea["resultado"] == {"vencidos": 0, "avisos": 0, "redigitaciones": 0}


def test_a_failed_task_logs_its_error_type_not_its_message(lineas, monkeypatch):
    def falla():
        raise ValueError("Juana Mamani")

    monkeypatch.setattr(tasks, "barrer", falla)
    assert tasks.barrer_plazos.apply().state == "FAILURE"
    (linea,) = [o for o in lineas() if o["logger"] == "anulaciones.tareas"]
    assert linea["estado"] == "FAILURE" and linea["error"] == "ValueError" and linea["nivel"] == "ERROR"
    assert "Juana" not in json.dumps(linea)


def test_readable_format_for_a_terminal():
    registro = logging.LogRecord("anulaciones.peticiones", logging.INFO, "", 0, "GET %s", ("/x/",), None)
    registro.campos = {"status": 200, "usuario_id": 3, "objeto_id": None}
    texto = FormatoLegible().format(registro)
    assert texto.endswith("GET /x/ [status=200 usuario_id=3]")
