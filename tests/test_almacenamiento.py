"""Files every machine can reach (issue 13, item 12): the Smartflex uploads and the monthly
workbooks live in the database (``anulaciones.almacenamiento.AlmacenamientoBD``, the default with
PostgreSQL), in an S3 bucket, or on the local disk with SQLite.

The last test runs a REAL Celery worker whose MEDIA_ROOT is another empty folder than the web
process's (as on another machine): an import uploaded through the page and two deliveries, one
built by each side, complete, and neither folder ever holds a file. It needs PostgreSQL and Redis
(like tests/test_worker.py); CI provides both."""

import io
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone
from openpyxl import load_workbook

from anulaciones.almacenamiento import AlmacenamientoBD
from anulaciones.models import ArchivoGuardado, Entrega, ImportacionSmartflex, Solicitud, Zonificacion

BASE = Path(__file__).resolve().parent.parent
CAB = "numero_smartflex,tipo,cliente_nombre,calle,zona,asesor\n"
EN_BD = {
    "default": {"BACKEND": "anulaciones.almacenamiento.AlmacenamientoBD"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def _archivos(carpeta):
    return [p for p in Path(carpeta).rglob("*") if p.is_file()] if Path(carpeta).exists() else []


# --- the storage backend ------------------------------------------------------------------------
@pytest.mark.django_db
def test_almacenamiento_en_la_base_guarda_lee_y_borra():
    a = AlmacenamientoBD()
    nombre = a.save("importaciones/prueba.csv", ContentFile(b"numero;nombre\n1;P\xe9rez\n"))
    assert nombre == "importaciones/prueba.csv" and a.exists(nombre)
    with a.open(nombre) as f:
        assert f.read() == b"numero;nombre\n1;P\xe9rez\n"
    assert a.size(nombre) == 22 and a.get_modified_time(nombre) is not None
    otro = a.save("importaciones/prueba.csv", ContentFile("texto ñ"))  # the name is taken: another one
    assert otro != nombre and otro.startswith("importaciones/prueba") and a.open(otro).read() == "texto ñ".encode()
    assert a.listdir("importaciones") == ([], sorted([nombre.split("/")[1], otro.split("/")[1]]))
    assert a.listdir("") == (["importaciones"], [])
    with pytest.raises(ValueError):
        a.open(nombre, "wb")
    with pytest.raises(NotImplementedError):
        a.path(nombre)  # no local path: callers open() the file
    a.delete(nombre)
    assert not a.exists(nombre) and ArchivoGuardado.objects.count() == 1
    with pytest.raises(FileNotFoundError):
        a.open(nombre)
    with pytest.raises(FileNotFoundError):
        a.size(nombre)


@pytest.mark.django_db
def test_un_nombre_tomado_entre_la_consulta_y_el_insert_se_cambia(monkeypatch):
    a = AlmacenamientoBD()
    a.save("entregas/planilla.xlsx", ContentFile(b"primera"))
    monkeypatch.setattr(a, "exists", lambda name: False)  # as if another process saved it meanwhile
    with transaction.atomic():  # inside the caller's transaction, which stays usable
        otro = a.save("entregas/planilla.xlsx", ContentFile(b"segunda"))
        assert otro != "entregas/planilla.xlsx" and otro.startswith("entregas/planilla_")
        assert ArchivoGuardado.objects.count() == 2
    assert a.open(otro).read() == b"segunda" and a.open("entregas/planilla.xlsx").read() == b"primera"


@pytest.mark.django_db
def test_un_archivo_guardado_en_una_transaccion_revertida_no_queda():
    a = AlmacenamientoBD()
    with pytest.raises(RuntimeError), transaction.atomic():
        a.save("entregas/revertida.xlsx", ContentFile(b"x" * 10))
        raise RuntimeError
    assert not a.exists("entregas/revertida.xlsx")  # unlike a file on disk, nothing is left behind


def _almacen_por_defecto(**entorno):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANULACIONES_", "DATABASE_URL"))}
    env.update(DJANGO_DEBUG="1", **entorno)
    r = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s; print(s.STORAGES['default']['BACKEND'])"],
        cwd=BASE,
        env=dict(env, DJANGO_SETTINGS_MODULE="config.settings.local"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return r.stdout.strip() or r.stderr.strip().splitlines()[-1]


def test_el_almacen_por_defecto_sigue_a_la_base_de_datos():
    bd = _almacen_por_defecto(DATABASE_URL="postgres://x@127.0.0.1:5432/nada")
    assert bd == "anulaciones.almacenamiento.AlmacenamientoBD"
    assert (
        _almacen_por_defecto(DATABASE_URL="sqlite:////tmp/nada.sqlite3")
        == "anulaciones.almacenamiento.AlmacenamientoLocal"
    )
    assert _almacen_por_defecto(DATABASE_URL="sqlite:////tmp/nada.sqlite3", ANULACIONES_ALMACENAMIENTO="bd") == bd
    s3 = _almacen_por_defecto(ANULACIONES_S3_BUCKET="anulaciones")
    try:
        import storages  # noqa: F401 - only where the S3 option is installed
    except ImportError:
        assert "django-storages" in s3 and "RuntimeError" in s3
    else:
        assert s3 == "anulaciones.almacenamiento.AlmacenamientoS3"


# --- the application on the database storage (any database) ---------------------------------------
@pytest.fixture
def en_bd(settings, tmp_path):
    settings.STORAGES = EN_BD  # Django resets default_storage on this setting's change
    settings.MEDIA_ROOT = str(tmp_path / "media")
    assert isinstance(storages["default"], AlmacenamientoBD)
    assert Entrega._meta.get_field("archivo").storage.exists("nada") is False  # the FileFields follow
    return tmp_path / "media"


@pytest.mark.django_db
def test_importacion_y_entrega_sin_disco(en_bd, client, u, esc, django_capture_on_commit_callbacks):
    u.facturacion.email = "facturacion@example.com"
    u.facturacion.save()
    client.force_login(u.gestion_red)
    contenido = (CAB + "".join(f"SF-BD-{i},instalacion,Cliente {i},Calle {i},Z1,asesor\n" for i in range(5))).encode()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/importar/", {"archivo": SimpleUploadedFile("bd.csv", contenido)})
    imp = ImportacionSmartflex.objects.get()
    assert r.status_code == 302 and (imp.etapa, imp.creadas) == ("terminada", 5), imp.mensaje
    assert bytes(ArchivoGuardado.objects.get(nombre=imp.archivo.name).contenido) == contenido
    assert imp.archivo.open("rb").read() == contenido

    esc.zonificacion("digitada")
    mes = timezone.localdate().replace(day=1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/entregas/generar/", {"mes": f"{mes:%Y-%m}"})
    entrega = Entrega.objects.get()
    assert entrega.archivo.name.startswith("entregas/") and entrega.enviada_at is not None  # e-mailed
    assert Zonificacion.objects.get().estado == "remitida"
    client.force_login(u.facturacion)
    r = client.get(f"/entregas/{entrega.pk}/descargar/")
    libro = load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    assert [f[0] for f in libro["Casos"].iter_rows(min_row=2, values_only=True)] == [
        Zonificacion.objects.get().solicitud.numero_smartflex
    ]
    assert _archivos(en_bd) == []
    assert set(ArchivoGuardado.objects.values_list("nombre", flat=True)) == {imp.archivo.name, entrega.archivo.name}


@pytest.mark.django_db
def test_los_enlaces_del_admin_llevan_a_las_paginas_de_la_aplicacion(
    en_bd, client, u, esc, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    from anulaciones import entregas as reports

    esc.zonificacion("digitada")
    with django_capture_on_commit_callbacks(execute=True):
        entrega = reports.generar_entrega(timezone.localdate(), u.gestion_red)
    imp = ImportacionSmartflex.objects.create(usuario=u.coc, nombre="a.csv")
    imp.archivo.save("a.csv", ContentFile(CAB.encode()))
    assert entrega.archivo.url == f"/entregas/{entrega.pk}/descargar/"
    assert imp.archivo.url == f"/importar/{imp.pk}/"
    client.force_login(get_user_model().objects.create_superuser("raiz", "r@x.bo", "x"))
    for url, enlace in (
        (f"/admin/anulaciones/entrega/{entrega.pk}/change/", entrega.archivo.url),
        (f"/admin/anulaciones/importacionsmartflex/{imp.pk}/change/", imp.archivo.url),
    ):
        r = client.get(url)
        assert r.status_code == 200 and f'href="{enlace}"' in r.content.decode()
    assert "/media/" not in client.get(f"/admin/anulaciones/entrega/{entrega.pk}/change/").content.decode()


# --- two "machines": a web process and a real worker with different, empty media folders ---------
from .test_worker import base_url, esperar, redis_url, trabajador  # noqa: E402,F401 - fixtures


@contextmanager
def publicar_en_redis(url):
    """This test process publishes its tasks to Redis (for the real worker) instead of running
    them eagerly. Both spellings of each key are set: Celery 5.6 reads the Django-prefixed
    ``CELERY_…`` key before the lower-case one, so setting ``task_always_eager`` alone is ignored."""
    from config.celery import app

    claves = {
        "task_always_eager": False,
        "CELERY_TASK_ALWAYS_EAGER": False,
        "broker_url": url,
        "CELERY_BROKER_URL": url,
    }
    anteriores = {k: app.conf.get(k) for k in claves}
    app.conf.update(claves)
    app._pool = None
    app.amqp._producer_pool = None
    assert app.conf.task_always_eager is False and app.conf.broker_url == url
    try:
        yield app
    finally:
        # kombu keeps one pool per broker URL for the whole process: closing only app.pool would
        # leave that URL's pool closed for every later test ("Acquire on closed pool").
        from kombu import pools

        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.update(anteriores)


@pytest.mark.django_db(transaction=True)
def test_web_y_trabajador_con_carpetas_distintas_completan_importacion_y_entregas(
    client, u, esc, trabajador, redis_url, settings, tmp_path, monkeypatch
):  # noqa: F811
    from celery.result import EagerResult

    from anulaciones import entregas as reports
    from anulaciones import importacion, tasks

    def aqui_no(*args, **kwargs):
        raise AssertionError("this must run in the worker, not in the web process")

    monkeypatch.setattr(importacion, "importar", aqui_no)  # the import and the e-mail: worker only
    monkeypatch.setattr(reports, "enviar_entrega", aqui_no)

    assert connection.vendor == "postgresql"  # base_url skips otherwise (CI always has it)
    assert isinstance(storages["default"], AlmacenamientoBD), settings.STORAGES  # the default on PostgreSQL
    media_web, media_trabajador = tmp_path / "media-web", tmp_path / "media-trabajador"
    media_web.mkdir()
    media_trabajador.mkdir()
    settings.MEDIA_ROOT = str(media_web)
    u.facturacion.email = "facturacion@example.com"
    u.facturacion.save()
    p = trabajador(beat=False, MEDIA_ROOT=str(media_trabajador), ANULACIONES_IMPORTACION_LOTE="20")

    with publicar_en_redis(redis_url) as app:
        # 1. the web uploads an import; the worker reads the file and imports it
        client.force_login(u.gestion_red)
        contenido = (
            CAB + "".join(f"SF-DOS-{i},instalacion,Cliente {i},Calle {i},Z1,asesor\n" for i in range(60))
        ).encode("utf-8")
        r = client.post("/importar/", {"archivo": SimpleUploadedFile("dos.csv", contenido)})
        imp = ImportacionSmartflex.objects.get()
        assert r.status_code == 302

        def importada():
            imp.refresh_from_db()
            return imp.etapa in ImportacionSmartflex.FINALES

        assert esperar(importada, 60) and imp.etapa == "terminada", (imp.etapa, imp.mensaje)
        assert (imp.total, imp.creadas) == (60, 60)
        assert Solicitud.objects.filter(numero_smartflex__startswith="SF-DOS-").count() == 60
        assert imp.archivo.open("rb").read() == contenido  # the web reads it too

        # 2. the web builds this month's workbook; the worker opens it to e-mail it
        esc.zonificacion("digitada")
        mes = timezone.localdate().replace(day=1)
        client.post("/entregas/generar/", {"mes": f"{mes:%Y-%m}"})
        web = Entrega.objects.get(mes=mes)

        def enviada(entrega):
            def comprobar():
                entrega.refresh_from_db()
                return entrega.enviada_at is not None

            return comprobar

        assert esperar(enviada(web), 60), "the worker did not e-mail the workbook the web wrote"

        # 3. the worker builds the month's supplementary workbook; the web serves it
        esc.zonificacion("digitada")
        with app.connection_for_write(redis_url) as conexion:
            resultado = tasks.generar_entrega.apply_async(args=[mes.isoformat(), u.gestion_red.pk], connection=conexion)
        assert not isinstance(resultado, EagerResult)
        assert esperar(lambda: Entrega.objects.filter(mes=mes, numero=2, enviada_at__isnull=False).exists(), 60)
        del_trabajador = Entrega.objects.get(mes=mes, numero=2)
        assert p.poll() is None, "the worker died"

    client.force_login(u.facturacion)
    for entrega in (web, del_trabajador):
        r = client.get(f"/entregas/{entrega.pk}/descargar/")
        assert r.status_code == 200
        casos = list(
            load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)["Casos"].iter_rows(
                min_row=2, values_only=True
            )
        )
        assert len(casos) == entrega.filas == 1
    assert _archivos(media_web) == [] and _archivos(media_trabajador) == []
    assert set(ArchivoGuardado.objects.values_list("nombre", flat=True)) == {
        imp.archivo.name,
        web.archivo.name,
        del_trabajador.archivo.name,
    }
