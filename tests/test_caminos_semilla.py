"""Each path through the seed (COM-DSC-P10, section II), walked through the transition path
as its people would, asserting the final states and the audit rows in order."""

import pytest
from django.utils import timezone

from anulaciones import entregas as reports
from anulaciones import transitions as T
from anulaciones.models import RegistroAuditoria, ServicioIngenieria, Solicitud

pytestmark = pytest.mark.django_db


def auditoria(caso):
    """The case's timeline: (model, transition, step, from, to, role)."""
    return [
        (r.content_type.model, r.transicion, r.paso, r.estado_origen, r.estado_destino, r.rol)
        for r in RegistroAuditoria.objects.de_caso(caso.pk)
    ]


NACE = [
    ("solicitud", "registrar", "1", "", "registrada", "ASESOR"),
    ("ordendetrabajo", "generar", "1", "", "generada", "ASESOR"),
]


def test_paso_1_2_3_4_5_2_gestion_de_red_observa_y_se_asigna(u, nueva_solicitud):
    s = nueva_solicitud()  # 1. el asesor digita la solicitud
    T.aplicar(s, "observar", u.gestion_red, causa="calle", detalle="La calle no existe en el QGis")  # 2
    T.aplicar(
        s,
        "solicitar_correccion",
        u.gestion_red,
        destinatario="ASESOR",  # 3
        requerido="Mayor referencia de dirección y caja más cercana",
    )
    si = ServicioIngenieria.objects.get(solicitud=s)
    assert (si.vendedor, si.asesor, si.observacion.causa) == ("Pedro Vargas", u.asesor, "calle")  # 3.1
    T.aplicar(s, "digitar_modificacion", u.asesor, modificacion="Calle 21 de Calacoto, caja NAP-12")  # 4
    T.aplicar(s, "asignar_instalacion", u.gestion_red)  # 5.2

    s.refresh_from_db()
    si.refresh_from_db()
    assert s.estado == "en_instalacion" and s.orden.estado == "asignada"
    assert si.estado == "atendido" and si.cerrado_por == u.asesor and not si.fuera_de_plazo
    assert "NAP-12" in s.observaciones
    assert s.caso.probable_at is not None
    assert auditoria(s.caso) == NACE + [
        ("solicitud", "observar", "2", "registrada", "observada", "GESTION_RED"),
        ("solicitud", "solicitar_correccion", "3", "observada", "en_correccion", "GESTION_RED"),
        ("servicioingenieria", "abrir", "3", "", "abierto", "GESTION_RED"),
        ("solicitud", "digitar_modificacion", "4.1", "en_correccion", "corregida", "ASESOR"),
        ("servicioingenieria", "atender", "4.2", "abierto", "atendido", "ASESOR"),
        ("solicitud", "asignar_instalacion", "5.2", "corregida", "en_instalacion", "GESTION_RED"),
        ("ordendetrabajo", "asignar", "5.2", "generada", "asignada", "GESTION_RED"),
    ]


def test_paso_1_2_3_5_2_si_sin_atender_se_anula(u, nueva_solicitud):
    s = nueva_solicitud()
    T.aplicar(s, "observar", u.gestion_red, causa="datos_tecnicos", detalle="Plan no disponible en la zona")
    T.aplicar(s, "solicitar_correccion", u.gestion_red, destinatario="MONITORA", requerido="Plan válido")
    si = ServicioIngenieria.objects.get(solicitud=s)
    T.aplicar(si, "vencer", u.sistema)  # nobody answered within the day
    T.registrar_contacto(s, u.gestion_red, canal="llamada", resultado="sin_respuesta")  # 3.3
    T.aplicar(s, "anular", u.gestion_red, motivo="SI no atendido en el día; cliente no ubicable")  # 5.2

    s.refresh_from_db()
    si.refresh_from_db()
    assert s.estado == "anulada" and s.orden.estado == "anulada"
    assert si.estado == "cerrado_sin_atencion"
    assert auditoria(s.caso)[2:] == [
        ("solicitud", "observar", "2", "registrada", "observada", "GESTION_RED"),
        ("solicitud", "solicitar_correccion", "3", "observada", "en_correccion", "GESTION_RED"),
        ("servicioingenieria", "abrir", "3", "", "abierto", "GESTION_RED"),
        ("servicioingenieria", "vencer", "5.2", "abierto", "vencido", "SISTEMA"),
        ("solicitud", "anular", "5.2", "en_correccion", "anulada", "GESTION_RED"),
        ("servicioingenieria", "cerrar_sin_atencion", "5.2", "vencido", "cerrado_sin_atencion", "GESTION_RED"),
        ("ordendetrabajo", "coordinar_anulacion", "10", "generada", "anulada", "GESTION_RED"),
    ]


def test_paso_1_6_7_4_coc_observa_y_la_monitora_corrige(u, nueva_solicitud):
    s = nueva_solicitud()
    T.aplicar(s, "observar", u.coc, causa="caja_nap", detalle="La NAP indicada está saturada")  # 6
    T.aplicar(s, "solicitar_correccion", u.coc, destinatario="MONITORA", requerido="NAP alternativa")  # 7
    T.aplicar(s, "digitar_modificacion", u.monitora, modificacion="NAP-03 (alternativa)")  # 4

    s.refresh_from_db()
    assert s.estado == "corregida"
    assert ServicioIngenieria.objects.get(solicitud=s).estado == "atendido"
    assert auditoria(s.caso)[2:] == [
        ("solicitud", "observar", "6", "registrada", "observada", "COC"),
        ("solicitud", "solicitar_correccion", "7", "observada", "en_correccion", "COC"),
        ("servicioingenieria", "abrir", "7", "", "abierto", "COC"),
        ("solicitud", "digitar_modificacion", "4.1", "en_correccion", "corregida", "MONITORA"),
        ("servicioingenieria", "atender", "4.2", "abierto", "atendido", "MONITORA"),
    ]


def test_paso_1_6_8_9_19_2_coc_anula_para_redigitacion_y_el_asesor_redigita(u, nueva_solicitud, esc):
    s = nueva_solicitud()
    T.aplicar(s, "observar", u.coc, causa="datos_cliente", detalle="Documento del cliente errado")  # 6
    T.aplicar(s, "anular_para_redigitacion", u.coc, datos_precisos="CI correcto: 4567890 LP")  # 8-9
    s.refresh_from_db()
    si = ServicioIngenieria.objects.get(solicitud=s)
    assert si.tipo == "redigitacion" and si.vence_at == s.redigitacion_vence_at
    T.aplicar(s, "registrar_redigitacion", u.asesor, nueva=esc.datos_nueva(s, "SF-NUEVA-1"))  # 19.2

    s.refresh_from_db()
    nueva = Solicitud.objects.get(numero_smartflex="SF-NUEVA-1")
    assert s.estado == "redigitada" and s.reemplazada_por == nueva and not s.redigitacion_tardia
    assert nueva.estado == "registrada" and nueva.caso == s.caso and nueva.orden.estado == "generada"
    assert s.orden.estado == "anulada"
    si.refresh_from_db()
    assert si.estado == "atendido"
    assert auditoria(s.caso)[2:] == [
        ("solicitud", "observar", "6", "registrada", "observada", "COC"),
        ("solicitud", "anular_para_redigitacion", "9", "observada", "pendiente_redigitacion", "COC"),
        ("servicioingenieria", "abrir", "9.1", "", "abierto", "COC"),
        ("ordendetrabajo", "coordinar_anulacion", "10", "generada", "anulada", "COC"),
        ("solicitud", "registrar_redigitacion", "19.2", "pendiente_redigitacion", "redigitada", "ASESOR"),
        ("solicitud", "registrar", "1", "", "registrada", "ASESOR"),
        ("ordendetrabajo", "generar", "1", "", "generada", "ASESOR"),
        ("servicioingenieria", "atender", "4.2", "abierto", "atendido", "ASESOR"),
    ]


def test_paso_1_6_8_10_coc_coordina_la_anulacion_con_el_coz(u, nueva_solicitud):
    s = nueva_solicitud()
    T.aplicar(s, "observar", u.coc, causa="otro", detalle="Zona sin cobertura de red", subsanable=False)  # 6
    T.aplicar(s.orden, "coordinar_anulacion", u.coc, motivo="No subsanable: sin cobertura")  # 8 -> 10

    s.refresh_from_db()
    assert s.estado == "anulada" and s.orden.estado == "anulada"
    assert s.motivo_anulacion == "No subsanable: sin cobertura"
    assert auditoria(s.caso)[2:] == [
        ("solicitud", "observar", "6", "registrada", "observada", "COC"),
        ("ordendetrabajo", "coordinar_anulacion", "10", "generada", "anulada", "COC"),
        ("solicitud", "anular", "10", "observada", "anulada", "COC"),
    ]


def _asignada(u, nueva_solicitud):
    s = nueva_solicitud()
    T.aplicar(s, "asignar_instalacion", u.gestion_red)
    s.refresh_from_db()
    return s, s.orden


def test_paso_14_15_16_18_11_12_tecnico_observa_y_se_instala(u, nueva_solicitud):
    s, ot = _asignada(u, nueva_solicitud)
    T.aplicar(
        ot,
        "reportar_observacion",
        u.tecnico,
        observacion="El cliente pide otro punto de instalación",  # 14-15
        causa="datos_tecnicos",
        datos_tecnicos="Distancia a NAP 180 m",
        solicitudes_adicionales="TV extra",
    )
    T.aplicar(ot, "reportar_a_coz", u.tecnico, propuesta="gestionar")  # 16
    T.aplicar(ot, "direccionar_a_coc", u.coz)  # 18
    T.aplicar(ot, "redireccionar_instalacion", u.coc)  # 11 -> 12

    s.refresh_from_db()
    ot.refresh_from_db()
    assert ot.estado == "asignada" and s.estado == "en_instalacion"
    assert ot.tecnico == u.tecnico and ot.solicitudes_adicionales == "TV extra"
    assert s.caso.probable_at is not None  # 14 makes the case probable de anulación
    assert auditoria(s.caso)[4:] == [
        ("ordendetrabajo", "reportar_observacion", "14", "asignada", "observada_en_campo", "TECNICO"),
        ("ordendetrabajo", "reportar_a_coz", "16", "observada_en_campo", "reportada_coz", "TECNICO"),
        ("ordendetrabajo", "direccionar_a_coc", "18", "reportada_coz", "en_coc", "COZ"),
        ("ordendetrabajo", "redireccionar_instalacion", "12", "en_coc", "asignada", "COC"),
    ]


def test_paso_14_15_17_18_11_13_tecnico_lleva_a_anulacion(u, nueva_solicitud):
    s, ot = _asignada(u, nueva_solicitud)
    T.aplicar(ot, "reportar_observacion", u.tecnico, observacion="No hay red en la calle", causa="otro")  # 14
    T.aplicar(ot, "reportar_a_coz", u.tecnico, propuesta="anular")  # 17
    T.aplicar(ot, "direccionar_a_coc", u.coz)  # 18
    T.aplicar(ot, "ratificar_anulacion", u.coc, motivo="Sin red en la zona, ratificado")  # 11 -> 13

    s.refresh_from_db()
    ot.refresh_from_db()
    assert ot.estado == "anulada" and s.estado == "anulada"
    assert auditoria(s.caso)[4:] == [
        ("ordendetrabajo", "reportar_observacion", "14", "asignada", "observada_en_campo", "TECNICO"),
        ("ordendetrabajo", "reportar_a_coz", "17", "observada_en_campo", "reportada_coz", "TECNICO"),
        ("ordendetrabajo", "direccionar_a_coc", "18", "reportada_coz", "en_coc", "COZ"),
        ("ordendetrabajo", "ratificar_anulacion", "13", "en_coc", "anulada", "COC"),
        ("solicitud", "anular", "13", "en_instalacion", "anulada", "COC"),
    ]


def test_ot_ejecutada_20_21_zonificacion_llega_a_remitida(u, nueva_solicitud, zonas):
    s, ot = _asignada(u, nueva_solicitud)
    T.aplicar(ot, "ejecutar", u.tecnico)  # TEC-DPA-P01
    s.refresh_from_db()
    assert s.estado == "instalada"
    z = T.recibir_zonificacion(
        ot,
        u.gestion_red,
        zona_corregida=zonas[1],
        tipo_correccion="zona",  # 20.1
        calle="Av. Arce",
        referencia="Frente a la plaza",
        caja_nap="NAP-20",
        latitud="-16.510000",
        longitud="-68.120000",
    )
    T.aplicar(z, "digitar", u.gestion_red)  # 20.3
    reports.generar_entrega(timezone.localdate(), u.gestion_red)  # 21.1: in the month's delivery

    z.refresh_from_db()
    assert z.estado == "remitida" and z.zona_anterior == ot.zona and z.zona_corregida == zonas[1]
    assert auditoria(s.caso)[4:] == [
        ("ordendetrabajo", "ejecutar", "12.1", "asignada", "ejecutada", "TECNICO"),
        ("solicitud", "marcar_instalada", "12.1", "en_instalacion", "instalada", "TECNICO"),
        ("zonificacion", "recibir", "20.1", "", "recibida", "GESTION_RED"),
        ("zonificacion", "digitar", "20.3", "recibida", "digitada", "GESTION_RED"),
        ("zonificacion", "remitir", "21.1", "digitada", "remitida", "GESTION_RED"),
    ]


def test_observacion_de_forma_no_lleva_a_redigitacion_y_se_digita_tras_ejecutar(u, nueva_solicitud):
    s = nueva_solicitud()
    T.aplicar(s, "observar", u.coc, causa="equipos", detalle="Equipo ONT modelo B", alcance="forma")
    s.refresh_from_db()
    assert s.modificacion_pendiente == "Equipo ONT modelo B"
    from anulaciones.errors import TransicionNoPermitida

    with pytest.raises(TransicionNoPermitida, match="de forma"):
        T.aplicar(s, "anular_para_redigitacion", u.coc, datos_precisos="x")
    assert ("anular_para_redigitacion", "Anular para re-digitación") not in T.disponibles(s, u.coc)
    # A cancellation is never refused for de forma observations (the customer may ask for it).
    assert ("anular", "Anular") in T.disponibles(s, u.coc)
    T.aplicar(s, "asignar_instalacion", u.coc)
    T.aplicar(s.orden, "ejecutar", u.tecnico)
    s.refresh_from_db()  # «ejecutar» made it instalada: the version the asesor acts on is the new one
    T.aplicar(s, "modificar_forma", u.asesor, modificacion="Equipo cambiado a ONT modelo B")  # 19.1
    s.refresh_from_db()
    assert s.estado == "instalada" and s.modificacion_pendiente == ""
    ultima = RegistroAuditoria.de_objeto(s).last()
    assert (ultima.transicion, ultima.paso, ultima.estado_origen, ultima.estado_destino) == (
        "modificar_forma",
        "19.1",
        "instalada",
        "instalada",
    )


def test_anular_la_ot_anula_la_solicitud_y_cierra_sus_si_abiertos(esc, u):
    si = esc.servicio("abierto")
    s = si.solicitud
    T.aplicar(s.orden, "coordinar_anulacion", u.coc, motivo="Sin factibilidad técnica")
    s.refresh_from_db()
    si.refresh_from_db()
    assert s.estado == "anulada" and s.orden.estado == "anulada"
    assert si.estado == "cerrado_sin_atencion" and si.cerrado_por == u.coc
    assert [r.transicion for r in RegistroAuditoria.objects.de_caso(s.caso_id)][-3:] == [
        "coordinar_anulacion",
        "anular",
        "cerrar_sin_atencion",
    ]
