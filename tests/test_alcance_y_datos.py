"""Scope (own cases, team, zone) and bad input: refused with a clear Spanish message, nothing lost."""

import pytest

from anulaciones import transitions as T
from anulaciones.errors import DatosInvalidos, SinPermiso
from anulaciones.models import OrdenDeTrabajo, RegistroAuditoria, ServicioIngenieria, Solicitud
from anulaciones.roles import Rol
from anulaciones.transitions import NoEncontrado

pytestmark = pytest.mark.django_db


def test_asesor_solo_actua_en_sus_casos(esc, u, crear_usuario):
    otra = crear_usuario(Rol.ASESOR)
    s = esc.solicitud("en_correccion")
    with pytest.raises(SinPermiso):
        T.aplicar(s, "digitar_modificacion", otra, modificacion="x")
    assert T.disponibles(s, otra) == []
    assert ("digitar_modificacion", "Digitar modificación") in T.disponibles(s, u.asesor)
    assert list(Solicitud.objects.visibles_para(otra)) == []
    assert list(Solicitud.objects.visibles_para(u.asesor)) == [s]


def test_asesor_no_registra_a_nombre_de_otro(u, zona, crear_usuario):
    otra = crear_usuario(Rol.ASESOR)
    with pytest.raises(SinPermiso):
        T.crear_solicitud(otra, numero_smartflex="SF-X", cliente_nombre="A", calle="B", zona=zona, asesor=u.asesor)


def test_team_leader_solo_su_equipo(esc, u, crear_usuario):
    otro_tl = crear_usuario(Rol.TEAM_LEADER)
    s = esc.solicitud("en_correccion")
    with pytest.raises(SinPermiso):
        T.aplicar(s, "digitar_modificacion", otro_tl, modificacion="x")
    assert list(Solicitud.objects.visibles_para(otro_tl)) == []
    assert list(Solicitud.objects.visibles_para(u.team_leader)) == [s]
    T.aplicar(s, "digitar_modificacion", u.team_leader, modificacion="Referencia: casa azul")


def test_tecnico_y_coz_solo_su_zona(esc, u, zonas, crear_usuario):
    tecnico_sur = crear_usuario(Rol.TECNICO, zona=zonas[1])
    coz_sur = crear_usuario(Rol.COZ, zona=zonas[1])
    ot = esc.orden("asignada")
    with pytest.raises(SinPermiso):
        T.aplicar(ot, "reportar_observacion", tecnico_sur, observacion="x", causa="otro")
    with pytest.raises(SinPermiso):
        T.aplicar(ot, "ejecutar", tecnico_sur)
    assert list(OrdenDeTrabajo.objects.visibles_para(tecnico_sur)) == []
    assert list(OrdenDeTrabajo.objects.visibles_para(coz_sur)) == []
    assert list(OrdenDeTrabajo.objects.visibles_para(u.tecnico)) == [ot]
    assert list(OrdenDeTrabajo.objects.visibles_para(u.coz)) == [ot]
    ot2 = esc.orden("generada")
    with pytest.raises(SinPermiso):
        T.aplicar(ot2, "direccionar_a_coc", coz_sur)
    T.aplicar(ot2, "direccionar_a_coc", u.coz)


def test_sin_zona_no_ve_nada(esc, crear_usuario):
    esc.orden("asignada")
    assert list(OrdenDeTrabajo.objects.visibles_para(crear_usuario(Rol.TECNICO))) == []


def test_roles_de_lectura_ven_todo(esc, u):
    s = esc.solicitud("observada")
    for rol in (Rol.JEFE_DIVISION, Rol.GESTION_RED, Rol.COC, Rol.MONITORA):
        assert list(Solicitud.objects.visibles_para(u.por_rol[rol])) == [s]


def test_facturacion_no_ve_casos(esc, u):
    """Issue 13: Div. Facturación receives the monthly deliveries (21.1), not the cases."""
    s = esc.solicitud("observada")
    assert list(Solicitud.objects.visibles_para(u.facturacion)) == []
    assert list(OrdenDeTrabajo.objects.visibles_para(u.facturacion)) == []
    assert list(ServicioIngenieria.objects.visibles_para(u.facturacion)) == []
    assert T.disponibles(s, u.facturacion) == []


def test_usuario_inactivo_no_puede_nada(esc, u):
    s = esc.solicitud("registrada")
    u.gestion_red.is_active = False
    u.gestion_red.save()
    u.gestion_red._roles_cache = None
    with pytest.raises(SinPermiso):
        T.aplicar(s, "observar", u.gestion_red, causa="calle", detalle="x")


@pytest.mark.parametrize(
    "datos,campos",
    [
        ({}, {"causa", "detalle"}),
        ({"causa": "calle"}, {"detalle"}),
        ({"causa": "inventada", "detalle": "x"}, {"causa"}),
        ({"causa": "calle", "detalle": "   "}, {"detalle"}),
        ({"causa": "calle", "detalle": "x", "alcance": "medio"}, {"alcance"}),
        ({"causa": "calle", "detalle": "x", "color": "rojo"}, {"color"}),
    ],
)
def test_datos_invalidos_un_mensaje_por_campo_y_nada_cambia(esc, u, datos, campos):
    s = esc.solicitud("registrada")
    with pytest.raises(DatosInvalidos) as e:
        T.aplicar(s, "observar", u.gestion_red, **datos)
    assert set(e.value.errores) == campos
    assert all(isinstance(m, str) and m for m in e.value.errores.values())
    s.refresh_from_db()
    assert s.estado == "registrada" and s.version == 0
    assert s.observaciones_registradas.count() == 0
    assert RegistroAuditoria.de_objeto(s).count() == 1


def test_anular_sin_motivo(esc, u):
    s = esc.solicitud("observada")
    with pytest.raises(DatosInvalidos) as e:
        T.aplicar(s, "anular", u.gestion_red, motivo=" ")
    assert e.value.errores == {"motivo": "Indique el motivo de la anulación."}
    s.refresh_from_db()
    assert s.estado == "observada"


def test_numero_smartflex_duplicado(u, zona, nueva_solicitud):
    nueva_solicitud(numero_smartflex="SF-DUP")
    with pytest.raises(DatosInvalidos) as e:
        nueva_solicitud(numero_smartflex="SF-DUP")
    assert "numero_smartflex" in e.value.errores
    assert Solicitud.objects.filter(numero_smartflex="SF-DUP").count() == 1


def test_registro_sin_datos_obligatorios(u):
    with pytest.raises(DatosInvalidos) as e:
        T.crear_solicitud(u.asesor, numero_smartflex="SF-1")
    assert {"cliente_nombre", "calle", "zona"} <= set(e.value.errores)
    assert not Solicitud.objects.exists()


def test_monitora_registra_indicando_el_asesor(u, zona):
    with pytest.raises(DatosInvalidos) as e:
        T.crear_solicitud(u.monitora, numero_smartflex="SF-1", cliente_nombre="A", calle="B", zona=zona)
    assert "asesor" in e.value.errores
    s = T.crear_solicitud(
        u.monitora, numero_smartflex="SF-1", cliente_nombre="A", calle="B", zona=zona, asesor=u.asesor
    )
    assert s.asesor == u.asesor and s.registrada_por == u.monitora


def test_transicion_inexistente(esc, u):
    s = esc.solicitud("registrada")
    for nombre in ("borrar", "save", "_ejecutar", "en_alcance"):
        with pytest.raises(NoEncontrado):
            T.aplicar(s, nombre, u.gestion_red)


def test_objeto_inexistente(esc, u):
    s = esc.solicitud("registrada")
    fantasma = Solicitud.objects.get(pk=s.pk)
    fantasma.pk = 999999
    with pytest.raises(NoEncontrado):
        T.aplicar(fantasma, "observar", u.gestion_red, causa="calle", detalle="x")


def test_redigitacion_tardia(esc, u):
    s = esc.solicitud("pendiente_redigitacion")
    import datetime as dt

    from django.utils import timezone

    Solicitud.objects.filter(pk=s.pk).update(redigitacion_vence_at=timezone.now() - dt.timedelta(minutes=5))
    s.refresh_from_db()
    T.aplicar(s, "registrar_redigitacion", u.asesor, nueva=esc.datos_nueva(s))
    s.refresh_from_db()
    assert s.redigitacion_tardia is True


def test_atender_despues_del_vencimiento_queda_fuera_de_plazo(esc, u):
    import datetime as dt

    from django.utils import timezone

    si = esc.servicio("vencido")
    ServicioIngenieria.objects.filter(pk=si.pk).update(vence_at=timezone.now() - dt.timedelta(hours=1))
    si.refresh_from_db()
    T.aplicar(si, "atender", u.asesor, respuesta="Tarde, pero corregido")
    si.refresh_from_db()
    assert si.estado == "atendido" and si.fuera_de_plazo is True


def test_contacto_registrado_por_gestion_de_red(esc, u):
    s = esc.solicitud("observada")
    c = T.registrar_contacto(s, u.gestion_red, canal="llamada", resultado="sin_respuesta", detalle="2 intentos")
    assert c.caso_id == s.caso_id and c.rol == "GESTION_RED"
    with pytest.raises(SinPermiso):
        T.registrar_contacto(s, u.asesor, canal="llamada", resultado="contactado")
    with pytest.raises(DatosInvalidos) as e:
        T.registrar_contacto(s, u.coc, canal="paloma", resultado="contactado")
    assert "canal" in e.value.errores


def test_alcance_del_team_leader_cuesta_una_consulta_por_usuario(esc, u, django_assert_max_num_queries):
    solicitudes = [esc.solicitud("en_correccion") for _ in range(5)]
    tl = type(u.team_leader).objects.get(pk=u.team_leader.pk)  # fresh: nothing cached yet
    permiso = type(solicitudes[0]).digitar_modificacion._django_fsm.get_transition("en_correccion").permission
    with django_assert_max_num_queries(2):  # roles + team, once for all rows
        assert all(permiso(s, tl) for s in solicitudes)


def test_la_redigitacion_queda_con_el_asesor_del_caso(esc, u, crear_usuario):
    otra = crear_usuario(Rol.ASESOR)
    s = esc.solicitud("pendiente_redigitacion")
    datos = esc.datos_nueva(s)
    datos["asesor"] = otra  # an attempt to move the case to someone else
    T.aplicar(s, "registrar_redigitacion", u.team_leader, nueva=datos)
    s.refresh_from_db()
    assert s.reemplazada_por.asesor == u.asesor


def test_asignar_un_tecnico_de_otra_zona_se_rechaza(esc, u, zonas, crear_usuario):
    tecnico_sur = crear_usuario(Rol.TECNICO, zona=zonas[1])
    ot = esc.orden("generada")
    with pytest.raises(DatosInvalidos) as e:
        T.aplicar(ot, "asignar", u.coc, tecnico=tecnico_sur)
    assert "tecnico" in e.value.errores
    ot.refresh_from_db()
    assert ot.estado == "generada" and ot.tecnico is None
    T.aplicar(ot, "asignar", u.coc, tecnico=u.tecnico)
    ot.refresh_from_db()
    assert ot.tecnico == u.tecnico
