"""The API under the engine's procedure-integrity rules: several SI recipients at once, the
re-digitation SI that only 19.2 closes, cancellations of de forma cases (they used to answer
500), the 5.2 justification, the 20.2 impediments, the final cancellation of a re-digitation
that never came, and no refused state or condition ever answering anything but 409."""

from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from anulaciones import transitions as T
from anulaciones.api.views import RECURSOS
from anulaciones.models import OrdenDeTrabajo, RegistroAuditoria, ServicioIngenieria, Solicitud, Zonificacion
from anulaciones.reports import indicador as ind
from anulaciones.roles import Rol

from .test_api import CASOS, api  # noqa: F401  (the token client fixture)

pytestmark = pytest.mark.django_db

MODELO = {
    "solicitudes": Solicitud,
    "ordenes": OrdenDeTrabajo,
    "servicios": ServicioIngenieria,
    "zonificaciones": Zonificacion,
}
CUERPO = {(r, n): cuerpo for r, n, _, _, cuerpo, _ in CASOS}
ROL = {(r, n): rol for r, n, _, rol, _, _ in CASOS}
JUSTIFICACION = "El abonado pidió anular por escrito"


def _url(recurso, obj, nombre):
    return f"/api/v1/{recurso}/{obj.pk}/{nombre}/"


def _de_forma(esc, u):
    """A registered case observed only de forma (equipment): its installation may go ahead."""
    s = esc.nueva()
    T.aplicar(s, "observar", u.gestion_red, causa="equipos", detalle="Falta ONT", alcance="forma")
    s.refresh_from_db()
    return s


# --- solicitar_correccion with several recipients (step 7) ----------------------------------------
def test_destinatarios_abre_un_si_por_destinatario(api, esc, u):
    s = esc.solicitud("observada")
    r = api(u.coc).post(
        _url("solicitudes", s, "solicitar_correccion"),
        {
            "destinatarios": ["MONITORA", "TEAM_LEADER", "GESTION_RED"],
            "requerido": "Referencia precisa de la dirección",
        },
        format="json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["estado"] == "en_correccion"
    sis = ServicioIngenieria.objects.filter(solicitud=s, tipo="correccion")
    assert sorted(sis.values_list("destinatario", flat=True)) == ["GESTION_RED", "MONITORA", "TEAM_LEADER"]
    assert {si.requerido for si in sis} == {"Referencia precisa de la dirección"}
    assert (
        RegistroAuditoria.objects.filter(
            caso_id=s.caso_id,
            transicion=ServicioIngenieria.TRANSICION_CREACION,
            content_type__model="servicioingenieria",
        ).count()
        == 3
    )


def test_destinatario_y_destinatarios_se_suman_sin_repetir(api, esc, u):
    s = esc.solicitud("observada")
    r = api(u.gestion_red).post(
        _url("solicitudes", s, "solicitar_correccion"),
        {"destinatario": "ASESOR", "destinatarios": ["ASESOR", "MONITORA"], "requerido": "Caja más cercana"},
        format="json",
    )
    assert r.status_code == 200, r.json()
    assert sorted(ServicioIngenieria.objects.filter(solicitud=s).values_list("destinatario", flat=True)) == [
        "ASESOR",
        "MONITORA",
    ]


@pytest.mark.parametrize(
    "cuerpo,campo",
    [
        ({"destinatarios": ["MONITORA", "INVENTADO"], "requerido": "x"}, "destinatarios"),
        ({"destinatarios": "MONITORA", "requerido": "x"}, "destinatarios"),
        ({"destinatarios": [], "requerido": "x"}, "destinatario"),
        ({"requerido": "x"}, "destinatario"),
        ({"destinatarios": ["TECNICO"], "requerido": "x"}, "destinatarios"),
    ],
)
def test_destinatarios_invalidos_400_y_nada_cambia(api, esc, u, cuerpo, campo):
    s = esc.solicitud("observada")
    r = api(u.coc).post(_url("solicitudes", s, "solicitar_correccion"), cuerpo, format="json")
    assert r.status_code == 400, r.json()
    assert campo in r.json()["errores"], r.json()
    s.refresh_from_db()
    assert s.estado == "observada" and not ServicioIngenieria.objects.filter(solicitud=s).exists()


def test_esquema_documenta_destinatarios_como_lista(client, u):
    client.force_login(u.asesor)  # the schema needs a login (issue 13)
    esquema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    ref = esquema["paths"]["/api/v1/solicitudes/{id}/solicitar_correccion/"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["$ref"].rsplit("/", 1)[1]
    props = esquema["components"]["schemas"][ref]["properties"]
    assert props["destinatarios"]["type"] == "array"
    items = props["destinatarios"]["items"]["$ref"].rsplit("/", 1)[1]
    assert items == props["destinatario"]["$ref"].rsplit("/", 1)[1]  # one enum of recipients, one name
    assert set(esquema["components"]["schemas"][items]["enum"]) == set(ServicioIngenieria.DESTINATARIOS)
    assert "requerido" in esquema["components"]["schemas"][ref]["required"]
    assert "destinatario" not in esquema["components"]["schemas"][ref].get("required", [])


# --- the re-digitation SI closes only through 19.2 ------------------------------------------------
def test_atender_un_si_de_redigitacion_es_409_con_mensaje(api, esc, u):
    s = esc.solicitud("pendiente_redigitacion")
    si = ServicioIngenieria.objects.get(solicitud=s, tipo="redigitacion")
    r = api(u.asesor).post(_url("servicios", si, "atender"), {"respuesta": "Ya la re-digité"}, format="json")
    assert r.status_code == 409, r.json()
    assert r.json()["detail"] == "Un SI de re-digitación se cierra solo al registrar la nueva solicitud (19.2)."
    si.refresh_from_db()
    assert si.estado == "abierto"
    r = api(u.asesor).post(
        _url("solicitudes", s, "registrar_redigitacion"),
        {
            "nueva": {
                "numero_smartflex": "SF-NUEVA-R",
                "tipo": "instalacion",
                "cliente_nombre": "Ana",
                "calle": "Av. Arce",
                "zona": "Z1",
            }
        },
        format="json",
    )
    assert r.status_code == 200, r.json()
    si.refresh_from_db()
    assert si.estado == "atendido"


# --- cancellations of a de forma case (they used to be 500) ------------------------------------------
def test_coordinar_anulacion_de_un_caso_de_forma_200_y_anulado(api, esc, u):
    s = _de_forma(esc, u)
    r = api(u.coc).post(
        _url("ordenes", s.orden, "coordinar_anulacion"), {"motivo": "El cliente desiste"}, format="json"
    )
    assert r.status_code == 200, r.json()
    assert r.json()["estado"] == "anulada" and r.json()["anulacion_coordinada_at"]
    s.refresh_from_db()
    assert s.estado == "anulada"
    total = ind.informe(ind.Periodo.actual())["total"]
    assert (total["probables"], total["anulados"]) == (1, 1)
    # The COZ confirms it from its queue (step 10, the zonal center's side), once.
    r = api(u.coz).post(_url("ordenes", s.orden, "confirmar_anulacion"), {}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["anulacion_confirmada_at"]
    r = api(u.coz).post(_url("ordenes", s.orden, "confirmar_anulacion"), {}, format="json")
    assert r.status_code == 409


def test_ratificar_anulacion_de_un_caso_de_forma_200_y_anulado(api, esc, u):
    s = _de_forma(esc, u)
    T.aplicar(s.orden, "direccionar_a_coc", u.coz)  # 11: the zonal center sends the OT to the COC
    r = api(u.coc).post(_url("ordenes", s.orden, "ratificar_anulacion"), {"motivo": "Sin factibilidad"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["estado"] == "anulada"
    s.refresh_from_db()
    assert s.estado == "anulada"
    assert ind.informe(ind.Periodo.actual())["total"]["anulados"] == 1


# --- 5.2 justification --------------------------------------------------------------------------
def test_anular_sin_contacto_pide_justificacion(api, esc, u):
    s = esc.solicitud("observada")
    c = api(u.gestion_red)
    r = c.post(_url("solicitudes", s, "anular"), {"motivo": "El cliente desiste"}, format="json")
    assert r.status_code == 400, r.json()
    assert "justificacion" in r.json()["errores"]
    assert "intento de contacto" in r.json()["errores"]["justificacion"]
    s.refresh_from_db()
    assert s.estado == "observada"
    r = c.post(
        _url("solicitudes", s, "anular"),
        {"motivo": "El cliente desiste", "justificacion": JUSTIFICACION},
        format="json",
    )
    assert r.status_code == 200, r.json()
    assert (r.json()["estado"], r.json()["justificacion_anulacion"]) == ("anulada", JUSTIFICACION)


def test_anular_con_intento_de_contacto_no_pide_justificacion(api, esc, u):
    s = esc.solicitud("observada")
    T.registrar_contacto(s, u.coc, canal="llamada", resultado="rechaza")
    r = api(u.coc).post(_url("solicitudes", s, "anular"), {"motivo": "Rechaza la instalación"}, format="json")
    assert r.status_code == 200, r.json()
    assert (r.json()["estado"], r.json()["justificacion_anulacion"]) == ("anulada", "")


def test_anular_con_un_si_aun_en_plazo_pide_justificacion(api, esc, u):
    si = esc.servicio("abierto")
    T.registrar_contacto(si.solicitud, u.gestion_red, canal="llamada", resultado="sin_respuesta")
    r = api(u.gestion_red).post(_url("solicitudes", si.solicitud, "anular"), {"motivo": "No responde"}, format="json")
    assert r.status_code == 400 and "en plazo" in r.json()["errores"]["justificacion"]


# --- anular from pendiente_redigitacion: only after the 2 hours -------------------------------------
def test_anular_pendiente_de_redigitacion_409_antes_del_plazo_200_despues(api, esc, u):
    s = esc.solicitud("pendiente_redigitacion")
    cuerpo = {"motivo": "No llegó la re-digitación", "justificacion": JUSTIFICACION}
    r = api(u.coc).post(_url("solicitudes", s, "anular"), cuerpo, format="json")
    assert r.status_code == 409, r.json()
    assert "2 horas" in r.json()["detail"]
    s.refresh_from_db()
    assert s.estado == "pendiente_redigitacion"
    with time_machine.travel(s.redigitacion_vence_at + timedelta(minutes=1), tick=False):
        r = api(u.coc).post(_url("solicitudes", s, "anular"), cuerpo, format="json")
        assert r.status_code == 200, r.json()
        assert r.json()["estado"] == "anulada"
    si = ServicioIngenieria.objects.get(solicitud=s, tipo="redigitacion")
    assert si.estado == "cerrado_sin_atencion"


# --- the técnico's branch ends in a re-digitation (14 → 16 → 18 → 11 → 9 → 19.2) ------------------
def test_rama_del_tecnico_a_redigitacion_por_la_api(api, esc, u):
    o = esc.orden("asignada")
    tec, coz, coc, asesor = api(u.tecnico), api(u.coz), api(u.coc), api(u.asesor)
    r = tec.post(
        _url("ordenes", o, "reportar_observacion"),
        {"observacion": "El número de puerta no existe", "causa": "calle", "datos_tecnicos": "NAP-33 a 40 m"},
        format="json",
    )  # 14, 15.1
    assert r.status_code == 200, r.json()
    assert (
        tec.post(_url("ordenes", o, "reportar_a_coz"), {"propuesta": "gestionar"}, format="json").status_code == 200
    )  # 16
    assert coz.post(_url("ordenes", o, "direccionar_a_coc"), {}, format="json").status_code == 200  # 18
    s = Solicitud.objects.get(pk=o.solicitud_id)
    assert s.estado == "en_instalacion"
    r = coc.post(
        _url("solicitudes", s, "anular_para_redigitacion"),
        {"datos_precisos": "Calle 5 N° 120, caja NAP-33"},
        format="json",
    )  # 11 → 8–9
    assert r.status_code == 200, r.json()
    assert r.json()["estado"] == "pendiente_redigitacion"
    o.refresh_from_db()
    assert o.estado == "anulada"
    nueva = {
        "numero_smartflex": f"{s.numero_smartflex}-R",
        "cliente_nombre": s.cliente_nombre,
        "calle": "Calle 5",
        "numero_puerta": "120",
        "zona": s.zona.codigo,
        "caja_nap": "NAP-33",
    }
    r = asesor.post(_url("solicitudes", s, "registrar_redigitacion"), {"nueva": nueva}, format="json")  # 19.2
    assert r.status_code == 200, r.json()
    s.refresh_from_db()
    assert s.estado == "redigitada" and s.reemplazada_por.caja_nap == "NAP-33"
    assert ServicioIngenieria.objects.get(solicitud=s, tipo="redigitacion").estado == "atendido"


def test_redigitacion_desde_instalacion_sin_ot_en_el_coc_es_409(api, esc, u):
    s = esc.solicitud("en_instalacion")
    r = api(u.coc).post(_url("solicitudes", s, "anular_para_redigitacion"), {"datos_precisos": "x"}, format="json")
    assert r.status_code == 409 and "COC" in r.json()["detail"]


# --- impediments (20.2) ------------------------------------------------------------------------------
def _impedimento(**extra):
    return {
        "impedimento": "cierre_ot",
        "destinatario": "COC",
        "requerido": "Cerrar la OT en Smartflex para digitar la zonificación",
        **extra,
    }


def _url_impedimento(orden):
    return f"/api/v1/ordenes/{orden.pk}/impedimento/"


@pytest.mark.parametrize("rol", ["gestion_red", "coc"])
def test_impedimento_201(api, esc, u, rol):
    o = esc.orden("ejecutada")
    r = api(getattr(u, rol)).post(_url_impedimento(o), _impedimento(), format="json")
    assert r.status_code == 201, r.json()
    d = r.json()
    assert (d["tipo"], d["impedimento"], d["destinatario"], d["estado"]) == (
        "impedimento",
        "cierre_ot",
        "COC",
        "abierto",
    )
    assert d["vence_at"] and d["orden"] == o.pk and d["solicitud"] == o.solicitud_id
    si = ServicioIngenieria.objects.get(pk=d["id"])
    reg = RegistroAuditoria.objects.get(object_id=si.pk, content_type__model="servicioingenieria")
    assert (reg.paso, reg.transicion, reg.usuario_id) == (
        "20.2",
        ServicioIngenieria.TRANSICION_CREACION,
        getattr(u, rol).pk,
    )


@pytest.mark.parametrize(
    "impedimento,destinatario", [("cierre_ot", "COC"), ("comercial", "GESTION_RED"), ("sistema", "GESTION_RED")]
)
def test_impedimento_sin_destinatario_va_al_de_la_pagina(api, esc, u, impedimento, destinatario):
    """Like the page's form: an OT not closed by Operations goes to the COC, the rest to Gestión de Red."""
    o = esc.orden("ejecutada")
    r = api(u.gestion_red).post(
        _url_impedimento(o), {"impedimento": impedimento, "requerido": "Resolver"}, format="json"
    )
    assert r.status_code == 201, r.json()
    assert r.json()["destinatario"] == destinatario


@pytest.mark.parametrize("rol", ["asesor", "monitora", "team_leader", "coz", "tecnico", "jefe_division"])
def test_impedimento_403_para_otros_roles(api, esc, u, rol):
    o = esc.orden("ejecutada")
    r = api(getattr(u, rol)).post(_url_impedimento(o), _impedimento(), format="json")
    assert r.status_code == 403, r.json()
    assert not ServicioIngenieria.objects.filter(tipo="impedimento").exists()


@pytest.mark.parametrize("estado", ["generada", "asignada", "en_coc", "anulada"])
def test_impedimento_409_sobre_una_ot_no_ejecutada(api, esc, u, estado):
    o = esc.orden(estado)
    r = api(u.gestion_red).post(_url_impedimento(o), _impedimento(), format="json")
    assert r.status_code == 409, r.json()
    assert "OT ejecutada" in r.json()["detail"]
    assert not ServicioIngenieria.objects.filter(tipo="impedimento").exists()


@pytest.mark.parametrize(
    "cuerpo,campo",
    [
        ({"destinatario": "COC", "requerido": "x"}, "impedimento"),
        (_impedimento(impedimento="inventado"), "impedimento"),
        (_impedimento(destinatario="TECNICO"), "destinatario"),
        (_impedimento(requerido=""), "requerido"),
        (_impedimento(requerido="   "), "requerido"),
        (_impedimento(extra=1), "extra"),
        (_impedimento(requerido="a\x00b"), "requerido"),
    ],
)
def test_impedimento_400(api, esc, u, cuerpo, campo):
    o = esc.orden("ejecutada")
    r = api(u.gestion_red).post(_url_impedimento(o), cuerpo, format="json")
    assert r.status_code == 400, r.json()
    assert campo in r.json()["errores"]
    assert not ServicioIngenieria.objects.filter(tipo="impedimento").exists()


def test_impedimento_404_fuera_de_alcance_y_en_el_esquema(api, esc, u, zonas, client, crear_usuario):
    o = esc.orden("ejecutada")
    assert (
        api(u.gestion_red).post("/api/v1/ordenes/987654321/impedimento/", _impedimento(), format="json").status_code
        == 404
    )
    otro = crear_usuario(Rol.ASESOR, "otro_asesor")
    assert api(otro).post(_url_impedimento(o), _impedimento(), format="json").status_code == 404
    tecnico_sur = crear_usuario(Rol.TECNICO, "tecnico_sur", zona=zonas[1])
    assert api(tecnico_sur).post(_url_impedimento(o), _impedimento(), format="json").status_code == 404
    # Facturación sees no OT at all (issue 13: the monthly deliveries only): 404, not 403.
    assert api(u.facturacion).post(_url_impedimento(o), _impedimento(), format="json").status_code == 404
    assert APIClient().post(_url_impedimento(o), _impedimento(), format="json").status_code == 401
    client.force_login(u.asesor)  # the schema needs a login (issue 13)
    esquema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    op = esquema["paths"]["/api/v1/ordenes/{id}/impedimento/"]["post"]
    assert {"201", "400", "403", "404", "409"} <= set(op["responses"])
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(esquema["components"]["schemas"][ref]["required"]) == {"impedimento", "requerido"}


# --- no refused state or condition answers anything but 409 -------------------------------------------
# Each transition from a state that does not allow it (not final: those are in test_api.py).
ESTADO_EQUIVOCADO = {
    ("solicitudes", "observar"): "en_correccion",
    ("solicitudes", "solicitar_correccion"): "registrada",
    ("solicitudes", "digitar_modificacion"): "observada",
    ("solicitudes", "asignar_instalacion"): "pendiente_redigitacion",
    ("solicitudes", "anular"): "instalada",
    ("solicitudes", "anular_para_redigitacion"): "registrada",
    ("solicitudes", "registrar_redigitacion"): "observada",
    ("solicitudes", "vincular_redigitacion"): "registrada",
    ("solicitudes", "marcar_instalada"): "registrada",
    ("solicitudes", "modificar_forma"): "en_instalacion",
    ("ordenes", "asignar"): "asignada",
    ("ordenes", "reportar_observacion"): "generada",
    ("ordenes", "reportar_a_coz"): "asignada",
    ("ordenes", "direccionar_a_coc"): "asignada",
    ("ordenes", "redireccionar_instalacion"): "asignada",
    ("ordenes", "ratificar_anulacion"): "asignada",
    ("ordenes", "coordinar_anulacion"): "en_coc",
    ("ordenes", "confirmar_anulacion"): "asignada",
    ("ordenes", "ejecutar"): "generada",
    ("servicios", "atender"): "cerrado_sin_atencion",
    ("servicios", "vencer"): "vencido",
    ("servicios", "cerrar_sin_atencion"): "atendido",
    ("zonificaciones", "digitar"): "digitada",
}


def _todas():
    return {
        (r, n) for r, (m, *_) in RECURSOS.items() for n, t in T.transiciones(m).items() if not t.custom.get("interna")
    }


def _condiciones(recurso, nombre):
    meta = getattr(RECURSOS[recurso][0], nombre)._django_fsm
    return {c.__name__ for t in meta.transitions.values() for c in t.conditions}


def test_la_tabla_de_estados_equivocados_cubre_cada_transicion():
    assert set(ESTADO_EQUIVOCADO) == _todas()


@pytest.mark.parametrize("recurso,nombre", sorted(ESTADO_EQUIVOCADO), ids=lambda v: v)
def test_estado_equivocado_es_409(api, esc, u, recurso, nombre):
    obj = esc.en(MODELO[recurso], ESTADO_EQUIVOCADO[(recurso, nombre)])
    antes = (obj.estado, obj.version)
    cuerpo = CUERPO.get((recurso, nombre), {})
    r = api(getattr(u, ROL.get((recurso, nombre), "coc"))).post(_url(recurso, obj, nombre), cuerpo, format="json")
    assert r.status_code == 409, r.json()
    assert r.json()["detail"] and r.json()["errores"] == {}
    obj.refresh_from_db()
    assert (obj.estado, obj.version) == antes


# Each condition of each transition, failing: (resource, transition, condition, builder, role, body).
def _pendiente_en_plazo(esc, u):
    return esc.solicitud("pendiente_redigitacion")


def _en_instalacion_ot_asignada(esc, u):
    return esc.solicitud("en_instalacion")


def _ot_anulada_sin_coordinar(esc, u):
    o = esc.orden("en_coc")
    T.aplicar(o, "ratificar_anulacion", u.coc, motivo="Sin factibilidad")
    o.refresh_from_db()
    return o


def _ot_anulada_ya_confirmada(esc, u):
    o = esc.orden("anulada")
    T.aplicar(o, "confirmar_anulacion", u.coz)
    o.refresh_from_db()
    return o


def _ot_retenida(esc, u):
    s = esc.solicitud("en_instalacion")
    T.aplicar(s, "observar", u.coc, causa="calle", detalle="Dirección inexistente")  # 6: the OT is held
    o = s.orden
    o.refresh_from_db()
    assert o.estado == "asignada"
    return o


def _ot_reportada_al_coz(esc, u):
    """A Solicitud en_instalacion whose OT the técnico reported to the COZ (16)."""
    o = esc.orden("reportada_coz")
    return Solicitud.objects.get(pk=o.solicitud_id)


def _observada_con_ot_reportada(esc, u):
    s = _ot_reportada_al_coz(esc, u)
    T.aplicar(s, "observar", u.coc, causa="calle", detalle="Dirección a verificar")  # 6 on it
    s.refresh_from_db()
    return s


def _si_de_redigitacion(esc, u):
    return ServicioIngenieria.objects.get(solicitud=esc.solicitud("pendiente_redigitacion"), tipo="redigitacion")


CONDICIONES = [
    (
        "solicitudes",
        "anular",
        "redigitacion_vencida",
        _pendiente_en_plazo,
        "gestion_red",
        {"motivo": "No llegó", "justificacion": JUSTIFICACION},
        "2 horas",
    ),
    (
        "solicitudes",
        "anular_para_redigitacion",
        "observacion_de_fondo",
        _de_forma,
        "coc",
        {"datos_precisos": "Plan: Fibra 200"},
        "de forma",
    ),
    (
        "solicitudes",
        "anular_para_redigitacion",
        "orden_en_coc_si_en_instalacion",
        _en_instalacion_ot_asignada,
        "coc",
        {"datos_precisos": "Plan: Fibra 200"},
        "en el COC",
    ),
    ("solicitudes", "marcar_instalada", "orden_ejecutada", _en_instalacion_ot_asignada, "coc", {}, "no fue ejecutada"),
    (
        "ordenes",
        "confirmar_anulacion",
        "anulacion_por_confirmar",
        _ot_anulada_sin_coordinar,
        "coz",
        {},
        "anulación coordinada",
    ),
    (
        "ordenes",
        "confirmar_anulacion",
        "anulacion_por_confirmar",
        _ot_anulada_ya_confirmada,
        "coz",
        {},
        "anulación coordinada",
    ),
    ("ordenes", "ejecutar", "no_retenida", _ot_retenida, "tecnico", {}, "retenida"),
    ("servicios", "atender", "no_es_redigitacion", _si_de_redigitacion, "asesor", {"respuesta": "Listo"}, "19.2"),
    ("servicios", "cerrar_sin_atencion", "no_es_redigitacion", _si_de_redigitacion, "gestion_red", {}, "19.2"),
    (
        "solicitudes",
        "anular",
        "orden_fuera_del_campo",
        _ot_reportada_al_coz,
        "coc",
        {"motivo": "Cliente desiste", "justificacion": JUSTIFICACION},
        "COZ",
    ),
    (
        "solicitudes",
        "anular_para_redigitacion",
        "orden_fuera_del_campo",
        _observada_con_ot_reportada,
        "coc",
        {"datos_precisos": "Plan: Fibra 200"},
        "COZ",
    ),
]


def test_la_tabla_de_condiciones_cubre_cada_condicion():
    esperadas = {(r, n, c) for r, n in _todas() for c in _condiciones(r, n)}
    assert {(r, n, c) for r, n, c, *_ in CONDICIONES} == esperadas


@pytest.mark.parametrize(
    "recurso,nombre,condicion,construir,rol,cuerpo,mensaje",
    CONDICIONES,
    ids=[f"{r}-{n}-{f.__name__}" for r, n, _, f, *_ in CONDICIONES],
)
def test_condicion_que_falla_es_409_con_su_mensaje(
    api, esc, u, recurso, nombre, condicion, construir, rol, cuerpo, mensaje
):
    obj = construir(esc, u)
    antes = (obj.estado, obj.version, RegistroAuditoria.objects.count())
    r = api(getattr(u, rol)).post(_url(recurso, obj, nombre), cuerpo, format="json")
    assert r.status_code == 409, r.json()
    assert mensaje in r.json()["detail"], r.json()
    obj.refresh_from_db()
    assert (obj.estado, obj.version, RegistroAuditoria.objects.count()) == antes


def test_transiciones_disponibles_no_ofrecen_lo_que_una_condicion_impide(api, esc, u):
    """What the representation offers can be taken: a refused condition is not offered."""
    s = esc.solicitud("pendiente_redigitacion")
    assert "anular" not in [
        t["nombre"] for t in api(u.coc).get(f"/api/v1/solicitudes/{s.pk}/").json()["transiciones_disponibles"]
    ]
    with time_machine.travel(s.redigitacion_vence_at + timedelta(minutes=1), tick=False):  # 2 working hours
        assert "anular" in [
            t["nombre"] for t in api(u.coc).get(f"/api/v1/solicitudes/{s.pk}/").json()["transiciones_disponibles"]
        ]
