"""Integration: an uploaded import runs in a REAL Celery worker on Redis, and its progress
record reaches the end by itself (PostgreSQL + Redis, as in CI)."""

import pytest
from celery.result import EagerResult
from django.core.files.base import ContentFile

from anulaciones.models import ImportacionSmartflex, RegistroAuditoria, Solicitud
from anulaciones.tasks import importar_smartflex

from .test_almacenamiento import publicar_en_redis
from .test_worker import base_url, esperar, redis_url, trabajador  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def test_un_trabajador_real_importa_y_guarda_el_progreso(
    u,
    zona,
    trabajador,
    redis_url,
    settings,  # noqa: F811
    tmp_path,
):
    # The web side and the worker have different media folders, as on two machines: the file
    # reaches the worker through the default storage (PostgreSQL), tests/test_almacenamiento.py.
    settings.MEDIA_ROOT = str(tmp_path / "media-web")
    trabajador(beat=False, MEDIA_ROOT=str(tmp_path / "media-trabajador"), ANULACIONES_IMPORTACION_LOTE="20")
    cab = "numero_smartflex,tipo,cliente_nombre,calle,zona,asesor\n"
    filas = "".join(f"SF-W-{i},instalacion,Cliente {i},Calle {i},Z1,asesor\n" for i in range(100))
    imp = ImportacionSmartflex.objects.create(usuario=u.gestion_red, nombre="w.csv")
    imp.archivo.save("w.csv", ContentFile((cab + filas).encode()))
    with publicar_en_redis(redis_url) as app:  # this test publishes to Redis for the real worker
        with app.connection_for_write(redis_url) as conexion:
            resultado = importar_smartflex.apply_async(args=[imp.pk], connection=conexion)
    assert not isinstance(resultado, EagerResult)

    def terminada():
        imp.refresh_from_db()
        return imp.etapa == "terminada"

    assert esperar(terminada, 60), (imp.etapa, imp.mensaje)
    assert (imp.total, imp.procesadas, imp.creadas) == (100, 100, 100)
    assert Solicitud.objects.filter(numero_smartflex__startswith="SF-W-").count() == 100
    assert RegistroAuditoria.objects.filter(transicion="registrar", usuario=u.gestion_red).count() == 100
