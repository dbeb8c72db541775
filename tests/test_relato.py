"""The timeline in words (issue 15.1): the audit rows told as people say what happened — who
(role and first name), a past-tense phrase per transition, the step, the state labels, the note,
and each transition's effects grouped under it — on the case page, the OT page, the print views
and the admin."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anulaciones import relato, tasks
from anulaciones import transitions as T
from anulaciones.models import OrdenDeTrabajo, RegistroAuditoria, ServicioIngenieria, Solicitud
from anulaciones.models.base import Maquina

pytestmark = pytest.mark.django_db

CODIGOS = re.compile(r"\b[a-z]+_[a-z_]+\b")  # a transition's code name (solicitar_correccion…)


@pytest.fixture
def nombres(u):
    """People of the procedure with first names, as the pages show them."""
    for user, nombre in ((u.gestion_red, "Gabriel"), (u.asesor, "Ana"), (u.coc, "Carla"), (u.coz, "Zoe")):
        user.first_name = nombre
        user.save(update_fields=["first_name"])
    return u


def hecho(hechos, transicion):
    encontrados = [h for h in hechos if h.transicion == transicion]
    assert len(encontrados) == 1, [h.texto for h in hechos]
    return encontrados[0]


# --- every transition of every machine has its own words --------------------------------------
def faltantes():
    """(machine, action) pairs an audit row may carry and that have no wording."""
    return [
        (m.__name__, nombre)
        for m in relato.MAQUINAS
        for nombre in relato.acciones_auditadas(m)
        if relato.frase_de(m, nombre) is None
    ]


def test_cada_transicion_de_cada_maquina_tiene_su_frase(u):
    assert faltantes() == []
    for modelo in relato.MAQUINAS:
        ct = ContentType.objects.get_for_model(modelo)
        estados = modelo.Estado.values
        for nombre in relato.acciones_auditadas(modelo):
            frase = relato.frase_de(modelo, nombre)
            assert "{obj}" in frase.hizo and nombre not in frase.hizo, (modelo, nombre)
            nacimiento = nombre == modelo.TRANSICION_CREACION
            if nacimiento:  # a birth told as an effect needs its own impersonal words
                assert frase.efecto and "{obj}" in frase.efecto, (modelo, nombre)
            # Told from an audit row, as a cause and as an effect: no code name, no fallback.
            fila = RegistroAuditoria(
                content_type=ct,
                object_id=1,
                objeto=f"{modelo._meta.verbose_name} 1",
                transicion=nombre,
                paso="1",
                estado_origen="" if nacimiento else estados[0],
                estado_destino=estados[-1],
                usuario=u.coc,
                rol="COC",
                creado_at=timezone.now(),
            )
            causa = relato.relatar([fila])[0]
            efecto = relato._hecho(fila, efecto=True)
            for texto in (causa.texto, efecto.oracion):
                assert not CODIGOS.search(texto) and "realizó «" not in texto, (modelo, nombre, texto)
            assert causa.oracion.startswith("COC (coc) ")


def test_una_transicion_sin_frase_se_detecta(monkeypatch):
    sin_anular = {k: v for k, v in relato.FRASES[Solicitud].items() if k != "anular"}
    monkeypatch.setitem(relato.FRASES, Solicitud, sin_anular)
    assert ("Solicitud", "anular") in faltantes()


def test_todas_las_maquinas_tienen_relato():
    maquinas = {m for m in apps.get_app_config("anulaciones").get_models() if issubclass(m, Maquina)}
    assert maquinas <= set(relato.MAQUINAS)


def test_las_acciones_auditadas_fuera_de_django_fsm_tienen_frase():
    """Audit rows written by hand (``transicion="actualizar_datos"``) are told too."""
    conocidas = {n for m in relato.MAQUINAS for n in relato.acciones_auditadas(m)}
    raiz = Path(relato.__file__).parent
    escritas = {
        n
        for f in raiz.rglob("*.py")
        if "migrations" not in f.parts
        for n in re.findall(r'transicion="(\w+)"', f.read_text(encoding="utf-8"))
    }
    assert escritas and escritas <= conocidas, escritas - conocidas


# --- the sentences --------------------------------------------------------------------------
def test_solicitar_correccion_como_lo_dice_una_persona(esc, nombres):
    s = esc.solicitud("observada")
    T.aplicar(
        s,
        "solicitar_correccion",
        nombres.gestion_red,
        destinatario="ASESOR",
        requerido="Referencia precisa",
        nota="El cliente atiende después de las 18:00",
    )
    si = ServicioIngenieria.objects.get(solicitud=s)
    hechos = relato.del_caso(s.caso_id)
    h = hecho(hechos, "solicitar_correccion")
    assert h.oracion == (
        f"Gestión de Red (Gabriel) pidió corregir la solicitud {s.numero_smartflex} "
        "y abrió un Servicio de Ingeniería al asesor"
    )
    assert h.texto.startswith(h.oracion + " — paso 3")
    assert h.estados == "«Observada» → «En corrección»"
    assert h.nota == "El cliente atiende después de las 18:00"
    assert [e.oracion for e in h.efectos] == [f"se abrió el SI {si.pk} (Corrección) al asesor"]
    # The SI's birth is told under its cause, not as a thing of its own.
    assert "abrir" not in [x.transicion for x in hechos]
    registro = hecho(hechos, "registrar")
    assert registro.oracion == f"Asesor Comercial (Ana) registró la solicitud {s.numero_smartflex}"
    assert [e.oracion for e in registro.efectos] == [f"se generó la {s.orden}"]
    assert registro.estados == "«Registrada»"
    assert hecho(hechos, "observar").oracion == f"Gestión de Red (Gabriel) observó la solicitud {s.numero_smartflex}"


def test_varios_destinatarios_y_sin_nombre_el_usuario(esc, u):
    s = esc.solicitud("observada")
    T.aplicar(
        s,
        "solicitar_correccion",
        u.coc,
        destinatarios=["MONITORA", "TEAM_LEADER", "GESTION_RED"],
        requerido="Caja más cercana",
    )
    h = hecho(relato.del_caso(s.caso_id), "solicitar_correccion")
    assert h.oracion.startswith("COC (coc) pidió corregir")
    assert h.oracion.endswith("abrió Servicios de Ingeniería a la monitora, al Team Leader y a Gestión de Red")
    assert h.paso == "7" and len(h.efectos) == 3


def test_la_anulacion_y_sus_efectos_agrupados(esc, nombres):
    s = esc.solicitud("en_correccion")
    si = ServicioIngenieria.objects.get(solicitud=s)
    T.aplicar(s, "anular", nombres.coc, motivo="Cliente desiste", justificacion="Llamó para desistir")
    hechos = relato.del_caso(s.caso_id)
    h = hecho(hechos, "anular")
    assert h.oracion == f"COC (Carla) anuló la solicitud {s.numero_smartflex}" and h.paso == "10"
    assert h.estados == "«En corrección» → «Anulada»"
    assert [e.oracion for e in h.efectos] == [
        f"el SI {si.pk} (Corrección) pasó a «Cerrado sin atención»",
        f"la {s.orden} pasó a «Anulada»",
    ]
    assert "Efecto de" not in h.texto and "y en consecuencia: el SI" in h.texto
    assert {"coordinar_anulacion", "cerrar_sin_atencion"}.isdisjoint(x.transicion for x in hechos)


def test_el_sistema_vence_dos_si_del_caso_a_la_vez(esc, u):
    """Two rows of one set-based call (same instant, user and case) are two things, side by side."""
    s = esc.solicitud("observada")
    T.aplicar(s, "solicitar_correccion", u.gestion_red, destinatarios=["MONITORA", "TEAM_LEADER"], requerido="x")
    ServicioIngenieria.objects.filter(solicitud=s).update(vence_at=timezone.now() - timezone.timedelta(hours=1))
    tasks.vencer_servicios()
    vencidos = [h for h in relato.del_caso(s.caso_id) if h.transicion == "vencer"]
    assert len(vencidos) == 2
    for h in vencidos:
        assert h.oracion.startswith("El sistema dio por vencido el SI ") and not h.efectos
        assert h.nota == "Plazo de atención vencido (4.2)." and h.estados == "«Abierto» → «Vencido»"


def test_la_re_digitacion_cuenta_la_nueva_solicitud(esc, nombres):
    s = esc.solicitud("redigitada")
    h = hecho(relato.del_caso(s.caso_id), "registrar_redigitacion")
    efectos = [e.oracion for e in h.efectos]
    assert h.oracion == f"Asesor Comercial (Ana) registró la re-digitación de la solicitud {s.numero_smartflex}"
    assert f"se registró la solicitud {s.reemplazada_por.numero_smartflex}" in efectos
    assert any(e.endswith("(Re-digitación) pasó a «Atendido»") for e in efectos)


def test_un_efecto_solo_dice_de_que_es_consecuencia(esc, nombres):
    """Told on its own (an object's admin history), an effect names its cause instead of
    «Efecto de asignar_instalacion.»."""
    s = esc.solicitud("en_instalacion")
    h = hecho(relato.de_objeto(s.orden), "asignar")
    assert h.oracion == (
        f"La {s.orden} pasó a «Asignada», en consecuencia de «Asignar para instalación» por Gestión de Red (Gabriel)"
    )
    assert h.nota == ""


def test_el_tecnico_propone_y_la_nota_va_aparte(esc, nombres):
    o = esc.orden("reportada_coz")
    hechos = relato.de_orden(o)
    assert hecho(hechos, "reportar_a_coz").oracion == (
        f"Técnico (tecnico) reportó la {o} al COZ y propuso gestionarla por otro sector"
    )
    assert hecho(hechos, "reportar_observacion").nota == "Observación: Poste sin caja"


# --- the pages ----------------------------------------------------------------------------------
def test_pagina_del_caso(esc, nombres, client):
    s = esc.solicitud("observada")
    T.aplicar(
        s,
        "solicitar_correccion",
        nombres.gestion_red,
        destinatario="ASESOR",
        requerido="Referencia",
        nota="Llamar antes de ir",
    )
    client.force_login(nombres.coc)
    html = client.get(reverse("solicitud", args=[s.pk])).content.decode()
    linea = html[html.index('id="linea-tiempo"') : html.index("</section>", html.index('id="linea-tiempo"'))]
    assert (
        f"Gestión de Red (Gabriel) pidió corregir la solicitud {s.numero_smartflex} y abrió un Servicio de "
        "Ingeniería al asesor — paso 3"
    ) in linea
    assert "«Observada» → «En corrección»" in linea
    assert '<blockquote class="nota">Llamar antes de ir</blockquote>' in linea
    assert "y en consecuencia:" in linea and "se abrió el SI" in linea
    for viejo in ("Efecto de", "∅", "solicitar_correccion (paso", "GESTION_RED"):
        assert viejo not in linea


def test_historial_de_la_ot_con_su_causa_y_sin_los_si(esc, nombres, client):
    s = esc.solicitud("en_correccion")
    T.aplicar(s, "asignar_instalacion", nombres.gestion_red)
    o = OrdenDeTrabajo.objects.get(solicitud=s)
    client.force_login(nombres.coz)
    r = client.get(reverse("orden", args=[o.pk]))
    html = r.content.decode()
    h = hecho(r.context["linea_tiempo"], "asignar_instalacion")
    assert h.oracion == f"Gestión de Red (Gabriel) asignó la solicitud {s.numero_smartflex} para instalación"
    assert [e.oracion for e in h.efectos] == [f"la {o} pasó a «Asignada»"]  # the SI's closing: not here
    assert [x.transicion for x in r.context["linea_tiempo"]] == ["registrar", "asignar_instalacion"]
    historial = html[html.index('id="historial-ot"') :]
    assert f"la {o} pasó a «Asignada»" in historial and "SI " not in historial
    assert "∅" not in historial and "Efecto de" not in historial


def test_impresion_de_la_solicitud_y_de_la_ot(esc, nombres, client):
    s = esc.solicitud("anulada")
    client.force_login(nombres.gestion_red)
    html = client.get(reverse("solicitud_imprimir", args=[s.pk])).content.decode()
    assert "HISTORIAL DEL CASO" in html
    assert f"Gestión de Red (Gabriel) anuló la solicitud {s.numero_smartflex} — paso 5.2" in html
    assert f"la {s.orden} pasó a «Anulada»" in html
    html = client.get(reverse("orden_imprimir", args=[s.orden.pk])).content.decode()
    assert "Historial de la OT" in html
    assert f"Gestión de Red (Gabriel) anuló la solicitud {s.numero_smartflex} — paso 5.2" in html
    assert "Efecto de" not in html and "∅" not in html


def test_admin_que_paso(esc, nombres, client):
    s = esc.solicitud("en_correccion")
    admin = get_user_model().objects.create_superuser("admin_relato", "a@x.bo", "x")
    admin.groups.add(Group.objects.get(name="GESTION_RED"))
    client.force_login(admin)
    html = client.get(reverse("admin:anulaciones_registroauditoria_changelist")).content.decode()
    assert "Qué pasó" in html
    assert (
        f"Gestión de Red (Gabriel) pidió corregir la solicitud {s.numero_smartflex} y abrió un Servicio de "
        "Ingeniería — paso 3 · «Observada» → «En corrección»"
    ) in html
    assert "Se abrió el SI " in html and "en consecuencia de «Solicitar corrección (SI)»" in html
    fila = RegistroAuditoria.de_objeto(s).get(transicion="observar")
    html = client.get(reverse("admin:anulaciones_registroauditoria_change", args=[fila.pk])).content.decode()
    assert f"Gestión de Red (Gabriel) observó la solicitud {s.numero_smartflex} — paso 2" in html
    html = client.get(reverse("admin:anulaciones_solicitud_change", args=[s.pk])).content.decode()
    assert (
        f"Gestión de Red (Gabriel) pidió corregir la solicitud {s.numero_smartflex} y abrió un Servicio de "
        "Ingeniería — paso 3"
    ) in html
    html = client.get(reverse("admin:anulaciones_ordendetrabajo_change", args=[s.orden.pk])).content.decode()
    assert f"Asesor Comercial (Ana) generó la {s.orden} — paso 1" in html


# --- a constant number of queries ------------------------------------------------------------
def _consultas(funcion, *args):
    with CaptureQueriesContext(connection) as ctx:
        funcion(*args)
    return len(ctx.captured_queries)


def test_una_consulta_cualquiera_sea_la_historia(esc, u):
    ContentType.objects.get_for_model(OrdenDeTrabajo)  # the content type cache, as in any request
    corto = esc.solicitud("registrada")
    largo = esc.solicitud("redigitada")
    for s in (corto, largo):
        assert _consultas(relato.del_caso, s.caso_id) == 1
        assert _consultas(relato.de_orden, OrdenDeTrabajo.objects.select_related("solicitud").get(solicitud=s)) == 1
    assert (
        RegistroAuditoria.objects.filter(caso_id=largo.caso_id).count()
        > 3 * RegistroAuditoria.objects.filter(caso_id=corto.caso_id).count()
    )


def test_pagina_de_la_ot_y_admin_constantes(esc, u, client):
    breve = esc.orden("asignada")  # generada → asignada
    s = esc.solicitud("corregida")  # observed, SI opened and answered, then assigned: a long history
    T.aplicar(s, "asignar_instalacion", u.gestion_red)
    larga = OrdenDeTrabajo.objects.get(solicitud=s)
    client.force_login(u.coc)
    medidas = []
    for o in (breve, larga):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("orden", args=[o.pk])).status_code == 200
        medidas.append(len(ctx.captured_queries))
    assert medidas[0] == medidas[1]
    admin = get_user_model().objects.create_superuser("admin_consultas", "a@x.bo", "x")
    client.force_login(admin)
    url = reverse("admin:anulaciones_registroauditoria_changelist")
    n1 = _consultas(client.get, url)
    esc.solicitud("redigitada")
    assert _consultas(client.get, url) == n1


# --- in the browser ------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_navegador_la_linea_de_tiempo_se_lee_como_lo_cuenta_una_persona(pagina, entrar, esc, nombres):
    p = pagina
    s = esc.solicitud("observada")
    T.aplicar(
        s,
        "solicitar_correccion",
        nombres.gestion_red,
        destinatario="ASESOR",
        requerido="Nombre correcto de la calle",
        nota="El cliente atiende después de las 18:00",
    )
    si = ServicioIngenieria.objects.get(solicitud=s)
    numero = s.numero_smartflex

    # The asesor (Ana) opens her case and digits the modification (4.1), which answers the SI (4.2).
    entrar(p, nombres.asesor)
    p.goto(f"/solicitudes/{s.pk}/")
    p.locator('a[data-transicion="digitar_modificacion"]').click()
    p.fill("#id_modificacion", "Calle correcta: Av. Juan Pablo II")
    p.get_by_role("button", name="Digitar modificación").click()
    p.wait_for_url(re.compile(rf"/solicitudes/{s.pk}/$"))

    linea = p.locator("#linea-tiempo")
    correccion = linea.locator(':scope > li[data-hecho="solicitar_correccion"]')
    assert correccion.locator(".oracion").inner_text() == (
        f"Gestión de Red (Gabriel) pidió corregir la solicitud {numero} y abrió un Servicio de Ingeniería al asesor"
        " — paso 3"
    )
    assert correccion.locator(".estados").inner_text() == "Solicitud: «Observada» → «En corrección»"
    assert correccion.locator("blockquote.nota").inner_text() == "El cliente atiende después de las 18:00"
    assert correccion.locator(".consecuencias").inner_text() == "y en consecuencia:"
    efecto = correccion.locator("ul.efectos > li")
    assert efecto.all_inner_texts() == [f"se abrió el SI {si.pk} (Corrección) al asesor"]
    # The effect sits under its cause, indented.
    assert efecto.bounding_box()["x"] > correccion.locator(".oracion").bounding_box()["x"]

    digitacion = linea.locator(':scope > li[data-hecho="digitar_modificacion"]')
    assert digitacion.locator(".oracion").inner_text() == (
        f"Asesor Comercial (Ana) digitó la modificación de la solicitud {numero} — paso 4.1"
    )
    assert digitacion.locator("ul.efectos > li").all_inner_texts() == [f"el SI {si.pk} (Corrección) pasó a «Atendido»"]
    assert linea.locator(":scope > li").count() == 4  # registrar, observar, solicitar_correccion, digitar
    texto = linea.inner_text()
    for viejo in ("Efecto de", "∅", "solicitar_correccion", "GESTION_RED", "abrir"):
        assert viejo not in texto, viejo

    # The OT's history tells its birth under the registration.
    p.goto(f"/ordenes/{s.orden.pk}/")
    registro = p.locator('#historial-ot > li[data-hecho="registrar"]')
    assert registro.locator(".oracion").inner_text() == (
        f"Asesor Comercial (Ana) registró la solicitud {numero} — paso 1"
    )
    assert registro.locator("ul.efectos > li").inner_text() == f"se generó la {s.orden}"

    # The print view carries the same words.
    p.goto(f"/solicitudes/{s.pk}/")
    p.get_by_role("link", name="Imprimir la solicitud (original y copia)").click()
    p.wait_for_url(re.compile(rf"/solicitudes/{s.pk}/imprimir/"))
    anexo = p.locator("#historial")
    assert f"Gestión de Red (Gabriel) pidió corregir la solicitud {numero}" in anexo.inner_text()
    assert "se abrió el SI" in anexo.locator('li[data-hecho="solicitar_correccion"] ul.efectos').inner_text()
