"""The SI's zone (a copy of its Solicitud's, for the Tablero's zone filter) is kept by the
database: whatever writes the rows, it equals the Solicitud's zone."""

from anulaciones.models import ServicioIngenieria, Solicitud


def _zona_en_bd(si):
    return ServicioIngenieria.objects.values_list("zona_id", flat=True).get(pk=si.pk)


def test_un_si_nace_con_la_zona_de_su_solicitud(esc, zona):
    si = esc.servicio("abierto")
    assert _zona_en_bd(si) == si.solicitud.zona_id == zona.pk


def test_si_la_zona_de_la_solicitud_cambia_sus_si_la_siguen(esc, zonas):
    si = esc.servicio("abierto")
    otro = esc.servicio("vencido")
    Solicitud.objects.filter(pk=si.solicitud_id).update(zona=zonas[1])  # any writer: a bulk update, SQL
    assert _zona_en_bd(si) == zonas[1].pk
    assert _zona_en_bd(otro) == zonas[0].pk  # the other case's SI is left alone


def test_guardar_un_si_con_otra_zona_en_memoria_no_la_cambia(esc, zonas):
    si = esc.servicio("abierto")
    si.zona_id = zonas[1].pk
    si.save()
    assert _zona_en_bd(si) == zonas[0].pk


def test_el_tablero_filtra_por_la_zona_actual_del_caso(client, esc, u, zonas):
    si = esc.servicio("abierto")
    client.force_login(u.gestion_red)
    assert si.pk in _ids(client.get("/tablero/", {"zona": zonas[0].pk}))
    assert si.pk not in _ids(client.get("/tablero/", {"zona": zonas[1].pk}))
    Solicitud.objects.filter(pk=si.solicitud_id).update(zona=zonas[1])
    assert si.pk in _ids(client.get("/tablero/", {"zona": zonas[1].pk}))
    assert si.pk not in _ids(client.get("/tablero/", {"zona": zonas[0].pk}))


def _ids(respuesta):
    assert respuesta.status_code == 200
    return {fila.record.pk for fila in respuesta.context["tabla"].page.object_list}
