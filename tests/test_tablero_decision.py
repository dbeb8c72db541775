"""The 5.2 decision panel of a Tablero row (issue 12, items 2, 9 and 16): the justification a
cancellation needs (an SI still in its day, no contact attempt recorded), the contact attempt
recorded where the decision is made (3.3), and the final cancellation of a re-digitation that
never came (19.2) — all through the Tablero's views, as its users take them."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anulaciones import transitions as T
from anulaciones.models import IntentoContacto, RegistroAuditoria, ServicioIngenieria, Solicitud
from anulaciones.roles import Rol
from anulaciones.tables import falta_justificar
from anulaciones.tasks import vencer_servicios

from .test_tablero import casos_en_correccion

pytestmark = pytest.mark.django_db


@pytest.fixture
def gr(client, u):
    client.force_login(u.gestion_red)
    return client


def fila(html, numero):
    """The HTML of the Tablero row of Solicitud ``numero`` (the first one, if several)."""
    m = re.search(rf'<tr class="[^"]*" data-solicitud="{re.escape(numero)}">(.*?)</tr>', html, re.S)
    assert m, f"no row for {numero}"
    return m.group(1)


def botones(html):
    return set(re.findall(r'name="accion" value="(\w+)"', html))


def decidir(client, s, **datos):
    """The decision as confirmed (issue 15.7: the confirmation step is tests/test_acciones_dia.py's)."""
    return client.post(f"/tablero/solicitudes/{s.pk}/decidir/", {"version": s.version, "confirmado": "1", **datos})


def contacto(s, u, resultado="sin_respuesta"):
    return T.registrar_contacto(s, u.coc, canal="llamada", resultado=resultado)


# --- the justification (5.2 / 3.3) --------------------------------------------------------------
def test_sin_contacto_ni_justificacion_se_rechaza_y_el_caso_sigue_abierto(gr, esc, u):
    si = esc.servicio("vencido")  # past its day: only the missing contact attempt asks for it
    s = si.solicitud
    html = fila(gr.get("/tablero/?destinatario=ASESOR&page=1").content.decode(), s.numero_smartflex)
    assert 'name="justificacion"' in html and "required" in html.split('name="justificacion"')[1][:60]
    assert "Obligatoria: no hay intento de contacto con el abonado registrado (3.3)." in html
    antes = RegistroAuditoria.objects.count()
    volver = "destinatario=ASESOR&page=1"
    r = decidir(gr, s, accion="anular", motivo="Cliente <b>desiste</b>", volver=volver)
    assert r.status_code == 302 and r["Location"] == f"/tablero/?{volver}"  # filters and page kept
    s.refresh_from_db()
    si.refresh_from_db()
    assert (s.estado, si.estado, s.justificacion_anulacion) == ("en_correccion", "vencido", "")
    assert RegistroAuditoria.objects.count() == antes
    pagina = gr.get(r["Location"]).content.decode()
    assert "Justifique la anulación: no hay intento de contacto con el abonado registrado (3.3)." in pagina
    # Nothing typed is lost: the row's cancel box comes back open, filled in, with its error.
    propia = fila(pagina, s.numero_smartflex)
    assert '<details class="accion-anular" open>' in propia
    assert ">Cliente &lt;b&gt;desiste&lt;/b&gt;</textarea>" in propia and "<b>desiste" not in propia
    assert 'role="alert">Justifique la anulación' in propia
    # Once: the next load (or an htmx refresh) draws the row as usual.
    assert '<details class="accion-anular" open>' not in gr.get(r["Location"]).content.decode()


def test_el_refresco_htmx_no_se_lleva_el_borrador(gr, esc, u):
    s = esc.servicio("vencido").solicitud
    decidir(gr, s, accion="anular", motivo="Cliente desiste")
    parcial = gr.get("/tablero/", headers={"HX-Request": "true"}).content.decode()
    assert "open>" not in fila(parcial, s.numero_smartflex)
    assert '<details class="accion-anular" open>' in fila(gr.get("/tablero/").content.decode(), s.numero_smartflex)


def test_con_justificacion_se_anula_y_queda_guardada(gr, esc, u):
    si = esc.servicio()  # in its day, no contact attempt: both reasons
    s = si.solicitud
    html = fila(gr.get("/tablero/").content.decode(), s.numero_smartflex)
    assert (
        "Obligatoria: el Servicio de Ingeniería aún está en plazo (5.2) y no hay intento de contacto "
        "con el abonado registrado (3.3)."
    ) in html
    r = decidir(gr, s, accion="anular", motivo="Cliente desiste", justificacion="Pidió la baja por escrito")
    assert r.status_code == 302
    s.refresh_from_db()
    si.refresh_from_db()
    assert (s.estado, s.motivo_anulacion, s.justificacion_anulacion) == (
        "anulada",
        "Cliente desiste",
        "Pidió la baja por escrito",
    )
    assert si.estado == "cerrado_sin_atencion"
    registro = RegistroAuditoria.de_objeto(s).last()
    assert (registro.transicion, registro.estado_origen, registro.rol, registro.paso) == (
        "anular",
        "en_correccion",
        Rol.GESTION_RED,
        "5.2",
    )
    assert f"{s} anulada." in gr.get(r["Location"]).content.decode()


def test_con_contacto_y_si_vencido_no_se_pide_justificacion(gr, esc, u):
    si = esc.servicio("vencido")
    s = si.solicitud
    contacto(s, u)
    html = fila(gr.get("/tablero/").content.decode(), s.numero_smartflex)
    assert "anular" in botones(html)
    assert 'name="justificacion"' not in html and "Justificación" not in html
    decidir(gr, s, accion="anular", motivo="Cliente no responde")
    s.refresh_from_db()
    assert (s.estado, s.justificacion_anulacion) == ("anulada", "")


def test_con_contacto_y_si_en_plazo_se_pide_por_el_plazo(gr, esc, u):
    s = esc.servicio().solicitud
    contacto(s, u, resultado="rechaza")
    html = fila(gr.get("/tablero/").content.decode(), s.numero_smartflex)
    assert "Obligatoria: el Servicio de Ingeniería aún está en plazo (5.2)." in html
    decidir(gr, s, accion="anular", motivo="Cliente desiste")
    s.refresh_from_db()
    assert s.estado == "en_correccion"
    assert "Justifique la anulación: el Servicio de Ingeniería aún está en plazo (5.2)." in (
        gr.get("/tablero/").content.decode()
    )


@pytest.mark.parametrize("vencido", [False, True])
@pytest.mark.parametrize("con_contacto", [False, True])
def test_la_fila_da_la_misma_razon_que_el_modelo(u, esc, vencido, con_contacto):
    """The row reads annotations; the transition path asks the database: same words."""
    from anulaciones import selectors

    si = esc.servicio("vencido" if vencido else "abierto")
    if con_contacto:
        contacto(si.solicitud, u)
    ahora = timezone.now()
    fila_si = selectors.servicios_tablero(user=u.gestion_red, acciones=True).get(pk=si.pk)
    assert falta_justificar(fila_si, ahora) == si.solicitud._hay_que_justificar(ahora)
    assert falta_justificar(ServicioIngenieria.objects.get(pk=si.pk), ahora) == si.solicitud._hay_que_justificar(ahora)
    assert bool(falta_justificar(fila_si, ahora)) == (not vencido or not con_contacto)


def test_otro_si_del_caso_en_plazo_tambien_cuenta(gr, esc, u):
    """Step 7 opens one SI per recipient: a row whose own SI is past due still asks for the
    justification while another SI of the Solicitud is in its day."""
    s = esc.solicitud("observada")
    T.aplicar(s, "solicitar_correccion", u.coc, destinatarios=["ASESOR", "MONITORA"], requerido="Caja")
    contacto(s, u)
    vencido = ServicioIngenieria.objects.get(solicitud=s, destinatario="ASESOR")
    T.aplicar(vencido, "vencer", u.sistema)
    html = gr.get("/tablero/?estado=vencido").content.decode()
    assert "Obligatoria: el Servicio de Ingeniería aún está en plazo (5.2)." in fila(html, s.numero_smartflex)


# --- contact attempts where the decision is made (3.3) --------------------------------------------
def test_registrar_intento_de_contacto_desde_la_fila(gr, esc, u):
    s = esc.servicio().solicitud
    html = fila(gr.get("/tablero/?destinatario=ASESOR").content.decode(), s.numero_smartflex)
    assert f'action="/solicitudes/{s.pk}/contacto/"' in html
    assert 'name="next" value="/tablero/?destinatario=ASESOR"' in html
    assert '<option value="llamada">Llamada</option>' in html
    assert '<option value="rechaza">Cliente desiste</option>' in html
    r = gr.post(
        f"/solicitudes/{s.pk}/contacto/",
        {
            "canal": "visita",
            "resultado": "contactado",
            "detalle": "Vecina atendió",
            "next": "/tablero/?destinatario=ASESOR",
        },
    )
    assert r.status_code == 302 and r["Location"] == "/tablero/?destinatario=ASESOR"
    c = IntentoContacto.objects.get(caso_id=s.caso_id)
    assert (c.canal, c.resultado, c.detalle, c.usuario, c.rol) == (
        "visita",
        "contactado",
        "Vecina atendió",
        u.gestion_red,
        Rol.GESTION_RED,
    )
    pagina = gr.get(r["Location"]).content.decode()
    assert "Intento de contacto registrado (3.3)." in pagina
    assert "no hay intento de contacto" not in fila(pagina, s.numero_smartflex)


def test_intento_de_contacto_solo_para_casos_abiertos_y_roles_que_lo_registran(client, esc, u):
    abierto = esc.servicio().solicitud
    instalada = esc.servicio().solicitud  # its SI attended, then installed: the case is final
    T.aplicar(instalada, "digitar_modificacion", u.asesor, modificacion="Calle corregida")
    T.aplicar(instalada, "asignar_instalacion", u.gestion_red)
    T.aplicar(instalada.orden, "ejecutar", u.tecnico)
    assert Solicitud.objects.get(pk=instalada.pk).estado == "instalada"
    for rol in (Rol.GESTION_RED, Rol.COC):
        client.force_login(u.por_rol[rol])
        html = client.get("/tablero/?estado=abierto&estado=atendido").content.decode()
        assert "Registrar intento de contacto" in fila(html, abierto.numero_smartflex)
        assert fila(html, instalada.numero_smartflex).endswith("<td>—</td>")
    client.force_login(u.jefe_division)  # reads only
    html = client.get("/tablero/").content.decode()
    assert "Registrar intento de contacto" not in html and botones(html) == set()


# --- a re-digitation that never came (19.2) ----------------------------------------------------------
def _redigitacion(esc):
    s = esc.solicitud("pendiente_redigitacion")
    si = ServicioIngenieria.objects.get(solicitud=s, tipo="redigitacion")
    assert si.vence_at == s.redigitacion_vence_at
    return s, si


@pytest.mark.parametrize("rol", [Rol.GESTION_RED, Rol.COC])
def test_redigitacion_vencida_se_ofrece_y_se_anula_desde_la_fila(client, esc, u, rol):
    s, si = _redigitacion(esc)
    with time_machine.travel(s.redigitacion_vence_at + timedelta(minutes=5), tick=False):
        vencer_servicios()
        si.refresh_from_db()
        assert si.estado == "vencido"
        contacto(s, u)  # the COC called the subscriber: no justification needed
        client.force_login(u.por_rol[rol])
        html = client.get("/tablero/").content.decode()
        assert re.search(rf'<tr class="vencido[^"]*" data-solicitud="{s.numero_smartflex}"', html)  # red
        propia = fila(html, s.numero_smartflex)
        assert "Re-digitación no registrada (19.2)" in propia
        assert botones(propia) == {"anular"}
        assert ">Re-digitación no registrada en plazo (19.2).</textarea>" in propia  # a reason, editable
        assert 'name="justificacion"' not in propia
        antes = RegistroAuditoria.objects.count()
        r = decidir(client, s, accion="anular", motivo="Re-digitación no registrada en plazo (19.2).")
        assert r.status_code == 302
        s.refresh_from_db()
        si.refresh_from_db()
        assert (s.estado, s.motivo_anulacion) == ("anulada", "Re-digitación no registrada en plazo (19.2).")
        assert (si.estado, si.cerrado_por) == ("cerrado_sin_atencion", u.por_rol[rol])
        registro = RegistroAuditoria.de_objeto(s).last()
        assert (registro.transicion, registro.estado_origen, registro.estado_destino, registro.rol) == (
            "anular",
            "pendiente_redigitacion",
            "anulada",
            rol,
        )
        assert RegistroAuditoria.objects.count() == antes + 2  # the Solicitud and its SI (the OT was already)
        pagina = client.get(r["Location"]).content.decode()
        assert "anulada en definitiva: re-digitación no registrada (19.2)" in pagina
        assert s.numero_smartflex not in pagina.split('id="tabla-tablero"')[1]


def test_redigitacion_vencida_sin_contacto_pide_justificacion(gr, esc, u):
    s, si = _redigitacion(esc)
    Solicitud.objects.filter(pk=s.pk).update(redigitacion_vence_at=timezone.now() - timedelta(minutes=1))
    ServicioIngenieria.objects.filter(pk=si.pk).update(vence_at=timezone.now() - timedelta(minutes=1))
    vencer_servicios()
    s.refresh_from_db()
    propia = fila(gr.get("/tablero/").content.decode(), s.numero_smartflex)
    assert "Obligatoria: no hay intento de contacto con el abonado registrado (3.3)." in propia
    decidir(gr, s, accion="anular", motivo="Sin re-digitación", justificacion="El asesor no ubicó al cliente")
    s.refresh_from_db()
    assert (s.estado, s.justificacion_anulacion) == ("anulada", "El asesor no ubicó al cliente")


def test_redigitacion_en_plazo_no_ofrece_nada_y_un_post_forjado_no_cambia_nada(client, esc, u):
    s, si = _redigitacion(esc)
    contacto(s, u)
    for rol in (Rol.GESTION_RED, Rol.COC):
        client.force_login(u.por_rol[rol])
        propia = fila(client.get("/tablero/").content.decode(), s.numero_smartflex)
        limite = f"{timezone.localtime(s.redigitacion_vence_at):%d/%m/%Y %H:%M}"
        assert f"Re-digitación en plazo hasta {limite} (19.2)" in propia
        assert botones(propia) == set() and "<form" not in propia
    antes = RegistroAuditoria.objects.count()
    r = decidir(client, s, accion="anular", motivo="Cliente desiste", justificacion="x", volver="vista=vencidos")
    assert r.status_code == 302 and r["Location"] == "/tablero/?vista=vencidos"
    s.refresh_from_db()
    si.refresh_from_db()
    assert (s.estado, si.estado) == ("pendiente_redigitacion", "abierto")
    assert RegistroAuditoria.objects.count() == antes
    assert "La re-digitación aún está en plazo" in client.get(r["Location"]).content.decode()


# --- constant queries --------------------------------------------------------------------------------
def _consultas(client, url):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200
    return len(ctx.captured_queries), r.content.decode()


@pytest.mark.parametrize("rol", [Rol.GESTION_RED, Rol.COC])
def test_consultas_constantes_con_5_y_50_filas(client, esc, u, zonas, settings, rol):
    """Every kind of decision panel (justification or not, contact form, re-digitation in time
    and expired) costs no query per row."""
    settings.ANULACIONES_TABLERO_POR_PAGINA = 100  # every row drawn
    client.force_login(u.por_rol[rol])
    vencida, _ = _redigitacion(esc)
    Solicitud.objects.filter(pk=vencida.pk).update(redigitacion_vence_at=timezone.now() - timedelta(minutes=1))
    ServicioIngenieria.objects.filter(solicitud=vencida).update(vence_at=timezone.now() - timedelta(minutes=1))
    _redigitacion(esc)  # still in time
    con_contacto = esc.servicio("vencido")
    contacto(con_contacto.solicitud, u)
    casos_en_correccion(2, u, zonas)
    assert ServicioIngenieria.objects.count() == 5
    n5, html5 = _consultas(client, "/tablero/")
    assert len(re.findall(r"data-solicitud=", html5)) == 5
    casos_en_correccion(45, u, zonas)
    sols = Solicitud.objects.filter(numero_smartflex__startswith="SFM-").order_by("pk")[::3]
    IntentoContacto.objects.bulk_create(
        [
            IntentoContacto(
                solicitud=s,
                caso_id=s.caso_id,
                usuario=u.coc,
                rol=Rol.COC,
                canal="llamada",
                resultado="sin_respuesta",
                realizado_at=timezone.now(),
            )
            for s in sols
        ]
    )
    n50, html50 = _consultas(client, "/tablero/")
    assert len(re.findall(r"data-solicitud=", html50)) == 50
    for html in (html5, html50):
        assert "Re-digitación no registrada (19.2)" in html and "Re-digitación en plazo hasta" in html
        assert 'name="justificacion"' in html and "Registrar intento de contacto" in html
    assert html50.count('name="justificacion"') < 49  # rows with a contact and a past-due SI ask none
    assert n5 == n50, (n5, n50)


def test_las_anotaciones_no_entran_en_el_count_del_paginador(gr, esc):
    """The decision panel's annotations stay in the page's SELECT: the paginator's COUNT reads
    the SI table alone (BENCHMARKS.md: the COUNT is what a big Tablero pays for)."""
    esc.servicio()
    with CaptureQueriesContext(connection) as ctx:
        assert gr.get("/tablero/").status_code == 200
    cuentas = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT COUNT(*)") and "servicioingenieria" in q["sql"]
    ]
    assert len(cuentas) == 1 and "JOIN" not in cuentas[0] and "intentocontacto" not in cuentas[0], cuentas
