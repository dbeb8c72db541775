"""The month's zonification workbook for Div. Facturación (21.1)."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from openpyxl import load_workbook

from anulaciones import reports, tasks
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
    z = T.recibir_zonificacion(o, u.gestion_red, zona_corregida=zona, tipo_correccion=tipo, calle=calle,
                               referencia="Esquina plaza", caja_nap="NAP-07", latitud="-16.500000",
                               longitud="-68.150000")
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
            "solicitud", "orden", "zona_anterior", "zona_corregida", "recibida_por"):
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

    # summary: zone x correction type, against the data
    resumen = list(wb["Resumen"].iter_rows(values_only=True))
    cabecera = list(resumen[0])
    assert cabecera == ["Zona", "Calle", "Caja / NAP", "Total"]
    tabla = {f[0]: dict(zip(cabecera[1:], f[1:])) for f in resumen[1:4]}
    assert tabla["Zona Norte"] == {"Calle": 1, "Caja / NAP": 1, "Total": 2}
    assert tabla["Zona Sur"] == {"Calle": 2, "Caja / NAP": 0, "Total": 2}
    assert tabla["Total"] == {"Calle": 3, "Caja / NAP": 1, "Total": 4}
    for zona in ("Zona Norte", "Zona Sur"):
        assert tabla[zona]["Total"] == Zonificacion.objects.filter(
            estado="remitida", zona_corregida__nombre=zona).count()

    # the included ones became remitida through the transition path, the others did not move
    for z in incluidas:
        z.refresh_from_db()
        assert z.estado == "remitida" and z.version == 2
        assert z.remitida_at == entrega.generada_at == datetime(2026, 11, 28, 8, 0, tzinfo=LP)
        fila = RegistroAuditoria.de_objeto(z).last()
        assert (fila.transicion, fila.paso, fila.usuario, fila.rol) == ("remitir", "21.1", u.gestion_red,
                                                                        "GESTION_RED")
    assert [Zonificacion.objects.get(pk=z.pk).estado for z in fuera] == ["recibida", "digitada"]

    # e-mailed to Facturación with the workbook, and notified in the app
    correo = [m for m in mail.outbox if "Planilla" in m.subject]
    assert [m.to for m in correo] == [["facturacion@example.com"]]
    assert correo[0].attachments[0][0] == "zonificaciones-2026-11.xlsx"
    entrega.refresh_from_db()
    assert entrega.enviada_at is not None
    assert Notificacion.objects.filter(usuario=u.facturacion, tipo="entrega").count() == 1


def test_dos_veces_el_mismo_mes_una_entrega(datos, u, django_capture_on_commit_callbacks):
    primera = generar(django_capture_on_commit_callbacks, u.gestion_red)
    auditoria = RegistroAuditoria.objects.count()
    correos = len(mail.outbox)
    segunda = generar(django_capture_on_commit_callbacks, u.sistema)
    assert segunda.pk == primera.pk
    assert Entrega.objects.count() == 1
    assert RegistroAuditoria.objects.count() == auditoria
    assert len(mail.outbox) == correos
    # the daily task on the month's day finds it done too
    with time_machine.travel(datetime(2026, 11, 29, 8, 0, tzinfo=LP), tick=False):
        assert tasks.entrega_mensual.run() is None
    assert Entrega.objects.count() == 1


def test_tarea_mensual_en_su_dia_por_el_sistema(datos, u, settings, django_capture_on_commit_callbacks):
    settings.ANULACIONES_ENTREGA_DIAS_ANTES = 2
    with time_machine.travel(datetime(2026, 11, 27, 8, 0, tzinfo=LP), tick=False):
        assert tasks.entrega_mensual.run() is None  # not yet
    with time_machine.travel(datetime(2026, 11, 28, 8, 0, tzinfo=LP), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        pk = tasks.entrega_mensual.run()
    entrega = Entrega.objects.get(pk=pk)
    assert (entrega.mes, entrega.filas, entrega.generada_por) == (NOV, 4, u.sistema)
    assert RegistroAuditoria.objects.filter(transicion="remitir", rol="SISTEMA").count() == 4


def test_trabajador_muerto_a_mitad_no_deja_nada_a_medias(datos, u, monkeypatch, django_capture_on_commit_callbacks):
    original = workbook.escribir

    def muere(*a, **k):
        raise SystemExit("worker killed while writing the workbook")

    monkeypatch.setattr(workbook, "escribir", muere)
    with pytest.raises(SystemExit):
        tasks.generar_entrega.run(NOV.isoformat())
    assert Entrega.objects.count() == 0
    assert Zonificacion.objects.filter(estado="remitida").count() == 0
    assert not RegistroAuditoria.objects.filter(transicion="remitir").exists()
    monkeypatch.setattr(workbook, "escribir", original)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.generar_entrega.run(NOV.isoformat())
        tasks.generar_entrega.run(NOV.isoformat())
    assert Entrega.objects.get().filas == 4
    assert RegistroAuditoria.objects.filter(transicion="remitir").count() == 4
    assert len([m for m in mail.outbox if "Planilla" in m.subject]) == 1
    tasks.enviar_entrega.run(Entrega.objects.get().pk)  # redelivered: not sent again
    assert len([m for m in mail.outbox if "Planilla" in m.subject]) == 1


def test_pagina_entregas_permisos_generar_y_descargar(client, datos, u, django_capture_on_commit_callbacks):
    client.force_login(u.asesor)
    assert client.get("/entregas/").status_code == 403
    client.force_login(u.facturacion)
    assert client.get("/entregas/").status_code == 200
    assert client.post("/entregas/generar/", {"mes": "2026-11"}).status_code == 403
    assert Entrega.objects.count() == 0

    client.force_login(u.gestion_red)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/entregas/generar/", {"mes": "2026-11"}, follow=True)
    assert "Planilla de 11/2026 generada: 4 caso(s)" in r.content.decode()
    r = client.post("/entregas/generar/", {"mes": "2026-11"}, follow=True)
    assert "ya fue generada" in r.content.decode()
    entrega = Entrega.objects.get()

    client.force_login(u.facturacion)
    pagina = client.get("/entregas/").content.decode()
    assert f"/entregas/{entrega.pk}/descargar/" in pagina
    r = client.get(f"/entregas/{entrega.pk}/descargar/")
    assert r.status_code == 200
    assert 'filename="zonificaciones-2026-11.xlsx"' in r["Content-Disposition"]
    assert b"".join(r.streaming_content)[:2] == b"PK"
    client.force_login(u.coc)
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
