"""Issue 12 through the pages (Django test client): several SI recipients (7), the 4.1 correction
reaching the OT and its print, the 5.2 / 3.3 justification of a cancellation, the técnico's
report (15.1), impediments (20.2), the COZ's confirmation of a coordinated cancellation (10)
and the «Qué sigue» panel of the case page."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from anulaciones import transitions as T
from anulaciones.models import Correccion, OrdenDeTrabajo, RegistroAuditoria, ServicioIngenieria, Solicitud
from anulaciones.roles import Rol

pytestmark = pytest.mark.django_db


def url_t(obj, nombre):
    slug = {Solicitud: "solicitud", OrdenDeTrabajo: "orden", ServicioIngenieria: "servicio"}[type(obj)]
    return reverse("transicion", args=[slug, obj.pk, nombre])


def fresca(obj):
    return type(obj).objects.get(pk=obj.pk)


def html_de(client, url):
    r = client.get(url)
    assert r.status_code == 200, url
    return r.content.decode()


def colas(client):
    return {c.clave: c for c in client.get("/").context["colas"]}


def bloque(html, id_):
    """The text of the element with this id (up to its section's end)."""
    inicio = html.index(f'id="{id_}"')
    fin = html.find("</section>", inicio)
    return html[inicio : fin if fin != -1 else None]


# --- 7: several recipients, each in its own home queue ----------------------------------------
def test_solicitar_correccion_a_tres_destinatarios_desde_el_formulario(esc, u, client):
    s = esc.solicitud("registrada")
    T.aplicar(s, "observar", u.coc, causa="calle", detalle="Calle mal escrita")
    s = fresca(s)
    client.force_login(u.coc)
    r = client.get(url_t(s, "solicitar_correccion"))
    html = r.content.decode()
    # checkboxes, the asesor marked by default
    assert re.search(r'<input type="checkbox" name="destinatarios" value="ASESOR"[^>]*checked', html)
    assert 'type="checkbox" name="destinatarios" value="TEAM_LEADER"' in html
    r = client.post(
        url_t(s, "solicitar_correccion"),
        {
            "destinatarios": ["MONITORA", "TEAM_LEADER", "GESTION_RED"],
            "requerido": "Calle correcta y caja más cercana",
            "version": s.version,
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    sis = {si.destinatario: si for si in ServicioIngenieria.objects.filter(solicitud=s)}
    assert set(sis) == {"MONITORA", "TEAM_LEADER", "GESTION_RED"}
    assert {si.tipo for si in sis.values()} == {"correccion"}
    assert fresca(s).estado == "en_correccion"
    for rol, quien in (("MONITORA", u.monitora), ("TEAM_LEADER", u.team_leader), ("GESTION_RED", u.gestion_red)):
        client.force_login(quien)
        cola = colas(client)["servicios"]
        assert cola.total == 1, rol
        assert cola.filas[0]["titulo"].startswith(str(sis[rol])) and s.numero_smartflex in cola.filas[0]["titulo"]
        html = html_de(client, "/")
        assert "Calle correcta y caja más cercana" in bloque(html, "cola-servicios")
    # the case page lists the three, each with its recipient
    html = html_de(client, reverse("solicitud", args=[s.pk]))
    for si in sis.values():
        assert f'id="si-{si.pk}"' in html


def test_solicitar_correccion_sin_destinatario_se_rechaza(esc, u, client):
    s = esc.solicitud("observada")
    client.force_login(u.gestion_red)
    r = client.post(url_t(s, "solicitar_correccion"), {"requerido": "Lo que se conserva", "version": s.version})
    assert r.status_code == 400
    assert "destinatarios" in r.context["form"].errors
    html = r.content.decode()
    assert 'id="id_destinatarios_error"' in html and "Lo que se conserva" in html
    assert not ServicioIngenieria.objects.exists() and fresca(s).estado == "observada"


# --- 4.1: the correction reaches the OT and its print -----------------------------------------
def test_digitar_modificacion_corrige_la_caja_y_la_ot_la_muestra(esc, u, client):
    s = esc.solicitud("en_correccion")
    client.force_login(u.asesor)
    r = client.get(url_t(s, "digitar_modificacion"))
    form = r.context["form"]
    html = r.content.decode()
    # the structured data, pre-filled to be corrected in place
    assert form.initial["caja_nap"] == "NAP-01" and form.initial["calle"] == "Av. Busch"
    assert 'name="caja_nap"' in html and 'value="NAP-01"' in html
    datos = {
        "modificacion": "",
        "calle": s.calle,
        "numero_puerta": s.numero_puerta,
        "referencias": s.referencias.replace("\n", "\r\n"),
        "caja_nap": "NAP-22",
        "version": s.version,
    }
    r = client.post(url_t(s, "digitar_modificacion"), datos)
    assert r.status_code == 302, r.content.decode()[:3000]
    s = fresca(s)
    assert s.estado == "corregida" and s.caja_nap == "NAP-22" and s.calle == "Av. Busch"
    assert list(Correccion.objects.values_list("campo", "anterior", "nuevo", "paso", "usuario")) == [
        ("caja_nap", "NAP-01", "NAP-22", "4.1", u.asesor.pk)
    ]
    cuando = timezone.localtime(Correccion.objects.get().creado_at).strftime("%d/%m/%Y %H:%M")
    assert ServicioIngenieria.objects.get(solicitud=s).estado == "atendido"

    T.aplicar(s, "asignar_instalacion", u.gestion_red)
    for quien, url in (
        (u.tecnico, reverse("orden", args=[s.orden.pk])),
        (u.coz, reverse("orden_imprimir", args=[s.orden.pk])),
    ):
        client.force_login(quien)
        html = html_de(client, url)
        assert "NAP-22" in html
        fila = re.search(r'data-correccion="caja_nap">(.*?)</li>', html, re.S).group(1)
        assert "Caja / NAP" in fila and "NAP-01" in fila and "NAP-22" in fila
        assert "asesor" in fila and cuando in fila and "4.1" in fila
    # the case page lists the correction too
    client.force_login(u.coc)
    html = html_de(client, reverse("solicitud", args=[s.pk]))
    assert "NAP-01" in bloque(html, "correcciones") and "NAP-22" in bloque(html, "correcciones")


def test_digitar_modificacion_solo_texto_no_corrige_datos(esc, u, client):
    s = esc.solicitud("en_correccion")
    client.force_login(u.asesor)
    r = client.post(
        url_t(s, "digitar_modificacion"), {"modificacion": "Referencia confirmada por teléfono", "version": s.version}
    )
    assert r.status_code == 302
    assert fresca(s).estado == "corregida" and not Correccion.objects.exists()


def test_digitar_modificacion_calle_vacia_conserva_lo_escrito(esc, u, client):
    s = esc.solicitud("en_correccion")
    client.force_login(u.asesor)
    r = client.post(
        url_t(s, "digitar_modificacion"), {"modificacion": "", "calle": "", "caja_nap": "NAP-77", "version": s.version}
    )
    assert r.status_code == 400 and "calle" in r.context["form"].errors
    assert 'value="NAP-77"' in r.content.decode()
    assert fresca(s).caja_nap == "NAP-01" and not Correccion.objects.exists()


def test_modificacion_de_forma_muestra_lo_pendiente(esc, u, client):
    s = esc.solicitud("registrada")
    T.aplicar(s, "observar", u.gestion_red, causa="equipos", detalle="Cambiar ONT por modelo B", alcance="forma")
    T.aplicar(fresca(s), "asignar_instalacion", u.gestion_red)
    T.aplicar(fresca(s).orden, "ejecutar", u.tecnico)
    s = fresca(s)
    assert s.estado == "instalada"
    client.force_login(u.asesor)
    r = client.get(url_t(s, "modificar_forma"))
    assert r.context["form"].fields["modificacion"].initial == "Cambiar ONT por modelo B"
    assert "Pendiente de la observación de forma: Cambiar ONT por modelo B" in r.content.decode()
    assert (
        client.post(
            url_t(s, "modificar_forma"), {"modificacion": "ONT modelo B instalada", "version": s.version}
        ).status_code
        == 302
    )
    assert fresca(s).modificacion_pendiente == ""


# --- 5.2 / 3.3: the justification of a cancellation ---------------------------------------------
def test_anular_sin_contacto_pide_justificacion_y_la_muestra(esc, u, client):
    s = esc.solicitud("observada")
    client.force_login(u.gestion_red)
    r = client.get(url_t(s, "anular"))
    html = r.content.decode()
    assert 'name="justificacion"' in html and "Obligatoria en este caso" in html
    r = client.post(url_t(s, "anular"), {"motivo": "Cliente no ubicable en la dirección", "version": s.version})
    assert r.status_code == 400
    assert "justificacion" in r.context["form"].errors
    html = r.content.decode()
    assert 'id="id_justificacion_error"' in html and "3.3" in html
    assert "Cliente no ubicable en la dirección" in html  # what was typed comes back
    assert fresca(s).estado == "observada"
    r = client.post(
        url_t(s, "anular"),
        {
            "motivo": "Cliente no ubicable en la dirección",
            "justificacion": "Tres visitas sin encontrar el domicilio",
            "version": s.version,
            "confirmado": "1",
        },
    )
    assert r.status_code == 302
    s = fresca(s)
    assert s.estado == "anulada" and s.justificacion_anulacion == "Tres visitas sin encontrar el domicilio"
    html = html_de(client, reverse("solicitud", args=[s.pk]))
    assert "Justificación de la anulación" in html and "Tres visitas sin encontrar el domicilio" in html
    assert "Cliente no ubicable en la dirección" in html


def test_anular_con_contacto_y_sin_si_en_plazo_no_pide_justificacion(esc, u, client):
    s = esc.solicitud("observada")
    T.registrar_contacto(s, u.gestion_red, canal="llamada", resultado="rechaza")
    client.force_login(u.gestion_red)
    assert "Obligatoria en este caso" not in html_de(client, url_t(s, "anular"))
    r = client.post(url_t(s, "anular"), {"motivo": "Cliente desiste", "version": fresca(s).version, "confirmado": "1"})
    assert r.status_code == 302 and fresca(s).estado == "anulada"


def test_anular_la_ot_no_pide_justificacion(esc, u, client):
    o = esc.orden("en_coc")
    client.force_login(u.coc)
    html = html_de(client, url_t(o, "ratificar_anulacion"))
    assert 'name="motivo"' in html and 'name="justificacion"' not in html


# --- 15.1: the técnico's report, seen by the COZ, the COC and the timeline -------------------------
def test_reporte_del_tecnico_en_la_ot_el_caso_y_la_linea_de_tiempo(esc, u, client):
    o = esc.orden("asignada")
    client.force_login(u.tecnico)
    r = client.post(
        url_t(o, "reportar_observacion"),
        {
            "causa": "caja_nap",
            "observacion": "No hay poste frente al domicilio",
            "alcance": "fondo",
            "subsanable": "on",
            "datos_comerciales": "Cliente pide cambiar de plan",
            "datos_tecnicos": "NAP-40 a 300 m",
            "equipos": "ONT Huawei",
            "solicitudes_adicionales": "Quiere TV",
            "version": o.version,
        },
    )
    assert r.status_code == 302
    T.aplicar(fresca(o), "reportar_a_coz", u.tecnico, propuesta="gestionar")
    textos = (
        "No hay poste frente al domicilio",
        "Cliente pide cambiar de plan",
        "NAP-40 a 300 m",
        "ONT Huawei",
        "Quiere TV",
    )
    client.force_login(u.coz)
    html = html_de(client, reverse("orden", args=[o.pk]))
    reporte = bloque(html, "reporte-campo")
    for texto in textos:
        assert texto in reporte
    assert "Gestionar por otro sector (16)" in reporte
    client.force_login(u.coc)
    html = html_de(client, reverse("solicitud", args=[o.solicitud_id]))
    assert "Reporte de campo" in html
    reporte = bloque(html, "reporte-campo")
    for texto in textos:
        assert texto in reporte
    linea = bloque(html, "linea-tiempo")
    nota = re.search(r'<li data-hecho="reportar_observacion">.*?</li>', linea, re.S).group(0)
    assert "Técnico (tecnico) reportó una observación de campo en la OT" in nota
    for texto in ("Datos técnicos: NAP-40 a 300 m", "Equipos: ONT Huawei", "Quiere TV"):
        assert texto in nota


def test_sin_reporte_no_hay_bloque(esc, u, client):
    o = esc.orden("asignada")
    client.force_login(u.coc)
    assert "Reporte de campo" not in html_de(client, reverse("orden", args=[o.pk]))
    assert "Reporte de campo" not in html_de(client, reverse("solicitud", args=[o.solicitud_id]))


# --- 20.2: impediments --------------------------------------------------------------------------
def test_impedimento_desde_la_ot_ejecutada(esc, u, client):
    o = esc.orden("ejecutada")
    url = reverse("impedimento_nuevo", args=[o.pk])
    client.force_login(u.gestion_red)
    assert f'href="{url}' in html_de(client, reverse("orden", args=[o.pk]))
    r = client.post(url, {"impedimento": "", "requerido": "Texto que se conserva"})
    assert r.status_code == 400 and "impedimento" in r.context["form"].errors
    assert "Texto que se conserva" in r.content.decode()
    assert not ServicioIngenieria.objects.exists()
    r = client.post(
        url,
        {
            "impedimento": "cierre_ot",
            "destinatario": "",
            "requerido": "La OT no fue cerrada por el Centro de Operaciones",
        },
    )
    assert r.status_code == 302 and r["Location"] == reverse("solicitud", args=[o.solicitud_id])
    si = ServicioIngenieria.objects.get()
    assert (si.tipo, si.impedimento, si.destinatario, si.orden_id, si.estado) == (
        "impedimento",
        "cierre_ot",
        "COC",
        o.pk,
        "abierto",
    )
    registro = RegistroAuditoria.de_objeto(si).get()
    assert (registro.transicion, registro.paso, registro.rol) == ("abrir", "20.2", "GESTION_RED")
    html = html_de(client, "/tablero/")
    assert o.solicitud.numero_smartflex in html and "Impedimento" in html
    html = html_de(client, reverse("solicitud", args=[o.solicitud_id]))
    assert "Falta de cierre de OT por el Centro de Operaciones" in bloque(html, f"si-{si.pk}")
    # the COC sees it in its home queue
    client.force_login(u.coc)
    assert colas(client)["servicios"].total == 1


def test_impedimento_destinatario_por_defecto_y_elegido(esc, u, client):
    o = esc.orden("ejecutada")
    url = reverse("impedimento_nuevo", args=[o.pk])
    client.force_login(u.coc)
    assert client.post(url, {"impedimento": "sistema", "requerido": "Smartflex no guarda la zona"}).status_code == 302
    assert (
        client.post(
            url, {"impedimento": "comercial", "destinatario": "MONITORA", "requerido": "Cliente con deuda"}
        ).status_code
        == 302
    )
    assert dict(ServicioIngenieria.objects.values_list("impedimento", "destinatario")) == {
        "sistema": "GESTION_RED",
        "comercial": "MONITORA",
    }


def test_impedimento_desde_la_zonificacion_del_caso(esc, u, client):
    z = esc.zonificacion("recibida")
    client.force_login(u.gestion_red)
    html = html_de(client, reverse("solicitud", args=[z.solicitud_id]))
    assert f'data-impedimento="{z.pk}"' in html
    assert reverse("impedimento_nuevo", args=[z.orden_id]) in html


@pytest.mark.parametrize("rol", ["asesor", "monitora", "coz", "tecnico", "jefe_division"])
def test_impedimento_solo_gestion_de_red_y_coc(esc, u, client, rol):
    o = esc.orden("ejecutada")
    url = reverse("impedimento_nuevo", args=[o.pk])
    client.force_login(getattr(u, rol))
    assert 'id="reportar-impedimento"' not in html_de(client, reverse("orden", args=[o.pk]))
    assert client.get(url).status_code == 403
    assert client.post(url, {"impedimento": "sistema", "requerido": "x"}).status_code == 403
    assert not ServicioIngenieria.objects.exists()


def test_impedimento_solo_sobre_ot_ejecutada(esc, u, client):
    o = esc.orden("asignada")
    client.force_login(u.gestion_red)
    assert 'id="reportar-impedimento"' not in html_de(client, reverse("orden", args=[o.pk]))
    r = client.post(
        reverse("impedimento_nuevo", args=[o.pk]), {"impedimento": "sistema", "requerido": "x"}, follow=True
    )
    assert "OT ejecutada" in r.content.decode()
    assert not ServicioIngenieria.objects.exists()


# --- 10: the COZ confirms a cancellation the COC coordinated --------------------------------------
def test_coz_confirma_la_anulacion_coordinada_desde_su_cola(esc, u, client, crear_usuario, zonas):
    o = esc.orden("asignada")
    client.force_login(u.coc)
    r = client.post(
        url_t(o, "coordinar_anulacion"), {"motivo": "Zona sin cobertura", "version": o.version, "confirmado": "1"}
    )
    assert r.status_code == 302
    o = fresca(o)
    assert o.estado == "anulada" and o.anulacion_coordinada_at and o.anulacion_confirmada_at is None

    otro = crear_usuario(Rol.COZ, "coz_sur", zona=zonas[1])
    client.force_login(otro)
    assert colas(client)["coordinadas"].total == 0

    client.force_login(u.coz)
    cola = colas(client)["coordinadas"]
    assert cola.total == 1 and cola.filas[0]["url"] == reverse("orden", args=[o.pk])
    assert "Zona sin cobertura" in cola.filas[0]["detalle"]
    assert "Anulaciones coordinadas por confirmar (10)" in html_de(client, "/")
    html = html_de(client, reverse("orden", args=[o.pk]))
    assert 'data-transicion="confirmar_anulacion"' in html and "pendiente de confirmación del COZ" in html
    assert client.post(url_t(o, "confirmar_anulacion"), {"version": o.version}).status_code == 302
    o = fresca(o)
    assert o.anulacion_confirmada_por == u.coz and o.anulacion_confirmada_at is not None
    assert colas(client)["coordinadas"].total == 0
    html = html_de(client, reverse("orden", args=[o.pk]))
    assert "confirmada por el COZ (coz)" in html and 'data-transicion="confirmar_anulacion"' not in html
    hechos = list(RegistroAuditoria.de_objeto(o).values_list("transicion", "rol", "paso"))
    assert ("coordinar_anulacion", "COC", "10") in hechos and ("confirmar_anulacion", "COZ", "10") in hechos
    client.force_login(u.coc)
    html = html_de(client, reverse("solicitud", args=[o.solicitud_id]))
    assert "confirmada por el COZ" in bloque(html, "anulacion-coordinada")
    linea = bloque(html, "linea-tiempo")
    assert f"COC (coc) coordinó con el COZ la anulación de la {o} — paso 10" in linea
    assert f"COZ (coz) confirmó la anulación coordinada de la {o} — paso 10" in linea


# --- «Qué sigue» ----------------------------------------------------------------------------------
def _paso(html, nombre):
    return re.search(rf'<li data-siguiente="{nombre}" data-disponible="(si|no)">(.*?)</li>', html, re.S)


def test_que_sigue_redigitacion_pendiente_antes_y_despues_del_plazo(esc, u, client):
    s = esc.solicitud("pendiente_redigitacion")
    vence = timezone.localtime(s.redigitacion_vence_at)
    url = reverse("solicitud", args=[s.pk])
    client.force_login(u.gestion_red)
    html = html_de(client, url)
    anular = _paso(bloque(html, "que-sigue"), "anular")
    assert anular.group(1) == "no"
    assert f"disponible desde las {vence:%H:%M}" in anular.group(2)
    assert "Depto. Gestión de Red" in anular.group(2) and "Centro de Operaciones Comercial" in anular.group(2)
    redigitar = _paso(html, "registrar_redigitacion")
    assert redigitar.group(1) == "si" and "Asesor Comercial" in redigitar.group(2)
    assert 'data-transicion="anular"' not in html

    with time_machine.travel(s.redigitacion_vence_at + timedelta(minutes=5), tick=False):
        client.force_login(u.gestion_red)  # 2 working hours may end days later: a new session
        html = html_de(client, url)
    anular = _paso(bloque(html, "que-sigue"), "anular")
    assert anular.group(1) == "si" and "puede hacerlo usted" in anular.group(2)
    assert "Depto. Gestión de Red" in anular.group(2) and "Centro de Operaciones Comercial" in anular.group(2)
    assert "(paso 5.2/10)" in anular.group(2)
    assert 'data-transicion="anular"' in html


def test_que_sigue_de_un_caso_concluido(esc, u, client):
    s = esc.solicitud("registrada")
    T.aplicar(s.orden, "coordinar_anulacion", u.coc, motivo="Sin cobertura, acordado con el COZ")  # 10
    s.refresh_from_db()
    client.force_login(u.coc)
    html = bloque(html_de(client, reverse("solicitud", args=[s.pk])), "que-sigue")
    assert "La solicitud concluyó" in html
    # its OT was cancelled with it (coordinated, 10): only the COZ's confirmation is left
    assert re.findall(r'data-siguiente="(\w+)"', html) == ["confirmar_anulacion"]
    paso = _paso(html, "confirmar_anulacion")
    assert paso.group(1) == "si" and "Centro de Operaciones Zonal" in paso.group(2)


def test_que_sigue_solicitud_observada_para_el_asesor(esc, u, client):
    s = esc.solicitud("observada")
    client.force_login(u.asesor)
    html = bloque(html_de(client, reverse("solicitud", args=[s.pk])), "que-sigue")
    paso = _paso(html, "solicitar_correccion")
    assert paso.group(1) == "si" and "puede hacerlo usted" not in paso.group(2)
    assert "(paso 3/7)" in paso.group(2)
