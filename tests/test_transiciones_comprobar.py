"""``transitions.comprobar``: the one wording of each refusal. The path raises it under the row
lock; the action page and the API ask it first. The API's transition endpoint reads the row
once (the path locks it once more) and answers with the row the path saved, effects included."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anulaciones import transitions as T
from anulaciones.errors import ErrorDominio, SinPermiso, TransicionNoPermitida
from anulaciones.models import OrdenDeTrabajo, ServicioIngenieria, Solicitud, Zonificacion

from .test_api import CASOS, IDS, MODELO, _url

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def cliente(user):
        c = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        c.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return c

    return cliente


# (case, builder(esc, u, zonas) -> (obj, transition, user, data), refusal type)
RECHAZOS = [
    (
        "rol",
        lambda e, u, z: (e.solicitud("registrada"), "observar", u.asesor, {"causa": "calle", "detalle": "x"}),
        SinPermiso,
    ),
    ("fuera_de_alcance", lambda e, u, z: (e.nueva(zona=z[1]).orden, "direccionar_a_coc", u.coz, {}), SinPermiso),
    (
        "estado",
        lambda e, u, z: (e.solicitud("anulada"), "asignar_instalacion", u.gestion_red, {}),
        TransicionNoPermitida,
    ),
    (
        "condicion",
        lambda e, u, z: (e.solicitud("en_instalacion"), "marcar_instalada", u.coc, {}),
        TransicionNoPermitida,
    ),
    ("desconocida", lambda e, u, z: (e.solicitud("registrada"), "borrar", u.gestion_red, {}), T.NoEncontrado),
    ("privada", lambda e, u, z: (e.solicitud("registrada"), "_anotar", u.gestion_red, {}), T.NoEncontrado),
]


@pytest.mark.parametrize("caso,armar,tipo", RECHAZOS, ids=[c[0] for c in RECHAZOS])
def test_comprobar_devuelve_el_mismo_rechazo_que_el_camino(esc, u, zonas, caso, armar, tipo):
    obj, nombre, usuario, datos = armar(esc, u, zonas)
    rechazo = T.comprobar(obj, nombre, usuario)
    assert type(rechazo) is tipo
    with pytest.raises(ErrorDominio) as e:
        T.aplicar(obj, nombre, usuario, **datos)
    assert type(e.value) is tipo and e.value.mensaje == rechazo.mensaje
    assert (type(obj).objects.get(pk=obj.pk).version, obj.version) == (obj.version, obj.version)


def test_los_mensajes_de_rechazo(esc, u, zonas):
    s = esc.solicitud("registrada")
    assert T.comprobar(s, "observar", u.asesor).mensaje == f"Su rol no permite «Observar» en {s}."
    anulada = esc.solicitud("anulada")
    assert (
        T.comprobar(anulada, "asignar_instalacion", u.gestion_red).mensaje
        == f"No se puede «Asignar para instalación»: {anulada} está «Anulada»."
    )
    assert (
        T.comprobar(esc.solicitud("en_instalacion"), "marcar_instalada", u.coc).mensaje
        == "La orden de trabajo aún no fue ejecutada."
    )
    assert T.comprobar(s, "borrar", u.gestion_red).mensaje == "La transición «borrar» no existe para solicitud."
    assert T.comprobar(s, "observar", u.gestion_red) is None


# --- the web action page: its refusals are comprobar's ----------------------------------------
def _url_web(obj, nombre):
    slug = {
        Solicitud: "solicitud",
        OrdenDeTrabajo: "orden",
        ServicioIngenieria: "servicio",
        Zonificacion: "zonificacion",
    }[type(obj)]
    return reverse("transicion", args=[slug, obj.pk, nombre])


def test_la_pagina_de_la_accion_rechaza_con_el_mensaje_del_camino(esc, u, client):
    s = esc.solicitud("registrada")
    client.force_login(u.asesor)
    r = client.get(_url_web(s, "observar"))
    assert r.status_code == 403 and T.comprobar(s, "observar", u.asesor).mensaje in r.content.decode()
    instalando = esc.solicitud("en_instalacion")
    client.force_login(u.coc)
    r = client.get(_url_web(instalando, "marcar_instalada"), follow=True)
    # a condition that does not hold answers with its own message (not the state's)
    assert "La orden de trabajo aún no fue ejecutada." in r.content.decode()


# --- the API: one read of the row, the answer as the path saved it ---------------------------
SIN_EFECTOS = [
    ("solicitudes", "observar", "registrada", "gestion_red", {"causa": "calle", "detalle": "Sin número"}),
    ("ordenes", "direccionar_a_coc", "reportada_coz", "coz", {}),
    ("servicios", "cerrar_sin_atencion", "abierto", "gestion_red", {}),
    ("zonificaciones", "digitar", "recibida", "gestion_red", {}),
]


@pytest.mark.parametrize("recurso,nombre,origen,rol,cuerpo", SIN_EFECTOS, ids=[c[0] for c in SIN_EFECTOS])
def test_la_api_lee_la_fila_una_vez_y_el_camino_la_bloquea_una_vez(api, esc, u, recurso, nombre, origen, rol, cuerpo):
    obj = esc.en(MODELO[recurso], origen)
    tabla = f'FROM "{MODELO[recurso]._meta.db_table}"'
    with CaptureQueriesContext(connection) as ctx:
        r = api(getattr(u, rol)).post(_url(recurso, obj, nombre), cuerpo, format="json")
    assert r.status_code == 200, r.json()
    lecturas = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT") and tabla in q["sql"]]
    assert len(lecturas) == 2, "\n".join(lecturas)  # the scoped read and the lock: no read back


@pytest.mark.parametrize("recurso,nombre,origen,rol,cuerpo,destino", CASOS, ids=IDS)
def test_la_respuesta_de_una_transicion_es_la_fila_como_quedo(
    api, esc, u, recurso, nombre, origen, rol, cuerpo, destino
):
    """Answered from the row the path saved, not read back: the same representation and ETag as
    a read right after, effects on the other machines of the case included."""
    obj = esc.en(MODELO[recurso], origen)
    c = api(getattr(u, rol))
    r = c.post(_url(recurso, obj, nombre), cuerpo, format="json")
    assert r.status_code == 200, r.json()
    leida = c.get(f"/api/v1/{recurso}/{obj.pk}/")
    assert leida.status_code == 200
    assert (r.json(), r["ETag"]) == (leida.json(), leida["ETag"])


def test_la_respuesta_ve_el_efecto_sobre_la_solicitud(api, esc, u):
    """«Asignar» the OT of an observed Solicitud: the effect assigns the Solicitud for
    installation, so the OT is no longer held (``no_retenida``) and «Ejecutar» is offered at once."""
    s = esc.solicitud("observada")
    c = api(u.coc)
    r = c.post(_url("ordenes", s.orden, "asignar"), {}, format="json")
    assert r.status_code == 200, r.json()
    assert "ejecutar" in [t["nombre"] for t in r.json()["transiciones_disponibles"]]
    assert r.json() == c.get(f"/api/v1/ordenes/{s.orden.pk}/").json()
