"""Fault suite (issue 13): the system converges after the faults production will meet.

1. Redis stopped and restarted under a running Celery worker that holds an unacknowledged
   message: the worker reconnects, consumes what is queued after the restart, and the sweep does
   what the lost message carried.
2. A worker killed with SIGKILL in the middle of the sweep, and the sweep rerun by another
   worker: every due SI vencido exactly once, one «vencer» audit row each, no notice twice.
3. PostgreSQL connections terminated (``pg_terminate_backend``) between and during requests to a
   real multi-process server (gunicorn, persistent connections): never a 500; a request that
   meets a connection killed while idle succeeds; one killed under it is a clean 503; every
   transition the clients sent is applied exactly once.
4. Two conflicting transitions at once over HTTP: one 200, one 409, never a 500, one audit chain.

Each scenario uses real processes: its own ``redis-server`` on a spare port (never the shared
one), Celery workers and gunicorn as subprocesses, all against pytest-django's PostgreSQL test
database. Needs PostgreSQL (DATABASE_URL=postgres://...) and the ``redis-server`` binary; CI has
both. docs/fallos.md says what each one proves and what was measured.
"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.db import DatabaseError, InterfaceError, OperationalError, connection, connections
from django.db.models import Count
from django.utils import timezone

from anulaciones import transitions as T
from anulaciones.models import (Notificacion, OrdenDeTrabajo, RegistroAuditoria, ServicioIngenieria,
                                Solicitud)

from .test_worker import base_url, esperar  # noqa: F401 - fixture

BASE = Path(__file__).resolve().parent.parent


def _puerto_libre():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parar(p, senal=signal.SIGTERM, espera=15):
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, senal)
    except ProcessLookupError:
        return
    try:
        p.wait(timeout=espera)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


# --- fixtures: a Redis of our own, Celery workers, a gunicorn server --------------------------
class RedisPropio:
    """``redis-server`` on a spare port, without persistence (a restart loses every message:
    the worst case), that the test stops and starts again."""

    def __init__(self, directorio):
        self.puerto = _puerto_libre()
        self.url = f"redis://127.0.0.1:{self.puerto}/0"
        self.directorio = directorio
        self.proceso = None

    def iniciar(self):
        import redis

        self.proceso = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.puerto), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directorio)],
            stdout=open(self.directorio / "redis.log", "a"), stderr=subprocess.STDOUT, start_new_session=True)
        cliente = redis.Redis(port=self.puerto, socket_connect_timeout=1)
        if not esperar(lambda: self._responde(cliente), 10):
            self.detener()
            raise AssertionError("redis-server did not start: " + (self.directorio / "redis.log").read_text())

    @staticmethod
    def _responde(cliente):
        import redis

        try:
            return cliente.ping()
        except redis.RedisError:
            return False

    def detener(self):
        _parar(self.proceso)

    def publicar(self, tarea, **opciones):
        """Publish a task on this Redis (``send_task``: never run eagerly in the test)."""
        import warnings

        from config.celery import app

        with app.connection_for_write(self.url) as conexion, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # AlwaysEagerIgnored: exactly what is wanted here
            return app.send_task(tarea.name, connection=conexion, **opciones)


@pytest.fixture
def redis_propio(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    r = RedisPropio(tmp_path)
    r.iniciar()
    yield r
    r.detener()


# The worker as `celery -A config worker` would run it; ``lote`` lowers tasks.LOTE (rows per
# sweep transaction) so that a small sweep takes several transactions.
_ARRANQUE = """
import sys, django
django.setup()
from anulaciones import tasks
tasks.LOTE = int(sys.argv[1])
from celery.__main__ import main
sys.argv = ["celery"] + sys.argv[2:]
main()
"""


@pytest.fixture
def trabajadores(base_url, tmp_path):  # noqa: F811
    procesos = []

    def iniciar(redis_url, *, pool="solo", beat=False, lote=None, **entorno):
        env = dict(os.environ, DATABASE_URL=base_url, CELERY_BROKER_URL=redis_url, CELERY_TASK_ALWAYS_EAGER="0",
                   DJANGO_DEBUG="1", DB_CONN_MAX_AGE="0", ANULACIONES_BARRIDO_SEGUNDOS="1",
                   EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", **entorno)
        n = len(procesos)
        args = ["-A", "config", "worker", "--pool", pool, "-l", "INFO", "-n", f"fallos-{os.getpid()}-{n}@%h",
                "--without-gossip", "--without-mingle"]
        if pool == "prefork":
            args += ["--concurrency", "2"]
        if beat:
            args += ["-B", "-s", str(tmp_path / f"beat-{n}")]
        cmd = ([sys.executable, "-c", _ARRANQUE, str(lote)] if lote else [sys.executable, "-m", "celery"]) + args
        log = tmp_path / f"worker-{n}.log"
        p = subprocess.Popen(cmd, cwd=BASE, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                             start_new_session=True)  # its own process group: SIGKILL takes pool and beat too
        p.log = log
        procesos.append(p)
        return p

    yield iniciar
    for p in procesos:
        _parar(p)
        print(f"--- {p.log.name} ---\n{p.log.read_text()[-6000:]}")


def _en_log(p, texto, veces=1):
    return p.log.read_text().count(texto) >= veces


# --- 1. Redis restarted under a running worker ------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_redis_reiniciado_bajo_un_trabajador_que_sigue_consumiendo(esc, u, redis_propio, trabajadores, settings):
    """A prefork worker holds an unacknowledged message (a task with an ETA, as
    ``anular_para_redigitacion`` used to publish for every case) when Redis goes away for 2 s and
    comes back empty. Celery 5.7.0 died there («Unrecoverable error: AttributeError … 'hostname'»);
    now the worker reconnects, a task published after the restart runs, and the sweep escalates
    the re-digitation whose message Redis lost."""
    from anulaciones import tasks

    settings.ANULACIONES_REDIGITACION_HORAS = 1 / 3600  # the re-digitation is due 1 s after the cancellation
    p = trabajadores(redis_propio.url, pool="prefork")
    assert esperar(lambda: _en_log(p, " ready."), 30), p.log.read_text()
    s = esc.solicitud("pendiente_redigitacion")
    redis_propio.publicar(tasks.escalar_redigitacion, args=[s.pk], countdown=7200,  # an unacked message
                          task_id=f"eta-larga-{s.pk}")
    assert esperar(lambda: _en_log(p, f"eta-larga-{s.pk}] received"), 20), p.log.read_text()

    redis_propio.detener()
    # the worker sees the broker gone (the state that killed celery 5.7.0), then Redis comes back
    assert esperar(lambda: _en_log(p, "Connection to broker lost"), 20), p.log.read_text()
    redis_propio.iniciar()
    si = esc.servicio("abierto")
    ServicioIngenieria.objects.filter(pk=si.pk).update(vence_at=timezone.now() - timedelta(minutes=1))  # due
    redis_propio.publicar(tasks.barrer_plazos)  # queued after the restart

    # the sweep's three steps commit one after the other: wait for the last one (escalation)
    hecho = esperar(lambda: ServicioIngenieria.objects.get(pk=si.pk).estado == "vencido"
                    and Solicitud.objects.get(pk=s.pk).redigitacion_escalada_at is not None, 45)
    assert p.poll() is None, "the worker died:\n" + p.log.read_text()[-3000:]
    assert "Unrecoverable error" not in p.log.read_text()
    assert hecho, "the task queued after the restart was not consumed:\n" + p.log.read_text()[-3000:]
    s.refresh_from_db()
    assert s.redigitacion_tardia  # the sweep did the work of the message Redis lost
    assert Notificacion.objects.filter(tipo="redigitacion_tardia", clave=f"solicitud:{s.pk}").count() == 1


def test_anular_para_redigitacion_no_programa_tareas_con_eta(esc, u, django_capture_on_commit_callbacks):
    """Nothing waits hours in a worker any more: the sweep finds the late re-digitation."""
    from anulaciones import tasks

    from celery.signals import task_prerun

    corridas = []

    def anotar(sender=None, **kwargs):
        corridas.append(sender.name)

    # The test settings run tasks eagerly: a task scheduled with an eta would run here at once.
    task_prerun.connect(anotar, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            esc.solicitud("pendiente_redigitacion")
    finally:
        task_prerun.disconnect(anotar)
    assert tasks.escalar_redigitacion.name not in corridas
    assert tasks.escalar_redigitacion.name  # still registered: messages of an older release still run


# --- 2. a worker killed with SIGKILL in the middle of the sweep ---------------------------------
N_VENCIDOS, LOTE = 3000, 100


def _muchos_si_vencidos(esc, n):
    """One SI opened through the transition path and n - 1 copies of it (bulk, as the
    benchmarks do), all past their cut-off."""
    base = esc.servicio("abierto")
    campos = {f.attname: getattr(base, f.attname)
              for f in ServicioIngenieria._meta.concrete_fields if not f.primary_key}
    ServicioIngenieria.objects.bulk_create([ServicioIngenieria(**campos) for _ in range(n - 1)], batch_size=1000)
    ServicioIngenieria.objects.update(vence_at=timezone.now() - timedelta(hours=1))
    return list(ServicioIngenieria.objects.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_trabajador_muerto_a_mitad_del_barrido_y_barrido_repetido(esc, u, redis_propio, trabajadores):
    """3,000 due SIs, 100 per sweep transaction. Worker A is SIGKILLed (with its process group)
    as soon as some batches are committed; worker B, with beat, sweeps again. Every SI ends
    vencido exactly once with one «vencer» row, and every SI has its notice exactly once: a
    batch's notices are written in the batch's own transaction."""
    from anulaciones import tasks

    pks = _muchos_si_vencidos(esc, N_VENCIDOS)
    assert len(pks) == N_VENCIDOS
    vencer = RegistroAuditoria.objects.filter(transicion="vencer")
    a = trabajadores(redis_propio.url, lote=LOTE)
    assert esperar(lambda: _en_log(a, " ready."), 30), a.log.read_text()
    redis_propio.publicar(tasks.barrer_plazos)
    limite = time.monotonic() + 30
    while not vencer.exists():  # the first batch committed: kill at once, the sweep is mid-way
        assert time.monotonic() < limite, a.log.read_text()
        time.sleep(0.005)
    os.killpg(a.pid, signal.SIGKILL)
    a.wait(10)
    al_matar = vencer.count()
    assert 0 < al_matar < N_VENCIDOS, al_matar
    assert al_matar % LOTE == 0  # whole batches: a batch commits all its rows or none

    b = trabajadores(redis_propio.url, beat=True, lote=LOTE)
    assert esperar(lambda: not ServicioIngenieria.objects.filter(estado="abierto").exists(), 60), b.log.read_text()
    _parar(b)  # warm shutdown: the sweep in progress finishes and writes its notices

    assert ServicioIngenieria.objects.filter(estado="vencido", version=1).count() == N_VENCIDOS
    por_si = dict(vencer.values("object_id").annotate(n=Count("id")).values_list("object_id", "n"))
    assert set(por_si) == set(pks) and set(por_si.values()) == {1}
    claves = Notificacion.objects.filter(tipo="vencido", usuario=u.asesor).values_list("clave", flat=True)
    assert len(claves) == len(set(claves))  # never twice (unique per user, kind and object)
    sin_aviso = {f"servicio:{pk}" for pk in pks} - set(claves)
    assert not sin_aviso, len(sin_aviso)  # nothing lost: the notices commit with their batch
    print(f"killed after {al_matar} of {N_VENCIDOS}; SIs without their notice: {len(sin_aviso)}")


# --- 3 and 4. a real server: connections terminated, conflicting transitions -----------------------
class Servidor:
    def __init__(self, puerto):
        self.puerto = puerto

    def pedir(self, metodo, ruta, *, token=None, sesion=None, cuerpo=None):
        cabeceras = {"Host": "127.0.0.1"}
        if token:
            cabeceras["Authorization"] = f"Token {token}"
        if sesion:
            cabeceras["Cookie"] = f"sessionid={sesion}"
        datos = None
        if cuerpo is not None:
            datos = json.dumps(cuerpo)
            cabeceras["Content-Type"] = "application/json"
        c = http.client.HTTPConnection("127.0.0.1", self.puerto, timeout=30)
        try:
            c.request(metodo, ruta, body=datos, headers=cabeceras)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()


@pytest.fixture
def servidor(base_url, tmp_path):  # noqa: F811
    """gunicorn with 2 worker processes of 2 threads (a persistent database connection per
    thread) on the test database, production settings (DEBUG off)."""
    puerto = _puerto_libre()
    env = dict(os.environ, DATABASE_URL=base_url, DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="127.0.0.1",
               DB_CONN_MAX_AGE="600", CELERY_TASK_ALWAYS_EAGER="1", DJANGO_SECURE_SSL_REDIRECT="0",
               EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    log = tmp_path / "gunicorn.log"
    p = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2", "--threads", "2", "--bind",
                          f"127.0.0.1:{puerto}", "--timeout", "60", "--graceful-timeout", "5", "--preload",
                          "--no-control-socket"],
                         cwd=BASE, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    s = Servidor(puerto)

    def listo():
        try:
            return s.pedir("GET", "/cuentas/login/")[0] == 200
        except OSError:
            return False

    try:
        assert esperar(listo, 30), log.read_text()
        yield s
    finally:
        _parar(p)
        print(f"--- gunicorn ---\n{log.read_text()[-3000:]}")


def _token(usuario):
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=usuario)[0].key


def _sesion(usuario):
    from django.test import Client

    c = Client()
    c.force_login(usuario, backend="django.contrib.auth.backends.ModelBackend")
    return c.cookies["sessionid"].value


def _terminar_conexiones(excepto=()):
    """pg_terminate_backend on every client connection to the test database but ours."""
    with connection.cursor() as cur:
        cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND NOT pid = ANY(%s)",
                    [list(excepto)])
        return cur.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_conexiones_de_postgresql_terminadas_entre_y_durante_las_peticiones(esc, u, servidor):
    n_solicitudes = 40
    token, sesion = _token(u.gestion_red), _sesion(u.gestion_red)
    solicitudes = [esc.solicitud("registrada").pk for _ in range(n_solicitudes)]
    lecturas = [("GET", "/api/v1/solicitudes/?page_size=5", {"token": token}), ("GET", "/", {"sesion": sesion}),
                ("GET", "/tablero/", {"sesion": sesion})]

    # a) killed while idle: each worker's persistent connection is dead; the next request of
    # each worker meets it at its start — the health check replaces it: every answer is a 200.
    for _ in range(3):
        for metodo, ruta, auth in lecturas * 4:
            assert servidor.pedir(metodo, ruta, **auth)[0] == 200
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
            assert cur.fetchone()[0] >= 1  # the server holds connections between requests
        assert _terminar_conexiones() >= 1
        estados = [servidor.pedir(metodo, ruta, **auth)[0] for metodo, ruta, auth in lecturas * 4]
        assert estados == [200] * len(estados), estados

    # b) killed under load: 4 clients read and take transitions while every connection of the
    # server is terminated every 250–400 ms (15 times at most, so that even a slow machine ends).
    # Never a 500; a 503 is retried by the client (same version), as its Retry-After invites.
    respuestas, parar = [], threading.Event()

    def cliente(mias):
        for pk in mias:
            for metodo, ruta, auth in lecturas:
                respuestas.append(("lectura", servidor.pedir(metodo, ruta, **auth)[0]))
            vistas = []
            for _ in range(100):
                estado, cabeceras, cuerpo = servidor.pedir(
                    "POST", f"/api/v1/solicitudes/{pk}/asignar_instalacion/", token=token, cuerpo={"version": 0})
                vistas.append(estado)
                if estado == 503:
                    assert cabeceras.get("Retry-After") and json.loads(cuerpo)["detail"], cuerpo
                    time.sleep(0.05)
                    continue
                break
            respuestas.append(("transicion", tuple(vistas)))

    def verdugo():
        for _ in range(15):
            if parar.wait(random.uniform(0.25, 0.4)):
                break
            respuestas.append(("terminadas", _terminar_conexiones(excepto=[principal])))
        connections.close_all()

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        principal = cur.fetchone()[0]
    hilos = [threading.Thread(target=cliente, args=(solicitudes[i::4],)) for i in range(4)]
    v = threading.Thread(target=verdugo)
    v.start()
    for h in hilos:
        h.start()
    for h in hilos:
        h.join(120)
    parar.set()
    v.join(10)

    lecturas_hechas = [e for tipo, e in respuestas if tipo == "lectura"]
    transiciones = [e for tipo, e in respuestas if tipo == "transicion"]
    terminadas = sum(e for tipo, e in respuestas if tipo == "terminadas")
    assert 500 not in lecturas_hechas and set(lecturas_hechas) <= {200, 503}, lecturas_hechas
    assert len(transiciones) == n_solicitudes
    for vistas in transiciones:  # 503s, then 200 — or 409 when an earlier try had committed
        assert vistas[-1] in (200, 409) and set(vistas[:-1]) <= {503}, vistas
        assert vistas[-1] == 200 or len(vistas) > 1, vistas
    assert terminadas > 0
    # converged: every transition applied exactly once, with its effect
    estados = set(Solicitud.objects.filter(pk__in=solicitudes).values_list("estado", "version"))
    assert estados == {("en_instalacion", 1)}, estados
    filas = RegistroAuditoria.objects.filter(transicion="asignar_instalacion", object_id__in=solicitudes,
                                             content_type__model="solicitud")
    assert filas.count() == n_solicitudes
    ordenes = OrdenDeTrabajo.objects.filter(solicitud__in=solicitudes)
    assert set(ordenes.values_list("estado", flat=True)) == {"asignada"}
    print(f"terminated {terminadas} connections; reads {len(lecturas_hechas)} "
          f"({lecturas_hechas.count(503)} × 503); transitions {len(transiciones)} "
          f"({sum(v.count(503) for v in transiciones)} × 503 retried, "
          f"{sum(v[-1] == 409 for v in transiciones)} × 409 after a 503)")


@pytest.mark.django_db(transaction=True)
def test_dos_transiciones_en_conflicto_a_la_vez_por_http(esc, u, servidor):
    """12 rounds of ``anular`` on a Solicitud and ``ejecutar`` on its OT sent at once to two
    server processes: one 200, one 409, never a 500; the case ends in one consistent state with
    one audit chain."""
    gr, tec = _token(u.gestion_red), _token(u.tecnico)
    codigos = []
    for ronda in range(12):
        s = esc.solicitud("en_instalacion")
        barrera, res = threading.Barrier(2), {}

        def enviar(clave, ruta, token, cuerpo):
            barrera.wait()
            res[clave] = servidor.pedir("POST", ruta, token=token, cuerpo=cuerpo)[0]

        hilos = [threading.Thread(target=enviar, args=("anular", f"/api/v1/solicitudes/{s.pk}/anular/", gr, {
                     "version": 1, "motivo": "Cliente desiste", "justificacion": "El cliente llamó para desistir"})),
                 threading.Thread(target=enviar, args=("ejecutar", f"/api/v1/ordenes/{s.orden.pk}/ejecutar/", tec,
                                                       {"version": 1}))]
        for h in hilos:
            h.start()
        for h in hilos:
            h.join(60)
        codigos.append((res["anular"], res["ejecutar"]))
        assert sorted(res.values()) == [200, 409], (ronda, res)
        s.refresh_from_db()
        o = OrdenDeTrabajo.objects.get(pk=s.orden.pk)
        cadena_s = list(RegistroAuditoria.de_objeto(s).values_list("transicion", flat=True))
        cadena_o = list(RegistroAuditoria.de_objeto(o).values_list("transicion", flat=True))
        if res["anular"] == 200:
            assert (s.estado, o.estado, cadena_s[-1], cadena_o[-1]) == ("anulada", "anulada", "anular",
                                                                       "coordinar_anulacion")
        else:
            assert (s.estado, o.estado, cadena_s[-1], cadena_o[-1]) == ("instalada", "ejecutada",
                                                                       "marcar_instalada", "ejecutar")
        assert len(cadena_s) == len(cadena_o) == 3
    print("rounds (anular, ejecutar):", codigos)


# --- the answers themselves: 409 and 503, never a 500 -------------------------------------------
# The real faults (a deadlock between two transactions, connections terminated under a real
# gunicorn) are the scenarios above; here the database error is raised at the view's boundary so
# that each kind of error, on each surface (API, pages, after the view), is checked for its answer.
def _caida():
    import psycopg

    e = OperationalError("terminating connection due to administrator command")
    e.__cause__ = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    return e


def _bloqueo_mutuo():
    import psycopg

    e = OperationalError("deadlock detected")
    e.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return e


@pytest.mark.django_db
@pytest.mark.parametrize("error, status", [(_caida, 503), (lambda: InterfaceError("connection already closed"), 503),
                                           (_bloqueo_mutuo, 409)])
def test_api_responde_503_o_409_en_json_nunca_500(esc, u, error, status):
    from rest_framework.test import APIClient

    s = esc.solicitud("registrada")
    c = APIClient()
    c.force_authenticate(u.gestion_red)
    with mock.patch("anulaciones.api.views.transitions.aplicar", side_effect=error()):
        r = c.post(f"/api/v1/solicitudes/{s.pk}/asignar_instalacion/", {}, format="json")
    assert r.status_code == status, r.content
    assert set(r.json()) == {"detail", "errores"} and r.json()["errores"] == {}
    assert (r.get("Retry-After") is not None) == (status == 503)


@pytest.mark.django_db
@pytest.mark.parametrize("error, status", [(_caida, 503), (_bloqueo_mutuo, 409)])
def test_paginas_responden_503_o_409_nunca_500(esc, u, error, status):
    from django.test import Client

    s = esc.solicitud("registrada")
    c = Client(raise_request_exception=False)
    c.force_login(u.gestion_red, backend="django.contrib.auth.backends.ModelBackend")
    with mock.patch("anulaciones.views.acciones.transitions.aplicar", side_effect=error()):
        r = c.post(f"/accion/solicitud/{s.pk}/asignar_instalacion/", {"version": 0})
    assert r.status_code == status
    assert "text/html" in r["Content-Type"] and "vuelva a intentar" in r.content.decode().lower()
    assert (r.get("Retry-After") is not None) == (status == 503)


@pytest.mark.django_db
def test_un_fallo_de_la_base_fuera_de_la_vista_tampoco_es_500(u, settings):
    """The session saved after the view (SessionMiddleware) on a dead connection: Django's 500
    becomes the same clean 503."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import Client

    settings.SESSION_SAVE_EVERY_REQUEST = True
    c = Client(raise_request_exception=False)
    c.force_login(u.gestion_red, backend="django.contrib.auth.backends.ModelBackend")
    with mock.patch.object(SessionStore, "save", side_effect=_caida()):
        r = c.get("/")
    assert r.status_code == 503, r.status_code
    assert r["Retry-After"]


def test_otros_errores_de_la_base_no_se_disfrazan():
    """Only deadlocks/serialization failures (409) and dead connections (503) are classified;
    an IntegrityError or a plain DatabaseError stays what it is."""
    from django.db import IntegrityError

    from anulaciones.middleware import clasificar

    assert clasificar(IntegrityError("duplicate key")) is None
    assert clasificar(DatabaseError("x")) is None
    assert clasificar(ValueError("x")) is None
    assert clasificar(_bloqueo_mutuo())[0] == 409 and clasificar(_caida())[0] == 503
    assert T.es_cruce(_bloqueo_mutuo()) and not T.es_cruce(_caida())
