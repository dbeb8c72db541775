"""Schemathesis against the live OpenAPI schema: every endpoint and method, authenticated with
a token of a user holding every role (so each operation is reachable); no 5xx and every
response conforms to the schema (status code, content type, body)."""

import json

import pytest
import schemathesis
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from anulaciones.roles import Rol

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def token_todos_los_roles(u, esc, zona):
    """A user with every role (and the zone of the data), plus a few objects in several states so
    that small generated ids also hit existing rows."""
    todos = u.gestion_red
    for rol in Rol.values:
        todos.groups.add(Group.objects.get_or_create(name=rol)[0])
    todos.perfil.zona = zona
    todos.perfil.save()
    for estado in ("registrada", "observada", "pendiente_redigitacion"):
        esc.solicitud(estado)
    esc.orden("asignada")
    esc.servicio("abierto")
    esc.zonificacion("recibida")
    return Token.objects.create(user=todos).key


def _esquema_vivo():
    """The schema exactly as GET /api/v1/schema/ serves it (the view called in process: the
    lazy fixture loader of schemathesis does not work with this pytest)."""
    from django.contrib.auth import get_user_model
    from drf_spectacular.views import SpectacularAPIView
    from rest_framework.test import APIRequestFactory, force_authenticate

    from config.wsgi import application

    peticion = APIRequestFactory().get("/api/v1/schema/?format=json")
    force_authenticate(peticion, user=get_user_model()(username="esquema"))  # the schema needs a login
    respuesta = SpectacularAPIView.as_view()(peticion)
    respuesta.render()
    assert respuesta.status_code == 200
    esquema = schemathesis.openapi.from_dict(json.loads(respuesta.content))
    esquema.app = application
    return esquema


schema = _esquema_vivo()


@pytest.fixture
def sin_cerrar_conexion():
    """Like Django's test client: the WSGI app must not close the test's database connection
    (inside the test transaction) at the end of each request."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_and_never_500(case, token_todos_los_roles, settings, sin_cerrar_conexion, tmp_path):
    settings.ALLOWED_HOSTS = ["localhost"]  # the host schemathesis' WSGI client sends
    settings.MEDIA_ROOT = tmp_path  # the deliveries it builds write their workbook (SQLite: to disk)
    case.call_and_validate(headers={"Authorization": f"Token {token_todos_los_roles}"}, checks=CHECKS)
