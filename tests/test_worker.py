"""Integration: a REAL Celery worker (with its embedded beat) against Redis and the test
database keeps the clocks by itself — no task is called from the test.

Needs PostgreSQL (a database the worker process can see: pytest-django's test database) and
Redis (TEST_REDIS_URL, else a redis:// CELERY_BROKER_URL, else redis://127.0.0.1:6379/5).
CI provides both; locally, run with DATABASE_URL=postgres://...
"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from anulaciones.models import RegistroAuditoria, ServicioIngenieria, Solicitud

pytestmark = pytest.mark.django_db(transaction=True)
BASE = Path(__file__).resolve().parent.parent


def _redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url and os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        url = os.environ["CELERY_BROKER_URL"]
    return url or "redis://127.0.0.1:6379/5", bool(url)


@pytest.fixture
def redis_url():
    import redis

    url, configurado = _redis_url()
    try:
        cliente = redis.Redis.from_url(url, socket_connect_timeout=2)
        cliente.ping()
    except redis.RedisError as e:
        if configurado:
            raise
        pytest.skip(f"Redis not reachable at {url} ({e}); set TEST_REDIS_URL")
    cliente.flushdb()  # this test's own Redis database: no stale messages
    return url


@pytest.fixture
def base_url():
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can see: run with DATABASE_URL=postgres://...")
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def trabajador(redis_url, base_url, tmp_path):
    """Start ``celery -A config worker [-B]`` as the README's run does, but on Redis."""
    procesos = []

    def iniciar(beat=True, **entorno):
        env = dict(
            os.environ,
            DATABASE_URL=base_url,
            CELERY_BROKER_URL=redis_url,
            CELERY_TASK_ALWAYS_EAGER="0",
            DJANGO_DEBUG="1",
            DB_CONN_MAX_AGE="0",
            ANULACIONES_BARRIDO_SEGUNDOS="1",
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            **entorno,
        )
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "-l",
            "INFO",
            "-n",
            f"relojes-test-{os.getpid()}-{len(procesos)}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
        if beat:
            cmd += ["-B", "-s", str(tmp_path / f"beat-{len(procesos)}")]
        log = open(tmp_path / f"worker-{len(procesos)}.log", "w+")
        p = subprocess.Popen(cmd, cwd=BASE, env=env, stdout=log, stderr=subprocess.STDOUT)
        procesos.append((p, log))
        return p

    yield iniciar
    for p, log in procesos:
        p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.seek(0)
        salida = log.read()
        log.close()
        print(salida[-4000:])


def esperar(condicion, segundos=30):
    limite = time.monotonic() + segundos
    while time.monotonic() < limite:
        if condicion():
            return True
        time.sleep(0.2)
    return False


def test_un_trabajador_real_vence_el_si_por_si_solo(esc, u, trabajador, settings):
    settings.ANULACIONES_HORARIO = "lun-dom 00:00-24:00"
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        si = esc.servicio("abierto")  # opened two days ago: its same-day cut-off has passed
    assert si.vence_at < timezone.now()
    assert ServicioIngenieria.objects.get(pk=si.pk).estado == "abierto"

    p = trabajador(beat=True)
    vencio = esperar(lambda: ServicioIngenieria.objects.get(pk=si.pk).estado == "vencido")
    assert p.poll() is None, "the worker died"
    assert vencio, "the worker did not turn the SI vencido within 30 s"
    fila = RegistroAuditoria.de_objeto(si).last()
    assert (fila.transicion, fila.usuario, fila.rol) == ("vencer", u.sistema, "SISTEMA")


def test_la_escalacion_la_hace_el_barrido_del_trabajador(esc, u, trabajador, settings):
    """A re-digitation past its 2 hours (here 1 second) is escalated by the worker's periodic
    sweep by itself; nothing is scheduled with an ETA (issue 13: a message held for 2 hours
    was lost with a Redis restart, and killed celery 5.7.0 workers)."""
    settings.ANULACIONES_REDIGITACION_HORAS = 1 / 3600
    settings.ANULACIONES_REDIGITACION_MODO = "reloj"  # one wall-clock second, whatever the hour of the run
    s = esc.solicitud("pendiente_redigitacion")
    assert Solicitud.objects.get(pk=s.pk).redigitacion_escalada_at is None
    p = trabajador(beat=True)
    escalo = esperar(lambda: Solicitud.objects.get(pk=s.pk).redigitacion_escalada_at is not None)
    assert p.poll() is None, "the worker died"
    assert escalo, "the sweep did not escalate the late re-digitation within 30 s"
    s.refresh_from_db()
    assert s.redigitacion_tardia and s.redigitacion_escalada_at >= s.redigitacion_vence_at
