"""Issue 14: the deliveries to Div. Facturación on the pages (21.1) — /entregas/ (list, numbered
and supplementary deliveries, «Recibido», the red late-month warning), the homes of Facturación
and of the jefe de división, and the notifications page rendered from the notices' facts."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anulaciones import entregas as reports
from anulaciones import transitions as T
from anulaciones.models import Entrega, Notificacion, RegistroAuditoria, Zonificacion
from anulaciones.roles import Rol

pytestmark = pytest.mark.django_db
LP = ZoneInfo("America/La_Paz")
HOY = datetime(2026, 11, 10, 10, 0, tzinfo=LP)
OCTUBRE = datetime(2026, 10, 20, 9, 0, tzinfo=LP)
OTROS = [r for r in Rol.values if r not in (Rol.FACTURACION, Rol.GESTION_RED)]


@pytest.fixture(autouse=True)
def noviembre(settings, tmp_path):
    """Today is 10/11/2026 (the clock runs on from there); workbooks go to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path
    with time_machine.travel(HOY, tick=True):
        yield


def digitada(esc, u, cuando=None):
    """A zonification digitized in Smartflex (20.3) at ``cuando`` (default: now)."""
    z = esc.zonificacion("recibida")
    if cuando is None:
        T.aplicar(z, "digitar", u.gestion_red)
    else:
        with time_machine.travel(cuando, tick=False):
            T.aplicar(z, "digitar", u.gestion_red)
    z.refresh_from_db()
    return z


def html(r):
    return r.content.decode()


def consultas(client, url):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, url
    return len(ctx.captured_queries), r


# --- who sees and does what ------------------------------------------------------------------------
@pytest.mark.parametrize("rol", Rol.values)
def test_pagina_entregas_por_rol(client, u, rol):
    client.force_login(u.por_rol[rol])
    r = client.get("/entregas/")
    assert r.status_code == (200 if rol in (Rol.FACTURACION, Rol.GESTION_RED) else 403), rol


@pytest.mark.parametrize("rol", [r for r in Rol.values if r != Rol.GESTION_RED])
def test_solo_gestion_de_red_genera(client, u, esc, rol):
    digitada(esc, u)
    client.force_login(u.por_rol[rol])
    assert client.post("/entregas/generar/", {"mes": "2026-11"}).status_code == 403
    assert not Entrega.objects.exists()
    assert Zonificacion.objects.get().estado == "digitada"


@pytest.mark.parametrize("rol", [r for r in Rol.values if r != Rol.FACTURACION])
def test_solo_facturacion_acusa_recibo(client, u, esc, rol):
    digitada(esc, u)
    entrega = reports.generar_entrega(HOY.date(), u.gestion_red)
    client.force_login(u.por_rol[rol])
    r = client.post(f"/entregas/{entrega.pk}/recibir/", {"version": entrega.version})
    assert r.status_code == 403
    entrega.refresh_from_db()
    assert entrega.estado == "generada" and entrega.recibida_at is None
    assert not RegistroAuditoria.objects.filter(transicion="acusar_recibo").exists()


def test_recibir_es_solo_post_y_una_entrega_que_no_existe_es_404(client, u, esc):
    digitada(esc, u)
    entrega = reports.generar_entrega(HOY.date(), u.gestion_red)
    client.force_login(u.facturacion)
    assert client.get(f"/entregas/{entrega.pk}/recibir/").status_code == 405
    assert client.post("/entregas/987654321/recibir/", {"version": 0}).status_code == 404
    client.force_login(u.gestion_red)
    assert client.get("/entregas/").status_code == 200
    assert f'action="/entregas/{entrega.pk}/recibir/"' not in html(client.get("/entregas/"))  # no button


# --- building: numbered, supplementary, never empty, never locked --------------------------------
def test_generar_numera_y_una_entrega_temprana_no_cierra_el_mes(client, u, esc):
    digitada(esc, u)
    digitada(esc, u)
    client.force_login(u.gestion_red)
    r = client.post("/entregas/generar/", {"mes": "2026-11"}, follow=True)
    assert "Entrega N° 1 de 11/2026 generada: 2 casos remitidos" in html(r)  # 15.9: never «caso(s)»

    # nothing new: no other delivery, an info message, never a 500
    r = client.post("/entregas/generar/", {"mes": "2026-11"}, follow=True)
    assert r.status_code == 200
    assert "No hay zonificaciones digitadas pendientes de entrega para 11/2026; no se generó otra entrega." in html(r)
    assert Entrega.objects.count() == 1

    # the early build did not lock the month: the next one digitized goes in N° 2
    tarde = digitada(esc, u)
    r = client.post("/entregas/generar/", {"mes": "2026-11"}, follow=True)
    assert "Entrega N° 2 (complementaria) de 11/2026 generada: 1 caso remitido" in html(r)
    segunda = Entrega.objects.get(numero=2)
    assert segunda.complementaria and segunda.mes.isoformat() == "2026-11-01" and segunda.filas == 1
    tarde.refresh_from_db()
    assert tarde.estado == "remitida" and tarde.entrega_id == segunda.pk

    pagina = html(client.get("/entregas/"))
    assert 'id="entrega-%d"' % segunda.pk in pagina
    tarjeta = pagina.split(f'id="entrega-{segunda.pk}"', 1)[1].split("</li>", 1)[0]
    assert "Entrega N° 2" in tarjeta and 'class="etiqueta-complementaria">complementaria<' in tarjeta
    assert "Sin acuse de recibo" in tarjeta and f"/entregas/{segunda.pk}/descargar/" in tarjeta
    primera = pagina.split(f'id="entrega-{Entrega.objects.get(numero=1).pk}"', 1)[1].split("</li>", 1)[0]
    assert "complementaria" not in primera
    # within the month: N° 1 before N° 2
    assert pagina.index(f'id="entrega-{Entrega.objects.get(numero=1).pk}"') < pagina.index(f'id="entrega-{segunda.pk}"')


def test_los_meses_van_del_mas_reciente_al_mas_antiguo(client, u, esc):
    digitada(esc, u, OCTUBRE)
    octubre = reports.generar_entrega(OCTUBRE.date(), u.gestion_red)
    digitada(esc, u)
    noviembre = reports.generar_entrega(HOY.date(), u.gestion_red)
    client.force_login(u.facturacion)
    pagina = html(client.get("/entregas/"))
    assert (
        pagina.index("Mes 11/2026")
        < pagina.index(f'id="entrega-{noviembre.pk}"')
        < pagina.index("Mes 10/2026")
        < pagina.index(f'id="entrega-{octubre.pk}"')
    )


@pytest.mark.parametrize("mes", ["2026-13", "9999-12", "x", "2026-1"])
def test_generar_mes_invalido_es_400_con_el_mensaje(client, u, mes):
    client.force_login(u.gestion_red)
    r = client.post("/entregas/generar/", {"mes": mes})
    assert r.status_code == 400
    assert "AAAA-MM" in html(r) or "2000" in html(r)
    assert not Entrega.objects.exists()


def test_un_mes_que_no_empezo_no_se_entrega(client, u, esc):
    """A future month's delivery would take everything digitized until then (this month's too)."""
    digitada(esc, u)
    client.force_login(u.gestion_red)
    siguiente = (timezone.localdate().replace(day=28) + timedelta(days=4)).strftime("%Y-%m")
    r = client.post("/entregas/generar/", {"mes": siguiente})
    assert r.status_code == 400 and "todavía no empezó" in html(r)
    assert f'value="{siguiente}"' in html(r)  # what was typed, kept
    assert not Entrega.objects.exists()


# --- «Recibido» -------------------------------------------------------------------------------------
def test_recibido_acusa_audita_y_muestra_quien_y_cuando(client, u, esc):
    u.facturacion.first_name, u.facturacion.last_name = "Rosa", "Flores"
    u.facturacion.save()
    digitada(esc, u)
    entrega = reports.generar_entrega(HOY.date(), u.gestion_red)
    client.force_login(u.facturacion)
    pagina = html(client.get("/entregas/"))
    assert f'action="/entregas/{entrega.pk}/recibir/"' in pagina
    assert f'name="version" value="{entrega.version}"' in pagina
    assert "csrfmiddlewaretoken" in pagina

    r = client.post(f"/entregas/{entrega.pk}/recibir/", {"version": entrega.version}, follow=True)
    assert r.redirect_chain[-1][0] == "/entregas/"
    entrega.refresh_from_db()
    assert entrega.estado == "recibida" and entrega.recibida_por == u.facturacion
    cuando = entrega.recibida_at.astimezone(LP).strftime("%d/%m/%Y %H:%M")
    assert f"Entrega N° 1 de 11/2026: recepción confirmada el {cuando}." in html(r)
    tarjeta = html(r).split(f'id="entrega-{entrega.pk}"', 1)[1].split("</li>", 1)[0]
    assert f"Recibida el {cuando} por Rosa Flores" in tarjeta
    assert "Sin acuse de recibo" not in tarjeta and "/recibir/" not in tarjeta  # the button is gone

    fila = RegistroAuditoria.de_objeto(entrega).last()
    assert (fila.transicion, fila.rol, fila.usuario, fila.paso, fila.estado_origen, fila.estado_destino) == (
        "acusar_recibo",
        "FACTURACION",
        u.facturacion,
        "21.1",
        "generada",
        "recibida",
    )


def test_ya_recibida_es_409_con_el_mensaje_y_la_version_vieja_el_conflicto(client, u, esc, crear_usuario):
    otra = crear_usuario(Rol.FACTURACION, "facturacion_2")
    digitada(esc, u)
    entrega = reports.generar_entrega(HOY.date(), u.gestion_red)
    vista = entrega.version
    client.force_login(otra)
    assert client.post(f"/entregas/{entrega.pk}/recibir/", {"version": vista}).status_code == 302
    auditoria = RegistroAuditoria.objects.count()

    # the page read before the other acknowledged: the conflict's message
    client.force_login(u.facturacion)
    r = client.post(f"/entregas/{entrega.pk}/recibir/", {"version": vista})
    assert r.status_code == 409
    assert "fue modificado por facturacion_2" in html(r) and "Recibida por Facturación" in html(r)
    # the current version, or none: already received, said plainly
    entrega.refresh_from_db()
    for datos in ({"version": entrega.version}, {}):
        r = client.post(f"/entregas/{entrega.pk}/recibir/", datos)
        assert r.status_code == 409
        assert "Entrega N° 1 de 11/2026 ya fue recibida el" in html(r) and "por facturacion_2" in html(r)
        assert "no se registró otro acuse de recibo" in html(r)
    entrega.refresh_from_db()
    assert entrega.recibida_por == otra
    assert RegistroAuditoria.objects.count() == auditoria


@pytest.mark.parametrize("version", ["²", "-1", "99999999999999999999", "1e400", "\x00", ""])
def test_version_rara_no_es_500(client, u, esc, version):
    digitada(esc, u)
    entrega = reports.generar_entrega(HOY.date(), u.gestion_red)
    client.force_login(u.facturacion)
    r = client.post(f"/entregas/{entrega.pk}/recibir/", {"version": version})
    assert r.status_code in (302, 409)


# --- what is late, and who acts next -----------------------------------------------------------------
def test_mes_atrasado_en_rojo_con_quien_actua(client, u, esc):
    digitada(esc, u, OCTUBRE)  # October ended with it in no delivery
    digitada(esc, u)  # this month's
    client.force_login(u.gestion_red)
    pagina = html(client.get("/entregas/"))
    alerta = pagina.split('id="meses-atrasados"', 1)[1].split("</section>", 1)[0]
    assert 'class="alerta-roja"' in pagina.split('id="meses-atrasados"', 1)[0][-80:]
    assert "Atención: meses cerrados con zonificaciones sin entregar a Facturación" in alerta
    assert "10/2026" in alerta and "1 zonificación digitada en ninguna entrega" in alerta
    assert "Gestión de Red: generar la entrega del mes" in alerta
    assert 'name="mes" value="2026-10"' in alerta  # Gestión de Red's one-click build
    # this month: what the next delivery takes (October's straggler included)
    assert "Este mes (11/2026):" in pagina
    assert pagina.split('id="pendientes-mes"', 1)[1].split("</p>", 1)[0].count("<strong>2</strong>") == 1

    # Facturación sees the warning, without Gestión de Red's button
    client.force_login(u.facturacion)
    alerta = html(client.get("/entregas/")).split('id="meses-atrasados"', 1)[1].split("</section>", 1)[0]
    assert "10/2026" in alerta and "Gestión de Red: generar la entrega del mes" in alerta
    assert "<form" not in alerta

    # Gestión de Red builds October's delivery: delivered late, now Facturación acts
    client.force_login(u.gestion_red)
    r = client.post("/entregas/generar/", {"mes": "2026-10"}, follow=True)
    assert "Entrega N° 1 de 10/2026 generada: 1 caso remitido" in html(r)
    alerta = html(r).split('id="meses-atrasados"', 1)[1].split("</section>", 1)[0]
    assert "1 entregada después del fin de mes" in alerta
    assert "Facturación: confirmar recepción de 1 entrega" in alerta
    assert "Gestión de Red" not in alerta

    # Facturación acknowledges it: nothing left to do, the month is listed as delivered late
    client.force_login(u.facturacion)
    octubre = Entrega.objects.get(mes="2026-10-01")
    r = client.post(f"/entregas/{octubre.pk}/recibir/", {"version": octubre.version}, follow=True)
    assert 'id="meses-atrasados"' not in html(r)
    assert "Entregados fuera de plazo y ya recibidos:" in html(r) and "10/2026 (1 zonificación)" in html(r)


def test_mes_con_entrega_y_rezagados_pide_la_complementaria(client, u, esc):
    digitada(esc, u, OCTUBRE)
    with time_machine.travel(datetime(2026, 10, 28, 8, 0, tzinfo=LP), tick=False):
        reports.generar_entrega(OCTUBRE.date(), u.gestion_red)
    digitada(esc, u, datetime(2026, 10, 30, 9, 0, tzinfo=LP))  # after October's delivery
    client.force_login(u.gestion_red)
    alerta = html(client.get("/entregas/")).split('id="meses-atrasados"', 1)[1].split("</section>", 1)[0]
    assert "Gestión de Red: generar la entrega complementaria" in alerta
    assert "Facturación: confirmar recepción de 1 entrega" in alerta  # October's N° 1 is unacknowledged
    assert "Generar la entrega complementaria de 10/2026" in alerta


def test_sin_atrasos_no_hay_alerta(client, u, esc):
    digitada(esc, u)
    client.force_login(u.facturacion)
    pagina = html(client.get("/entregas/"))
    assert "alerta-roja" not in pagina.split("<main", 1)[1] and 'id="meses-atrasados"' not in pagina


# --- the homes -------------------------------------------------------------------------------------
def test_inicio_de_facturacion_lista_lo_que_no_acuso(client, u, esc):
    digitada(esc, u)
    primera = reports.generar_entrega(HOY.date(), u.gestion_red)
    digitada(esc, u)
    segunda = reports.generar_entrega(HOY.date(), u.gestion_red)
    client.force_login(u.facturacion)
    inicio = html(client.get("/"))
    cola = inicio.split('id="cola-entregas"', 1)[1].split("</section>", 1)[0]
    assert 'data-cuenta="entregas" href="/entregas/"' in cola and ">2</a>" in cola
    assert "Entrega N° 1 de 11/2026" in cola and "Entrega N° 2 (complementaria) de 11/2026" in cola
    assert f'href="/entregas/#entrega-{segunda.pk}"' in cola

    client.post(f"/entregas/{primera.pk}/recibir/", {"version": primera.version})
    cola = html(client.get("/")).split('id="cola-entregas"', 1)[1].split("</section>", 1)[0]
    assert ">1</a>" in cola and "Entrega N° 1 de 11/2026" not in cola and "Entrega N° 2" in cola
    client.post(f"/entregas/{segunda.pk}/recibir/", {"version": segunda.version})
    cola = html(client.get("/")).split('id="cola-entregas"', 1)[1].split("</section>", 1)[0]
    assert ">0</a>" in cola and "Todas las entregas tienen acuse de recibo." in cola


def test_inicio_del_jefe_muestra_el_mes_atrasado(client, u, esc):
    client.force_login(u.jefe_division)
    assert 'id="meses-atrasados"' not in html(client.get("/"))
    digitada(esc, u, OCTUBRE)
    inicio = html(client.get("/"))
    alerta = inicio.split('id="meses-atrasados"', 1)[1].split("</section>", 1)[0]
    assert "Atención" in alerta and "10/2026" in alerta and "Gestión de Red: generar la entrega del mes" in alerta
    assert "<form" not in alerta  # the jefe reads; Gestión de Red builds
    for otro in (u.asesor, u.coc, u.facturacion):  # the others' homes do not carry it
        client.force_login(otro)
        assert 'id="meses-atrasados"' not in html(client.get("/"))


# --- a constant number of queries ----------------------------------------------------------------
def _entregas_en_bloque(u, hasta):
    """Deliveries up to ``hasta`` in all, as fixture rows (bulk, no workbook): three a month from
    01/2023 on, every other one acknowledged."""
    filas = []
    for i in range(Entrega.objects.count(), hasta):
        mes = datetime(2023 + (i // 3) // 12, (i // 3) % 12 + 1, 1).date()
        recibida = i % 2 == 0
        filas.append(
            Entrega(
                mes=mes,
                numero=i % 3 + 1,
                generada_at=HOY,
                generada_por=u.gestion_red,
                enviada_at=HOY,
                filas=i,
                estado="recibida" if recibida else "generada",
                recibida_at=HOY if recibida else None,
                recibida_por=u.facturacion if recibida else None,
            )
        )
    Entrega.objects.bulk_create(filas)


def _atrasos(esc, u, meses):
    """One zonification digitized (in no delivery) in each of the last ``meses`` months."""
    for k in range(1, meses + 1):
        z = digitada(esc, u)
        m = (11 - k - 1) % 12 + 1
        Zonificacion.objects.filter(pk=z.pk).update(
            digitada_at=datetime(2026 if m < 11 else 2025, m, 15, 12, 0, tzinfo=LP)
        )


def test_consultas_constantes_en_entregas_y_en_los_inicios(client, u, esc):
    medidas = {}
    for n, meses in ((2, 1), (40, 5)):
        _entregas_en_bloque(u, n)
        _atrasos(esc, u, meses - (1 if n == 40 else 0))
        for usuario, url in (
            (u.facturacion, "/entregas/"),
            (u.gestion_red, "/entregas/"),
            (u.facturacion, "/"),
            (u.jefe_division, "/"),
        ):
            client.force_login(usuario)
            c, r = consultas(client, url)
            medidas.setdefault((usuario.username, url), []).append(c)
    client.force_login(u.facturacion)
    pagina = html(client.get("/entregas/"))
    assert pagina.count('class="entrega"') == 40 and 'id="meses-atrasados"' in pagina
    distintas = {k: v for k, v in medidas.items() if v[0] != v[1]}
    assert not distintas, medidas


# --- notifications: rendered from their facts, in a constant number of queries ---------------------
def _avisos(u, esc, entrega, n):
    """Notices to Gestión de Red up to n in all, of every kind, each pointing to its objects."""
    si = esc.servicio("abierto")
    orden = esc.orden("reportada_coz")
    sol = si.solicitud
    tipos = [  # the first three: a batch summary (its SIs are one more query, per page), a delivery, an OT
        dict(tipo="vencido", datos={"servicios": [si.pk], "total": 1}),
        dict(tipo="entrega", entrega=entrega),
        dict(tipo="reporte_campo", orden=orden, datos={"transicion": "reportar_a_coz"}),
        dict(tipo="vencido", servicio=si, solicitud=sol),
        dict(tipo="aviso", servicio=si, solicitud=sol),
        dict(tipo="nuevo_si", servicio=si, solicitud=sol),
        dict(tipo="redigitacion_tardia", solicitud=sol),
        dict(tipo="reporte_campo", orden=orden, datos={"transicion": "direccionar_a_coc"}),
        dict(tipo="anulacion_coordinada", orden=orden),
        dict(
            tipo="entrega_plazo",
            datos={"mes": "2026-11", "mes_texto": "11/2026", "pendientes": 3, "dias": 2, "ultimo_dia": False},
        ),
    ]
    ya = Notificacion.objects.filter(usuario=u.gestion_red).count()
    Notificacion.objects.bulk_create(
        Notificacion(usuario=u.gestion_red, clave=f"k{ya + i}", **tipos[(ya + i) % len(tipos)]) for i in range(n)
    )


def test_notificaciones_con_sus_textos_y_consultas_constantes(client, u, esc):
    digitada(esc, u)
    entrega = reports.generar_entrega(HOY.date(), u.gestion_red)
    Notificacion.objects.all().delete()
    client.force_login(u.gestion_red)
    medidas = []
    for n in (3, 30):
        _avisos(u, esc, entrega, n - Notificacion.objects.filter(usuario=u.gestion_red).count())
        c, r = consultas(client, "/notificaciones/")
        medidas.append(c)
        assert html(r).count('class="no-leida"') == n
    assert medidas[0] == medidas[1], medidas
    pagina = html(client.get("/notificaciones/"))
    assert "Entrega N° 1 de zonificaciones de 11/2026 disponible" in pagina
    assert 'href="/entregas/"' in pagina
    assert "3 zonificaciones de 11/2026 sin entregar a Facturación" in pagina
    assert "reportada por el técnico" in pagina
    assert "vencido: solicitud" in pagina


def test_aviso_de_entrega_a_facturacion_en_su_pagina(client, u, esc):
    digitada(esc, u)
    reports.generar_entrega(HOY.date(), u.gestion_red)  # its notice is written with the delivery
    client.force_login(u.facturacion)
    pagina = html(client.get("/notificaciones/"))
    assert '<a href="/entregas/">Entrega N° 1 de zonificaciones de 11/2026 disponible</a>' in pagina
    assert "1 zonificación para corregir la facturación" in pagina
