"""Issue 18, items 1–2: the Smartflex status feed is imported (CSV in Windows-1252 or UTF-8, XLSX;
the command, the upload, the drop folder, the Celery task) and every status that disagrees with
the application becomes a difference — never a change of state by itself."""

import os
import time
from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from anulaciones import conciliacion, diferencias, tasks
from anulaciones.models import Diferencia, EstadoSmartflex, ImportacionSmartflex, Solicitud

from .test_worker import base_url, esperar, redis_url, trabajador  # noqa: F401 - fixtures (PostgreSQL, Redis)

pytestmark = pytest.mark.django_db

CAB = ["tipo", "numero", "estado", "fecha", "motivo", "usuario"]
C = Diferencia.Clase


def csv_bytes(filas, cabecera=CAB, sep=",", encoding="utf-8", bom=False, fin="\n"):
    lineas = [sep.join(cabecera)] + [sep.join(str(c) for c in f) for f in filas]
    texto = fin.join(lineas) + fin
    return (b"\xef\xbb\xbf" if bom else b"") + texto.encode(encoding)


@pytest.fixture
def escribir(tmp_path):
    contador = iter(range(10_000))

    def escribir(contenido, nombre=None):
        ruta = tmp_path / (nombre or f"estados-{next(contador)}.csv")
        ruta.write_bytes(contenido)
        return str(ruta)

    return escribir


def importar(ruta, usuario, **kw):
    return conciliacion.importar(ruta, usuario, **kw)


def local(*partes):
    return timezone.make_aware(datetime(*partes), timezone.get_default_timezone())


def abiertas():
    return {
        (d.fuente.numero, d.clase)
        for d in Diferencia.objects.filter(estado=Diferencia.Estado.ABIERTA).select_related("fuente")
    }


def estado_sf(numero, objeto="solicitud"):
    return EstadoSmartflex.objects.get(objeto=objeto, numero=numero)


# --- realistic files -------------------------------------------------------------------------------
def test_windows_1252_con_punto_y_coma_fechas_dd_mm_aaaa_y_tildes(escribir, esc, u):
    s = esc.solicitud("registrada")
    cab = ["Tipo", "Número", "Estado", "Fecha", "Motivo", "Usuario", "Dirección", "Cliente documento", "Teléfono"]
    fila = ["Solicitud", s.numero_smartflex, "ANULADA", "03/05/2024 14:30", "Cliente desistió", "jperez"]
    fila += ["Av. Busch Nº 123", "4455667 LP", "71234567"]
    contenido = csv_bytes([fila], cabecera=cab, sep=";", encoding="cp1252", fin="\r\n")
    assert "desistió".encode("cp1252") in contenido  # really Windows-1252, not UTF-8

    r = importar(escribir(contenido), u.gestion_red)

    assert r.importado and r.errores == [] and (r.total, r.creadas, r.diferencias) == (1, 1, 1)
    e = estado_sf(s.numero_smartflex)
    assert (e.estado, e.estado_texto, e.motivo, e.direccion) == (
        "anulada",
        "ANULADA",
        "Cliente desistió",
        "Av. Busch Nº 123",
    )
    assert (e.cliente_documento, e.cliente_telefono, e.usuario) == ("4455667 LP", "71234567", "jperez")
    assert e.fecha == local(2024, 5, 3, 14, 30) and e.solicitud == s
    d = Diferencia.objects.get()
    assert (d.clase, d.estado, d.solicitud, d.estado_aplicacion) == (C.ANULADA_EN_SMARTFLEX, "abierta", s, "registrada")
    s.refresh_from_db()
    assert s.estado == "registrada"  # a difference, not an overwrite
    assert "1 número nuevo" in conciliacion.resumen(r) and "1 diferencia nueva" in conciliacion.resumen(r)


def test_utf8_con_bom_crlf_y_lineas_vacias_al_final(escribir, esc, u):
    s = esc.solicitud("en_instalacion")
    contenido = csv_bytes(
        [["", s.numero_smartflex, "Instalada", "2024-05-03T09:15:00", "", "tecnico1"]], bom=True, fin="\r\n"
    )
    r = importar(escribir(contenido + b"\r\n,,,\r\n\r\n"), u.gestion_red)
    assert r.importado and r.errores == [] and r.total == 1
    e = estado_sf(s.numero_smartflex)
    assert (e.objeto, e.estado, e.fecha) == ("solicitud", "ejecutada", local(2024, 5, 3, 9, 15))
    assert abiertas() == {(s.numero_smartflex, C.EJECUTADA_EN_SMARTFLEX)}


def test_sin_columna_tipo_es_solicitud_y_fecha_sola_es_mediodia(escribir, esc, u):
    s = esc.solicitud("registrada")
    r = importar(
        escribir(csv_bytes([[s.numero_smartflex, "vigente", "02/05/2024"]], cabecera=["numero", "estado", "fecha"])),
        u.coc,
    )
    assert r.importado and r.creadas == 1 and r.diferencias == 0
    assert estado_sf(s.numero_smartflex).fecha == local(2024, 5, 2, 12, 0)


def test_xlsx_con_celdas_de_fecha_y_numeros(tmp_path, esc, u):
    from openpyxl import Workbook

    s = esc.solicitud("registrada", numero_smartflex="900123")
    o = esc.orden("asignada")
    wb = Workbook()
    hoja = wb.active
    hoja.append(["TIPO", "NÚMERO", "ESTADO", "FECHA", "MOTIVO"])
    hoja.append(["solicitud", 900123, "Cancelada", datetime(2024, 5, 3, 10, 0), "Sin cobertura"])
    hoja.append(["OT", o.numero, "anulado", "04/05/2024 08:00", "Zona sin cobertura"])
    ruta = tmp_path / "estados.xlsx"
    wb.save(ruta)

    r = importar(str(ruta), u.gestion_red)

    assert r.importado and r.errores == [] and r.creadas == 2
    assert estado_sf("900123").fecha == local(2024, 5, 3, 10, 0)
    assert abiertas() == {("900123", C.ANULADA_EN_SMARTFLEX), (o.numero, C.ANULADA_EN_SMARTFLEX)}
    d = Diferencia.objects.get(fuente__objeto="ot")
    assert d.solicitud_id == o.solicitud_id and d.estado_aplicacion == "asignada"  # the OT's state
    assert estado_sf(o.numero, "ot").solicitud_id == o.solicitud_id
    assert s.diferencias_smartflex.count() == 1


# --- duplicated rows: the latest wins, whatever the order ------------------------------------------
@pytest.mark.parametrize("orden", [1, -1])
def test_filas_repetidas_gana_la_mas_reciente_en_cualquier_orden(orden, escribir, esc, u):
    s = esc.solicitud("registrada")
    n = s.numero_smartflex
    filas = [
        ["solicitud", n, "anulada", "01/05/2024 10:00", "Cliente desistió", "a"],
        ["solicitud", n, "registrada", "02/05/2024 10:00", "", "b"],
        ["solicitud", n, "anulada", "03/05/2024 10:00", "Deuda pendiente", "c"],
        ["solicitud", n, "registrada", "03/05/2024 09:59", "", "d"],
    ][::orden]
    r = importar(escribir(csv_bytes(filas)), u.gestion_red)
    assert r.importado and r.errores == []  # repeated numbers are not errors
    assert (r.creadas, r.sin_cambios) == (1, 3)
    e = estado_sf(n)
    assert (e.estado, e.motivo, e.usuario, e.fecha) == ("anulada", "Deuda pendiente", "c", local(2024, 5, 3, 10))
    assert abiertas() == {(n, C.ANULADA_EN_SMARTFLEX)}


def test_misma_fecha_desempata_por_contenido_igual_en_todos_los_ordenes(escribir, esc, u, settings):
    settings.ANULACIONES_IMPORTACION_LOTE = 1  # each row its own batch: the database decides
    s = esc.solicitud("registrada")
    filas = [
        ["solicitud", s.numero_smartflex, "anulada", "01/05/2024 10:00", m, "x"] for m in ("Deuda", "Mudanza", "Otro")
    ]
    guardados = set()
    for orden in (filas, filas[::-1], filas[1:] + filas[:1]):
        with transaction.atomic():
            importar(escribir(csv_bytes(orden)), u.gestion_red)
            guardados.add(estado_sf(s.numero_smartflex).motivo)
            transaction.set_rollback(True)
    assert len(guardados) == 1


def test_un_estado_mas_antiguo_de_otro_archivo_no_reemplaza_al_guardado(escribir, esc, u):
    s = esc.solicitud("registrada")
    n = s.numero_smartflex
    importar(escribir(csv_bytes([["", n, "anulada", "05/05/2024 10:00", "Desiste", ""]])), u.gestion_red)
    r = importar(escribir(csv_bytes([["", n, "registrada", "04/05/2024 10:00", "", ""]])), u.gestion_red)
    assert (r.creadas, r.actualizadas, r.sin_cambios) == (0, 0, 1)
    assert estado_sf(n).estado == "anulada" and abiertas() == {(n, C.ANULADA_EN_SMARTFLEX)}


# --- unknown numbers ---------------------------------------------------------------------------------
def test_numeros_desconocidos_anulada_sin_caso_y_los_demas_un_aviso(escribir, u):
    filas = [
        ["solicitud", "SF-NO-1", "anulada", "01/05/2024", "Desiste", ""],
        ["solicitud", "SF-NO-2", "registrada", "01/05/2024", "", ""],
        ["ot", "OT-NO-3", "ejecutada", "01/05/2024", "", ""],
    ]
    r = importar(escribir(csv_bytes(filas)), u.gestion_red)
    assert r.importado and r.creadas == 3 and r.diferencias == 1
    assert abiertas() == {("SF-NO-1", C.SIN_CASO)}
    assert Diferencia.objects.get().solicitud is None
    assert r.avisos == [
        {"fila": 3, "columna": "numero", "mensaje": "Número desconocido en la aplicación: impórtelo como solicitud."},
        {"fila": 4, "columna": "numero", "mensaje": "Número desconocido en la aplicación: impórtelo como solicitud."},
    ]
    assert "2 avisos" in conciliacion.resumen(r)


def test_un_numero_desconocido_que_luego_se_registra_se_empareja_al_detectar_de_nuevo(escribir, esc, u):
    importar(escribir(csv_bytes([["", "SF-LUEGO", "anulada", "01/05/2024", "Desiste", ""]])), u.gestion_red)
    assert abiertas() == {("SF-LUEGO", C.SIN_CASO)}
    s = esc.solicitud("registrada", numero_smartflex="SF-LUEGO")
    d = Diferencia.objects.get()
    assert diferencias.detectar(EstadoSmartflex.objects.values_list("pk", flat=True)) == (0, 0)
    assert abiertas() == {("SF-LUEGO", C.ANULADA_EN_SMARTFLEX)}  # the same difference, now of the case
    assert Diferencia.objects.get().pk == d.pk and Diferencia.objects.get().solicitud == s
    assert estado_sf("SF-LUEGO").solicitud == s


# --- bad rows: each reported, nothing written ----------------------------------------------------------
def test_filas_con_errores_se_informan_y_no_se_escribe_nada(escribir, esc, u):
    s = esc.solicitud("registrada")
    manana = timezone.localdate() + timedelta(days=3)
    filas = [
        ["solicitud", s.numero_smartflex, "anulada", "01/05/2024", "Desiste", ""],  # good
        ["solicitud", "SF-1", "perdida", "01/05/2024", "", ""],
        ["", "SF-2", "anulada", "31/02/2024", "", ""],
        ["", "SF-3", "anulada", manana.strftime("%d/%m/%Y"), "", ""],
        ["", "", "anulada", "01/05/2024", "", ""],
        ["contrato", "SF-5", "", "01/05/2024", "", ""],
        ["", "SF-6", "anulada", "", "", "x" * 200],
    ]
    r = importar(escribir(csv_bytes(filas)), u.gestion_red)
    assert not r.importado
    assert [(e["fila"], e["columna"]) for e in r.errores] == [
        (3, "estado"),
        (4, "fecha"),
        (5, "fecha"),
        (6, "numero"),
        (7, "tipo"),
        (7, "estado"),
        (8, "fecha"),
        (8, "usuario"),
    ]
    mensajes = {(e["fila"], e["columna"]): e["mensaje"] for e in r.errores}
    assert mensajes[(3, "estado")].startswith("Estado «perdida» desconocido: use registrada,")
    assert "anulada" in mensajes[(3, "estado")] and "ejecutada" in mensajes[(3, "estado")]
    assert mensajes[(4, "fecha")].startswith("Fecha «31/02/2024» inválida")
    assert mensajes[(6, "numero")] == "Dato obligatorio vacío."
    assert mensajes[(7, "tipo")] == "Tipo «contrato» desconocido: use solicitud u ot."
    assert mensajes[(8, "usuario")] == "Más de 150 caracteres (200)."
    assert r.con_error == 6 and r.total == 7
    assert not EstadoSmartflex.objects.exists() and not Diferencia.objects.exists()
    assert conciliacion.resumen(r).startswith("No se importó nada: 6 de 7 filas tienen errores.")

    r = importar(escribir(csv_bytes(filas)), u.gestion_red, aceptar_validas=True)
    assert (
        r.importado
        and r.creadas == 1
        and list(EstadoSmartflex.objects.values_list("numero", flat=True)) == [s.numero_smartflex]
    )


def test_cabecera_con_columnas_desconocidas_o_faltantes(escribir, u):
    r = importar(escribir(csv_bytes([["SF-1", "anulada"]], cabecera=["numero", "estatus"])), u.gestion_red)
    assert not r.importado and r.total == 0
    assert [(e["fila"], e["columna"], e["mensaje"].split(".")[0]) for e in r.errores] == [
        (1, "estado", "Falta esta columna obligatoria"),
        (1, "fecha", "Falta esta columna obligatoria"),
        (1, "estatus", "Columna desconocida"),
    ]
    assert "Columnas válidas: tipo, numero, estado, fecha" in r.errores[2]["mensaje"]
    # aliases: «Nro», «Fecha estado», «Documento»
    r = importar(
        escribir(
            csv_bytes(
                [["SF-1", "anulada", "01/05/2024", "123"]], cabecera=["Nro.", "Estado", "Fecha estado", "Documento"]
            )
        ),
        u.gestion_red,
    )
    assert r.importado and estado_sf("SF-1").cliente_documento == "123"


def test_archivo_vacio_o_que_no_es_planilla(escribir, u):
    r = importar(escribir(b""), u.gestion_red)
    assert not r.importado and r.errores[0]["mensaje"] == "El archivo está vacío."
    r = importar(escribir(csv_bytes([])), u.gestion_red)
    assert r.errores[0]["mensaje"] == "El archivo no tiene filas de datos."
    r = importar(escribir(b"\x89PNG\r\n\x1a\n\x00\x00"), u.gestion_red)
    assert "no es una planilla" in r.errores[0]["mensaje"]


# --- each class of difference, against cases built through the transition path ------------------------
CASOS = [
    # (application state, Smartflex status, expected class)
    ("registrada", "anulada", C.ANULADA_EN_SMARTFLEX),
    ("observada", "anulada", C.ANULADA_EN_SMARTFLEX),
    ("en_instalacion", "anulada", C.ANULADA_EN_SMARTFLEX),
    ("instalada", "anulada", C.ANULADA_EN_SMARTFLEX),
    ("anulada", "anulada", None),
    ("pendiente_redigitacion", "anulada", None),
    ("redigitada", "anulada", None),
    ("anulada", "registrada", C.ANULADA_EN_APLICACION),
    ("anulada", "ejecutada", C.ANULADA_EN_APLICACION),
    ("pendiente_redigitacion", "registrada", None),
    ("redigitada", "registrada", None),
    ("registrada", "registrada", None),
    ("en_instalacion", "ejecutada", C.EJECUTADA_EN_SMARTFLEX),
    ("corregida", "ejecutada", C.EJECUTADA_EN_SMARTFLEX),
    ("instalada", "ejecutada", None),
    ("instalada", "registrada", None),
    ("pendiente_redigitacion", "ejecutada", None),
]


def test_cada_clase_de_diferencia(escribir, esc, u):
    solicitudes = [esc.solicitud(estado) for estado, _, _ in CASOS]
    filas = [
        ["solicitud", s.numero_smartflex, sf, "01/05/2024 10:00", "", ""]
        for s, (_, sf, _) in zip(solicitudes, CASOS, strict=True)
    ]
    antes = {s.pk: s.estado for s in Solicitud.objects.all()}

    r = importar(escribir(csv_bytes(filas)), u.gestion_red)

    esperadas = {(s.numero_smartflex, clase) for s, (_, _, clase) in zip(solicitudes, CASOS, strict=True) if clase}
    assert abiertas() == esperadas and r.diferencias == len(esperadas)
    for s, (estado, _, clase) in zip(solicitudes, CASOS, strict=True):
        if clase:
            d = Diferencia.objects.get(fuente__numero=s.numero_smartflex)
            assert (d.solicitud_id, d.estado_aplicacion) == (s.pk, estado)
    assert {s.pk: s.estado for s in Solicitud.objects.all()} == antes  # nothing changed state


@pytest.mark.parametrize(
    "estado_ot, sf, clase",
    [
        ("anulada", "registrada", C.ANULADA_EN_APLICACION),
        ("anulada", "anulada", None),
        ("asignada", "anulada", C.ANULADA_EN_SMARTFLEX),
        ("asignada", "ejecutada", C.EJECUTADA_EN_SMARTFLEX),
        ("ejecutada", "ejecutada", None),
        ("en_coc", "registrada", None),
    ],
)
def test_filas_de_ot_se_comparan_con_la_ot(estado_ot, sf, clase, escribir, esc, u):
    o = esc.orden(estado_ot)
    importar(escribir(csv_bytes([["ot", o.numero, sf, "01/05/2024 10:00", "", ""]])), u.gestion_red)
    assert abiertas() == ({(o.numero, clase)} if clase else set())
    assert estado_sf(o.numero, "ot").solicitud_id == o.solicitud_id


def test_una_diferencia_abierta_desaparece_cuando_un_estado_posterior_coincide(escribir, esc, u):
    s = esc.solicitud("registrada")
    n = s.numero_smartflex
    importar(escribir(csv_bytes([["", n, "anulada", "01/05/2024 10:00", "Desiste", ""]])), u.gestion_red)
    assert abiertas() == {(n, C.ANULADA_EN_SMARTFLEX)}
    importar(escribir(csv_bytes([["", n, "ejecutada", "02/05/2024 10:00", "", ""]])), u.gestion_red)
    assert abiertas() == {(n, C.EJECUTADA_EN_SMARTFLEX)}  # the same difference, its class follows
    r = importar(escribir(csv_bytes([["", n, "registrada", "03/05/2024 10:00", "", ""]])), u.gestion_red)
    assert abiertas() == set() and not Diferencia.objects.exists() and r.diferencias == 0


def test_una_diferencia_resuelta_no_se_reabre_con_los_mismos_datos(escribir, esc, u):
    s = esc.solicitud("registrada")
    n = s.numero_smartflex
    contenido = csv_bytes([["", n, "anulada", "01/05/2024 10:00", "Desiste", ""]])
    importar(escribir(contenido), u.gestion_red)
    d = Diferencia.objects.get()
    diferencias.resolver(d.pk, diferencias.ERROR_SMARTFLEX, u.coc, nota="El cliente sigue activo en Smartflex")

    r = importar(escribir(contenido), u.gestion_red)
    assert r.diferencias == 0 and abiertas() == set()
    d.refresh_from_db()
    assert d.estado == Diferencia.Estado.ERROR_SMARTFLEX  # the decision stays
    # a later status of that number is new data: it is compared again
    importar(escribir(csv_bytes([["", n, "anulada", "02/05/2024 10:00", "Desiste otra vez", ""]])), u.gestion_red)
    assert abiertas() == {(n, C.ANULADA_EN_SMARTFLEX)}


# --- idempotency -------------------------------------------------------------------------------------
def _estado_completo():
    campos = [*conciliacion.CAMPOS, "clave", "solicitud_id"]
    return (
        sorted(EstadoSmartflex.objects.values_list(*campos)),
        sorted(Diferencia.objects.filter(estado="abierta").values_list("fuente__numero", "clase", "pk")),
        sorted(Solicitud.objects.values_list("numero_smartflex", "estado")),
    )


def test_el_mismo_archivo_dos_veces_no_cambia_nada_la_segunda(escribir, esc, u):
    a, b = esc.solicitud("registrada"), esc.solicitud("anulada")
    filas = [
        ["", a.numero_smartflex, "anulada", "01/05/2024 10:00", "Desiste", ""],
        ["", b.numero_smartflex, "registrada", "01/05/2024 11:00", "", ""],
        ["", "SF-NUEVA", "anulada", "01/05/2024 12:00", "Desiste", ""],
    ]
    ruta = escribir(csv_bytes(filas))
    r1 = importar(ruta, u.gestion_red)
    primero = _estado_completo()
    r2 = importar(ruta, u.gestion_red)
    assert (r1.creadas, r1.diferencias) == (3, 3)
    assert (r2.creadas, r2.actualizadas, r2.sin_cambios, r2.diferencias) == (0, 0, 3, 0)
    assert _estado_completo() == primero  # the same differences (same pks), the same rows


# --- the command ---------------------------------------------------------------------------------------
def test_comando_importa_e_imprime_el_resumen_y_los_errores(escribir, esc, u, capsys):
    s = esc.solicitud("registrada")
    buena = escribir(
        csv_bytes(
            [
                ["", s.numero_smartflex, "anulada", "01/05/2024", "Desiste", ""],
                ["", "SF-X", "vigente", "01/05/2024", "", ""],
            ]
        )
    )
    call_command("importar_estados_smartflex", buena, "--usuario", u.coc.username)
    salida = capsys.readouterr().out
    assert "aviso fila 3, columna numero: Número desconocido en la aplicación" in salida
    assert "2 filas: 2 números nuevos" in salida and "1 diferencia nueva" in salida
    # A feed imported by the command is a job like an upload's: the figures say as of which file.
    imp = ImportacionSmartflex.objects.get(clase="estados")
    assert (imp.etapa, imp.usuario, imp.nombre) == ("terminada", u.coc, os.path.basename(buena))
    assert diferencias.cifras().ultima_importacion.nombre == os.path.basename(buena)

    mala = escribir(
        csv_bytes([["", "SF-Y", "rara", "01/05/2024", "", ""], ["", "SF-Z", "anulada", "01/05/2024", "", ""]])
    )
    with pytest.raises(CommandError, match="no se importó nada"):
        call_command("importar_estados_smartflex", mala)
    salida = capsys.readouterr().out
    assert "fila 2, columna estado: Estado «rara» desconocido" in salida
    assert not EstadoSmartflex.objects.filter(numero="SF-Z").exists()
    call_command("importar_estados_smartflex", mala, "--aceptar-validas")
    assert EstadoSmartflex.objects.filter(numero="SF-Z").exists()
    with pytest.raises(CommandError, match="No existe el usuario"):
        call_command("importar_estados_smartflex", mala, "--usuario", "nadie")


# --- the job: upload, the task, the drop folder ---------------------------------------------------------
def test_subir_estados_crea_la_importacion_y_la_tarea_la_termina(esc, u, django_capture_on_commit_callbacks):
    s = esc.solicitud("registrada")
    archivo = SimpleUploadedFile(
        "estados.csv", csv_bytes([["", s.numero_smartflex, "anulada", "01/05/2024", "Desiste", ""]])
    )
    with django_capture_on_commit_callbacks(execute=True):
        imp = conciliacion.subir_estados(archivo, u.gestion_red)
    imp.refresh_from_db()
    assert (imp.clase, imp.etapa, imp.total, imp.creadas, imp.diferencias) == ("estados", "terminada", 1, 1, 1)
    assert "1 diferencia nueva" in imp.mensaje
    assert estado_sf(s.numero_smartflex).importacion_id == imp.pk


def test_subir_estados_rechaza_lo_que_no_es_planilla(u, settings):
    from anulaciones.errors import DatosInvalidos

    with pytest.raises(DatosInvalidos):
        conciliacion.subir_estados(SimpleUploadedFile("foto.png", b"x"), u.gestion_red)
    settings.ANULACIONES_IMPORTACION_MAX_MB = 0.001
    with pytest.raises(DatosInvalidos):
        conciliacion.subir_estados(SimpleUploadedFile("e.csv", b"x" * 5000), u.gestion_red)
    assert not ImportacionSmartflex.objects.exists()


def test_la_tarea_importar_smartflex_despacha_por_clase_y_guarda_errores(u):
    from django.core.files.base import ContentFile

    imp = ImportacionSmartflex.objects.create(usuario=u.gestion_red, nombre="e.csv", clase="estados")
    imp.archivo.save("e.csv", ContentFile(csv_bytes([["", "SF-1", "rara", "01/05/2024", "", ""]])))
    assert tasks.importar_smartflex(imp.pk) == "con_errores"
    imp.refresh_from_db()
    assert imp.errores[0]["columna"] == "estado" and imp.mensaje.startswith("No se importó nada")
    assert tasks.importar_smartflex(imp.pk) == "con_errores"  # claimed already: nothing twice


def test_una_importacion_de_estados_parada_se_retoma_con_la_recuperacion(u, esc, django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile

    s = esc.solicitud("registrada")
    imp = ImportacionSmartflex.objects.create(
        usuario=u.gestion_red, nombre="e.csv", clase="estados", etapa="importando"
    )
    imp.archivo.save("e.csv", ContentFile(csv_bytes([["", s.numero_smartflex, "anulada", "01/05/2024", "", ""]])))
    ImportacionSmartflex.objects.filter(pk=imp.pk).update(latido_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):  # queued after the commit (eager here)
        tasks.recuperar_pendientes()
    imp.refresh_from_db()
    assert imp.etapa == "terminada" and imp.diferencias == 1


@pytest.fixture
def carpeta(tmp_path, settings):
    ruta = tmp_path / "entrada"
    ruta.mkdir()
    settings.ANULACIONES_SMARTFLEX_CARPETA = str(ruta)
    return ruta


def _antiguo(ruta, segundos=60):
    t = time.time() - segundos
    os.utime(ruta, (t, t))


def test_carpeta_de_entrada(carpeta, esc, u, settings, django_capture_on_commit_callbacks):
    s = esc.solicitud("registrada")
    lista = carpeta / "estados 2024-05-03.csv"
    lista.write_bytes(
        csv_bytes([["", s.numero_smartflex, "anulada", "03/05/2024", "Desiste", ""]], sep=";", encoding="cp1252")
    )
    _antiguo(lista)
    copiandose = carpeta / "parcial.csv"
    copiandose.write_bytes(b"tipo;numero")  # modified just now: maybe still being copied
    (carpeta / "notas.txt").write_text("no es un archivo de estados")
    enorme = carpeta / "enorme.xlsx"
    enorme.write_bytes(b"PK\x03\x04" + b"x" * 5000)
    _antiguo(enorme)
    settings.ANULACIONES_IMPORTACION_MAX_MB = 0.004  # 4 KB: the big one cannot be stored

    with django_capture_on_commit_callbacks(execute=True):
        pks = tasks.recoger_estados_smartflex()

    assert len(pks) == 1
    imp = ImportacionSmartflex.objects.get(pk=pks[0])
    assert (imp.clase, imp.usuario.username, imp.nombre, imp.etapa) == ("estados", "sistema", lista.name, "terminada")
    assert abiertas() == {(s.numero_smartflex, C.ANULADA_EN_SMARTFLEX)}
    assert (carpeta / "procesados" / lista.name).exists() and not lista.exists()
    assert (carpeta / "con_errores" / "enorme.xlsx").exists()
    assert copiandose.exists() and (carpeta / "notas.txt").exists()
    assert conciliacion.recoger_carpeta() == []  # a second run: nothing twice

    # the same name again later: kept beside the first one
    lista.write_bytes(csv_bytes([["", s.numero_smartflex, "anulada", "03/05/2024", "Desiste", ""]]))
    _antiguo(lista)
    assert len(conciliacion.recoger_carpeta()) == 1
    assert (carpeta / "procesados" / "estados 2024-05-03-2.csv").exists()


def test_carpeta_sin_configurar_o_inexistente(settings, tmp_path):
    settings.ANULACIONES_SMARTFLEX_CARPETA = ""
    assert conciliacion.recoger_carpeta() == []
    settings.ANULACIONES_SMARTFLEX_CARPETA = str(tmp_path / "no-existe")
    assert tasks.recoger_estados_smartflex() == []


def test_un_archivo_tomado_por_una_recogida_que_murio_se_recoge_despues(carpeta, u):
    en_curso = carpeta / "en_curso"
    en_curso.mkdir()
    huerfano = en_curso / "e.csv"
    huerfano.write_bytes(csv_bytes([["", "SF-H", "anulada", "01/05/2024", "", ""]]))
    assert conciliacion.recoger_carpeta() == []  # claimed a moment ago: another pickup has it
    _antiguo(huerfano, 3600)
    assert len(conciliacion.recoger_carpeta()) == 1
    assert (carpeta / "procesados" / "e.csv").exists()


# --- the property: the same feed whole, twice, or in halves in either order ends the same ----------------
@pytest.fixture
def conocidas(esc):
    solicitudes = [
        esc.solicitud(e) for e in ("registrada", "en_instalacion", "anulada", "instalada", "pendiente_redigitacion")
    ]
    ot = esc.orden("asignada")
    return [("solicitud", s.numero_smartflex) for s in solicitudes] + [
        ("ot", ot.numero),
        ("ot", solicitudes[1].orden.numero),
    ]


PALABRAS = ["registrada", "Vigente", "anulada", "CANCELADA", "ejecutada", "Instalada"]
FECHAS = ["01/05/2024 10:00", "01/05/2024 10:00", "02/05/2024", "2024-05-01T10:00:00", "03/05/2024 08:30"]
DESCONOCIDAS = [("solicitud", "SF-X-1"), ("solicitud", "SF-X-2"), ("ot", "OT-X-3")]


@hsettings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_propiedad_entero_dos_veces_o_en_mitades_en_cualquier_orden(data, conocidas, escribir, u, settings):
    settings.ANULACIONES_IMPORTACION_LOTE = 3  # several batches: the order across them matters too
    numeros = conocidas + DESCONOCIDAS
    fila = st.tuples(
        st.sampled_from(numeros),
        st.sampled_from(PALABRAS),
        st.sampled_from(FECHAS),
        st.sampled_from(["", "Desiste", "Mudanza"]),
    )
    filas = [[t, n, e, f, m, ""] for (t, n), e, f, m in data.draw(st.lists(fila, min_size=1, max_size=12))]
    corte = data.draw(st.integers(0, len(filas)))
    entero, a, b = (escribir(csv_bytes(x)) for x in (filas, filas[:corte], filas[corte:]))

    def estado_final(*rutas):
        with transaction.atomic():
            for ruta in rutas:
                r = importar(ruta, u.gestion_red)
                assert r.importado or r.total == 0, r.errores
            final = (
                sorted(EstadoSmartflex.objects.values_list(*conciliacion.CAMPOS, "clave", "solicitud_id")),
                sorted(
                    Diferencia.objects.filter(estado="abierta").values_list("fuente__objeto", "fuente__numero", "clase")
                ),
                sorted(Solicitud.objects.values_list("numero_smartflex", "estado")),
            )
            transaction.set_rollback(True)
        return final

    esperado = estado_final(entero)
    assert estado_final(entero, entero) == esperado
    assert estado_final(a, b) == esperado
    assert estado_final(b, a) == esperado


# --- a constant number of queries per batch ----------------------------------------------------------------
def test_las_consultas_por_lote_no_dependen_de_cuantas_filas_tiene(escribir, esc, u):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    solicitudes = [esc.solicitud("registrada") for _ in range(12)]

    def consultas(n):
        filas = [["", s.numero_smartflex, "anulada", "01/05/2024", "Desiste", ""] for s in solicitudes[:n]]
        filas += [["ot", f"OT-X-{i}", "registrada", "01/05/2024", "", ""] for i in range(n)]
        ruta = escribir(csv_bytes(filas))
        with transaction.atomic():
            with CaptureQueriesContext(connection) as c:
                r = importar(ruta, u.gestion_red)
            assert r.diferencias == n and r.total_avisos == n
            transaction.set_rollback(True)
        return len(c.captured_queries)

    assert consultas(2) == consultas(12)


# --- a real Celery worker and its beat pick a feed from the drop folder ------------------------------------
@pytest.mark.django_db(transaction=True)
def test_un_trabajador_real_recoge_la_carpeta_e_importa_los_estados(
    tmp_path,
    esc,
    u,
    settings,
    trabajador,  # noqa: F811
):
    s = esc.solicitud("registrada")
    entrada = tmp_path / "entrada"
    entrada.mkdir()
    feed = entrada / "estados.csv"
    filas = [["", s.numero_smartflex, "Anulada", "03/05/2024 10:00", "Cliente desistió", ""]]
    filas += [["", f"SF-W-{i}", "anulada" if i % 2 else "vigente", "03/05/2024", "", ""] for i in range(60)]
    feed.write_bytes(csv_bytes(filas, sep=";", encoding="cp1252"))
    _antiguo(feed)
    settings.MEDIA_ROOT = str(tmp_path / "media-web")
    trabajador(
        beat=True,
        MEDIA_ROOT=str(tmp_path / "media-trabajador"),
        ANULACIONES_IMPORTACION_LOTE="20",
        ANULACIONES_SMARTFLEX_CARPETA=str(entrada),
        ANULACIONES_SMARTFLEX_CARPETA_SEGUNDOS="1",
    )

    def terminada():
        return ImportacionSmartflex.objects.filter(clase="estados", etapa__in=ImportacionSmartflex.FINALES).exists()

    assert esperar(terminada, 90)
    imp = ImportacionSmartflex.objects.get()
    assert (imp.etapa, imp.total, imp.creadas, imp.diferencias) == ("terminada", 61, 61, 31), imp.mensaje
    assert (imp.usuario.username, imp.nombre) == ("sistema", "estados.csv")
    assert abiertas() == {(s.numero_smartflex, C.ANULADA_EN_SMARTFLEX)} | {
        (f"SF-W-{i}", C.SIN_CASO) for i in range(1, 60, 2)
    }
    assert (entrada / "procesados" / "estados.csv").exists() and not feed.exists()


# --- after the rows: what a setting applies by itself, and the re-entries paired ---------------------------
def test_lo_que_el_ajuste_marca_como_seguro_se_aplica_al_importar(escribir, esc, u, settings):
    settings.ANULACIONES_SMARTFLEX_AUTOMATICO = ["anulada_en_smartflex"]
    s = esc.solicitud("registrada")
    ayer = timezone.localtime() - timedelta(days=1)
    contenido = csv_bytes([["", s.numero_smartflex, "anulada", ayer.strftime("%d/%m/%Y %H:%M"), "Desiste", ""]])
    r = importar(escribir(contenido), u.gestion_red)
    assert (r.diferencias, r.automaticas) == (1, 1) and "1 aplicada automáticamente" in conciliacion.resumen(r)
    s.refresh_from_db()
    assert s.estado == "anulada" and s.anulada_at == ayer.replace(second=0, microsecond=0)
    d = Diferencia.objects.get()
    assert (d.estado, d.automatica) == ("anulacion_registrada", True)
    r = importar(escribir(contenido), u.gestion_red)  # both systems agree now
    assert (r.diferencias, r.automaticas) == (0, 0) and abiertas() == set()


def test_la_importacion_propone_las_re_digitaciones(escribir, esc, u):
    anulada = esc.solicitud("anulada", cliente_documento="4455667 LP", cliente_telefono="71234567")
    nueva = esc.solicitud("registrada", cliente_documento="4455667 LP", cliente_telefono="71234567")
    r = importar(escribir(csv_bytes([["", nueva.numero_smartflex, "vigente", "01/05/2024", "", ""]])), u.gestion_red)
    assert r.emparejadas == 1 and "1 re-digitación propuesta" in conciliacion.resumen(r)
    assert anulada.emparejamientos_anulada.get().nueva == nueva


def test_la_cuenta_de_diferencias_es_la_de_las_que_quedan_abiertas(escribir, esc, u, settings):
    """An older «anulada» of a number in the first batch opens a difference that its newer
    «vigente» in a later batch removes: the import reports the differences it left open (0), not
    the ones opened on the way."""
    settings.ANULACIONES_IMPORTACION_LOTE = 1
    s = esc.solicitud("registrada")
    r = importar(
        escribir(
            csv_bytes(
                [
                    ["solicitud", s.numero_smartflex, "anulada", "02/05/2024 10:00", "", ""],
                    ["solicitud", s.numero_smartflex, "vigente", "02/05/2024 11:00", "", ""],
                ]
            )
        ),
        u.gestion_red,
    )
    assert r.importado and abiertas() == set()
    assert r.diferencias == 0


@pytest.mark.parametrize("orden", [(0, 1), (1, 0)])
def test_registrada_y_anulada_del_mismo_dia_gana_la_anulacion(orden, escribir, esc, u):
    """Review finding: with dates alone (noon) a registration and a cancellation of the same day
    tied and a digest chose: cancellations were lost. Same instant → the cancellation wins, in
    one file or two, in either order."""
    s = esc.solicitud("registrada")
    filas = [
        ["solicitud", s.numero_smartflex, "vigente", "02/05/2024", "", ""],
        ["solicitud", s.numero_smartflex, "anulada", "02/05/2024", "Desiste", ""],
    ]
    for i in orden:
        importar(escribir(csv_bytes([filas[i]])), u.gestion_red)
    assert estado_sf(s.numero_smartflex).estado == "anulada"
    assert abiertas() == {(s.numero_smartflex, C.ANULADA_EN_SMARTFLEX)}
    Diferencia.objects.all().delete()
    EstadoSmartflex.objects.all().delete()
    importar(escribir(csv_bytes([filas[i] for i in orden])), u.gestion_red)
    assert estado_sf(s.numero_smartflex).estado == "anulada"


def test_una_ot_anulada_desconocida_no_crea_un_segundo_caso(escribir, u):
    """Review finding: a cancelled Solicitud unknown to the application and its (unknown) OT
    opened two «sin caso» differences — two cases for one cancellation. Only the Solicitud's row
    opens it; the OT's row is a warning."""
    r = importar(
        escribir(
            csv_bytes(
                [
                    ["solicitud", "SF-NUEVA-1", "anulada", "02/05/2024 10:00", "Desiste", ""],
                    ["ot", "OT-998877", "anulada", "02/05/2024 10:00", "Desiste", ""],
                ]
            )
        ),
        u.gestion_red,
    )
    assert abiertas() == {("SF-NUEVA-1", C.SIN_CASO)}
    assert [(a["fila"], a["mensaje"]) for a in r.avisos] == [(3, conciliacion.AVISO_OT_DESCONOCIDA)]
