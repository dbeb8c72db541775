"""Tablero de Control (5.1) and the 5.2 decision from its rows."""

import csv
import io
import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from anulaciones import transitions as T
from anulaciones.models import RegistroAuditoria, ServicioIngenieria, Solicitud
from anulaciones.roles import Rol

pytestmark = pytest.mark.django_db

LA_PAZ = ZoneInfo("America/La_Paz")
FILA = re.compile(r'<tr[^>]*data-solicitud="([^"]+)"')


def casos_en_correccion(n, u, zonas):
    """``n`` cases as steps 2-3 leave them (Solicitud en_correccion, its OT, one observation,
    one open SI — a third of them past due), bulk-inserted: only for the query-count tests,
    which need 1,000 rows fast. Every other test walks the transition path."""
    from django.utils import timezone

    from anulaciones.models import Caso, Observacion, OrdenDeTrabajo

    inicio = Solicitud.objects.count()
    ahora = timezone.now()
    casos = Caso.objects.bulk_create([Caso() for _ in range(n)])
    sols = Solicitud.objects.bulk_create(
        [
            Solicitud(
                numero_smartflex=f"SFM-{inicio + i:06d}",
                tipo="instalacion",
                cliente_nombre=f"Cliente {i}",
                calle=f"Calle {i}",
                zona=zonas[i % 2],
                asesor=u.asesor,
                registrada_por=u.asesor,
                caso=c,
                estado="en_correccion",
            )
            for i, c in enumerate(casos)
        ]
    )
    OrdenDeTrabajo.objects.bulk_create(
        [OrdenDeTrabajo(numero=f"OTM-{s.numero_smartflex}", solicitud=s, zona=s.zona) for s in sols]
    )
    obs = Observacion.objects.bulk_create(
        [
            Observacion(
                solicitud=s,
                caso=s.caso,
                paso="2",
                area=Rol.GESTION_RED,
                causa="calle",
                detalle="Calle mal",
                registrada_por=u.gestion_red,
                creado_at=ahora,
            )
            for s in sols
        ]
    )
    ServicioIngenieria.objects.bulk_create(
        [
            ServicioIngenieria(
                solicitud=s,
                orden=None,
                tipo="correccion",
                destinatario="ASESOR",
                observacion=o,
                asesor=u.asesor,
                requerido="Referencia",
                abierto_por=u.gestion_red,
                vence_at=ahora + timedelta(hours=(-3 if i % 3 == 0 else 5)),
            )
            for i, (s, o) in enumerate(zip(sols, obs, strict=False))
        ]
    )


def numeros(respuesta):
    """The Solicitud numbers of the Tablero's rows, in order."""
    return FILA.findall(respuesta.content.decode())


def en_rojo(html, numero):
    """Is the row of Solicitud ``numero`` shown as overdue (red)?"""
    return bool(re.search(rf'<tr class="vencido[^"]*" data-solicitud="{re.escape(numero)}"', html))


@contextmanager
def reloj(local_dt):
    """Freeze "now" at a La Paz wall-clock time (both the transition path and the selectors
    read django.utils.timezone.now)."""
    with mock.patch("django.utils.timezone.now", return_value=local_dt.replace(tzinfo=LA_PAZ)):
        yield


@pytest.fixture
def gr(client, u):
    client.force_login(u.gestion_red)
    return client


def test_lista_los_abiertos_y_vencidos_con_sus_datos(gr, esc, u):
    abierto = esc.servicio("abierto")
    vencido = esc.servicio("vencido")
    atendido = esc.servicio("atendido")
    cerrado = esc.servicio("cerrado_sin_atencion")
    r = gr.get("/tablero/")
    assert r.status_code == 200
    filas = numeros(r)
    assert set(filas) == {abierto.solicitud.numero_smartflex, vencido.solicitud.numero_smartflex}
    assert atendido.solicitud.numero_smartflex not in filas and cerrado.solicitud.numero_smartflex not in filas
    html = r.content.decode()
    assert f'href="/solicitudes/{abierto.solicitud_id}/"' in html
    assert en_rojo(html, vencido.solicitud.numero_smartflex)
    assert not en_rojo(html, abierto.solicitud.numero_smartflex)
    for texto in (
        "Corrección",
        "Zona Norte",
        "Nombre de calle / dirección: Calle mal escrita",
        "Vencido",
        "Abierto",
        "Tiempo restante",
    ):
        assert texto in html


@pytest.mark.parametrize("rol", [Rol.ASESOR, Rol.MONITORA, Rol.TEAM_LEADER, Rol.COZ, Rol.TECNICO, Rol.FACTURACION])
def test_roles_sin_tablero_reciben_403(client, u, rol):
    client.force_login(u.por_rol[rol])
    for url in ("/tablero/", "/tablero/export.csv", "/tablero/export.xlsx"):
        r = client.get(url)
        assert r.status_code == 403, url
    assert "no tiene acceso al Tablero" in client.get("/tablero/").content.decode()


@pytest.mark.parametrize("rol", [Rol.GESTION_RED, Rol.COC, Rol.JEFE_DIVISION])
def test_roles_del_tablero_lo_ven(client, u, esc, rol):
    si = esc.servicio()
    client.force_login(u.por_rol[rol])
    assert numeros(client.get("/tablero/")) == [si.solicitud.numero_smartflex]


def test_anonimo_va_al_login(client):
    r = client.get("/tablero/")
    assert r.status_code == 302 and "/cuentas/login/" in r["Location"]


# --- filters -------------------------------------------------------------------------------
def test_filtros_estado_tipo_destinatario_zona_asesor(gr, esc, u, zonas, crear_usuario):
    base = esc.servicio("abierto")
    vencido = esc.servicio("vencido")
    a_monitora = esc.servicio("abierto", destinatario="MONITORA")
    otra_zona = esc.solicitud("observada", zona=zonas[1])
    T.aplicar(otra_zona, "solicitar_correccion", u.gestion_red, destinatario="ASESOR", requerido="Caja")
    impedimento = T.abrir_servicio(
        esc.solicitud("registrada"),
        u.gestion_red,
        tipo="impedimento",
        impedimento="cierre_ot",
        destinatario="COC",
        requerido="OT no cerrada por Operaciones",
    )
    otro_asesor = crear_usuario(Rol.ASESOR, "otro_asesor")
    sol_otro = T.crear_solicitud(
        u.monitora,
        asesor=otro_asesor,
        numero_smartflex="SF-OTRO",
        tipo="traslado",
        cliente_nombre="Rosa Quispe",
        calle="Calle 21",
        zona=zonas[0],
    )
    T.aplicar(sol_otro, "observar", u.gestion_red, causa="caja_nap", detalle="Sin NAP")
    T.aplicar(sol_otro, "solicitar_correccion", u.gestion_red, destinatario="ASESOR", requerido="NAP")
    n = lambda si: si.solicitud.numero_smartflex  # noqa: E731

    todos = {n(base), n(vencido), n(a_monitora), otra_zona.numero_smartflex, n(impedimento), "SF-OTRO"}
    assert set(numeros(gr.get("/tablero/"))) == todos
    assert numeros(gr.get("/tablero/?estado=vencido")) == [n(vencido)]
    assert set(numeros(gr.get("/tablero/?estado=vencido&estado=abierto"))) == todos
    assert numeros(gr.get("/tablero/?tipo=impedimento")) == [n(impedimento)]
    assert numeros(gr.get("/tablero/?destinatario=MONITORA")) == [n(a_monitora)]
    assert numeros(gr.get(f"/tablero/?zona={zonas[1].pk}")) == [otra_zona.numero_smartflex]
    assert numeros(gr.get(f"/tablero/?asesor={otro_asesor.pk}")) == ["SF-OTRO"]
    assert set(numeros(gr.get(f"/tablero/?asesor={u.asesor.pk}&destinatario=ASESOR&estado=abierto"))) == {
        n(base),
        otra_zona.numero_smartflex,
    }
    # The "atendido" state is only listed when asked for.
    atendido = esc.servicio("atendido")
    assert n(atendido) not in numeros(gr.get("/tablero/"))
    assert numeros(gr.get("/tablero/?estado=atendido")) == [n(atendido)]


def test_filtro_abierto_el_y_entre_fechas_en_hora_local(gr, esc):
    # 20:30 in La Paz on 9 March is 00:30 UTC on 10 March: it was opened on the 9th, locally.
    with reloj(datetime(2026, 3, 9, 20, 30)):
        noche = esc.servicio()
    with reloj(datetime(2026, 3, 10, 9, 0)):
        manana = esc.servicio()
    with reloj(datetime(2026, 3, 12, 9, 0)):
        jueves = esc.servicio()
        n = lambda si: si.solicitud.numero_smartflex  # noqa: E731
        assert numeros(gr.get("/tablero/?abierto_el=2026-03-09")) == [n(noche)]
        assert numeros(gr.get("/tablero/?abierto_el=2026-03-10")) == [n(manana)]
        assert set(numeros(gr.get("/tablero/?abierto_desde=2026-03-10"))) == {n(manana), n(jueves)}
        assert set(numeros(gr.get("/tablero/?abierto_hasta=2026-03-10"))) == {n(noche), n(manana)}
        assert numeros(gr.get("/tablero/?abierto_desde=2026-03-10&abierto_hasta=2026-03-11")) == [n(manana)]


def test_presets_en_los_limites_del_dia_local(gr, esc, u, settings):
    settings.ANULACIONES_HORARIO = "lun-sab 08:00-18:00"
    settings.ANULACIONES_SI_MINIMO_MINUTOS = 0
    n = lambda si: si.solicitud.numero_smartflex  # noqa: E731
    with reloj(datetime(2026, 3, 9, 23, 0)):  # Monday night: due Tuesday 18:00
        ayer = esc.servicio()
    with reloj(datetime(2026, 3, 10, 10, 0)):  # Tuesday: due today 18:00
        hoy = esc.servicio()
        marcado = esc.servicio()
    with reloj(datetime(2026, 3, 10, 18, 30)):  # after the cut-off: due Wednesday 18:00
        manana = esc.servicio()
        T.aplicar(marcado, "vencer", u.sistema)
    with reloj(datetime(2026, 3, 10, 19, 0)):  # 23:00 UTC: still the 10th in both
        atendido_hoy = esc.servicio("atendido")
    with reloj(datetime(2026, 3, 9, 22, 0)):  # 02:00 UTC on the 10th, but the 9th in La Paz
        atendido_ayer = esc.servicio("atendido")
    assert ayer.vence_at == hoy.vence_at == datetime(2026, 3, 10, 18, 0, tzinfo=LA_PAZ)

    # 21:30 in La Paz = 01:30 UTC on 11 March: "today" is still the 10th.
    with reloj(datetime(2026, 3, 10, 21, 30)):
        assert set(numeros(gr.get("/tablero/?vista=vencen_hoy"))) == {n(ayer), n(hoy), n(marcado)}
        # Past due: marked vencido by the task, or still abierto past its deadline.
        assert set(numeros(gr.get("/tablero/?vista=vencidos"))) == {n(ayer), n(hoy), n(marcado)}
        assert numeros(gr.get("/tablero/?vista=atendidos_hoy")) == [n(atendido_hoy)]
        assert n(manana) in numeros(gr.get("/tablero/"))
        html = gr.get("/tablero/").content.decode()
        assert en_rojo(html, n(hoy))  # red though the task has not marked it yet
        assert not en_rojo(html, n(manana))
        assert "vencido hace 3 h 30 min" in html and "20 h 30 min" in html
        assert n(atendido_ayer) not in numeros(gr.get("/tablero/?vista=atendidos_hoy&estado=atendido"))

    # Just before midnight the Wednesday SI is not "due today"; just after, it is.
    with reloj(datetime(2026, 3, 10, 23, 59, 59)):
        assert n(manana) not in numeros(gr.get("/tablero/?vista=vencen_hoy"))
    with reloj(datetime(2026, 3, 11, 0, 0, 1)):
        assert numeros(gr.get("/tablero/?vista=vencen_hoy")) == [n(manana)]


# --- sorting and pagination ------------------------------------------------------------------
def test_ordenar_por_columnas(gr, esc):
    sis = [esc.servicio() for _ in range(3)]
    por_numero = sorted(si.solicitud.numero_smartflex for si in sis)
    assert numeros(gr.get("/tablero/?sort=numero")) == por_numero
    assert numeros(gr.get("/tablero/?sort=-numero")) == por_numero[::-1]
    # Default: by deadline, then by opening order.
    assert numeros(gr.get("/tablero/")) == [si.solicitud.numero_smartflex for si in sis]
    assert numeros(gr.get("/tablero/?sort=-abierto")) == [si.solicitud.numero_smartflex for si in sis][::-1]


def test_paginacion_sin_repetir_ni_perder_filas(gr, esc, settings):
    settings.ANULACIONES_TABLERO_POR_PAGINA = 2
    sis = [esc.servicio() for _ in range(5)]
    paginas = [numeros(gr.get(f"/tablero/?sort=-numero&page={p}")) for p in (1, 2, 3)]
    assert [len(p) for p in paginas] == [2, 2, 1]
    assert sum(paginas, []) == sorted((si.solicitud.numero_smartflex for si in sis), reverse=True)
    html = gr.get("/tablero/?sort=-numero&page=2").content.decode()
    assert "page=3" in html and "sort=-numero" in html  # links keep the sort


def test_pagina_que_ya_no_existe_muestra_la_ultima(gr, esc, settings):
    # A refresh of page 3 after rows left the Tablero must not fail.
    settings.ANULACIONES_TABLERO_POR_PAGINA = 2
    sis = [esc.servicio() for _ in range(3)]
    assert numeros(gr.get("/tablero/?page=9")) == [sis[2].solicitud.numero_smartflex]
    assert gr.get("/tablero/?page=abc").status_code == 200


# --- htmx refresh ------------------------------------------------------------------------
def test_refresco_htmx_devuelve_la_tabla_con_la_misma_consulta(gr, esc, settings):
    settings.ANULACIONES_TABLERO_REFRESCO = 30
    si = esc.servicio(destinatario="MONITORA")
    esc.servicio()
    completa = gr.get("/tablero/?destinatario=MONITORA&page=1").content.decode()
    assert 'hx-get="/tablero/?destinatario=MONITORA&amp;page=1"' in completa
    assert "every 30000ms" in completa
    assert "/static/django_htmx/htmx-2.min.js" in completa  # from the installed package, no CDN
    parcial = gr.get("/tablero/?destinatario=MONITORA&page=1", headers={"HX-Request": "true"})
    cuerpo = parcial.content.decode()
    assert "<html" not in cuerpo and 'id="tablero-contenido"' in cuerpo
    assert numeros(parcial) == [si.solicitud.numero_smartflex]
    assert "HX-Request" in parcial["Vary"]


# --- export ------------------------------------------------------------------------------
def test_exportaciones_iguales_a_las_filas_filtradas(gr, esc, u, settings):
    settings.ANULACIONES_TABLERO_POR_PAGINA = 100
    for _ in range(3):
        esc.servicio()
    esc.servicio("vencido")
    esc.servicio(destinatario="MONITORA")
    consulta = "destinatario=ASESOR&sort=-numero"
    pagina = numeros(gr.get(f"/tablero/?{consulta}"))
    assert len(pagina) == 4

    r = gr.get(f"/tablero/export.csv?{consulta}")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    texto = b"".join(r.streaming_content).decode("utf-8-sig")
    filas = list(csv.reader(io.StringIO(texto)))
    assert filas[0][:3] == ["Solicitud", "Tipo", "Destinatario"]
    assert [f[0] for f in filas[1:]] == pagina
    assert filas[1][1:3] == ["Corrección", "Asesor"] and filas[1][3] == "Zona Norte"

    r = gr.get(f"/tablero/export.xlsx?{consulta}")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    libro = load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    hoja = libro.active
    filas_xlsx = list(hoja.iter_rows(values_only=True))
    assert filas_xlsx[0][0] == "Solicitud"
    assert [f[0] for f in filas_xlsx[1:]] == pagina
    si = ServicioIngenieria.objects.get(solicitud__numero_smartflex=pagina[0])
    abierto_local = si.creado_at.astimezone(LA_PAZ).replace(tzinfo=None, microsecond=0)
    assert filas_xlsx[1][6].replace(microsecond=0) == abierto_local
    assert {f[9] for f in filas_xlsx[1:]} == {"Abierto", "Vencido"}

    # The preset applies to the export as well.
    r = gr.get("/tablero/export.csv?estado=vencido")
    assert len(list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))) == 2


# --- constant number of queries ----------------------------------------------------------
def _consultas(client, url):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
        if getattr(r, "streaming", False):
            b"".join(r.streaming_content)
    assert r.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/tablero/",
        "/tablero/?sort=-asesor&page=2",
        "/tablero/?vista=vencidos",
        "/tablero/export.csv",
        "/tablero/export.xlsx",
    ],
)
def test_consultas_constantes_10_y_1000_filas(gr, u, zonas, settings, url):
    settings.ANULACIONES_TABLERO_POR_PAGINA = 5
    casos_en_correccion(10, u, zonas)
    con_10 = _consultas(gr, url)
    casos_en_correccion(990, u, zonas)
    assert ServicioIngenieria.objects.count() == 1000
    con_1000 = _consultas(gr, url)
    assert con_10 == con_1000, (url, con_10, con_1000)
    assert con_1000 <= 12, con_1000


# --- 5.2 from the row ------------------------------------------------------------------------
def _botones(html):
    return set(re.findall(r'name="accion" value="(\w+)"', html))


def test_botones_segun_la_maquina_y_el_rol(client, esc, u):
    si = esc.servicio()
    client.force_login(u.gestion_red)
    assert _botones(client.get("/tablero/").content.decode()) == {"asignar_instalacion", "anular"}
    client.force_login(u.coc)
    assert _botones(client.get("/tablero/").content.decode()) == {"asignar_instalacion", "anular"}
    client.force_login(u.jefe_division)  # reads only
    html = client.get("/tablero/").content.decode()
    assert si.solicitud.numero_smartflex in html and _botones(html) == set()


def test_observacion_de_forma_tambien_ofrece_anular(gr, esc, u):
    """procedure.md: «anular» is never refused because the case's observations are only de
    forma (the customer may ask to cancel): the row offers it and the decision goes through."""
    s = esc.nueva()
    T.aplicar(s, "observar", u.gestion_red, causa="equipos", detalle="Falta router", alcance="forma")
    T.aplicar(s, "solicitar_correccion", u.gestion_red, destinatario="ASESOR", requerido="Equipo")
    s.refresh_from_db()
    assert _botones(gr.get("/tablero/").content.decode()) == {"asignar_instalacion", "anular"}
    r = gr.post(
        f"/tablero/solicitudes/{s.pk}/decidir/",
        {
            "accion": "anular",
            "version": s.version,
            "motivo": "El cliente desiste",
            "justificacion": "El cliente llamó para desistir del servicio",
            "confirmado": "1",
        },
    )
    assert r.status_code == 302
    s.refresh_from_db()
    assert (s.estado, s.motivo_anulacion) == ("anulada", "El cliente desiste")
    assert "anulada" in gr.get(r["Location"]).content.decode()


def test_asignar_para_instalacion_desde_la_fila(gr, esc, u):
    si = esc.servicio()
    s = si.solicitud
    antes = RegistroAuditoria.objects.count()
    volver = "destinatario=ASESOR&page=1"
    r = gr.post(
        f"/tablero/solicitudes/{s.pk}/decidir/",
        {"accion": "asignar_instalacion", "version": s.version, "volver": volver, "confirmado": "1"},
    )
    assert r.status_code == 302 and r["Location"] == f"/tablero/?{volver}"
    s.refresh_from_db()
    si.refresh_from_db()
    assert s.estado == "en_instalacion" and s.orden.estado == "asignada"
    assert si.estado == "cerrado_sin_atencion"
    registro = RegistroAuditoria.de_objeto(s).last()
    assert (registro.transicion, registro.paso, registro.rol, registro.usuario) == (
        "asignar_instalacion",
        "5.2",
        Rol.GESTION_RED,
        u.gestion_red,
    )
    assert RegistroAuditoria.objects.count() == antes + 3  # Solicitud, SI, OT
    pagina = gr.get(r["Location"]).content.decode()
    assert s.numero_smartflex not in numeros_html(pagina)
    assert "asignada para instalación" in pagina


def numeros_html(html):
    return FILA.findall(html)


def test_anular_desde_la_fila_con_motivo(gr, esc, u):
    s = esc.servicio().solicitud
    r = gr.post(f"/tablero/solicitudes/{s.pk}/decidir/", {"accion": "anular", "version": s.version, "motivo": ""})
    assert r.status_code == 302
    s.refresh_from_db()
    assert s.estado == "en_correccion"  # no reason: nothing happens
    assert "Indique el motivo" in gr.get(r["Location"]).content.decode()
    # The SI is still in its day and nobody called the subscriber: a justification is needed
    # (tests/test_tablero_decision.py covers the cases where it is not).
    gr.post(
        f"/tablero/solicitudes/{s.pk}/decidir/",
        {
            "accion": "anular",
            "version": s.version,
            "motivo": "Cliente desiste",
            "justificacion": "El cliente pidió la baja por escrito",
            "confirmado": "1",
        },
    )
    s.refresh_from_db()
    assert (s.estado, s.motivo_anulacion, s.orden.estado) == ("anulada", "Cliente desiste", "anulada")
    assert s.justificacion_anulacion == "El cliente pidió la baja por escrito"
    registro = RegistroAuditoria.de_objeto(s).last()
    assert (registro.transicion, registro.rol) == ("anular", Rol.GESTION_RED)


@pytest.mark.parametrize("rol", [Rol.JEFE_DIVISION, Rol.ASESOR, Rol.TECNICO])
def test_decision_prohibida_403_y_nada_cambia(client, esc, u, rol):
    s = esc.servicio().solicitud
    antes = RegistroAuditoria.objects.count()
    client.force_login(u.por_rol[rol])
    for datos in ({"accion": "asignar_instalacion"}, {"accion": "anular", "motivo": "Cliente desiste"}):
        r = client.post(f"/tablero/solicitudes/{s.pk}/decidir/", datos)
        assert r.status_code == 403
    assert "rol" in r.content.decode()
    s.refresh_from_db()
    assert s.estado == "en_correccion" and RegistroAuditoria.objects.count() == antes


def test_decision_sobre_datos_viejos_es_conflicto(gr, esc, u):
    s = esc.servicio().solicitud
    visto = s.version
    T.aplicar(s, "digitar_modificacion", u.asesor, modificacion="Calle corregida")
    r = gr.post(
        f"/tablero/solicitudes/{s.pk}/decidir/", {"accion": "anular", "version": visto, "motivo": "x"}, follow=True
    )
    s.refresh_from_db()
    assert s.estado == "corregida"
    assert "fue modificado" in r.content.decode()


def test_decision_desconocida_o_get(gr, esc):
    s = esc.servicio().solicitud
    assert gr.post(f"/tablero/solicitudes/{s.pk}/decidir/", {"accion": "observar"}).status_code == 400
    assert gr.get(f"/tablero/solicitudes/{s.pk}/decidir/").status_code == 405
    assert Solicitud.objects.get(pk=s.pk).estado == "en_correccion"
