"""Health endpoints (issue 20.1): /salud/vivo, /salud/listo for probes, /salud/detalle for staff.

On the database of the run (SQLite or PostgreSQL: DATABASE_URL) and on a real Redis as broker and
cache (TEST_REDIS_URL, else redis://127.0.0.1:6379/12; skipped when unreachable unless set)."""

import os

import pytest
from celery import current_app
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from anulaciones.models import EjecucionPeriodica

pytestmark = pytest.mark.django_db
CHECKS = {"base_de_datos", "broker", "cache", "almacenamiento", "migraciones", "relojes"}


@pytest.fixture
def redis(settings, monkeypatch):
    """Redis as the Celery broker and as the cache, as in production."""
    import redis as libreria

    url = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/12"
    try:
        libreria.Redis.from_url(url, socket_connect_timeout=2).ping()
    except libreria.RedisError as e:
        if os.environ.get("TEST_REDIS_URL"):
            raise
        pytest.skip(f"Redis not reachable at {url} ({e}); set TEST_REDIS_URL")
    _broker(monkeypatch, url)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    return url


def _broker(monkeypatch, url):
    # Celery reads the environment before its configuration (what a deployment sets).
    monkeypatch.setenv("CELERY_BROKER_URL", url)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("operador", "operador@example.com", "x", is_staff=True)


def _listo(client):
    r = client.get("/salud/listo")
    assert r["Content-Type"] == "application/json"
    assert "no-cache" in r["Cache-Control"] or "max-age=0" in r["Cache-Control"]
    return r, r.json()


def test_vivo_responde_sin_tocar_la_base(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        r = client.get("/salud/vivo")
    assert r.status_code == 200
    assert r.json() == {"estado": "ok"}


def test_listo_todo_bien_con_redis(client, redis):
    r, cuerpo = _listo(client)
    assert r.status_code == 200, cuerpo
    assert cuerpo == {"estado": "ok", "comprobaciones": dict.fromkeys(CHECKS, "ok")}


def test_listo_con_el_broker_filesystem_embebido(client, tmp_path):
    """The embedded broker of `make run` (local settings), whatever broker the environment names."""
    for carpeta in ("entrada", "procesados"):
        (tmp_path / carpeta).mkdir()
    conf = current_app.conf
    antes = {clave: conf.get(clave) for clave in ("broker_url", "broker_transport_options")}
    conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": str(tmp_path / "entrada"),
            "data_folder_out": str(tmp_path / "entrada"),
            "processed_folder": str(tmp_path / "procesados"),
        },
    )
    try:
        r, cuerpo = _listo(client)
    finally:
        conf.update(antes)
    assert r.status_code == 200, cuerpo
    assert cuerpo["comprobaciones"]["broker"] == "ok"


def test_broker_caido_503_y_dice_cual(client, monkeypatch):
    _broker(monkeypatch, "redis://127.0.0.1:1/0")  # nothing listens there
    r, cuerpo = _listo(client)
    assert r.status_code == 503
    assert cuerpo["estado"] == "fallo"
    assert cuerpo["comprobaciones"]["broker"] == "fallo"
    assert {k for k, v in cuerpo["comprobaciones"].items() if v == "ok"} == CHECKS - {"broker"}
    # Nothing that helps an attacker: no host, port, exception text or version.
    texto = r.content.decode()
    for secreto in ("127.0.0.1", ":1", "Error", "refused", "redis"):
        assert secreto not in texto


def test_migracion_sin_aplicar_503(client):
    # The last migration recorded as not applied (in this test's transaction, rolled back after).
    ultima = max(nombre for app, nombre in MigrationRecorder(connection).applied_migrations() if app == "anulaciones")
    MigrationRecorder(connection).record_unapplied("anulaciones", ultima)
    r, cuerpo = _listo(client)
    assert r.status_code == 503
    assert cuerpo["comprobaciones"]["migraciones"] == "fallo"
    assert cuerpo["comprobaciones"]["base_de_datos"] == "ok"
    assert ultima[:4] not in r.content.decode()


def test_detalle_solo_para_staff_y_muestra_el_fallo(client, staff, u, monkeypatch):
    _broker(monkeypatch, "redis://127.0.0.1:1/0")
    r = client.get("/salud/detalle")
    assert r.status_code == 302 and "/cuentas/login/" in r["Location"]
    client.force_login(u.gestion_red)
    assert client.get("/salud/detalle").status_code == 403
    EjecucionPeriodica.objects.create(nombre="anulaciones.tasks.barrer_plazos", duracion=0.25)
    client.force_login(staff)
    r = client.get("/salud/detalle")
    assert r.status_code == 503
    html = r.content.decode()
    assert 'data-comprobacion="broker"' in html
    assert "Broker inaccesible: OperationalError" in html
    assert "anulaciones.tasks.barrer_plazos" in html and "0,250 s" in html


def test_anonimo_listo_no_redirige_a_login_ni_a_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/salud/vivo").status_code == 200
    assert client.get("/salud/listo").status_code in (200, 503)
    assert client.get("/salud/detalle").status_code == 301  # the staff page is https like the rest
