"""The month's zonification workbook for Div. Facturación (21.1)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from openpyxl import load_workbook

from anulaciones import entregas as reports
from anulaciones import tasks
from anulaciones import transitions as T
from anulaciones.models import Entrega, Notificacion, RegistroAuditoria, Zonificacion
from anulaciones.reports import workbook

pytestmark = pytest.mark.django_db
LP = ZoneInfo("America/La_Paz")
NOV = date(2026, 11, 1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def zonificacion(esc, u, zona, tipo, digitada_el=None, calle="Calle Murillo"):
    o = esc.orden("ejecutada")
    z = T.recibir_zonificacion(
        o,
        u.gestion_red,
        zona_corregida=zona,
        tipo_correccion=tipo,
        calle=calle,
        referencia="Esquina plaza",
        caja_nap="NAP-07",
        latitud="-16.500000",
        longitud="-68.150000",
    )
    if digitada_el:
        with time_machine.travel(digitada_el, tick=False):
            T.aplicar(z, "digitar", u.gestion_red)
    z.refresh_from_db()
    return z


@pytest.fixture
def datos(esc, u, zonas):
    u.facturacion.email = "facturacion@example.com"
    u.facturacion.save()
    norte, sur = zonas
    d = datetime(2026, 11, 10, 15, 30, tzinfo=LP)
    incluidas = [
        zonificacion(esc, u, norte, "calle", d, calle="Av. Arce"),
        zonificacion(esc, u, norte, "caja_nap", d),
        zonificacion(esc, u, sur, "calle", d),
        zonificacion(esc, u, sur, "calle", datetime(2026, 10, 30, 9, 0, tzinfo=LP)),  # October's straggler
    ]
    fuera = [
        zonificacion(esc, u, norte, "zona"),  # recibida, not yet digitada
        zonificacion(esc, u, sur, "zona", datetime(2026, 12, 1, 0, 0, tzinfo=LP)),  # next month
    ]
    return incluidas, fuera


def generar(capturar, usuario, mes=NOV):
    with capturar(execute=True), time_machine.travel(datetime(2026, 11, 28, 8, 0, tzinfo=LP), tick=False):
        return reports.generar_entrega(mes, usuario)


def test_planilla_celda_por_celda(datos, u, django_capture_on_commit_callbacks):
    incluidas, fuera = datos
    entrega = generar(django_capture_on_commit_callbacks, u.gestion_red)
    assert entrega.filas == 4
    assert (entrega.mes, entrega.generada_por) == (NOV, u.gestion_red)

    wb = load_workbook(entrega.archivo.open("rb"))
    assert wb.sheetnames == ["Casos", "Resumen"]
    casos = wb["Casos"]
    assert casos.freeze_panes == "A2"
    filas = list(casos.iter_rows(values_only=True))
    assert list(filas[0]) == [c[0] for c in workbook.COLUMNAS]
    assert casos["A1"].font.b
    assert casos.column_dimensions["A"].width == 22
    por_ot = {f[1]: f for f in filas[1:]}
    assert len(filas) - 1 == len(por_ot) == 4
    for z in Zonificacion.objects.filter(pk__in=[z.pk for z in incluidas]).select_related(
        "solicitud", "orden", "zona_anterior", "zona_corregida", "recibida_por"
    ):
        f = por_ot[z.orden.numero]
        assert f[0] == z.solicitud.numero_smartflex
        assert f[2] == z.solicitud.cliente_nombre
        assert f[3] == z.zona_anterior.nombre
        assert f[4] == z.zona_corregida.nombre
        assert f[5] == z.get_tipo_correccion_display()
        assert (f[6], f[7], f[8]) == (z.calle, z.referencia, z.caja_nap)
        assert (f[9], f[10]) == (-16.5, -68.15)
        assert isinstance(f[11], datetime) and isinstance(f[13], datetime)  # dates as dates
        assert f[11] == z.orden.ejecutada_at.astimezone(LP).replace(tzinfo=None, microsecond=f[11].microsecond)
        assert f[13].replace(microsecond=0) == z.digitada_at.astimezone(LP).replace(tzinfo=None, microsecond=0)
        assert f[14] == "gestion_red"
    fila_fecha = next(i for i, f in enumerate(filas) if f[1] == incluidas[0].orden.numero) + 1
    assert casos.cell(row=fila_fecha, column=14).number_format == workbook.FORMATO_FECHA
    assert casos.cell(row=fila_fecha, column=14).value == datetime(2026, 11, 10, 15, 30)

    # summary: zone x correction type as live formulas over «Casos» (their values, computed by
    # LibreOffice, and their following an edit: tests/test_planilla.py)
    resumen = wb["Resumen"]
    assert resumen["A1"].value == "Zonificaciones remitidas a Div. Facturación — 11/2026 — Entrega N° 1"
    filas = list(resumen.iter_rows(min_row=workbook.FILA_CABECERA_RESUMEN, values_only=True))
    tipos = [t.label for t in Zonificacion.TipoCorreccion]
    assert list(filas[0]) == ["Zona corregida"] + [f"Corrección: {t}" for t in tipos] + ["Total"]
    assert [f[0] for f in filas[1:4]] == ["Zona Norte", "Zona Sur", "Total"]
    norte = dict(zip(filas[0][1:], filas[1][1:], strict=False))
    assert norte["Corrección: Calle"] == '=COUNTIFS(Casos!$E:$E,"=Zona Norte",Casos!$F:$F,"=Calle")'
    assert norte["Total"] == "=SUM(B5:F5)" and filas[3][-1] == "=SUM(G5:G6)"

    # the included ones became remitida through the transition path, the others did not move
    for z in incluidas:
        z.refresh_from_db()
        assert z.estado == "remitida" and z.version == 2
        assert z.remitida_at == entrega.generada_at == datetime(2026, 11, 28, 8, 0, tzinfo=LP)
        fila = RegistroAuditoria.de_objeto(z).get(transicion="remitir")
        assert (fila.transicion, fila.paso, fila.usuario, fila.rol) == ("remitir", "21.1", u.gestion_red, "GESTION_RED")
    assert [Zonificacion.objects.get(pk=z.pk).estado for z in fuera] == ["recibida", "digitada"]

    # e-mailed to Facturación with the workbook, and notified in the app
    correo = [m for m in mail.outbox if m.attachments]
    assert [m.to for m in correo] == [["facturacion@example.com"]]
    assert correo[0].attachments[0][0] == "zonificaciones-2026-11-1.xlsx"
    entrega.refresh_from_db()
    assert entrega.enviada_at is not None
    assert Notificacion.objects.filter(usuario=u.facturacion, tipo="entrega").count() == 1


def en(cuando):
    return time_machine.travel(cuando, tick=False)


def revisar(capturar, cuando):
    with en(cuando), capturar(execute=True):
        return reports.revisar_entregas()


def test_cada_zonificacion_en_una_sola_entrega_numerada(datos, u, esc, zonas, django_capture_on_commit_callbacks):
    """An early manual build does not lock the month: what is digitized after it goes into a
    supplementary delivery (N° 2), built on demand and by the next run; nothing is ever in two."""
    incluidas, fuera = datos
    primera = generar(django_capture_on_commit_callbacks, u.gestion_red)
    assert (primera.numero, primera.complementaria, primera.filas) == (1, False, 4)
    assert generar(django_capture_on_commit_callbacks, u.gestion_red) is None  # nothing new: no empty N° 2
    with en(datetime(2026, 11, 28, 9, 0, tzinfo=LP)):
        T.aplicar(fuera[0], "digitar", u.gestion_red)  # digitized after the first delivery
    with en(datetime(2026, 11, 28, 10, 0, tzinfo=LP)), django_capture_on_commit_callbacks(execute=True):
        segunda = reports.generar_entrega(NOV, u.gestion_red)
    assert (segunda.mes, segunda.numero, segunda.complementaria, segunda.filas) == (NOV, 2, True, 1)
    assert segunda.nombre_archivo == "zonificaciones-2026-11-2.xlsx"
    assert list(segunda.zonificaciones.values_list("pk", flat=True)) == [fuera[0].pk]
    assert sorted(primera.zonificaciones.values_list("pk", flat=True)) == sorted(z.pk for z in incluidas)
    assert not Zonificacion.objects.filter(estado="remitida", entrega__isnull=True).exists()
    filas = list(load_workbook(segunda.archivo.open("rb"))["Casos"].iter_rows(min_row=2, values_only=True))
    assert [f[1] for f in filas] == [fuera[0].orden.numero]
    # each delivery told Facturación once, and was e-mailed once
    assert Notificacion.objects.filter(usuario=u.facturacion, tipo="entrega").count() == 2
    assert [m.attachments[0][0] for m in mail.outbox if m.attachments] == [
        "zonificaciones-2026-11-1.xlsx",
        "zonificaciones-2026-11-2.xlsx",
    ]
    assert "complementaria N° 2" in mail.outbox[-1].subject


def test_la_tarea_entrega_en_su_dia_y_luego_complementa(datos, u, settings, django_capture_on_commit_callbacks):
    settings.ANULACIONES_ENTREGA_DIAS_ANTES = 2
    incluidas, fuera = datos
    # November's day has not come; October's straggler (digitized 30/10) is sent in October's delivery
    [octubre] = revisar(django_capture_on_commit_callbacks, datetime(2026, 11, 27, 8, 0, tzinfo=LP))
    assert (octubre.mes, octubre.numero, octubre.filas) == (date(2026, 10, 1), 1, 1)
    [entrega] = revisar(django_capture_on_commit_callbacks, datetime(2026, 11, 28, 8, 0, tzinfo=LP))
    assert (entrega.mes, entrega.numero, entrega.filas, entrega.generada_por) == (NOV, 1, 3, u.sistema)
    assert RegistroAuditoria.objects.filter(transicion="remitir", rol="SISTEMA").count() == 4
    nacimiento = RegistroAuditoria.de_objeto(entrega).get()
    assert (nacimiento.transicion, nacimiento.paso, nacimiento.estado_destino, nacimiento.rol) == (
        "generar",
        "21.1",
        "generada",
        "SISTEMA",
    )
    assert revisar(django_capture_on_commit_callbacks, datetime(2026, 11, 28, 9, 0, tzinfo=LP)) == []  # done
    with en(datetime(2026, 11, 28, 9, 30, tzinfo=LP)):
        T.aplicar(fuera[0], "digitar", u.gestion_red)
    [complementaria] = revisar(django_capture_on_commit_callbacks, datetime(2026, 11, 28, 10, 0, tzinfo=LP))
    assert (complementaria.numero, complementaria.filas) == (2, 1)
    assert Entrega.objects.filter(mes=NOV).count() == 2


def test_rezagados_del_ultimo_momento_van_en_una_complementaria_de_su_mes(
    datos, u, esc, zonas, django_capture_on_commit_callbacks
):
    """Digitized at 23:30 on the month's last day, after its delivery: on the 1st the next run
    sends it in a supplementary delivery of November — not in December's."""
    generar(django_capture_on_commit_callbacks, u.gestion_red)
    tarde = zonificacion(esc, u, zonas[0], "zona", datetime(2026, 11, 30, 23, 30, tzinfo=LP))
    diciembre = zonificacion(esc, u, zonas[0], "zona", datetime(2026, 12, 1, 0, 5, tzinfo=LP))
    [entrega] = revisar(django_capture_on_commit_callbacks, datetime(2026, 12, 1, 1, 0, tzinfo=LP))
    assert (entrega.mes, entrega.numero, entrega.filas) == (NOV, 2, 1)
    tarde.refresh_from_db()
    diciembre.refresh_from_db()
    assert (tarde.entrega_id, diciembre.estado) == (entrega.pk, "digitada")
    # November ended with one zonification undelivered: shown in red afterwards
    assert reports.meses_atrasados(date(2026, 12, 15)) == [
        {"mes": NOV, "sin_entregar": 0, "entregadas_tarde": 1},
        {"mes": date(2026, 10, 1), "sin_entregar": 0, "entregadas_tarde": 1},
    ]  # October's, sent in November


def test_meses_que_terminaron_con_zonificaciones_sin_entregar(datos, u):
    """October's straggler (digitized 30/10) was never delivered: October is late until it is."""
    assert reports.meses_atrasados(date(2026, 11, 20)) == [
        {"mes": date(2026, 10, 1), "sin_entregar": 1, "entregadas_tarde": 0}
    ]
    assert reports.meses_atrasados(date(2026, 10, 31)) == []  # October has not ended yet


@pytest.mark.parametrize(
    "hoy, faltan",
    [
        (date(2026, 11, 26), 4),
        (date(2026, 11, 27), 3),
        (date(2026, 11, 28), 2),
        (date(2026, 11, 29), 0),
        (date(2026, 11, 30), 1),
        (date(2026, 12, 1), 27),
    ],
)
def test_dias_habiles_hasta_fin_de_mes(settings, hoy, faltan):
    settings.ANULACIONES_HORARIO = "lun-sab 08:00-20:00"  # Monday to Saturday; 29/11 is a Sunday
    settings.ANULACIONES_FERIADOS = []
    assert reports.dias_habiles_restantes(hoy) == faltan


def test_vigilancia_del_plazo_avisa_a_gestion_de_red_y_facturacion(
    datos, u, settings, django_capture_on_commit_callbacks
):
    """3 working days before the month ends, and again on its last working day, Gestión de Red and
    Facturación are told (app and e-mail, once each) what is still in no delivery. Here 30/11 is
    a holiday, so the calendar build (the 30th) comes after the last working day (the 28th): the
    warning on the 28th is the one that matters."""
    settings.ANULACIONES_HORARIO = "lun-sab 08:00-20:00"
    settings.ANULACIONES_FERIADOS = ["2026-11-30"]
    settings.ANULACIONES_ENTREGA_DIAS_ANTES = 0
    settings.ANULACIONES_ENTREGA_DIAS_AVISO = 3
    u.gestion_red.email = "gestion_red@example.com"
    u.gestion_red.save()
    plazo = Notificacion.objects.filter(tipo="entrega_plazo")
    # 4 working days left: no warning (October's straggler goes in October's delivery)
    assert len(revisar(django_capture_on_commit_callbacks, datetime(2026, 11, 25, 8, 0, tzinfo=LP))) == 1
    assert not plazo.exists()
    revisar(django_capture_on_commit_callbacks, datetime(2026, 11, 26, 8, 0, tzinfo=LP))  # 3 left: 26, 27, 28
    revisar(django_capture_on_commit_callbacks, datetime(2026, 11, 26, 9, 0, tzinfo=LP))  # again: nothing twice
    assert sorted(plazo.values_list("usuario__username", flat=True)) == ["facturacion", "gestion_red"]
    from anulaciones.avisos import presentar

    aviso = presentar([plazo.get(usuario=u.gestion_red)])[0]
    assert aviso.titulo == "3 zonificaciones de 11/2026 sin entregar a Facturación"  # 15.9: never «(es)»
    assert "Faltan 3 días hábiles para el fin de mes: 3 zonificaciones digitadas aún no están" in aviso.texto
    assert aviso.url == "/entregas/"
    assert sorted(m.to[0] for m in mail.outbox if "sin entregar" in m.subject) == [
        "facturacion@example.com",
        "gestion_red@example.com",
    ]
    revisar(django_capture_on_commit_callbacks, datetime(2026, 11, 28, 8, 0, tzinfo=LP))  # the last working day
    ultimo = presentar(plazo.filter(usuario=u.facturacion).order_by("-pk")[:1])[0]
    assert plazo.count() == 4 and "Hoy es el último día hábil del mes" in ultimo.texto
    assert not Entrega.objects.filter(mes=NOV).exists()
    [entrega] = revisar(django_capture_on_commit_callbacks, datetime(2026, 11, 30, 8, 0, tzinfo=LP))
    assert entrega.filas == 3 and plazo.count() == 4  # delivered: no more warnings


def test_sin_pendientes_no_hay_aviso(u, settings, django_capture_on_commit_callbacks):
    settings.ANULACIONES_HORARIO = "lun-sab 08:00-20:00"
    settings.ANULACIONES_ENTREGA_DIAS_AVISO = 3
    revisar(django_capture_on_commit_callbacks, datetime(2026, 11, 26, 8, 0, tzinfo=LP))
    assert not Notificacion.objects.filter(tipo="entrega_plazo").exists()


@pytest.mark.parametrize(
    "rol",
    [
        "ASESOR",
        "MONITORA",
        "TEAM_LEADER",
        "GESTION_RED",
        "COC",
        "COZ",
        "TECNICO",
        "JEFE_DIVISION",
        "FACTURACION",
        "SISTEMA",
    ],
)
def test_acuse_de_recibo_solo_facturacion_y_auditado(datos, u, rol, django_capture_on_commit_callbacks):
    from anulaciones.errors import SinPermiso

    entrega = generar(django_capture_on_commit_callbacks, u.gestion_red)
    if rol != "FACTURACION":
        with pytest.raises(SinPermiso):
            T.aplicar(entrega, "acusar_recibo", u.por_rol[rol])
        entrega.refresh_from_db()
        assert entrega.estado == "generada" and entrega.recibida_at is None
        return
    with en(datetime(2026, 11, 28, 11, 0, tzinfo=LP)):
        T.aplicar(entrega, "acusar_recibo", u.facturacion)
    entrega.refresh_from_db()
    assert (entrega.estado, entrega.recibida_por, entrega.recibida_at) == (
        "recibida",
        u.facturacion,
        datetime(2026, 11, 28, 11, 0, tzinfo=LP),
    )
    fila = RegistroAuditoria.de_objeto(entrega).last()
    assert (fila.transicion, fila.paso, fila.estado_origen, fila.estado_destino, fila.usuario, fila.rol) == (
        "acusar_recibo",
        "21.1",
        "generada",
        "recibida",
        u.facturacion,
        "FACTURACION",
    )


def test_acuse_dos_veces_o_sobre_una_version_vieja(datos, u, django_capture_on_commit_callbacks):
    from anulaciones.errors import Conflicto, TransicionNoPermitida

    entrega = generar(django_capture_on_commit_callbacks, u.gestion_red)
    vieja = Entrega.objects.get(pk=entrega.pk)
    T.aplicar(entrega, "acusar_recibo", u.facturacion)
    with pytest.raises(Conflicto):  # read before the other acknowledgement
        T.aplicar(vieja, "acusar_recibo", u.facturacion)
    with pytest.raises(TransicionNoPermitida):
        T.aplicar(Entrega.objects.get(pk=entrega.pk), "acusar_recibo", u.facturacion)
    assert RegistroAuditoria.objects.filter(transicion="acusar_recibo").count() == 1


def test_trabajador_muerto_a_mitad_no_deja_nada_a_medias(datos, u, monkeypatch, django_capture_on_commit_callbacks):
    """A build that dies while writing the workbook leaves no delivery, no remitida zonification,
    no audit row and no notice; run again (twice: a redelivered message), it builds one."""
    original = workbook.escribir

    def muere(*a, **k):
        raise SystemExit("worker killed while writing the workbook")

    monkeypatch.setattr(workbook, "escribir", muere)
    with pytest.raises(SystemExit):
        tasks.generar_entrega.run(NOV.isoformat())
    assert Entrega.objects.count() == 0
    assert Zonificacion.objects.filter(estado="remitida").count() == 0
    assert not RegistroAuditoria.objects.filter(transicion="remitir").exists()
    assert not RegistroAuditoria.objects.filter(objeto__startswith="Entrega").exists()
    assert not Notificacion.objects.filter(tipo="entrega").exists()
    monkeypatch.setattr(workbook, "escribir", original)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.generar_entrega.run(NOV.isoformat())
        assert tasks.generar_entrega.run(NOV.isoformat()) is None
    assert Entrega.objects.get().filas == 4
    assert RegistroAuditoria.objects.filter(transicion="remitir").count() == 4
    assert len([m for m in mail.outbox if m.attachments]) == 1
    tasks.enviar_entrega.run(Entrega.objects.get().pk)  # redelivered: not sent again
    assert len([m for m in mail.outbox if m.attachments]) == 1


def test_descarga_solo_facturacion_y_gestion_de_red(client, datos, u, django_capture_on_commit_callbacks):
    entrega = generar(django_capture_on_commit_callbacks, u.gestion_red)
    for rol in ("FACTURACION", "GESTION_RED"):
        client.force_login(u.por_rol[rol])
        r = client.get(f"/entregas/{entrega.pk}/descargar/")
        assert r.status_code == 200
        assert 'filename="zonificaciones-2026-11-1.xlsx"' in r["Content-Disposition"]
        assert b"".join(r.streaming_content)[:2] == b"PK"
    for rol in ("ASESOR", "COC", "JEFE_DIVISION"):
        client.force_login(u.por_rol[rol])
        assert client.get(f"/entregas/{entrega.pk}/descargar/").status_code == 403


def test_planilla_sin_zona_anterior_ni_coordenadas_y_nombre_completo(datos, u, django_capture_on_commit_callbacks):
    """Empty cells where the data is missing; «Recibida por» shows the full name when there is one."""
    incluidas, _ = datos
    z = incluidas[0]
    Zonificacion.objects.filter(pk=z.pk).update(zona_anterior=None, latitud=None, longitud=None)
    u.gestion_red.first_name, u.gestion_red.last_name = "Ana", "Quispe"
    u.gestion_red.save()
    entrega = generar(django_capture_on_commit_callbacks, u.gestion_red)
    filas = list(load_workbook(entrega.archivo.open("rb"))["Casos"].iter_rows(min_row=2, values_only=True))
    f = next(f for f in filas if f[1] == z.orden.numero)
    assert (f[3], f[9], f[10]) == (None, None, None)
    assert f[4] == z.zona_corregida.nombre and isinstance(f[12], datetime)
    assert {f[14] for f in filas} == {"Ana Quispe"}


def test_un_tipo_de_correccion_que_ya_no_existe_no_impide_la_entrega(datos, u, django_capture_on_commit_callbacks):
    """A row whose correction type is no longer among the choices (legacy data) is written as
    stored, like get_tipo_correccion_display() does; the month's delivery is still built."""
    incluidas, _ = datos
    z = incluidas[0]
    Zonificacion.objects.filter(pk=z.pk).update(tipo_correccion="barrio")
    entrega = generar(django_capture_on_commit_callbacks, u.gestion_red)
    filas = list(load_workbook(entrega.archivo.open("rb"))["Casos"].iter_rows(min_row=2, values_only=True))
    assert next(f for f in filas if f[1] == z.orden.numero)[5] == "barrio"
