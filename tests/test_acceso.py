"""Least privilege (issue 13, item 9): Div. Facturación sees its deliveries and nothing of the
cases; the API's schema and docs need a login; the admin shows a staff user what its role and
zone see in the application; a missing object and one out of scope answer the same status, so
ids cannot be probed."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anulaciones.models import (
    Caso,
    IntentoContacto,
    Observacion,
    OrdenDeTrabajo,
    RegistroAuditoria,
    ServicioIngenieria,
    Solicitud,
    Zonificacion,
)
from anulaciones.roles import Rol

pytestmark = pytest.mark.django_db

INEXISTENTE = 987_654_321


def api(user=None):
    c = APIClient()
    if user is not None:
        c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return c


@pytest.fixture
def casos(esc):
    """One object of each machine (zone Z1, asesor ``u.asesor``) with its related rows."""
    z = esc.zonificacion("recibida")  # its Solicitud instalada, its OT ejecutada
    si = esc.servicio("abierto")  # an observed Solicitud with an open SI
    return {"solicitud": z.solicitud, "orden": z.orden, "servicio": si, "zonificacion": z, "observada": si.solicitud}


# --- FACTURACION: the monthly deliveries only ------------------------------------------------------
def test_facturacion_no_ve_solicitudes_ot_ni_si_en_las_paginas(casos, u, client):
    s, o, si = casos["solicitud"], casos["orden"], casos["servicio"]
    client.force_login(u.facturacion)
    for url in (
        f"/solicitudes/{s.pk}/",
        f"/solicitudes/{s.pk}/imprimir/",
        f"/ordenes/{o.pk}/",
        f"/ordenes/{o.pk}/imprimir/",
        f"/solicitudes/{si.solicitud_id}/",
        f"/accion/servicio/{si.pk}/atender/",
        f"/accion/solicitud/{s.pk}/observar/",
    ):
        assert client.get(url).status_code == 404, url
    for url in ("/solicitudes/", "/ordenes/", f"/buscar/?q={s.numero_smartflex}", "/buscar/?q=SF"):
        r = client.get(url)
        # the lists refuse the role (navegacion.ROLES_CASOS); the search: empty, not a redirect to the case
        assert r.status_code == (403 if url in ("/solicitudes/", "/ordenes/") else 200), url
        html = r.content.decode()
        for visto in (
            f'href="/solicitudes/{s.pk}/"',
            f'href="/solicitudes/{si.solicitud_id}/"',
            f'href="/ordenes/{o.pk}/"',
            s.cliente_nombre,
        ):
            assert visto not in html, (url, visto)
    assert client.get("/tablero/").status_code == 403
    assert client.get("/tablero/export.csv").status_code == 403
    assert client.get("/indicador/").status_code == 403
    # What it does have: its home (with the link to the deliveries) and the deliveries.
    inicio = client.get("/").content.decode()
    assert 'href="/entregas/"' in inicio
    assert 'href="/solicitudes/"' not in inicio and 'action="/buscar/"' not in inicio
    assert client.get("/entregas/").status_code == 200


def test_facturacion_no_ve_nada_por_la_api(casos, u):
    c = api(u.facturacion)
    for recurso, obj in (
        ("solicitudes", casos["solicitud"]),
        ("ordenes", casos["orden"]),
        ("servicios", casos["servicio"]),
        ("zonificaciones", casos["zonificacion"]),
    ):
        r = c.get(f"/api/v1/{recurso}/")
        assert r.status_code == 200 and r.json()["count"] == 0, recurso
        assert c.get(f"/api/v1/{recurso}/{obj.pk}/").status_code == 404, recurso
    assert (
        c.post(
            f"/api/v1/ordenes/{casos['orden'].pk}/impedimento/",
            {"impedimento": "sistema", "requerido": "x"},
            format="json",
        ).status_code
        == 404
    )
    assert c.get("/api/v1/indicador/").status_code == 403


def test_facturacion_fuera_del_alcance_de_los_modelos(casos, u):
    f = u.facturacion
    assert not Solicitud.objects.visibles_para(f).exists()
    assert not OrdenDeTrabajo.objects.visibles_para(f).exists()
    assert not ServicioIngenieria.objects.visibles_para(f).exists()
    # the roles that do read every case still do
    for rol in (Rol.MONITORA, Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION):
        assert Solicitud.objects.visibles_para(u.por_rol[rol]).count() == Solicitud.objects.count()


# --- the API's schema and documentation need a login ------------------------------------------------
def test_esquema_y_documentacion_de_la_api_piden_ingresar(u, client):
    assert client.get("/api/v1/schema/").status_code == 401
    assert api().get("/api/v1/schema/?format=json").status_code == 401
    for url in ("/api/v1/docs/", "/api/v1/redoc/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/cuentas/login/?next="), url
    assert client.get("/api/v1/docs/?script").status_code == 302
    # With a token or a session they are served.
    r = api(u.asesor).get("/api/v1/schema/?format=json")
    assert r.status_code == 200 and "/api/v1/solicitudes/" in r.json()["paths"]
    client.force_login(u.asesor)
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/redoc/").status_code == 200


# --- missing and out of scope: the same answer ------------------------------------------------------
def _fuera_de_alcance(u, zonas, crear_usuario):
    """Users of every role that reads by scope, none of whom reaches the ``casos`` objects."""
    return {
        "asesor": crear_usuario(Rol.ASESOR, "otra_asesora"),
        "team_leader": crear_usuario(Rol.TEAM_LEADER, "otro_team_leader"),
        "coz": crear_usuario(Rol.COZ, "coz_sur", zona=zonas[1]),
        "tecnico": crear_usuario(Rol.TECNICO, "tecnico_sur", zona=zonas[1]),
        "facturacion": u.facturacion,
    }


def _pedidos(casos, pk=None):
    """(method, URL, body) of every page and API URL that names one object."""
    s, o, si, z = (casos[k].pk if pk is None else pk for k in ("solicitud", "orden", "servicio", "zonificacion"))
    obs = casos["observada"].pk if pk is None else pk
    return [
        ("get", f"/solicitudes/{s}/", None),
        ("get", f"/solicitudes/{s}/imprimir/", None),
        ("get", f"/solicitudes/{s}/aprendido/", None),
        ("post", f"/solicitudes/{s}/contacto/", {"canal": "llamada"}),
        ("get", f"/ordenes/{o}/", None),
        ("get", f"/ordenes/{o}/imprimir/", None),
        ("get", f"/ordenes/{o}/zonificacion/", None),
        ("get", f"/ordenes/{o}/impedimento/", None),
        ("get", f"/accion/solicitud/{obs}/asignar_instalacion/", None),
        ("post", f"/accion/solicitud/{obs}/asignar_instalacion/", {"version": 0}),
        ("get", f"/accion/orden/{o}/reportar_observacion/", None),
        ("post", f"/accion/orden/{o}/reportar_observacion/", {"version": 0}),
        ("get", f"/accion/servicio/{si}/atender/", None),
        ("post", f"/accion/servicio/{si}/atender/", {"version": 0}),
        ("get", f"/accion/zonificacion/{z}/digitar/", None),
        ("post", f"/accion/zonificacion/{z}/digitar/", {"version": 0}),
        ("post", f"/tablero/solicitudes/{obs}/decidir/", {"accion": "asignar_instalacion"}),
        ("api-get", f"/api/v1/solicitudes/{s}/", None),
        ("api-get", f"/api/v1/ordenes/{o}/", None),
        ("api-get", f"/api/v1/servicios/{si}/", None),
        ("api-get", f"/api/v1/zonificaciones/{z}/", None),
        ("api-post", f"/api/v1/solicitudes/{obs}/observar/", {}),
        ("api-post", f"/api/v1/ordenes/{o}/ejecutar/", {}),
        ("api-post", f"/api/v1/servicios/{si}/atender/", {}),
        ("api-post", f"/api/v1/zonificaciones/{z}/digitar/", {}),
        ("api-post", f"/api/v1/ordenes/{o}/impedimento/", {}),
    ]


def _estado(client, cliente_api, metodo, url, cuerpo):
    if metodo == "get":
        return client.get(url).status_code
    if metodo == "post":
        return client.post(url, cuerpo).status_code
    if metodo == "api-get":
        return cliente_api.get(url).status_code
    return cliente_api.post(url, cuerpo, format="json").status_code


@pytest.mark.parametrize("rol", ["asesor", "team_leader", "coz", "tecnico", "facturacion"])
def test_inexistente_y_fuera_de_alcance_responden_igual(casos, u, zonas, crear_usuario, client, rol):
    usuario = _fuera_de_alcance(u, zonas, crear_usuario)[rol]
    client.force_login(usuario)
    cliente_api = api(usuario)
    antes = RegistroAuditoria.objects.count()
    for (metodo, url, cuerpo), (_, url_falsa, _) in zip(_pedidos(casos), _pedidos(casos, INEXISTENTE), strict=False):
        fuera = _estado(client, cliente_api, metodo, url, cuerpo)
        falta = _estado(client, cliente_api, metodo, url_falsa, cuerpo)
        assert fuera == falta, (rol, metodo, url, fuera, falta)
        assert fuera in (403, 404), (rol, metodo, url, fuera)  # 403 only where the role itself is refused
    assert RegistroAuditoria.objects.count() == antes


def test_dentro_del_alcance_se_distingue(casos, u, client):
    """Not vacuous: the owner and the zone's people do get the objects."""
    client.force_login(u.asesor)
    assert client.get(f"/solicitudes/{casos['solicitud'].pk}/").status_code == 200
    assert client.get(f"/accion/servicio/{casos['servicio'].pk}/atender/").status_code == 200
    assert client.get(f"/accion/solicitud/{casos['observada'].pk}/asignar_instalacion/").status_code == 403
    for url in ("/solicitudes/", "/buscar/?q=SF"):  # the lists Facturación gets empty show them
        html = client.get(url).content.decode()
        assert f'href="/solicitudes/{casos["solicitud"].pk}/"' in html and casos["solicitud"].cliente_nombre in html
    client.force_login(u.tecnico)
    assert f'href="/ordenes/{casos["orden"].pk}/"' in client.get("/ordenes/").content.decode()
    assert client.get(f"/ordenes/{casos['orden'].pk}/imprimir/").status_code == 200
    assert api(u.coz).get(f"/api/v1/ordenes/{casos['orden'].pk}/").status_code == 200


def test_otra_zona_en_una_transicion_es_404_no_403(esc, u, client, crear_usuario, zonas):
    """The transition page answered 403 «no está a su cargo» for an object that exists out of
    scope, and 404 for a missing one: now both 404, nothing changes."""
    o = esc.orden("reportada_coz")
    client.force_login(crear_usuario(Rol.COZ, "coz_sur", zona=zonas[1]))
    assert client.post(f"/accion/orden/{o.pk}/direccionar_a_coc/", {"version": o.version}).status_code == 404
    assert client.post(f"/accion/orden/{INEXISTENTE}/direccionar_a_coc/", {"version": 0}).status_code == 404
    o.refresh_from_db()
    assert o.estado == "reportada_coz"


# --- the admin: a staff user sees what its role and zone see -----------------------------------------
def _personal(user):
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="anulaciones", codename__startswith="view_")
    )
    return user


def _admin(modelo, vista="changelist", *args):
    from django.urls import reverse

    return reverse(f"admin:anulaciones_{modelo._meta.model_name}_{vista}", args=args)


def test_admin_muestra_solo_el_alcance_del_rol(casos, esc, u, zonas, crear_usuario, client):
    otra = crear_usuario(Rol.ASESOR, "otra_asesora")
    coz_sur = crear_usuario(Rol.COZ, "coz_sur", zona=zonas[1])
    s, o = casos["solicitud"], casos["orden"]
    # An asesor: own cases only, in every list that shows case data.
    client.force_login(_personal(otra))
    for modelo in (
        Solicitud,
        OrdenDeTrabajo,
        ServicioIngenieria,
        Zonificacion,
        Observacion,
        IntentoContacto,
        Caso,
        RegistroAuditoria,
    ):
        r = client.get(_admin(modelo))
        assert r.status_code == 200, modelo
        assert r.context["cl"].result_count == 0, modelo
    assert client.get(_admin(Solicitud), {"q": s.numero_smartflex}).context["cl"].result_count == 0
    # The COZ of another zone: no OT of zone 1; the COZ of zone 1: its OTs.
    client.force_login(_personal(coz_sur))
    assert client.get(_admin(OrdenDeTrabajo)).context["cl"].result_count == 0
    client.force_login(_personal(u.coz))
    assert (
        client.get(_admin(OrdenDeTrabajo)).context["cl"].result_count
        == OrdenDeTrabajo.objects.filter(zona=o.zona).count()
        > 0
    )
    assert client.get(_admin(OrdenDeTrabajo, "change", o.pk)).status_code == 200
    # FACTURACION: none; the owner: its own; a superuser: everything.
    client.force_login(_personal(u.facturacion))
    assert client.get(_admin(Solicitud)).context["cl"].result_count == 0
    client.force_login(_personal(u.asesor))
    assert client.get(_admin(Solicitud)).context["cl"].result_count == Solicitud.objects.filter(asesor=u.asesor).count()
    assert (
        client.get(_admin(RegistroAuditoria)).context["cl"].result_count
        == RegistroAuditoria.objects.filter(caso__solicitudes__asesor=u.asesor).distinct().count()
    )
    u.jefe_division.is_superuser = True
    client.force_login(_personal(u.jefe_division))
    assert client.get(_admin(Solicitud)).context["cl"].result_count == Solicitud.objects.count()


@pytest.mark.parametrize(
    "modelo,clave",
    [
        (Solicitud, "solicitud"),
        (OrdenDeTrabajo, "orden"),
        (ServicioIngenieria, "servicio"),
        (Zonificacion, "zonificacion"),
    ],
)
def test_admin_fuera_de_alcance_es_404_como_inexistente(casos, u, zonas, crear_usuario, client, modelo, clave):
    client.force_login(_personal(crear_usuario(Rol.TECNICO, "tecnico_sur", zona=zonas[1])))
    obj = casos[clave]
    for vista in ("change", "history"):
        assert client.get(_admin(modelo, vista, obj.pk)).status_code == 404, vista
        assert client.get(_admin(modelo, vista, INEXISTENTE)).status_code == 404, vista
    client.force_login(_personal(u.coc))  # in scope: the page opens
    assert client.get(_admin(modelo, "change", obj.pk)).status_code == 200


def test_admin_usuarios_y_perfiles_solo_para_el_superusuario(u, client):
    """A staff user of a role does not list every user and profile (zone, team leader) in the
    admin; a superuser does."""
    u.gestion_red.is_staff = True
    u.gestion_red.save()
    client.force_login(u.gestion_red)
    for url in ("/admin/auth/user/", "/admin/anulaciones/perfil/", f"/admin/auth/user/{u.asesor.pk}/change/"):
        assert client.get(url).status_code in (403, 404), url
    from django.contrib.auth import get_user_model

    jefe = get_user_model().objects.create_superuser("root_admin", "r@example.com", "x")
    client.force_login(jefe)
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get("/admin/anulaciones/perfil/").status_code == 200
