"""Imports with bounds (issue 13, item 5): upload size, header columns (a linear check), data
rows, each field's length, the errors kept, and the CSVs Excel writes in Spanish locales
(Windows-1252, ``;``), for the Smartflex import and the GIS layer import."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from anulaciones import importacion
from anulaciones.models import Calle, ImportacionSmartflex, Solicitud

pytestmark = pytest.mark.django_db

CAB = importacion.COLUMNAS


def fila(numero, **extra):
    base = {
        "numero_smartflex": numero,
        "tipo": "instalacion",
        "cliente_nombre": "Juana Mamani",
        "calle": "Av. Busch",
        "zona": "Z1",
        "asesor": "asesor",
        "referencias": "Frente al mercado",
    }
    base.update(extra)
    return [base.get(c, "") for c in CAB]


def csv_bytes(filas, separador=",", codificacion="utf-8", cabecera=CAB):
    texto = io.StringIO()
    w = csv.writer(texto, delimiter=separador, lineterminator="\r\n")
    w.writerow(cabecera)
    w.writerows(filas)
    return texto.getvalue().encode(codificacion)


def xlsx(tmp_path, filas, cabecera=CAB, nombre="s.xlsx"):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(cabecera)
    for f in filas:
        ws.append(f)
    ruta = tmp_path / nombre
    wb.save(ruta)
    return ruta


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def escribir(tmp_path):
    def escribir(contenido, nombre="s.csv"):
        ruta = tmp_path / nombre
        ruta.write_bytes(contenido)
        return ruta

    return escribir


def _importar(ruta, user, **kw):
    return importacion.importar(str(ruta), user, **kw)


# --- columns: a 200,000-column header is refused before any per-column work --------------------
def test_cabecera_de_200000_columnas_se_rechaza_con_trabajo_lineal(escribir, u, monkeypatch):
    cabecera = CAB + [f"x{i}" for i in range(200_000 - len(CAB))]
    ruta = escribir(csv_bytes([fila("SF-1")], cabecera=cabecera))
    assert 1_400_000 < ruta.stat().st_size < 1_700_000  # the 1.5 MB file of the issue

    convertidas = 0
    original = importacion._texto

    def contar(valor):  # the old check converted every cell, then compared every pair (470 s)
        nonlocal convertidas
        convertidas += 1
        assert convertidas <= 1_000, "per-column work on a header over the column limit"
        return original(valor)

    monkeypatch.setattr(importacion, "_texto", contar)
    r = _importar(ruta, u.gestion_red, aceptar_validas=True)
    assert not r.importado and r.total == 0
    assert [(e["fila"], e["columna"]) for e in r.errores] == [(0 + 1, "")]
    assert "más de 100 columnas (200.000)" in r.errores[0]["mensaje"]
    assert r.total_errores == 1 and convertidas == 0
    assert not Solicitud.objects.exists()


def test_cabecera_xlsx_demasiado_ancha_y_columnas_repetidas(tmp_path, u, settings):
    settings.ANULACIONES_IMPORTACION_MAX_COLUMNAS = 20
    ancha = xlsx(tmp_path, [fila("SF-1") + ["x"] * 10], cabecera=CAB + [f"x{i}" for i in range(10)])
    r = _importar(ancha, u.gestion_red)
    assert "más de 20 columnas" in r.errores[0]["mensaje"] and r.total_errores == 1
    # repeated names are found in one pass (Counter), each once
    repetida = xlsx(tmp_path, [fila("SF-1") + ["Z1"]], cabecera=CAB + ["zona"], nombre="r.xlsx")
    r = _importar(repetida, u.gestion_red)
    assert [(e["columna"], e["mensaje"]) for e in r.errores] == [("zona", "Columna repetida.")]


# --- rows --------------------------------------------------------------------------------------
@pytest.mark.parametrize("formato", ["csv", "xlsx"])
def test_mas_filas_que_el_limite_se_rechaza_y_deja_de_leer(formato, escribir, tmp_path, u, settings, monkeypatch):
    settings.ANULACIONES_IMPORTACION_MAX_FILAS = 50
    filas = [fila(f"SF-F-{i}") for i in range(80)]
    ruta = escribir(csv_bytes(filas)) if formato == "csv" else xlsx(tmp_path, filas)
    leidas = 0
    original = importacion._fila

    def contar(*args):
        nonlocal leidas
        leidas += 1
        return original(*args)

    monkeypatch.setattr(importacion, "_fila", contar)
    r = _importar(ruta, u.gestion_red, aceptar_validas=True)
    assert not r.importado and r.total == 0
    assert r.errores == [
        {
            "fila": 0,
            "columna": "",
            "mensaje": "El archivo tiene más de 50 filas de datos. Divídalo en archivos más pequeños.",
        }
    ]
    assert leidas == 51  # reading stopped at the first row over the limit
    assert not Solicitud.objects.exists()
    assert importacion.resumen(r).startswith("No se importó nada: El archivo tiene más de 50 filas")


def test_el_limite_de_filas_admite_exactamente_el_maximo(escribir, u, settings):
    settings.ANULACIONES_IMPORTACION_MAX_FILAS = 5
    r = _importar(escribir(csv_bytes([fila(f"SF-E-{i}") for i in range(5)] + [[""] * len(CAB)])), u.gestion_red)
    assert r.importado and r.creadas == 5, r.errores


# --- fields ------------------------------------------------------------------------------------
def test_campo_mas_largo_que_el_modelo_es_error_de_fila_y_no_se_guarda(escribir, u, settings):
    settings.ANULACIONES_IMPORTACION_MAX_TEXTO = 2000
    ruta = escribir(
        csv_bytes(
            [
                fila("SF-L-1"),
                fila("SF-L-2", referencias="r" * 2001),  # TextField: the text limit
                fila("SF-L-3", cliente_nombre="n" * 201),  # CharField(200)
                fila("SF-L-4", zona="Z" * 100_000),  # the zone code's length, not quoted whole
                fila("SF-L-5", referencias="r" * 2000),  # exactly the limit: fine
            ]
        )
    )
    r = _importar(ruta, u.gestion_red)
    assert not r.importado
    assert {(e["fila"], e["columna"]) for e in r.errores} == {(3, "referencias"), (4, "cliente_nombre"), (5, "zona")}
    mensajes = {e["columna"]: e["mensaje"] for e in r.errores}
    assert mensajes["referencias"] == "Más de 2.000 caracteres (2.001)."
    assert mensajes["cliente_nombre"] == "Más de 200 caracteres (201)."
    assert len(mensajes["zona"]) < 80  # never the 100,000 characters in a message
    assert not Solicitud.objects.exists()
    # importing the good rows leaves the long ones out
    r = _importar(ruta, u.gestion_red, aceptar_validas=True)
    assert r.importado and r.creadas == 2
    assert sorted(Solicitud.objects.values_list("numero_smartflex", flat=True)) == ["SF-L-1", "SF-L-5"]
    assert max(len(x) for x in Solicitud.objects.values_list("referencias", flat=True)) == 2000


def xlsx_con_texto(tmp_path, texto):
    """An XLSX whose first row's ``referencias`` is ``texto``, written into the package by hand
    (openpyxl itself cuts a cell at 32,767 characters)."""
    import zipfile

    plantilla = xlsx(tmp_path, [fila("SF-X-1", referencias="MARCADOR"), fila("SF-X-2")], nombre="p.xlsx")
    ruta = tmp_path / "s.xlsx"
    with zipfile.ZipFile(plantilla) as origen, zipfile.ZipFile(ruta, "w", zipfile.ZIP_DEFLATED) as destino:
        for parte in origen.infolist():
            destino.writestr(
                parte, origen.read(parte).replace(b"MARCADOR", texto.encode()), compress_type=zipfile.ZIP_DEFLATED
            )
    return ruta


def test_xlsx_pequeno_con_texto_enorme_no_se_guarda(tmp_path, u):
    """A tiny XLSX (its text compresses ~1000x) used to store a huge ``referencias``."""
    ruta = xlsx_con_texto(tmp_path, "ab" * 1_000_000)
    assert ruta.stat().st_size < 20_000
    r = _importar(ruta, u.gestion_red, aceptar_validas=True)
    assert r.importado and r.creadas == 1
    assert [(e["fila"], e["columna"], e["mensaje"]) for e in r.errores] == [
        (2, "referencias", "Más de 2.000 caracteres (2.000.000).")
    ]
    assert list(Solicitud.objects.values_list("numero_smartflex", flat=True)) == ["SF-X-2"]


def test_campo_csv_mayor_que_el_limite_del_modulo_csv_es_error_de_su_fila(escribir, u):
    ruta = escribir(csv_bytes([fila("SF-C-1"), fila("SF-C-2", referencias="r" * 200_000), fila("SF-C-3")]))
    r = _importar(ruta, u.gestion_red, aceptar_validas=True)
    assert r.importado and r.creadas == 2
    assert [(e["fila"], e["columna"]) for e in r.errores] == [(3, "")]
    assert "131.072 caracteres" in r.errores[0]["mensaje"]


def test_xlsx_que_descomprimido_excede_el_limite(tmp_path, u, settings):
    settings.ANULACIONES_IMPORTACION_MAX_MB = 0.1  # 102 KB: 2 MB uncompressed at most
    ruta = xlsx_con_texto(tmp_path, "ab" * 1_500_000)  # 3 MB of XML in a few KB
    assert ruta.stat().st_size < 0.1 * 1024 * 1024
    r = _importar(ruta, u.gestion_red, aceptar_validas=True)
    assert not r.importado and r.errores[0]["mensaje"].startswith("El XLSX ocupa 2,9 MB descomprimido (máximo 2 MB)")


# --- errors: the first N and the count ---------------------------------------------------------
def test_muchos_errores_se_guardan_los_primeros_n_y_el_total(
    escribir, u, settings, django_capture_on_commit_callbacks, client
):
    settings.ANULACIONES_IMPORTACION_MAX_ERRORES = 50
    settings.ANULACIONES_IMPORTACION_LOTE = 100
    filas = [fila(f"SF-M-{i}", zona="ZX", tipo="portabilidad") for i in range(1000)] + [fila("SF-M-OK")]
    ruta = escribir(csv_bytes(filas))
    mayor = 0

    def progreso(r):
        nonlocal mayor
        mayor = max(mayor, len(r.errores))

    r = importacion.importar(str(ruta), u.gestion_red, progreso=progreso)
    assert (r.total, r.con_error, r.total_errores) == (1001, 1000, 2000)
    assert len(r.errores) == 50 and mayor <= 2 * 50 + 100  # never more than that in memory
    assert [(e["fila"], e["columna"]) for e in r.errores[:4]] == [(2, "tipo"), (2, "zona"), (3, "tipo"), (3, "zona")]
    assert r.errores[-1]["fila"] == 26
    assert "se guardan los primeros 50 de 2.000 errores" in importacion.resumen(r)

    # through the page and the task: the record keeps 50 and the count
    client.force_login(u.gestion_red)
    with django_capture_on_commit_callbacks(execute=True), open(ruta, "rb") as f:
        assert client.post("/importar/", {"archivo": f}).status_code == 302
    imp = ImportacionSmartflex.objects.get()
    assert (imp.etapa, imp.con_error, imp.total_errores, len(imp.errores)) == ("con_errores", 1000, 2000, 50)
    assert "50 de 2.000 errores" in client.get(f"/importar/{imp.pk}/").content.decode()
    lineas = b"".join(client.get(f"/importar/{imp.pk}/errores.csv").streaming_content).decode("utf-8-sig").splitlines()
    assert len(lineas) == 1 + 50 + 1 and "primeros 50 de 2000 errores" in lineas[-1]
    # the good row, imported on request: the count of errors stays
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/importar/{imp.pk}/aceptar/")
    imp.refresh_from_db()
    assert (imp.etapa, imp.creadas, imp.total_errores, len(imp.errores)) == ("terminada", 1, 2000, 50)


# --- the upload size: the form, the JSON answer, the GIS page, the function ----------------------
def test_subida_demasiado_grande_rechazada_en_el_formulario(client, u, settings, media):
    settings.ANULACIONES_IMPORTACION_MAX_MB = 0.01  # 10 KB
    client.force_login(u.gestion_red)
    contenido = csv_bytes([fila(f"SF-G-{i}") for i in range(300)])
    assert 20_000 < len(contenido) < 60_000  # over the limit, under limit + multipart slack
    r = client.post("/importar/", {"archivo": SimpleUploadedFile("s.csv", contenido)})
    assert r.status_code == 413
    pagina = r.content.decode()
    assert "El archivo supera el máximo de 10 KB. Divídalo en archivos más pequeños." in pagina
    assert "Este campo es obligatorio" not in pagina
    # far over the limit: refused by its Content-Length, the body never read
    grande = csv_bytes([fila(f"SF-H-{i}") for i in range(2000)])
    r = client.post("/importar/", {"archivo": SimpleUploadedFile("g.csv", grande)})
    assert r.status_code == 413 and "supera el máximo de 10 KB" in r.content.decode()
    assert not ImportacionSmartflex.objects.exists() and not Solicitud.objects.exists()
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_subida_demasiado_grande_responde_json_a_un_cliente_json(client, u, settings):
    settings.ANULACIONES_IMPORTACION_MAX_MB = 0.01
    client.force_login(u.coc)
    for filas in (300, 2000):  # the upload handler and the Content-Length paths
        r = client.post(
            "/importar/",
            {"archivo": SimpleUploadedFile("s.csv", csv_bytes([fila(f"SF-J-{i}") for i in range(filas)]))},
            HTTP_ACCEPT="application/json",
        )
        assert r.status_code == 413 and r["Content-Type"].startswith("application/json")
        cuerpo = r.json()
        assert cuerpo["detail"] == cuerpo["errores"]["archivo"] and "supera el máximo de 10 KB" in cuerpo["detail"]
    assert not ImportacionSmartflex.objects.exists()


def test_subida_dentro_del_limite_sigue_valiendo(client, u, settings, django_capture_on_commit_callbacks):
    settings.ANULACIONES_IMPORTACION_MAX_MB = 0.01
    client.force_login(u.gestion_red)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/importar/", {"archivo": SimpleUploadedFile("s.csv", csv_bytes([fila("SF-OK-1")]))})
    assert r.status_code == 302
    assert ImportacionSmartflex.objects.get().etapa == "terminada"


def test_la_subida_sigue_exigiendo_el_token_csrf(u, settings):
    from django.test import Client

    settings.ANULACIONES_IMPORTACION_MAX_MB = 0.01
    client = Client(enforce_csrf_checks=True)
    client.force_login(u.gestion_red)
    r = client.post("/importar/", {"archivo": SimpleUploadedFile("s.csv", csv_bytes([fila("SF-T-1")]))})
    assert r.status_code == 403  # no token: refused as before
    token = client.get("/importar/").context["csrf_token"]
    r = client.post(
        "/importar/",
        {"csrfmiddlewaretoken": str(token), "archivo": SimpleUploadedFile("s.csv", csv_bytes([fila("SF-T-1")]))},
    )
    assert r.status_code == 302
    # far over the limit the body is never read: refused by its size, nothing stored, no token needed
    r = client.post(
        "/importar/", {"archivo": SimpleUploadedFile("g.csv", csv_bytes([fila(f"SF-T-{i}") for i in range(2000)]))}
    )
    assert r.status_code == 413 and ImportacionSmartflex.objects.count() == 1


def test_archivo_demasiado_grande_rechazado_por_la_funcion_y_el_comando(escribir, u, settings):
    from django.core.management import CommandError, call_command

    settings.ANULACIONES_IMPORTACION_MAX_MB = 0.01
    ruta = escribir(csv_bytes([fila(f"SF-K-{i}") for i in range(200)]))
    r = _importar(ruta, u.gestion_red, aceptar_validas=True)
    assert not r.importado and r.errores[0]["mensaje"].startswith("El archivo pesa 16 KB: supera el máximo de 10 KB")
    with pytest.raises(CommandError):
        call_command("importar_smartflex", str(ruta), stdout=io.StringIO())
    assert not Solicitud.objects.exists()


def test_capa_del_sig_demasiado_grande_rechazada(client, u, zona, settings):
    settings.ANULACIONES_IMPORTACION_MAX_MB = 0.01
    client.force_login(u.gestion_red)
    capa = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-68.15, -16.5]},
                "properties": {"kind": "punto_referencia", "name": f"Punto {i}", "zone": "Z1"},
            }
            for i in range(200)
        ],
    }
    r = client.post("/direcciones/importar/", {"archivo": SimpleUploadedFile("c.geojson", json.dumps(capa).encode())})
    assert r.status_code == 413 and "supera el máximo de 10 KB" in r.content.decode()


# --- what Excel writes in Spanish locales: Windows-1252 and ";" --------------------------------
@pytest.mark.parametrize(
    "codificacion,bom", [("cp1252", b""), ("cp1252", b"\xef\xbb\xbf"), ("utf-8", b"\xef\xbb\xbf"), ("utf-8", b"")]
)
def test_csv_de_excel_en_espanol(codificacion, bom, escribir, u):
    contenido = bom + csv_bytes(
        [
            fila(
                "SF-Ñ-1",
                cliente_nombre="José Pérez",
                calle="Av. Ñuñoa 123",
                referencias="Frente a la plazuela «Güemes»",
            )
        ],
        separador=";",
        codificacion=codificacion,
    )
    assert ("é".encode("cp1252") in contenido) == (codificacion == "cp1252")
    r = _importar(escribir(contenido), u.gestion_red)
    assert r.importado and r.creadas == 1, r.errores
    s = Solicitud.objects.get()
    assert (s.numero_smartflex, s.cliente_nombre, s.calle, s.referencias) == (
        "SF-Ñ-1",
        "José Pérez",
        "Av. Ñuñoa 123",
        "Frente a la plazuela «Güemes»",
    )


def test_capa_csv_de_excel_en_espanol(client, u, zona):
    client.force_login(u.gestion_red)
    contenido = "kind;name;zone;lat;lon\r\ncalle;Av. Ñuñoa;Z1;-16,5;-68,15\r\n".encode("cp1252")
    r = client.post("/direcciones/importar/", {"archivo": SimpleUploadedFile("capa.csv", contenido)})
    assert r.status_code == 200, r.content.decode()[:2000]
    assert list(Calle.objects.values_list("nombre", flat=True)) == ["Av. Ñuñoa"]
