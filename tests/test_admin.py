"""The Django admin: readable and searchable, the state read-only, transitions as admin actions
through the one transition path, the audit log read-only."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from anulaciones.models import (
    Caso,
    IntentoContacto,
    Observacion,
    OrdenDeTrabajo,
    RegistroAuditoria,
    ServicioIngenieria,
    Solicitud,
    Zona,
    Zonificacion,
)

pytestmark = pytest.mark.django_db

MODELOS = [
    Zona,
    Caso,
    Solicitud,
    OrdenDeTrabajo,
    ServicioIngenieria,
    Zonificacion,
    Observacion,
    IntentoContacto,
    RegistroAuditoria,
]


@pytest.fixture
def admin_con_rol(db):
    def crear(rol=None):
        user = get_user_model().objects.create_superuser(f"admin_{rol or 'sin_rol'}", "a@x.bo", "x")
        if rol:
            user.groups.add(Group.objects.get(name=rol))
        return user

    return crear


def _url(modelo, vista="changelist", *args):
    from django.urls import reverse

    return reverse(f"admin:anulaciones_{modelo._meta.model_name}_{vista}", args=args)


def test_cada_modelo_se_lista_y_se_busca(client, admin_con_rol, esc):
    esc.zonificacion("digitada")
    esc.servicio("abierto")
    client.force_login(admin_con_rol("GESTION_RED"))
    for modelo in MODELOS:
        r = client.get(_url(modelo), {"q": "SF"})
        assert r.status_code == 200, modelo
        obj = modelo.objects.first()
        if obj is not None:
            assert client.get(_url(modelo, "change", obj.pk)).status_code == 200, modelo


def test_accion_de_admin_pasa_por_el_camino_de_transiciones(client, admin_con_rol, esc):
    s = esc.solicitud("registrada")
    user = admin_con_rol("GESTION_RED")
    client.force_login(user)
    r = client.post(_url(Solicitud), {"action": "accion_asignar_instalacion", "_selected_action": [s.pk]}, follow=True)
    assert "aplicada a 1 registro" in r.content.decode()
    s.refresh_from_db()
    assert s.estado == "en_instalacion" and s.orden.estado == "asignada"
    fila = RegistroAuditoria.de_objeto(s).last()
    assert (fila.transicion, fila.usuario, fila.rol) == ("asignar_instalacion", user, "GESTION_RED")


def test_accion_de_admin_sin_el_rol_se_rechaza(client, admin_con_rol, esc):
    s = esc.solicitud("registrada")
    client.force_login(admin_con_rol(None))  # superuser, but no role of the procedure
    r = client.post(_url(Solicitud), {"action": "accion_asignar_instalacion", "_selected_action": [s.pk]}, follow=True)
    assert "Su rol no permite" in r.content.decode()
    s.refresh_from_db()
    assert s.estado == "registrada" and RegistroAuditoria.de_objeto(s).count() == 1


def test_acciones_solo_de_transiciones_sin_datos(client, admin_con_rol, esc):
    esc.solicitud("registrada")
    client.force_login(admin_con_rol("COC"))
    html = client.get(_url(Solicitud)).content.decode()
    assert "accion_asignar_instalacion" in html and "accion_marcar_instalada" in html
    assert "accion_anular" not in html.replace("accion_anular_para", "")  # needs a reason: the form does it
    assert "delete_selected" not in html


def test_el_estado_es_de_solo_lectura(client, admin_con_rol, esc):
    s = esc.solicitud("registrada")
    client.force_login(admin_con_rol("GESTION_RED"))
    html = client.get(_url(Solicitud, "change", s.pk)).content.decode()
    assert 'name="estado"' not in html
    assert "registrar" in html  # the object's audit history is shown


def test_auditoria_de_solo_lectura_en_el_admin(client, admin_con_rol, esc):
    s = esc.solicitud("observada")
    client.force_login(admin_con_rol("GESTION_RED"))
    fila = RegistroAuditoria.de_objeto(s).last()
    r = client.post(_url(RegistroAuditoria, "change", fila.pk), {"nota": "cambiada"})
    assert r.status_code == 403
    assert client.post(_url(RegistroAuditoria, "delete", fila.pk), {"post": "yes"}).status_code == 403
    assert client.get(_url(RegistroAuditoria, "add")).status_code == 403
    fila.refresh_from_db()
    assert fila.nota == ""


def test_las_maquinas_no_se_editan_en_el_admin(client, admin_con_rol, esc):
    s = esc.solicitud("registrada")
    client.force_login(admin_con_rol("GESTION_RED"))
    r = client.post(_url(Solicitud, "change", s.pk), {"cliente_nombre": "Otro", "calle": "Otra"})
    assert r.status_code == 403
    s.refresh_from_db()
    assert s.cliente_nombre == "Juana Mamani" and s.version == 0
