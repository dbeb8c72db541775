"""Issue 15, items 2, 3, 7 and 8: the day-to-day actions.

2. The re-digitation form shows what to fix (the SI's «datos precisos observados») beside a form
   pre-filled from the cancelled Solicitud, writes no «[Observado: …]» into the new one, and lands
   on the new Solicitud.
3. Contact attempts (3.3) where the decision is made: the OT page (COC, Gestión de Red) and the
   Tablero row; not offered on a closed case.
7. Irreversible actions ask once: a confirmation naming the case and its client, on the web only.
8. A note on every hand-off, shown to whoever receives the case.
"""

import html as html_lib
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anulaciones import transitions as T
from anulaciones.forms import ENTREGAS, NOMBRES_ENTREGA, formulario_de_pagina
from anulaciones.models import (
    IntentoContacto,
    Notificacion,
    OrdenDeTrabajo,
    RegistroAuditoria,
    ServicioIngenieria,
    Solicitud,
    Zonificacion,
)
from anulaciones.views.acciones import IRREVERSIBLES

SLUG = {Solicitud: "solicitud", OrdenDeTrabajo: "orden", ServicioIngenieria: "servicio", Zonificacion: "zonificacion"}


def url_t(obj, nombre):
    return reverse("transicion", args=[SLUG[type(obj)], obj.pk, nombre])


def estado(obj):
    return type(obj).objects.values_list("estado", flat=True).get(pk=obj.pk)


def fresca(obj):
    return type(obj).objects.get(pk=obj.pk)


def bloque(html, id_):
    """The element with id ``id_``, up to its closing tag (none of these elements nests its own tag)."""
    i = html.find(f'id="{id_}"')
    assert i >= 0, id_
    inicio = html.rindex("<", 0, i)
    etiqueta = re.match(r"<(\w+)", html[inicio:]).group(1)
    return html[inicio : html.index(f"</{etiqueta}>", i)]


def ocultos_de_confirmacion(html):
    """The fields the confirmation form posts back (hidden inputs of form.confirmar)."""
    form = html[html.index('class="formulario confirmar"') :]
    form = form[: form.index("</form>")]
    return [
        (html_lib.unescape(n), html_lib.unescape(v))
        for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
        if n != "csrfmiddlewaretoken"
    ]


def confirmar(client, r, url, **extra):
    """Press «Confirmar» on a confirmation page: post back what it carries, plus ``extra``."""
    datos = {}
    for nombre, valor in ocultos_de_confirmacion(r.content.decode()):
        datos.setdefault(nombre, []).append(valor)
    datos.update({k: [v] for k, v in extra.items()})
    datos["confirmado"] = ["1"]
    return client.post(url, datos)


# =============================================================================================
# 7. Irreversible actions ask once
# =============================================================================================
# (builder, transition, role, data) — every irreversible transition a person takes on the web.
CONFIRMABLES = [
    (
        lambda e: e.solicitud("observada"),
        "anular",
        "gestion_red",
        {"motivo": "Cliente desiste", "justificacion": "Pidió la baja por escrito"},
    ),
    (
        lambda e: e.solicitud("observada"),
        "anular_para_redigitacion",
        "coc",
        {"datos_precisos": "Plan correcto: Fibra 300", "destinatario": "ASESOR"},
    ),
    (lambda e: e.solicitud("observada"), "asignar_instalacion", "gestion_red", {}),
    (lambda e: e.orden("asignada"), "ejecutar", "tecnico", {}),
    (lambda e: e.orden("en_coc"), "ratificar_anulacion", "coc", {"motivo": "Sin factibilidad técnica"}),
    (lambda e: e.orden("generada"), "coordinar_anulacion", "coc", {"motivo": "Zona sin cobertura"}),
    (lambda e: e.servicio("abierto"), "cerrar_sin_atencion", "gestion_red", {}),
]
IDS = [c[1] for c in CONFIRMABLES]


def test_las_irreversibles_son_las_que_terminan_o_entregan_el_caso():
    """One place marks them; «Marcar instalada» is only ever reached after «Ejecutar» (its effect),
    so it is covered through that one."""
    esperadas = {
        (Solicitud, "anular"),
        (Solicitud, "anular_para_redigitacion"),
        (Solicitud, "asignar_instalacion"),
        (Solicitud, "marcar_instalada"),
        (OrdenDeTrabajo, "ejecutar"),
        (OrdenDeTrabajo, "ratificar_anulacion"),
        (OrdenDeTrabajo, "coordinar_anulacion"),
        (ServicioIngenieria, "cerrar_sin_atencion"),
    }
    assert set(IRREVERSIBLES) == esperadas
    assert {n for _, n, *_ in CONFIRMABLES} | {"marcar_instalada"} == {n for _, n in esperadas}


@pytest.mark.django_db
@pytest.mark.parametrize("caso", CONFIRMABLES, ids=IDS)
def test_irreversible_pide_confirmacion_con_numero_y_cliente_y_no_cambia_nada(caso, esc, u, client):
    crear, nombre, rol, datos = caso
    obj = crear(esc)
    sol = obj if isinstance(obj, Solicitud) else obj.solicitud
    antes, registros, avisos = estado(obj), RegistroAuditoria.objects.count(), Notificacion.objects.count()
    client.force_login(getattr(u, rol))
    r = client.post(url_t(obj, nombre), {**datos, "version": obj.version})
    assert r.status_code == 200 and r.context["confirmar"]
    pagina = r.content.decode()
    caja = bloque(pagina, "confirmacion")
    assert sol.numero_smartflex in caja and sol.cliente_nombre in caja and "No se puede deshacer" in caja
    assert 'name="confirmado" value="1"' in pagina and 'id="volver-sin-cambios"' in pagina
    for valor in datos.values():  # what was typed is shown (and carried) for the one confirmation
        if len(valor) > 6:
            assert valor in pagina
    # Nothing was applied: no state, no audit row, no notice (the trial was rolled back).
    assert estado(obj) == antes
    assert RegistroAuditoria.objects.count() == registros and Notificacion.objects.count() == avisos
    r = confirmar(client, r, url_t(obj, nombre))
    assert r.status_code == 302, r.content.decode()[:1500]
    assert estado(obj) != antes
    assert RegistroAuditoria.de_objeto(obj).filter(transicion=nombre).count() == 1


@pytest.mark.django_db
def test_ejecutar_desde_el_boton_de_la_ot_pide_confirmar(esc, u, client):
    """The técnico's «Ejecutar» sits one tap from «Reportar observación»: its button posts at once,
    and the answer is the confirmation, not the execution. Its page (GET) is the confirmation too."""
    o = esc.orden("asignada")
    client.force_login(u.tecnico)
    html = client.get(reverse("orden", args=[o.pk])).content.decode()
    assert re.search(r'<form method="post" action="%s"' % re.escape(url_t(o, "ejecutar")), html)
    r = client.post(url_t(o, "ejecutar"), {"version": o.version, "next": reverse("orden", args=[o.pk])})
    assert r.status_code == 200 and "Confirmar: Ejecutar" in r.content.decode()
    assert estado(o) == "asignada"
    r = client.get(url_t(o, "ejecutar"))
    assert r.status_code == 200 and r.context["confirmar"]
    assert ("version", str(o.version)) in ocultos_de_confirmacion(r.content.decode())
    r = confirmar(client, r, url_t(o, "ejecutar"))
    assert r.status_code == 302 and r["Location"] == reverse("orden", args=[o.pk])
    assert estado(o) == "ejecutada" and estado(o.solicitud) == "instalada"


@pytest.mark.django_db
def test_lo_que_seria_rechazado_se_dice_antes_de_confirmar(esc, u, client):
    """The confirmation is asked only for what would succeed: a missing justification (3.3) comes
    back on the form at once, and a role without the transition gets its 403."""
    s = esc.solicitud("observada")
    client.force_login(u.gestion_red)
    r = client.post(url_t(s, "anular"), {"motivo": "Cliente desiste", "version": s.version})
    assert r.status_code == 400 and "justificacion" in r.context["form"].errors
    assert not r.context.get("confirmar")
    client.force_login(u.asesor)
    r = client.post(url_t(s, "asignar_instalacion"), {"version": s.version})
    assert r.status_code == 403
    assert estado(s) == "observada"


@pytest.mark.django_db
def test_version_vieja_es_conflicto_antes_de_confirmar(esc, u, client):
    s = esc.solicitud("observada")
    visto = s.version
    T.aplicar(s, "solicitar_correccion", u.coc, destinatario="ASESOR", requerido="Referencia")
    client.force_login(u.gestion_red)
    r = client.post(url_t(s, "anular"), {"motivo": "x", "justificacion": "y", "version": visto}, follow=True)
    assert "fue modificado" in r.content.decode() and estado(s) == "en_correccion"


@pytest.mark.django_db
def test_corregir_los_datos_vuelve_al_formulario_con_lo_escrito(esc, u, client):
    o = esc.orden("en_coc")
    client.force_login(u.coc)
    r = client.post(url_t(o, "ratificar_anulacion"), {"motivo": "Sin caja en la zona", "version": o.version})
    assert r.context["confirmar"] and 'id="corregir"' in r.content.decode()
    r = client.post(
        url_t(o, "ratificar_anulacion"), {"motivo": "Sin caja en la zona", "version": o.version, "corregir": "1"}
    )
    assert r.status_code == 200 and not r.context.get("confirmar")
    assert r.context["form"]["motivo"].value() == "Sin caja en la zona"
    assert estado(o) == "en_coc"


@pytest.mark.django_db
def test_la_api_no_pide_confirmacion(esc, u):
    """API clients confirm on their side: the same transition is applied at once."""
    o = esc.orden("asignada")
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=u.tecnico).key}")
    r = c.post(f"/api/v1/ordenes/{o.pk}/ejecutar/", {}, format="json")
    assert r.status_code == 200 and estado(o) == "ejecutada"


@pytest.mark.django_db
def test_decision_52_del_tablero_pide_confirmacion(esc, u, client):
    si = esc.servicio()
    s = si.solicitud
    client.force_login(u.gestion_red)
    url = reverse("tablero_decidir", args=[s.pk])
    volver = "destinatario=ASESOR&page=1"
    r = client.post(url, {"accion": "asignar_instalacion", "version": s.version, "volver": volver})
    assert r.status_code == 200 and r.context["confirmar"]
    caja = bloque(r.content.decode(), "confirmacion")
    assert s.numero_smartflex in caja and s.cliente_nombre in caja
    assert f'href="/tablero/?{volver.replace("&", "&amp;")}"' in r.content.decode()  # «Volver» keeps the filters
    assert estado(s) == "en_correccion" and estado(si) == "abierto"
    r = confirmar(client, r, url, nota="El cliente atiende solo por la tarde")
    assert r.status_code == 302 and r["Location"] == f"/tablero/?{volver}"
    assert estado(s) == "en_instalacion"
    assert RegistroAuditoria.de_objeto(s).last().nota == "El cliente atiende solo por la tarde"  # 15.8

    s2 = esc.servicio().solicitud
    T.registrar_contacto(s2, u.coc, canal="llamada", resultado="rechaza", detalle="Llamada del lunes")
    datos = {
        "accion": "anular",
        "version": s2.version,
        "motivo": "Cliente desiste",
        "justificacion": "Pidió la baja antes de fin del día",
    }
    r = client.post(reverse("tablero_decidir", args=[s2.pk]), datos)
    assert r.status_code == 200 and r.context["confirmar"]
    pagina = r.content.decode()
    assert "Cliente desiste" in bloque(pagina, "confirmacion-datos")
    assert "Llamada del lunes" in bloque(pagina, "contactos")  # 3.3 beside the decision
    assert estado(s2) == "en_correccion"
    confirmar(client, r, reverse("tablero_decidir", args=[s2.pk]))
    assert estado(s2) == "anulada"


@pytest.mark.django_db
def test_anular_sin_datos_desde_el_tablero_no_llega_a_confirmar(esc, u, client):
    s = esc.servicio().solicitud
    client.force_login(u.gestion_red)
    r = client.post(reverse("tablero_decidir", args=[s.pk]), {"accion": "anular", "version": s.version, "motivo": ""})
    assert r.status_code == 302
    assert "Indique el motivo" in client.get(r["Location"]).content.decode()
    assert estado(s) == "en_correccion"


@pytest.mark.django_db
def test_el_ensayo_no_deja_avisos(esc, u, client):
    """«Coordinar anulación» tells the COZ (a notice written with the change): the confirmation
    step writes none; the confirmed action writes it once."""
    o = esc.orden("asignada")
    client.force_login(u.coc)
    datos = {"motivo": "Zona sin cobertura", "version": o.version}
    client.post(url_t(o, "coordinar_anulacion"), datos)
    assert not Notificacion.objects.filter(usuario=u.coz, tipo="anulacion_coordinada").exists()
    client.post(url_t(o, "coordinar_anulacion"), {**datos, "confirmado": "1"})
    assert Notificacion.objects.filter(usuario=u.coz, tipo="anulacion_coordinada").count() == 1


# =============================================================================================
# 8. A note on every hand-off
# =============================================================================================
def test_las_entregas_del_procedimiento():
    assert NOMBRES_ENTREGA == {
        "solicitar_correccion",
        "digitar_modificacion",
        "asignar_instalacion",
        "anular_para_redigitacion",
        "registrar_redigitacion",
        "asignar",
        "reportar_a_coz",
        "direccionar_a_coc",
        "redireccionar_instalacion",
        "coordinar_anulacion",
    }
    for (modelo, nombre), receptor in ENTREGAS.items():
        campo = formulario_de_pagina(modelo, nombre)().fields["nota"]
        assert not campo.required and campo.label == "Nota para quien recibe" and receptor in campo.help_text
    for modelo, nombre in (
        (Solicitud, "observar"),
        (Solicitud, "anular"),
        (OrdenDeTrabajo, "ratificar_anulacion"),
        (OrdenDeTrabajo, "reportar_observacion"),
        (ServicioIngenieria, "atender"),
    ):
        clase = formulario_de_pagina(modelo, nombre)
        assert "nota" not in clase().fields, nombre


# (builder, hand-off, role, data) through each hand-off's form page.
ENTREGAS_WEB = [
    (
        lambda e: e.solicitud("observada"),
        "solicitar_correccion",
        "gestion_red",
        {"destinatarios": ["ASESOR"], "requerido": "Referencia precisa"},
    ),
    (lambda e: e.solicitud("en_correccion"), "digitar_modificacion", "asesor", {"modificacion": "Calle: Av. Arce"}),
    (lambda e: e.orden("generada"), "asignar", "coc", {}),
    (lambda e: e.orden("observada_en_campo"), "reportar_a_coz", "tecnico", {"propuesta": "gestionar"}),
    (lambda e: e.orden("reportada_coz"), "direccionar_a_coc", "coz", {}),
    (lambda e: e.orden("en_coc"), "redireccionar_instalacion", "coc", {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("caso", ENTREGAS_WEB, ids=[c[1] for c in ENTREGAS_WEB])
def test_la_nota_de_la_entrega_queda_y_la_ve_quien_recibe(caso, esc, u, client):
    crear, nombre, rol, datos = caso
    obj = crear(esc)
    sol = obj if isinstance(obj, Solicitud) else obj.solicitud
    client.force_login(getattr(u, rol))
    assert 'name="nota"' in client.get(url_t(obj, nombre)).content.decode()
    nota = f"Para {nombre}: <b>llamar</b> antes de ir"
    r = client.post(url_t(obj, nombre), {**datos, "nota": nota, "version": obj.version})
    assert r.status_code == 302, r.content.decode()[:1500]
    assert RegistroAuditoria.de_objeto(obj).filter(transicion=nombre).get().nota == nota
    client.force_login(u.coc)  # reads every case
    for url in (reverse("solicitud", args=[sol.pk]), reverse("orden", args=[sol.orden.pk])):
        caja = bloque(client.get(url).content.decode(), "nota-entrega")
        assert f"Para {nombre}: &lt;b&gt;llamar&lt;/b&gt; antes de ir" in caja  # escaped
        assert "Nota " in caja and T.etiqueta(type(obj), nombre) in caja


@pytest.mark.django_db
def test_la_nota_es_la_de_la_ultima_entrega_de_una_persona(esc, u, client):
    """The OT's «Asignar» takes «Asignar para instalación» on its Solicitud as an effect (a later
    audit row): the técnico still reads Gestión de Red's note. A later hand-off without a note
    replaces it: the COZ is not shown a note meant for the técnico."""
    o = esc.orden("generada")
    T.aplicar(o, "asignar", u.gestion_red, nota="Cliente atiende solo por la tarde")
    client.force_login(u.tecnico)
    caja = bloque(client.get(reverse("orden", args=[o.pk])).content.decode(), "nota-entrega")
    assert "Nota de Gestión de Red:" in caja and "Cliente atiende solo por la tarde" in caja
    o.refresh_from_db()
    T.aplicar(o, "reportar_observacion", u.tecnico, observacion="Poste sin caja", causa="caja_nap")
    T.aplicar(o, "reportar_a_coz", u.tecnico, propuesta="gestionar")
    client.force_login(u.coz)
    assert 'id="nota-entrega"' not in client.get(reverse("orden", args=[o.pk])).content.decode()


@pytest.mark.django_db
def test_boton_de_entrega_sin_formulario_lleva_su_nota(esc, u, client):
    """«Direccionar al COC» posts at once; its optional note travels in the button's own box."""
    o = esc.orden("reportada_coz")
    client.force_login(u.coz)
    html = client.get(reverse("orden", args=[o.pk])).content.decode()
    form = html[html.index(f'action="{url_t(o, "direccionar_a_coc")}"') :]
    form = form[: form.index("</form>")]
    assert 'name="nota"' in form and "Nota para quien recibe" in form and "La verá el COC" in form
    r = client.post(url_t(o, "direccionar_a_coc"), {"version": o.version, "nota": "Verificado en sitio"})
    assert r.status_code == 302 and estado(o) == "en_coc"
    client.force_login(u.coc)
    assert "Nota del COZ:" in bloque(client.get(reverse("orden", args=[o.pk])).content.decode(), "nota-entrega")


# =============================================================================================
# 3. Contact attempts where the decision is made
# =============================================================================================
@pytest.mark.django_db
def test_ot_del_coc_muestra_los_intentos_y_registra_uno(esc, u, client):
    o = esc.orden("en_coc")
    url_ot = reverse("orden", args=[o.pk])
    T.registrar_contacto(o.solicitud, u.gestion_red, canal="llamada", resultado="sin_respuesta", detalle="Buzón")
    client.force_login(u.coc)
    caja = bloque(client.get(url_ot).content.decode(), "contactos")
    assert "Llamada" in caja and "Sin respuesta" in caja and "Buzón" in caja
    assert f'action="{reverse("contacto_nuevo", args=[o.solicitud_id])}"' in caja
    r = client.post(
        reverse("contacto_nuevo", args=[o.solicitud_id]),
        {"canal": "visita", "resultado": "contactado", "detalle": "Acepta reprogramar", "next": url_ot},
    )
    assert r.status_code == 302 and r["Location"] == url_ot
    assert "Acepta reprogramar" in bloque(client.get(url_ot).content.decode(), "contactos")
    assert IntentoContacto.objects.filter(caso_id=o.solicitud.caso_id).count() == 2
    client.force_login(u.tecnico)  # who does not record attempts is not offered the box
    assert 'id="contactos"' not in client.get(url_ot).content.decode()


@pytest.mark.django_db
def test_caso_cerrado_no_ofrece_registrar_intentos(esc, u, client):
    o = esc.orden("en_coc")
    T.registrar_contacto(o.solicitud, u.coc, canal="llamada", resultado="rechaza")
    T.aplicar(o, "ratificar_anulacion", u.coc, motivo="Cliente desiste")
    client.force_login(u.coc)
    caja = bloque(client.get(reverse("orden", args=[o.pk])).content.decode(), "contactos")
    assert "Cliente desiste" in caja and "El caso está cerrado" in caja
    assert "contacto_nuevo" not in caja and 'name="canal"' not in caja


@pytest.mark.django_db
def test_la_anulacion_se_decide_viendo_los_intentos(esc, u, client):
    s = esc.solicitud("observada")
    client.force_login(u.gestion_red)
    assert "Sin intentos de contacto registrados." in bloque(
        client.get(url_t(s, "anular")).content.decode(), "contactos"
    )


def _fila(html, numero):
    i = html.index(f'data-solicitud="{numero}"')
    return html[i : html.index("</tr>", i)]


@pytest.mark.django_db
def test_fila_del_tablero_muestra_los_intentos(esc, u, client):
    con = esc.servicio()
    sin = esc.servicio()
    T.registrar_contacto(con.solicitud, u.coc, canal="mensaje", resultado="numero_errado", detalle="WhatsApp")
    T.registrar_contacto(con.solicitud, u.gestion_red, canal="llamada", resultado="sin_respuesta")
    client.force_login(u.gestion_red)
    html = client.get("/tablero/").content.decode()
    fila = _fila(html, con.solicitud.numero_smartflex)
    assert "2 intentos de contacto (3.3) · último: Llamada, Sin respuesta" in fila
    assert "WhatsApp" in fila and "Número errado" in fila  # the whole list, inside the contact box
    assert "Sin intentos de contacto (3.3)" in _fila(html, sin.solicitud.numero_smartflex)


@pytest.mark.django_db
def test_tablero_con_intentos_cuesta_lo_mismo_con_3_y_12_filas(esc, u, client, settings):
    settings.ANULACIONES_TABLERO_POR_PAGINA = 50
    client.force_login(u.coc)

    def filas(n):
        for _ in range(n):
            si = esc.servicio()
            T.registrar_contacto(si.solicitud, u.coc, canal="llamada", resultado="sin_respuesta")
            T.registrar_contacto(si.solicitud, u.gestion_red, canal="visita", resultado="contactado")

    def consultas():
        client.get("/tablero/")  # warm caches (roles, content types)
        with CaptureQueriesContext(connection) as ctx:
            r = client.get("/tablero/")
        return len(ctx.captured_queries), r.content.decode()

    filas(3)
    n3, html3 = consultas()
    filas(9)
    n12, html12 = consultas()
    assert html3.count("2 intentos de contacto (3.3)") == 3 and html12.count("2 intentos de contacto (3.3)") == 12
    assert n3 == n12


# =============================================================================================
# 2. The re-digitation form
# =============================================================================================
@pytest.mark.django_db
def test_redigitacion_muestra_que_corregir_y_no_lo_copia(esc, u, client):
    s = esc.solicitud("pendiente_redigitacion")  # observed «Plan inexistente», asked «Plan correcto: Fibra 200»
    client.force_login(u.asesor)
    r = client.get(url_t(s, "registrar_redigitacion"))
    html = r.content.decode()
    aside = bloque(html, "que-corregir")
    assert "Datos precisos observados (9.1)" in aside and "Plan correcto: Fibra 200" in aside
    assert "Plan inexistente" in aside and "quedan" in aside  # the observation and the 2 hours
    form = r.context["form"]
    assert form.initial["referencias"] == s.referencias and form.initial["plan"] == s.plan
    assert form.initial["numero_smartflex"] == ""
    assert "[Observado" not in html
    for campo in ("plan", "caja_nap"):  # a «Datos técnicos» observation points at these
        assert re.search(
            rf'<[^>]*data-observado="1"[^>]*id="id_{campo}"|<[^>]*id="id_{campo}"[^>]*data-observado', html
        ), campo
    assert not re.search(r'<[^>]*id="id_cliente_nombre"[^>]*data-observado', html)


@pytest.mark.django_db
def test_redigitacion_guardada_lleva_a_la_nueva_solicitud(esc, u, client):
    s = esc.solicitud("pendiente_redigitacion")
    client.force_login(u.asesor)
    datos = {
        "numero_smartflex": "SF-REDIG-15",
        "tipo": s.tipo,
        "cliente_nombre": s.cliente_nombre,
        "calle": s.calle,
        "numero_puerta": s.numero_puerta,
        "zona": s.zona_id,
        "referencias": s.referencias,
        "caja_nap": s.caja_nap,
        "plan": "Fibra 200",
        "vendedor": s.vendedor,
        "version": s.version,
    }
    r = client.post(url_t(s, "registrar_redigitacion"), datos)
    nueva = Solicitud.objects.get(numero_smartflex="SF-REDIG-15")
    assert r.status_code == 302 and r["Location"] == reverse("solicitud", args=[nueva.pk])
    assert nueva.referencias == s.referencias and "[Observado" not in nueva.referencias
    assert fresca(s).estado == "redigitada" and nueva.caso_id == s.caso_id


# =============================================================================================
# Browser: desktop and phone
# =============================================================================================
navegador = pytest.mark.django_db(transaction=True)


def sin_desplazamiento_horizontal(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@navegador
def test_nav_redigitacion_en_escritorio(pagina, entrar, esc, u):
    s = esc.solicitud("pendiente_redigitacion")
    p = pagina
    entrar(p, u.asesor)
    p.goto(f"/solicitudes/{s.pk}/")
    p.locator('a[data-transicion="registrar_redigitacion"]').click()
    aside, form = p.locator("#que-corregir"), p.locator("form.formulario")
    assert "Plan correcto: Fibra 200" in aside.inner_text()
    caja_a, caja_f = aside.bounding_box(), form.bounding_box()
    assert caja_a["x"] >= caja_f["x"] + caja_f["width"] - 1  # beside the form, to its right
    assert caja_a["y"] < caja_f["y"] + 200
    assert p.input_value("#id_cliente_nombre") == s.cliente_nombre
    assert p.input_value("#id_referencias") == s.referencias
    p.fill("#id_numero_smartflex", "SF-NAV-R1")
    p.fill("#id_plan", "Fibra 200")
    p.get_by_role("button", name="Registrar re-digitación").click()
    p.wait_for_url(re.compile(r"/solicitudes/\d+/$"))
    nueva = Solicitud.objects.get(numero_smartflex="SF-NAV-R1")
    assert p.url.endswith(f"/solicitudes/{nueva.pk}/")
    assert "Solicitud SF-NAV-R1" in p.locator("h1").inner_text()


@navegador
def test_nav_redigitacion_en_el_telefono(telefono, entrar, esc, u):
    s = esc.solicitud("pendiente_redigitacion")
    t = telefono
    entrar(t, u.asesor)
    t.goto(url_t(s, "registrar_redigitacion"))
    assert sin_desplazamiento_horizontal(t)
    aside, form = t.locator("#que-corregir").bounding_box(), t.locator("form.formulario").bounding_box()
    assert aside["y"] + aside["height"] <= form["y"] + 1  # what to fix first, then the form
    assert t.locator("#datos-precisos").is_visible()
    t.fill("#id_numero_smartflex", "SF-TEL-R1")
    t.get_by_role("button", name="Registrar re-digitación").click()
    t.wait_for_url(re.compile(r"/solicitudes/\d+/$"))
    assert "Solicitud SF-TEL-R1" in t.locator("h1").inner_text()


@navegador
def test_nav_coc_contacta_y_ratifica_con_una_confirmacion(pagina, entrar, esc, u):
    """3.3 on the OT page, then 13 with its one confirmation: «Volver sin cambios» changes nothing."""
    o = esc.orden("en_coc")
    p = pagina
    entrar(p, u.coc)
    p.goto(f"/ordenes/{o.pk}/")
    contactos = p.locator("#contactos")
    assert "Sin intentos de contacto registrados." in contactos.inner_text()
    contactos.get_by_text("Registrar intento de contacto", exact=True).first.click()
    contactos.get_by_label("Canal").select_option("llamada")
    contactos.get_by_label("Resultado").select_option("rechaza")
    contactos.get_by_label("Detalle").fill("Ya no quiere el servicio")
    contactos.get_by_role("button", name="Registrar intento de contacto").click()
    p.wait_for_url(re.compile(rf"/ordenes/{o.pk}/$"))
    assert "Ya no quiere el servicio" in p.locator("#contactos").inner_text()

    p.locator('a[data-transicion="ratificar_anulacion"]').click()
    p.fill("#id_motivo", "Cliente desiste")
    p.get_by_role("button", name="Ratificar anulación").click()
    caja = p.locator("#confirmacion").inner_text()
    assert o.solicitud.numero_smartflex in caja and o.solicitud.cliente_nombre in caja
    assert "Ya no quiere el servicio" in p.locator("#contactos").inner_text()  # what the decision rests on
    p.locator("#volver-sin-cambios").click()
    p.wait_for_url(re.compile(rf"/ordenes/{o.pk}/$"))
    assert estado(o) == "en_coc"
    p.locator('a[data-transicion="ratificar_anulacion"]').click()
    p.fill("#id_motivo", "Cliente desiste")
    p.get_by_role("button", name="Ratificar anulación").click()
    p.get_by_role("button", name="Confirmar: Ratificar anulación").click()
    p.wait_for_url(re.compile(rf"/ordenes/{o.pk}/$"))
    assert estado(o) == "anulada" and estado(o.solicitud) == "anulada"
    assert "El caso está cerrado" in p.locator("#contactos").inner_text()
    assert p.locator("#contactos select").count() == 0


@navegador
def test_nav_contacto_desde_la_ot_en_el_telefono(telefono, entrar, esc, u):
    o = esc.orden("en_coc")
    t = telefono
    entrar(t, u.coc)
    t.goto(f"/ordenes/{o.pk}/")
    t.locator("#contactos summary").click()
    t.locator("#contactos").get_by_label("Resultado").select_option("sin_respuesta")
    assert sin_desplazamiento_horizontal(t)
    t.locator("#contactos").get_by_role("button", name="Registrar intento de contacto").click()
    t.wait_for_url(re.compile(rf"/ordenes/{o.pk}/$"))
    assert "Sin respuesta" in t.locator("#contactos").inner_text()
    assert IntentoContacto.objects.get(caso_id=o.solicitud.caso_id).usuario == u.coc


@navegador
def test_nav_ejecutar_en_el_telefono_pide_confirmar(telefono, entrar, esc, u):
    o = esc.orden("asignada")
    t = telefono
    entrar(t, u.tecnico)
    t.goto(f"/ordenes/{o.pk}/")
    t.locator('button[data-transicion="ejecutar"]').click()  # one tap from «Reportar observación»
    caja = t.locator("#confirmacion").inner_text()
    assert o.numero in caja and o.solicitud.numero_smartflex in caja and o.solicitud.cliente_nombre in caja
    assert estado(o) == "asignada"
    assert sin_desplazamiento_horizontal(t)
    boton = t.get_by_role("button", name="Confirmar: Ejecutar (TEC-DPA-P01)")
    medida = boton.bounding_box()
    assert medida["width"] >= 300 and medida["height"] >= 40
    boton.click()
    t.wait_for_url(re.compile(rf"/ordenes/{o.pk}/$"))
    assert "Ejecutada" in t.locator("h1").inner_text()
    assert estado(o) == "ejecutada"


@navegador
def test_nav_nota_del_coz_para_el_coc(pagina, entrar, esc, u):
    o = esc.orden("reportada_coz")
    p = pagina
    entrar(p, u.coz)
    p.goto(f"/ordenes/{o.pk}/")
    p.get_by_text("Añadir nota para quien recibe").click()
    p.get_by_label("Nota para quien recibe (opcional)").fill("Verificado: la caja está en la esquina")
    p.locator('button[data-transicion="direccionar_a_coc"]').click()
    p.wait_for_url(re.compile(rf"/ordenes/{o.pk}/$"))
    assert estado(o) == "en_coc"
    p.context.clear_cookies()
    entrar(p, u.coc)
    p.goto(f"/ordenes/{o.pk}/")
    nota = p.locator("#nota-entrega")
    assert "Nota del COZ:" in nota.inner_text() and "Verificado: la caja está en la esquina" in nota.inner_text()
    assert nota.bounding_box()["y"] < p.locator(".acciones").first.bounding_box()["y"]  # read before deciding


@navegador
def test_nav_nota_de_gestion_de_red_al_tecnico_en_el_telefono(pagina, telefono, entrar, esc, u):
    """Gestión de Red decides 5.2 on the Tablero, confirms once and leaves a note; the técnico
    reads it on his phone, at the top of the OT."""
    si = esc.servicio()
    s = si.solicitud
    p = pagina
    entrar(p, u.gestion_red)
    p.goto("/tablero/")
    p.locator(f'tr[data-solicitud="{s.numero_smartflex}"]').get_by_role(
        "button", name="Asignar para instalación"
    ).click()
    assert s.cliente_nombre in p.locator("#confirmacion").inner_text()
    p.get_by_label("Nota para quien recibe").fill("Llevar escalera larga: poste alto")
    p.get_by_role("button", name="Confirmar: Asignar para instalación").click()
    p.wait_for_url(re.compile(r"/tablero/"))
    assert estado(s) == "en_instalacion"

    t = telefono
    entrar(t, u.tecnico)
    t.goto(f"/ordenes/{s.orden.pk}/")
    nota = t.locator("#nota-entrega")
    assert "Nota de Gestión de Red:" in nota.inner_text() and "Llevar escalera larga" in nota.inner_text()
    assert nota.bounding_box()["y"] < t.locator('button[data-transicion="ejecutar"]').bounding_box()["y"]
    assert sin_desplazamiento_horizontal(t)
