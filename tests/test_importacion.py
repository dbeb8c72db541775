"""Smartflex import (command, page, Celery task) and the export back: good files, every kind of
bad file, the same file twice, a file that changes a known Solicitud."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import Workbook

from anulaciones import importacion
from anulaciones import transitions as T
from anulaciones.models import ImportacionSmartflex, OrdenDeTrabajo, RegistroAuditoria, Solicitud

pytestmark = pytest.mark.django_db

CAB = importacion.COLUMNAS


def fila(numero, **extra):
    base = {
        "numero_smartflex": numero,
        "tipo": "instalacion",
        "cliente_nombre": "Juana Mamani",
        "cliente_documento": "4876543",
        "cliente_telefono": "71234567",
        "calle": "Av. Busch",
        "numero_puerta": "12",
        "zona": "Z1",
        "referencias": "Frente al mercado",
        "caja_nap": "NAP-1",
        "plan": "Fibra 100",
        "vendedor": "Pedro Vargas",
        "asesor": "asesor",
        "numero_ot": f"OT-{numero}",
        "fecha_registro": "2026-11-02",
    }
    base.update(extra)
    return base


@pytest.fixture
def archivo(tmp_path):
    def escribir(filas, cabecera=CAB, nombre="smartflex.csv", separador=","):
        ruta = tmp_path / nombre
        with open(ruta, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter=separador)
            w.writerow(cabecera)
            for x in filas:
                w.writerow([x.get(c, "") for c in cabecera] if isinstance(x, dict) else x)
        return ruta

    return escribir


def _importar(ruta, user, **kw):
    return importacion.importar(str(ruta), user, **kw)


def _estado_bd():
    return Solicitud.objects.count(), OrdenDeTrabajo.objects.count(), RegistroAuditoria.objects.count()


def test_good_file_creates_solicitudes_with_ot_and_audited_births(archivo, u, zona):
    ruta = archivo(
        [
            fila("SF-1"),
            fila("SF-2", tipo="Traslado", numero_ot="", fecha_registro="03/11/2026 10:15"),
            fila("SF-3", zona="Z2", asesor="asesor"),
        ],
        separador=";",
    )
    r = _importar(ruta, u.gestion_red)
    assert (r.importado, r.total, r.creadas, r.errores) == (True, 3, 3, [])
    s1 = Solicitud.objects.select_related("orden").get(numero_smartflex="SF-1")
    assert s1.estado == "registrada" and s1.orden.numero == "OT-SF-1" and s1.orden.estado == "generada"
    assert s1.asesor == u.asesor and s1.zona == zona and s1.caso_id and s1.registrada_por == u.gestion_red
    assert timezone.localtime(s1.creado_at).date().isoformat() == "2026-11-02"
    s2 = Solicitud.objects.get(numero_smartflex="SF-2")
    assert s2.tipo == "traslado" and s2.orden.numero == "OT-SF-2"
    assert timezone.localtime(s2.creado_at).strftime("%Y-%m-%d %H:%M") == "2026-11-03 10:15"
    registros = RegistroAuditoria.objects.filter(caso_id=s1.caso_id).order_by("pk")
    assert [(x.transicion, x.paso, x.estado_destino, x.rol) for x in registros] == [
        ("registrar", "1", "registrada", "GESTION_RED"),
        ("generar", "1", "generada", "GESTION_RED"),
    ]
    # the new objects take transitions as any other
    T.aplicar(s1, "observar", u.coc, causa="calle", detalle="x")
    assert Solicitud.objects.get(pk=s1.pk).estado == "observada"


def test_xlsx_file_and_excel_number_cells(tmp_path, u):
    wb = Workbook()
    ws = wb.active
    ws.append(CAB)
    f = fila("SF-X1")
    f["cliente_telefono"] = 71234567  # a number cell
    ws.append([f[c] for c in CAB])
    g = fila("SF-X2")
    ws.append([g[c] for c in CAB])
    ruta = tmp_path / "smartflex.xlsx"
    wb.save(ruta)
    r = _importar(ruta, u.coc)
    assert r.importado and r.creadas == 2, r.errores
    assert Solicitud.objects.get(numero_smartflex="SF-X1").cliente_telefono == "71234567"


def test_same_file_twice_changes_nothing(archivo, u):
    ruta = archivo([fila(f"SF-{i}") for i in range(5)])
    _importar(ruta, u.gestion_red)
    antes = _estado_bd()
    versiones = list(Solicitud.objects.order_by("pk").values_list("version", "actualizado_at"))
    r = _importar(ruta, u.gestion_red)
    assert (r.creadas, r.actualizadas, r.sin_cambios, r.errores) == (0, 0, 5, [])
    assert _estado_bd() == antes
    assert list(Solicitud.objects.order_by("pk").values_list("version", "actualizado_at")) == versiones


def test_file_that_changes_a_known_solicitud(archivo, u, esc):
    abierta = esc.solicitud("observada")
    anulada = esc.solicitud("anulada")
    version = abierta.version
    ruta = archivo(
        [
            fila(abierta.numero_smartflex, numero_ot=abierta.orden.numero, calle="Calle Nueva 5", plan="Fibra 300"),
            fila(anulada.numero_smartflex, numero_ot=anulada.orden.numero, calle="Otra calle"),
        ]
    )
    r = _importar(ruta, u.gestion_red)
    assert (r.creadas, r.actualizadas, r.omitidas) == (0, 1, 1), (r.errores, r.avisos)
    abierta.refresh_from_db()
    anulada.refresh_from_db()
    assert (abierta.calle, abierta.plan, abierta.estado) == ("Calle Nueva 5", "Fibra 300", "observada")
    assert abierta.version == version + 1  # a form opened on the old data now gets a Conflicto
    assert anulada.calle == "Av. Busch"
    reg = RegistroAuditoria.de_objeto(abierta).last()
    assert (reg.transicion, reg.estado_origen, reg.estado_destino) == ("actualizar_datos", "observada", "observada")
    assert "calle" in reg.nota and "plan" in reg.nota
    assert any("ya no se modifican" in a["mensaje"] for a in r.avisos)
    # and the same file again changes nothing more
    antes = _estado_bd()
    r = _importar(ruta, u.gestion_red)
    assert (r.actualizadas, r.sin_cambios, r.omitidas) == (0, 1, 1) and _estado_bd() == antes


def _errores(r):
    return {(e["fila"], e["columna"]) for e in r.errores}


@pytest.mark.parametrize(
    "contenido,esperado",
    [
        (b"", (0, "")),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", (0, "")),
        (b"\xff\xfe\xfa\xfb no es texto \x81\x82", (0, "")),
        (b"PK\x03\x04 zip roto", (0, "")),
        (",".join(CAB).encode(), (0, "")),  # header only
        (b"numero,nombre\n1,x\n", (1, "numero")),  # wrong columns
    ],
)
def test_file_that_is_not_a_smartflex_spreadsheet(tmp_path, u, contenido, esperado):
    ruta = tmp_path / "malo.csv"
    ruta.write_bytes(contenido)
    antes = _estado_bd()
    r = _importar(ruta, u.gestion_red, aceptar_validas=True)
    assert not r.importado
    assert esperado in _errores(r), r.errores
    assert all(e["mensaje"] for e in r.errores)
    assert _estado_bd() == antes


def test_bad_rows_reported_every_one_and_nothing_imported(archivo, u, esc):
    otra = esc.solicitud("registrada")
    ruta = archivo(
        [
            fila("SF-OK-1"),
            fila("SF-B-1", fecha_registro="31/02/2026"),  # row 3: bad date
            fila("SF-B-2", zona="ZX"),  # row 4: unknown zone
            fila("SF-DUP"),  # row 5: duplicate ...
            fila("SF-DUP", numero_ot="OT-DUP-2"),  # row 6: ... of row 5
            fila("SF-B-3", cliente_nombre="", tipo="portabilidad"),  # row 7: two errors
            fila("SF-B-4", asesor="nadie", numero_ot=otra.orden.numero),  # row 8: unknown asesor
            fila("SF-B-5", numero_ot=otra.orden.numero),  # row 9: OT of another Solicitud
            fila("SF-B-6", fecha_registro="2099-01-01"),  # row 10: future date
            fila("S" * 40),  # row 11: too long
            fila("SF-B-7", calle="Av.\x01Busch"),  # row 12: control character
        ]
    )
    antes = _estado_bd()
    r = _importar(ruta, u.gestion_red)
    assert not r.importado and r.total == 11
    assert {
        (3, "fecha_registro"),
        (4, "zona"),
        (5, "numero_smartflex"),
        (6, "numero_smartflex"),
        (7, "cliente_nombre"),
        (7, "tipo"),
        (8, "asesor"),
        (9, "numero_ot"),
        (10, "fecha_registro"),
        (11, "numero_smartflex"),
        (12, "calle"),
    } <= _errores(r)
    assert 2 not in {e["fila"] for e in r.errores}
    assert r.con_error == 10
    assert _estado_bd() == antes
    # the user chooses to import the good rows
    r = _importar(ruta, u.gestion_red, aceptar_validas=True)
    assert r.importado and r.creadas == 1
    assert list(
        Solicitud.objects.filter(numero_smartflex__startswith="SF-")
        .exclude(pk=otra.pk)
        .values_list("numero_smartflex", flat=True)
    ) == ["SF-OK-1"]


def test_import_costs_a_constant_number_of_queries(archivo, u, settings):
    settings.ANULACIONES_IMPORTACION_LOTE = 1000

    def consultas(n, prefijo):
        ruta = archivo([fila(f"{prefijo}-{i}") for i in range(n)], nombre=f"{prefijo}.csv")
        with CaptureQueriesContext(connection) as ctx:
            r = _importar(ruta, u.gestion_red)
        assert r.creadas == n
        return len(ctx.captured_queries)

    consultas(2, "W")  # warm the ContentType cache
    pocas, muchas = consultas(5, "A"), consultas(200, "B")
    if connection.vendor == "postgresql":
        assert pocas == muchas
    else:  # SQLite caps the parameters of one statement: bulk inserts are split, still not per row
        assert muchas - pocas < 200 / 10, (pocas, muchas)


def test_command(archivo, u, capsys):
    ruta = archivo([fila("SF-C-1"), fila("SF-C-2")])
    call_command("importar_smartflex", str(ruta))
    assert "2 solicitudes nuevas" in capsys.readouterr().out
    s = Solicitud.objects.get(numero_smartflex="SF-C-1")
    assert RegistroAuditoria.de_objeto(s).get().rol == "SISTEMA"
    malo = archivo([fila("SF-C-3", zona="ZX")], nombre="malo.csv")
    with pytest.raises(CommandError):
        call_command("importar_smartflex", str(malo))
    assert "fila 2, columna zona: Zona «ZX» desconocida." in capsys.readouterr().out
    assert not Solicitud.objects.filter(numero_smartflex="SF-C-3").exists()


def test_command_crear_token(u, capsys):
    from rest_framework.authtoken.models import Token

    call_command("crear_token", "coc")
    clave = capsys.readouterr().out.strip()
    assert Token.objects.get(user=u.coc).key == clave
    call_command("crear_token", "coc", "--regenerar")
    assert capsys.readouterr().out.strip() != clave
    with pytest.raises(CommandError):
        call_command("crear_token", "nadie")


# --- the page --------------------------------------------------------------------------------------
def _subir(client, ruta, **extra):
    with open(ruta, "rb") as f:
        return client.post("/importar/", {"archivo": f, **extra})


def test_page_upload_runs_the_task_and_shows_the_report(client, archivo, u, django_capture_on_commit_callbacks):
    client.force_login(u.gestion_red)
    assert client.get("/importar/").status_code == 200
    ruta = archivo([fila("SF-P-1"), fila("SF-P-2", zona="ZX")])
    with django_capture_on_commit_callbacks(execute=True):
        r = _subir(client, ruta)
    imp = ImportacionSmartflex.objects.get()
    assert r.status_code == 302 and r.url == f"/importar/{imp.pk}/"
    assert imp.etapa == "con_errores" and imp.total == 2 and imp.con_error == 1
    assert imp.errores == [{"fila": 3, "columna": "zona", "mensaje": "Zona «ZX» desconocida."}]
    assert not Solicitud.objects.filter(numero_smartflex__startswith="SF-P").exists()
    pagina = client.get(f"/importar/{imp.pk}/").content.decode()
    assert "Zona «ZX» desconocida." in pagina and "htmx" in pagina
    assert "hx-trigger" not in pagina  # finished: the page stops polling
    # fragment the htmx poll gets
    frag = client.get(f"/importar/{imp.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert frag.lstrip().startswith("<section") and "Con errores" in frag
    errores = b"".join(client.get(f"/importar/{imp.pk}/errores.csv").streaming_content).decode("utf-8-sig")
    assert "3,zona,Zona «ZX» desconocida." in errores
    # the user chooses to import the good rows
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/importar/{imp.pk}/aceptar/")
    imp.refresh_from_db()
    assert imp.etapa == "terminada" and imp.creadas == 1 and imp.con_error == 1
    assert list(
        Solicitud.objects.filter(numero_smartflex__startswith="SF-P").values_list("numero_smartflex", flat=True)
    ) == ["SF-P-1"]


def test_page_shows_progress_while_running(client, u, archivo):
    client.force_login(u.coc)
    imp = ImportacionSmartflex.objects.create(
        archivo="importaciones/x.csv", nombre="x.csv", usuario=u.coc, etapa="importando", total=50000, procesadas=12000
    )
    html = client.get(f"/importar/{imp.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in html and "12000 filas procesadas de 50000" in html


def test_page_and_sample_only_for_gestion_red_and_coc(client, u):
    for user, codigo in ((u.asesor, 403), (u.tecnico, 403), (u.jefe_division, 403), (u.coc, 200)):
        client.force_login(user)
        assert client.get("/importar/").status_code == codigo
        assert client.get("/exportar/smartflex.csv").status_code == codigo
    muestra = b"".join(client.get("/importar/muestra.csv").streaming_content).decode()
    assert muestra.splitlines()[0] == ",".join(CAB)
    client.force_login(u.gestion_red)
    assert 'href="/importar/"' in client.get("/").content.decode()


def test_sample_file_imports(settings, u, zona):
    from anulaciones.models import Zona

    for codigo in ("LPZ-M", "LPZ-C", "EAL-N"):
        Zona.objects.create(codigo=codigo, nombre=codigo)
    otro = u.asesor.__class__.objects.create_user("asesor2")
    otro.groups.add(u.asesor.groups.first())
    for nombre in ("smartflex_muestra.csv", "smartflex_muestra.xlsx"):
        r = _importar(settings.BASE_DIR / "docs" / "muestras" / nombre, u.gestion_red)
        assert r.importado and not r.errores, r.errores
    assert Solicitud.objects.filter(numero_smartflex__startswith="SF-M-").count() == 3


def test_page_refuses_non_spreadsheet_upload(client, u, tmp_path):
    client.force_login(u.gestion_red)
    ruta = tmp_path / "foto.png"
    ruta.write_bytes(b"\x89PNG")
    r = _subir(client, ruta)
    assert r.status_code == 200 and "Suba un archivo .csv o .xlsx" in r.content.decode()
    assert not ImportacionSmartflex.objects.exists()


# --- export back to Smartflex ---------------------------------------------------------------------
def test_export_of_cancellations_and_redigitations(client, esc, u):
    anulada = esc.solicitud("anulada")
    redigitada = esc.solicitud("redigitada")
    esc.solicitud("observada")
    client.force_login(u.gestion_red)
    hoy = timezone.localdate().isoformat()
    r = client.get("/exportar/smartflex.csv", {"desde": hoy, "hasta": hoy})
    assert r.status_code == 200 and r.streaming
    filas = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    por_numero = {f["numero_smartflex"]: f for f in filas}
    assert set(por_numero) == {anulada.numero_smartflex, redigitada.numero_smartflex}
    assert por_numero[anulada.numero_smartflex]["accion"] == "ANULACION"
    assert por_numero[anulada.numero_smartflex]["motivo"] == "Cliente desiste"
    assert por_numero[anulada.numero_smartflex]["numero_ot"] == anulada.orden.numero
    f = por_numero[redigitada.numero_smartflex]
    assert f["accion"] == "REDIGITACION" and f["nuevo_numero_smartflex"] == f"{redigitada.numero_smartflex}-R"
    r = client.get("/exportar/smartflex.csv", {"desde": "2020-01-01", "hasta": "2020-01-31"})
    assert b"".join(r.streaming_content).decode("utf-8-sig").strip() == ",".join(importacion.COLUMNAS_EXPORTACION)
    assert client.get("/exportar/smartflex.csv", {"desde": "x", "hasta": hoy}).status_code == 400
