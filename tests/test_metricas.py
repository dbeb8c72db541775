"""Prometheus metrics (issue 20.3): /metricas behind a bearer token, the text format, the domain
gauges equal to the database's counts, a fixed number of queries per scrape, the request and
database-fault counters, and multiprocess mode."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.db import InterfaceError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from anulaciones import metricas
from anulaciones.models import (
    EjecucionPeriodica,
    Entrega,
    ImportacionSmartflex,
    Notificacion,
    ServicioIngenieria,
    Solicitud,
    Zona,
)
from anulaciones.operacion import BARRIDO

pytestmark = pytest.mark.django_db

TOKEN = "s3creto-de-prometheus"


@pytest.fixture
def con_token(settings):
    settings.ANULACIONES_METRICAS_TOKEN = TOKEN


def _raspar(client):
    r = client.get("/metricas", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/plain; version=")
    return r.content.decode()


def _muestras(texto):
    """{(sample name, frozenset(labels)): value} of an exposition, parsed by prometheus-client."""
    return {
        (m.name, frozenset(m.labels.items())): m.value
        for familia in text_string_to_metric_families(texto)
        for m in familia.samples
    }


def _valor(muestras, nombre, **labels):
    return muestras.get((nombre, frozenset(labels.items())))


def test_404_while_no_token_is_configured(client, settings):
    settings.ANULACIONES_METRICAS_TOKEN = ""
    assert client.get("/metricas").status_code == 404
    assert client.get("/metricas", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_401_without_credentials_403_with_a_wrong_token_200_with_the_right_one(client, con_token, u):
    r = client.get("/metricas")
    assert r.status_code == 401 and r["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metricas", HTTP_AUTHORIZATION="Basic YTpi").status_code == 401
    assert client.get("/metricas", HTTP_AUTHORIZATION="Bearer otro").status_code == 403
    assert client.get("/metricas", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 403
    # a session is no credential here, not even staff's
    u.jefe_division.is_staff = u.jefe_division.is_superuser = True
    u.jefe_division.save()
    client.force_login(u.jefe_division)
    assert client.get("/metricas").status_code == 401
    assert client.post("/metricas", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
    assert TOKEN not in _raspar(client)


def _escenario(esc, u, zonas):
    """A small world: SIs open and overdue in Z1, pending re-digitations (one late), notices, an
    import per stage, deliveries, the sweep's last run."""
    ahora = timezone.now()
    esc.servicio("abierto")
    esc.servicio("vencido")
    atrasado = esc.servicio("abierto")  # open, its deadline passed: overdue although not swept yet
    ServicioIngenieria.objects.filter(pk=atrasado.pk).update(vence_at=ahora - timedelta(minutes=5))
    esc.servicio("atendido")  # closed: counted nowhere
    esc.solicitud("pendiente_redigitacion")
    tarde = esc.solicitud("pendiente_redigitacion")
    Solicitud.objects.filter(pk=tarde.pk).update(redigitacion_vence_at=ahora - timedelta(hours=1))
    Notificacion.objects.filter(correo_enviado_at__isnull=True).update(correo_enviado_at=ahora)
    for i in range(3):
        Notificacion.objects.create(usuario=u.asesor, tipo="aviso", clave=f"prueba:{i}")
    Notificacion.objects.create(usuario=u.asesor, tipo="aviso", clave="prueba:enviada", correo_enviado_at=ahora)
    for etapa in ("pendiente", "terminada", "terminada", "fallida"):
        ImportacionSmartflex.objects.create(nombre="a.csv", archivo="a.csv", usuario=u.gestion_red, etapa=etapa)
    mes = ahora.date().replace(day=1)
    Entrega.objects.create(mes=mes, numero=1, generada_at=ahora, generada_por=u.gestion_red, enviada_at=ahora)
    e2 = Entrega.objects.create(mes=mes, numero=2, generada_at=ahora, generada_por=u.gestion_red)
    Entrega.objects.filter(pk=e2.pk).update(estado="recibida")
    EjecucionPeriodica.objects.update_or_create(
        nombre=BARRIDO, defaults={"terminada_at": ahora - timedelta(seconds=90), "duracion": 0.25}
    )


def test_the_domain_gauges_equal_the_database(client, con_token, esc, u, zonas, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"  # the embedded broker, whatever the environment names
    _escenario(esc, u, zonas)
    m = _muestras(_raspar(client))
    z1, z2 = (z.codigo for z in zonas)
    # 3 SIs of corrección + the 2 re-digitations' own SIs; overdue: the swept one and the late one
    assert _valor(m, "anulaciones_si_abiertos", zona=z1) == ServicioIngenieria.objects.abiertos().count() == 5
    assert _valor(m, "anulaciones_si_vencidos", zona=z1) == ServicioIngenieria.objects.vencidos().count() == 2
    assert _valor(m, "anulaciones_si_abiertos", zona=z2) == 0  # a zone without SIs is a 0, not a gap
    assert _valor(m, "anulaciones_si_vencidos", zona=z2) == 0
    assert _valor(m, "anulaciones_redigitaciones_pendientes") == 2
    assert _valor(m, "anulaciones_redigitaciones_atrasadas") == 1
    assert _valor(m, "anulaciones_avisos_por_enviar") == 3
    assert _valor(m, "anulaciones_aviso_mas_antiguo_por_enviar_segundos") >= 0
    assert _valor(m, "anulaciones_importaciones", estado="terminada") == 2
    assert _valor(m, "anulaciones_importaciones", estado="fallida") == 1
    assert _valor(m, "anulaciones_importaciones", estado="validando") == 0
    assert _valor(m, "anulaciones_entregas", estado="generada") == 1
    assert _valor(m, "anulaciones_entregas", estado="recibida") == 1
    assert _valor(m, "anulaciones_entregas_sin_enviar") == 1
    fin = EjecucionPeriodica.objects.get(nombre=BARRIDO).terminada_at.timestamp()
    assert _valor(m, "anulaciones_tarea_periodica_fin_timestamp_segundos", tarea=BARRIDO) == pytest.approx(fin)
    assert _valor(m, "anulaciones_tarea_periodica_duracion_segundos", tarea=BARRIDO) == 0.25
    assert 90 <= _valor(m, "anulaciones_barrido_retraso_segundos") < 150
    # the filesystem broker: no queue metric, and no error
    assert not any(n.startswith("anulaciones_cola_celery") for n, _ in m)


def test_no_sweep_yet_no_lag_metric(client, con_token):
    m = _muestras(_raspar(client))
    assert _valor(m, "anulaciones_barrido_retraso_segundos") is None
    assert _valor(m, "anulaciones_avisos_por_enviar") == 0


def test_a_scrape_costs_the_same_queries_for_few_and_many_rows(client, con_token, esc, u, zonas):
    esc.servicio("abierto")
    with CaptureQueriesContext(connection) as pocas:
        _raspar(client)
    _escenario(esc, u, zonas)
    for i in range(5):
        Zona.objects.create(codigo=f"ZX{i}", nombre=f"Zona {i}")
    EjecucionPeriodica.objects.create(nombre="anulaciones.tasks.entrega_mensual", terminada_at=timezone.now())
    with CaptureQueriesContext(connection) as muchas:
        texto = _raspar(client)
    assert len(muchas) == len(pocas), [q["sql"] for q in muchas]
    assert _valor(_muestras(texto), "anulaciones_si_abiertos", zona="ZX4") == 0


def test_request_counter_by_route_name_and_status_class(client, con_token, esc, u):
    s = esc.solicitud("registrada")
    client.force_login(u.gestion_red)
    antes = _muestras(_raspar(client))
    client.get(f"/solicitudes/{s.pk}/")
    client.get(f"/solicitudes/{s.pk + 1000}/")
    client.get("/no-existe/Juana/")
    despues = _muestras(_raspar(client))

    def delta(**labels):
        clave = ("anulaciones_peticiones_total", frozenset(labels.items()))
        return despues.get(clave, 0) - antes.get(clave, 0)

    assert delta(metodo="GET", ruta="solicitud", clase="2xx") == 1
    assert delta(metodo="GET", ruta="solicitud", clase="4xx") == 1
    assert delta(metodo="GET", ruta="ninguna", clase="4xx") == 1
    assert not any("Juana" in str(etiquetas) for _, etiquetas in despues)  # never the raw path
    cuenta = ("anulaciones_peticion_duracion_segundos_count", frozenset({("ruta", "solicitud")}))
    assert despues[cuenta] - antes.get(cuenta, 0) == 2


@pytest.mark.parametrize("error, status", [(lambda: InterfaceError("connection already closed"), 503)])
def test_database_faults_answered_by_the_middleware_are_counted(client, con_token, esc, u, error, status):
    s = esc.solicitud("registrada")
    c = Client(raise_request_exception=False)
    c.force_login(u.gestion_red, backend="django.contrib.auth.backends.ModelBackend")
    antes = _muestras(_raspar(client))
    with mock.patch("anulaciones.views.acciones.transitions.aplicar", side_effect=error()):
        assert c.post(f"/accion/solicitud/{s.pk}/asignar_instalacion/", {"version": 0}).status_code == status
    despues = _muestras(_raspar(client))
    clave = ("anulaciones_fallos_bd_total", frozenset({("status", str(status))}))
    assert despues[clave] - antes.get(clave, 0) == 1


def test_database_faults_answered_by_the_api_are_counted_once(client, con_token, esc, u):
    """The API answers its own faults (api.errores): counted there, once, like the pages'."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    s = esc.solicitud("registrada")
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=u.gestion_red)[0].key}")
    antes = _muestras(_raspar(client))
    with mock.patch("anulaciones.api.views.transitions.aplicar", side_effect=InterfaceError("connection closed")):
        assert api.post(f"/api/v1/solicitudes/{s.pk}/asignar_instalacion/", {}, format="json").status_code == 503
    despues = _muestras(_raspar(client))
    clave = ("anulaciones_fallos_bd_total", frozenset({("status", "503")}))
    assert despues[clave] - antes.get(clave, 0) == 1


def test_multiprocess_mode_adds_up_every_process(tmp_path):
    """Two "workers" count a request each in PROMETHEUS_MULTIPROC_DIR; a third process's
    exposition has both."""
    raiz = Path(__file__).resolve().parent.parent
    entorno = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    preludio = "import django; django.setup(); from anulaciones import contadores, metricas; "
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", preludio + "contadores.contar_peticion('GET', 'inicio', 200, 0.1)"],
            cwd=raiz,
            env=entorno,
            check=True,
            timeout=60,
        )
    salida = subprocess.run(
        [
            sys.executable,
            "-c",
            preludio + "metricas.ColectorDelDominio.collect = lambda self: iter(()); "
            "import sys; sys.stdout.write(metricas.exposicion().decode())",
        ],
        cwd=raiz,
        env=entorno,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    m = _muestras(salida)
    assert _valor(m, "anulaciones_peticiones_total", metodo="GET", ruta="inicio", clase="2xx") == 2
    assert _valor(m, "anulaciones_peticion_duracion_segundos_count", ruta="inicio") == 2


def test_queue_depth_from_redis(client, con_token, settings, monkeypatch):
    """With a Redis broker: LLEN of the default queue and its priority lists (redis-py faked)."""
    listas = {"celery": 4, "celery\x06\x163": 1}

    class Canal:
        def __init__(self):
            self.nombres = []

        def llen(self, nombre):
            self.nombres.append(nombre)

        def execute(self):
            return [listas.get(n, 0) for n in self.nombres]

    class Cliente:
        def pipeline(self, transaction):
            return Canal()

        def close(self):
            pass

    import redis

    monkeypatch.setattr(redis.Redis, "from_url", classmethod(lambda cls, url, **kw: Cliente()))
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/11"
    m = _muestras(_raspar(client))
    assert _valor(m, "anulaciones_cola_celery_mensajes", cola="celery") == 5


def test_queue_depth_broker_down_is_no_metric_and_no_error(client, con_token, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    m = _muestras(_raspar(client))
    assert not any(n.startswith("anulaciones_cola_celery") for n, _ in m)


@pytest.fixture
def redis_url():
    """A real Redis (TEST_REDIS_URL, else redis://127.0.0.1:6379/11); skipped when unreachable
    unless TEST_REDIS_URL is set (CI sets it: there, unreachable is a failure)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/11"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as e:
        if os.environ.get("TEST_REDIS_URL"):
            raise
        pytest.skip(f"Redis not reachable at {url} ({e}); set TEST_REDIS_URL")
    return url


def test_queue_depth_on_a_real_redis(client, con_token, settings, redis_url):
    import redis

    cliente = redis.Redis.from_url(redis_url)
    cola = "metricas-prueba"
    cliente.delete(cola)
    cliente.rpush(cola, "a", "b")
    try:
        settings.CELERY_BROKER_URL = redis_url
        settings.CELERY_TASK_DEFAULT_QUEUE = cola
        assert _valor(_muestras(_raspar(client)), "anulaciones_cola_celery_mensajes", cola=cola) == 2
    finally:
        cliente.delete(cola)


def test_metricas_module_never_runs_queries_when_registered():
    with CaptureQueriesContext(connection) as consultas:
        metricas.ColectorDelDominio().describe()
    assert len(consultas) == 0
