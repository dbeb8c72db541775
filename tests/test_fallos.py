"""Fault suite (issues 13 and 14): the system converges after the faults production will meet.

1. Redis stopped and restarted under a running Celery worker that holds an unacknowledged
   message: the worker reconnects, consumes what is queued after the restart, and the sweep does
   what the lost message carried.
2. A worker killed with SIGKILL in the middle of the sweep, and the sweep rerun by another
   worker with beat: every due SI vencido exactly once, one «vencer» audit row each, every
   notice written exactly once and mailed (its title in an e-mail file to its user). And a
   worker killed in the middle of sending the outbox's e-mails: every notice still mailed, at
   least once (issue 14, item 7).
3. PostgreSQL connections terminated (``pg_terminate_backend``) between and during requests to a
   real multi-process server (gunicorn, persistent connections): never a 500; a request that
   meets a connection killed while idle succeeds; one killed under it is a clean 503; every
   transition the clients sent is applied exactly once.
4. Two conflicting transitions at once over HTTP: one 200, one 409, never a 500, one audit chain.
5. The broker frozen, then down, under a real gunicorn: uploading a Smartflex file and building a
   delivery answer in seconds with their message, never a 500; when Redis returns, a worker's
   periodic pickup imports the files and e-mails the delivery (issue 14, item 9).
6. A worker killed in the middle of an import: the pickup sees its heartbeat stop, queues it
   again, and every row is imported exactly once.

Each scenario uses real processes: its own ``redis-server`` on a spare port (never the shared
one), Celery workers and gunicorn as subprocesses, all against pytest-django's PostgreSQL test
database. Needs PostgreSQL (DATABASE_URL=postgres://...) and the ``redis-server`` binary; CI has
both. docs/fallos.md says what each one proves and what was measured.
"""

import contextlib
import email
import html
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
from anulaciones.models import Notificacion, OrdenDeTrabajo, RegistroAuditoria, ServicioIngenieria, Solicitud

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
            [
                shutil.which("redis-server"),
                "--port",
                str(self.puerto),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directorio),
            ],
            stdout=open(self.directorio / "redis.log", "a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
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
# FALLOS_PAUSA_CORREO=s makes the file-based e-mail backend a slow mail server: each e-mail is
# flushed to its file, then the send takes s seconds (a window to kill the worker mid-send).
_ARRANQUE = """
import os, sys, time, django
django.setup()
from anulaciones import tasks
if int(sys.argv[1]):
    tasks.LOTE = int(sys.argv[1])
pausa = float(os.environ.get("FALLOS_PAUSA_CORREO") or 0)
if pausa:
    from django.core.mail.backends import filebased
    escribir = filebased.EmailBackend.write_message
    def lento(self, mensaje):
        escribir(self, mensaje)
        self.stream.flush()
        time.sleep(pausa)
    filebased.EmailBackend.write_message = lento
from celery.__main__ import main
sys.argv = ["celery"] + sys.argv[2:]
main()
"""


@pytest.fixture
def trabajadores(base_url, tmp_path):  # noqa: F811
    procesos = []

    def iniciar(redis_url, *, pool="solo", beat=False, lote=None, **entorno):
        env = dict(
            os.environ,
            DATABASE_URL=base_url,
            CELERY_BROKER_URL=redis_url,
            CELERY_TASK_ALWAYS_EAGER="0",
            DJANGO_DEBUG="1",
            DB_CONN_MAX_AGE="0",
            ANULACIONES_BARRIDO_SEGUNDOS="1",
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        )
        env.update(entorno)  # e.g. the file-based e-mail backend (``_correo_en``)
        n = len(procesos)
        args = [
            "-A",
            "config",
            "worker",
            "--pool",
            pool,
            "-l",
            "INFO",
            "-n",
            f"fallos-{os.getpid()}-{n}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
        if pool == "prefork":
            args += ["--concurrency", "2"]
        if beat:
            args += ["-B", "-s", str(tmp_path / f"beat-{n}")]
        arranque = lote or entorno.get("FALLOS_PAUSA_CORREO")
        inicio = [sys.executable, "-c", _ARRANQUE, str(lote or 0)] if arranque else [sys.executable, "-m", "celery"]
        cmd = inicio + args
        log = tmp_path / f"worker-{n}.log"
        p = subprocess.Popen(
            cmd, cwd=BASE, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True
        )  # its own process group: SIGKILL takes pool and beat too
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
    settings.ANULACIONES_REDIGITACION_MODO = "reloj"  # of wall-clock time, whatever the hour of the run
    p = trabajadores(redis_propio.url, pool="prefork")
    assert esperar(lambda: _en_log(p, " ready."), 30), p.log.read_text()
    s = esc.solicitud("pendiente_redigitacion")
    redis_propio.publicar(
        tasks.escalar_redigitacion,
        args=[s.pk],
        countdown=7200,  # an unacked message
        task_id=f"eta-larga-{s.pk}",
    )
    assert esperar(lambda: _en_log(p, f"eta-larga-{s.pk}] received"), 20), p.log.read_text()

    redis_propio.detener()
    # the worker sees the broker gone (the state that killed celery 5.7.0), then Redis comes back
    assert esperar(lambda: _en_log(p, "Connection to broker lost"), 20), p.log.read_text()
    redis_propio.iniciar()
    si = esc.servicio("abierto")
    ServicioIngenieria.objects.filter(pk=si.pk).update(vence_at=timezone.now() - timedelta(minutes=1))  # due
    redis_propio.publicar(tasks.barrer_plazos)  # queued after the restart

    # the sweep's three steps commit one after the other: wait for the last one (escalation)
    hecho = esperar(
        lambda: (
            ServicioIngenieria.objects.get(pk=si.pk).estado == "vencido"
            and Solicitud.objects.get(pk=s.pk).redigitacion_escalada_at is not None
        ),
        45,
    )
    assert p.poll() is None, "the worker died:\n" + p.log.read_text()[-3000:]
    assert "Unrecoverable error" not in p.log.read_text()
    assert hecho, "the task queued after the restart was not consumed:\n" + p.log.read_text()[-3000:]
    s.refresh_from_db()
    assert s.redigitacion_tardia  # the sweep did the work of the message Redis lost
    assert Notificacion.objects.filter(tipo="redigitacion_tardia", clave=f"solicitud:{s.pk}").count() == 1


def test_anular_para_redigitacion_no_programa_tareas_con_eta(esc, u, django_capture_on_commit_callbacks):
    """Nothing waits hours in a worker any more: the sweep finds the late re-digitation."""
    from celery.signals import task_prerun

    from anulaciones import tasks

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


# --- e-mail as it leaves: the file-based backend, read back --------------------------------------
SEPARADOR = b"\n" + b"-" * 79 + b"\n"  # what Django's file-based backend writes after each e-mail


def _correo_en(buzon):
    """The worker's (or server's) environment for e-mails written as files to ``buzon``."""
    return {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(buzon)}


def _con_correo():
    """Every user gets an address (username@ejemplo.bo)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Value
    from django.db.models.functions import Concat

    get_user_model().objects.update(email=Concat("username", Value("@ejemplo.bo")))


def _correos(buzon):
    """[(recipients, subject, body lines, attachment names)] of every e-mail written completely
    to ``buzon``: a file cut by SIGKILL ends without the separator, its last e-mail is not counted."""
    from email import policy

    res = []
    for archivo in sorted(Path(buzon).glob("*.log")) if Path(buzon).exists() else ():
        for parte in archivo.read_bytes().split(SEPARADOR)[:-1]:
            m = email.message_from_bytes(parte, policy=policy.default)
            cuerpo = m.get_body(("plain",)).get_content()
            res.append(
                (
                    {a.addr_spec for a in m["To"].addresses},
                    str(m["Subject"]),
                    set(cuerpo.splitlines()),
                    [a.get_filename() for a in m.iter_attachments()],
                )
            )
    return res


def _sin_correo(buzon):
    """The notices whose rendered title (``avisos.presentar``) is in no e-mail to their user."""
    from anulaciones.avisos import RELACIONADOS, presentar

    lineas = {}
    for para, _, cuerpo, _ in _correos(buzon):
        for direccion in para:
            lineas.setdefault(direccion, set()).update(cuerpo)
    avisos = presentar(Notificacion.objects.select_related("usuario", *RELACIONADOS).order_by("pk"))
    assert avisos and all(a.titulo for a in avisos)
    return [a.clave for a in avisos if a.titulo not in lineas.get(a.usuario.email, ())]


def _matar(p):
    """SIGKILL a worker with its process group, then terminate its database connections (a
    commit in flight either happened or not; nothing of it changes afterwards)."""
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(10)
    _terminar_conexiones()


# --- 2. a worker killed with SIGKILL in the middle of the sweep ---------------------------------
N_VENCIDOS, LOTE, N_ASESORES = 3000, 100, 30


def _muchos_si(esc, n, asesores=(), vence_at=None):
    """One SI opened through the transition path and n - 1 copies of it (bulk, as the
    benchmarks do), spread over ``asesores`` (their destinatario), all due at ``vence_at``
    (default: an hour ago)."""
    base = esc.servicio("abierto")
    campos = {
        f.attname: getattr(base, f.attname) for f in ServicioIngenieria._meta.concrete_fields if not f.primary_key
    }
    copias = [ServicioIngenieria(**campos) for _ in range(n - 1)]
    for i, si in enumerate(copias):
        if asesores:
            si.asesor_id = asesores[i % len(asesores)].pk
    ServicioIngenieria.objects.bulk_create(copias, batch_size=1000)
    ServicioIngenieria.objects.update(vence_at=vence_at or timezone.now() - timedelta(hours=1))
    return list(ServicioIngenieria.objects.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_trabajador_muerto_a_mitad_del_barrido_y_barrido_repetido(
    esc, u, crear_usuario, redis_propio, trabajadores, tmp_path
):
    """3,000 due SIs of 30 asesores (all with an e-mail address), 100 per sweep transaction.
    Worker A (mail written as files) is SIGKILLed (with its process group) as soon as some
    batches are committed; worker B, with beat (the pickup every second), sweeps again. Every SI
    ends vencido exactly once with one «vencer» row; every expected notice exists exactly once
    (its asesor's, per SI; Gestión de Red's summary, per batch: the batches partition the SIs),
    each is marked mailed and its title is in an e-mail to its user's address."""
    from anulaciones import tasks
    from anulaciones.roles import Rol

    asesores = [u.asesor] + [crear_usuario(Rol.ASESOR, team_leader=u.team_leader) for _ in range(N_ASESORES - 1)]
    pks = _muchos_si(esc, N_VENCIDOS, asesores)
    assert len(pks) == N_VENCIDOS
    _con_correo()
    Notificacion.objects.update(correo_enviado_at=None)  # what the set-up wrote goes by e-mail too
    buzon = tmp_path / "correos"
    vencer = RegistroAuditoria.objects.filter(transicion="vencer")
    a = trabajadores(redis_propio.url, lote=LOTE, **_correo_en(buzon))
    assert esperar(lambda: _en_log(a, " ready."), 30), a.log.read_text()
    redis_propio.publicar(tasks.barrer_plazos)
    limite = time.monotonic() + 30
    while not vencer.exists():  # the first batch committed: kill at once, the sweep is mid-way
        assert time.monotonic() < limite, a.log.read_text()
        time.sleep(0.005)
    _matar(a)
    al_matar = vencer.count()
    assert 0 < al_matar < N_VENCIDOS, al_matar
    assert al_matar % LOTE == 0  # whole batches: a batch commits all its rows or none

    inicio = time.monotonic()
    b = trabajadores(redis_propio.url, beat=True, lote=LOTE, ANULACIONES_RECUPERACION_SEGUNDOS="1", **_correo_en(buzon))
    pendientes = Notificacion.objects.filter(correo_enviado_at__isnull=True)
    assert esperar(
        lambda: not ServicioIngenieria.objects.filter(estado="abierto").exists() and not pendientes.exists(), 90
    ), b.log.read_text()[-3000:]
    convergio = time.monotonic() - inicio
    _parar(b)  # warm shutdown: what runs finishes

    assert ServicioIngenieria.objects.filter(estado="vencido", version=1).count() == N_VENCIDOS
    por_si = dict(vencer.values("object_id").annotate(n=Count("id")).values_list("object_id", "n"))
    assert set(por_si) == set(pks) and set(por_si.values()) == {1}
    # the destinatario's notice, per SI: each exactly once (nothing lost, nothing twice)
    esperados = {(asesor, f"servicio:{pk}") for pk, asesor in ServicioIngenieria.objects.values_list("pk", "asesor_id")}
    vistos = list(
        Notificacion.objects.filter(tipo="vencido", clave__startswith="servicio:").values_list("usuario_id", "clave")
    )
    assert len(vistos) == len(set(vistos)) and set(vistos) == esperados, (len(vistos), len(esperados))
    # Gestión de Red's summary, per batch: the batches' ranges are disjoint and cover every SI once
    resumenes = Notificacion.objects.filter(tipo="vencido", clave__startswith="vencidos:")
    assert set(resumenes.values_list("usuario_id", flat=True)) == {u.gestion_red.pk}
    assert sum(n.datos["total"] for n in resumenes) == N_VENCIDOS
    rangos = sorted(tuple(int(x) for x in n.clave.split(":")[1].split("-")) for n in resumenes)
    assert len(rangos) == N_VENCIDOS // LOTE and all(r[1] < s[0] for r, s in zip(rangos, rangos[1:], strict=False)), (
        rangos
    )
    # every notice mailed (at least once), its title in an e-mail to its user's address
    assert not pendientes.exists()
    sin_correo = _sin_correo(buzon)
    assert not sin_correo, (len(sin_correo), sin_correo[:5])
    print(
        f"killed after {al_matar} of {N_VENCIDOS}; worker B converged in {convergio:.1f} s; "
        f"{Notificacion.objects.count()} notices, {len(_correos(buzon))} e-mails"
    )


N_AVISOS, N_DESTINATARIOS, PAUSA_CORREO = 2000, 200, 0.02


@pytest.mark.django_db(transaction=True)
def test_trabajador_muerto_a_mitad_del_envio_de_correos(esc, u, redis_propio, trabajadores, tmp_path):
    """An outbox of 2,000 notices for 200 users. Worker A sends (one e-mail per user, each taking
    20 ms: a slow mail server) and is SIGKILLed as soon as its first e-mail is written. Nothing
    was recorded (the send's transaction died with it), so worker B's pickup (beat, every
    second) mails every notice: each title is in an e-mail to its user; the users A had already
    mailed get theirs twice — at least once, never lost."""
    from django.contrib.auth import get_user_model

    from anulaciones import tasks

    sis = _muchos_si(esc, N_AVISOS, vence_at=timezone.now() + timedelta(days=3))  # not due: only the outbox
    User = get_user_model()
    personas = User.objects.bulk_create(User(username=f"destinatario_{i}") for i in range(N_DESTINATARIOS))
    solicitud = ServicioIngenieria.objects.values_list("solicitud_id", flat=True).first()
    Notificacion.objects.bulk_create(
        Notificacion(
            usuario_id=personas[i % N_DESTINATARIOS].pk,
            tipo=Notificacion.Tipo.VENCIDO,
            clave=f"servicio:{pk}",
            servicio_id=pk,
            solicitud_id=solicitud,
        )
        for i, pk in enumerate(sis)
    )
    _con_correo()
    Notificacion.objects.update(correo_enviado_at=None)
    total = Notificacion.objects.count()
    destinatarios = Notificacion.objects.values("usuario").distinct().count()
    buzon = tmp_path / "correos"

    a = trabajadores(redis_propio.url, FALLOS_PAUSA_CORREO=str(PAUSA_CORREO), **_correo_en(buzon))
    assert esperar(lambda: _en_log(a, " ready."), 30), a.log.read_text()
    redis_propio.publicar(tasks.enviar_correos)
    limite = time.monotonic() + 30
    while not _correos(buzon):  # its first e-mail is out: kill at once, the send is mid-way
        assert time.monotonic() < limite, a.log.read_text()
        time.sleep(0.005)
    _matar(a)
    de_a = _correos(buzon)
    assert 1 <= len(de_a) < destinatarios, len(de_a)
    pendientes = Notificacion.objects.filter(correo_enviado_at__isnull=True)
    assert pendientes.count() == total  # nothing recorded: every notice is still in the outbox

    inicio = time.monotonic()
    b = trabajadores(redis_propio.url, beat=True, ANULACIONES_RECUPERACION_SEGUNDOS="1", **_correo_en(buzon))
    assert esperar(lambda: not pendientes.exists(), 60), b.log.read_text()[-3000:]
    convergio = time.monotonic() - inicio
    _parar(b)

    sin_correo = _sin_correo(buzon)
    assert not sin_correo, (len(sin_correo), sin_correo[:5])
    correos = _correos(buzon)
    veces = {}
    for para, *_ in correos:
        for d in para:
            veces[d] = veces.get(d, 0) + 1
    assert len(veces) == destinatarios
    dos_veces = {d for d, n in veces.items() if n > 1}
    assert dos_veces == {d for para, *_ in de_a for d in para}, (len(dos_veces), len(de_a))  # at least once
    print(
        f"{total} notices for {destinatarios} users; A wrote {len(de_a)} e-mail(s) before SIGKILL; "
        f"B mailed everything in {convergio:.1f} s; {len(correos)} e-mails, {len(dos_veces)} user(s) twice"
    )


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


@contextlib.contextmanager
def _gunicorn(base_url, log, **entorno):
    """gunicorn with 2 worker processes of 2 threads (a persistent database connection per
    thread) on the test database, production settings (DEBUG off); ``entorno`` overrides (e.g. a
    real broker instead of eager tasks)."""
    puerto = _puerto_libre()
    env = dict(
        os.environ,
        DATABASE_URL=base_url,
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DB_CONN_MAX_AGE="600",
        CELERY_TASK_ALWAYS_EAGER="1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    env.update(entorno)
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers",
            "2",
            "--threads",
            "2",
            "--bind",
            f"127.0.0.1:{puerto}",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--preload",
            "--no-control-socket",
        ],
        cwd=BASE,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
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
        print(f"--- {log.name} ---\n{log.read_text()[-3000:]}")


@pytest.fixture
def servidor(base_url, tmp_path):  # noqa: F811
    with _gunicorn(base_url, tmp_path / "gunicorn.log") as s:
        yield s


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
        cur.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND NOT pid = ANY(%s)",
            [list(excepto)],
        )
        return cur.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_conexiones_de_postgresql_terminadas_entre_y_durante_las_peticiones(esc, u, servidor):
    n_solicitudes = 40
    token, sesion = _token(u.gestion_red), _sesion(u.gestion_red)
    solicitudes = [esc.solicitud("registrada").pk for _ in range(n_solicitudes)]
    lecturas = [
        ("GET", "/api/v1/solicitudes/?page_size=5", {"token": token}),
        ("GET", "/", {"sesion": sesion}),
        ("GET", "/tablero/", {"sesion": sesion}),
    ]

    # a) killed while idle: each worker's persistent connection is dead; the next request of
    # each worker meets it at its start — the health check replaces it: every answer is a 200.
    for _ in range(3):
        for metodo, ruta, auth in lecturas * 4:
            assert servidor.pedir(metodo, ruta, **auth)[0] == 200
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
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
                    "POST", f"/api/v1/solicitudes/{pk}/asignar_instalacion/", token=token, cuerpo={"version": 0}
                )
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
    filas = RegistroAuditoria.objects.filter(
        transicion="asignar_instalacion", object_id__in=solicitudes, content_type__model="solicitud"
    )
    assert filas.count() == n_solicitudes
    ordenes = OrdenDeTrabajo.objects.filter(solicitud__in=solicitudes)
    assert set(ordenes.values_list("estado", flat=True)) == {"asignada"}
    print(
        f"terminated {terminadas} connections; reads {len(lecturas_hechas)} "
        f"({lecturas_hechas.count(503)} × 503); transitions {len(transiciones)} "
        f"({sum(v.count(503) for v in transiciones)} × 503 retried, "
        f"{sum(v[-1] == 409 for v in transiciones)} × 409 after a 503)"
    )


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

        hilos = [
            threading.Thread(
                target=enviar,
                args=(
                    "anular",
                    f"/api/v1/solicitudes/{s.pk}/anular/",
                    gr,
                    {"version": 1, "motivo": "Cliente desiste", "justificacion": "El cliente llamó para desistir"},
                ),
            ),
            threading.Thread(
                target=enviar, args=("ejecutar", f"/api/v1/ordenes/{s.orden.pk}/ejecutar/", tec, {"version": 1})
            ),
        ]
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
            assert (s.estado, o.estado, cadena_s[-1], cadena_o[-1]) == (
                "anulada",
                "anulada",
                "anular",
                "coordinar_anulacion",
            )
        else:
            assert (s.estado, o.estado, cadena_s[-1], cadena_o[-1]) == (
                "instalada",
                "ejecutada",
                "marcar_instalada",
                "ejecutar",
            )
        assert len(cadena_s) == len(cadena_o) == 3
    print("rounds (anular, ejecutar):", codigos)


# --- 5. the broker down under the web: an upload and a delivery, picked up when it returns -------
class Navegador:
    """A logged-in browser of a real server over plain HTTP: keeps its cookies (session, CSRF,
    messages) and posts forms with the CSRF token of the last page that had one."""

    def __init__(self, servidor, sesion):
        self.puerto = servidor.puerto
        self.cookies = {"sessionid": sesion}
        self.token = None

    def pedir(self, metodo, ruta, campos=None, archivos=None):
        """(status, Location, text, seconds)."""
        import re
        import uuid
        from http.cookies import SimpleCookie
        from urllib.parse import urlencode

        cabeceras = {"Host": "127.0.0.1", "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        cuerpo = None
        if metodo == "POST":
            campos = {"csrfmiddlewaretoken": self.token, **(campos or {})}
            if archivos:
                limite = uuid.uuid4().hex
                partes = [
                    f'--{limite}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in campos.items()
                ]
                partes += [
                    f'--{limite}\r\nContent-Disposition: form-data; name="{k}"; filename="{nombre}"\r\n'
                    f"Content-Type: text/csv\r\n\r\n".encode()
                    + datos
                    + b"\r\n"
                    for k, (nombre, datos) in archivos.items()
                ]
                cuerpo = b"".join(partes) + f"--{limite}--\r\n".encode()
                cabeceras["Content-Type"] = f"multipart/form-data; boundary={limite}"
            else:
                cuerpo = urlencode(campos).encode()
                cabeceras["Content-Type"] = "application/x-www-form-urlencoded"
        inicio = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", self.puerto, timeout=120)
        try:
            c.request(metodo, ruta, body=cuerpo, headers=cabeceras)
            r = c.getresponse()
            texto = r.read().decode("utf-8", "replace")
        finally:
            c.close()
        duracion = time.monotonic() - inicio
        for linea in r.msg.get_all("Set-Cookie") or ():
            galleta = SimpleCookie()
            galleta.load(linea)
            for nombre, m in galleta.items():
                if m.value and m["max-age"] != "0":
                    self.cookies[nombre] = m.coded_value
                else:
                    self.cookies.pop(nombre, None)
        if token := re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', texto):
            self.token = token[1]
        return r.status, r.getheader("Location"), texto, duracion

    def mensajes(self, ruta):
        """The page a redirect leads to (it shows the flashed messages): its status and text."""
        estado, _, texto, _ = self.pedir("GET", ruta)
        return estado, html.unescape(texto)


def _csv(prefijo, n):
    """A valid Smartflex export of n new Solicitudes (zone Z1, asesor «asesor»)."""
    return (
        "numero_smartflex,tipo,cliente_nombre,calle,zona,asesor\n"
        + "".join(f"{prefijo}-{i:05d},instalacion,Cliente {i},Calle {i},Z1,asesor\n" for i in range(n))
    ).encode()


def _subir(web, nombre, n):
    """POST /importar/ with a file of n rows: (the ImportacionSmartflex, the answer's status,
    the page it leads to, seconds)."""
    from anulaciones.models import ImportacionSmartflex

    prefijo = nombre.split(".")[0].upper()
    estado, destino, texto, segundos = web.pedir("POST", "/importar/", archivos={"archivo": (nombre, _csv(prefijo, n))})
    assert estado == 302 and destino, (estado, texto[-2000:])
    imp = ImportacionSmartflex.objects.get(nombre=nombre)
    assert destino.endswith(f"/importar/{imp.pk}/"), destino
    pagina = web.mensajes(destino)
    assert pagina[0] == 200
    return imp, pagina[1], segundos


@pytest.mark.django_db(transaction=True)
def test_sin_broker_la_subida_y_la_entrega_responden_y_se_recuperan(
    esc,
    u,
    base_url,
    redis_propio,  # noqa: F811
    trabajadores,
    tmp_path,
):
    """A real gunicorn publishing to a real Redis (no eager tasks) and no worker yet.
    1. Redis up: import A is queued (its message will die with Redis: no persistence).
    2. Redis frozen (SIGSTOP: connections open, no answer): POST /importar/ (import F) answers
       302 within CELERY_BROKER_SOCKET_TIMEOUT + kombu's reconnection bound (it waited forever
       before that setting), and its page says the file is kept and will be imported when the
       service is back. Then Redis is killed (SIGKILL) while frozen.
    3. Redis down: the same for import B; POST /entregas/generar/ answers 302 to the list with its
       message: the delivery is built (3 digitized zonifications), its e-mail not sent. Never a
       500; each request's time with the broker frozen or down is measured.
    4. Redis started again (empty) and a worker with beat (pickup every second, imports stale
       after 1.2 s): imports A, F and B end «terminada» with their rows, the delivery is e-mailed
       to Facturación once, with its workbook.
    5. The server publishes again by itself: import C is queued at once, with no warning."""
    from anulaciones.models import Entrega, ImportacionSmartflex, Solicitud
    from anulaciones.views.importacion import MENSAJE_SIN_COLA

    zonificaciones = [esc.zonificacion("digitada") for _ in range(3)]
    _con_correo()
    buzon = tmp_path / "correos"
    mes = timezone.localdate().replace(day=1)
    with _gunicorn(
        base_url,
        tmp_path / "gunicorn-broker.log",
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_BROKER_URL=redis_propio.url,
        **_correo_en(buzon),
    ) as servidor:
        web = Navegador(servidor, _sesion(u.gestion_red))
        assert web.pedir("GET", "/importar/")[0] == 200 and web.token

        imp_a, pagina, t_arriba = _subir(web, "a.csv", 20)  # 1. the broker up
        assert MENSAJE_SIN_COLA not in pagina

        os.kill(redis_propio.proceso.pid, signal.SIGSTOP)  # 2. the broker frozen: connections open, no answer
        try:
            imp_f, pagina, t_congelado = _subir(web, "f.csv", 20)
            assert MENSAJE_SIN_COLA in pagina, pagina[-3000:]
        finally:
            _parar(redis_propio.proceso, signal.SIGKILL)  # 3. and dead: nothing of what it held survives

        imp_b, pagina, t_importar = _subir(web, "b.csv", 20)
        assert MENSAJE_SIN_COLA in pagina, pagina[-3000:]
        estado, destino, texto, t_entrega = web.pedir("POST", "/entregas/generar/", campos={"mes": f"{mes:%Y-%m}"})
        assert estado == 302 and destino.endswith("/entregas/"), (estado, texto[-2000:])
        estado, pagina = web.mensajes(destino)
        assert estado == 200 and 'class="mensajes"' in pagina and f"{mes:%m/%Y}" in pagina, pagina[-3000:]
        entrega = Entrega.objects.get(mes=mes)
        assert entrega.enviada_at is None and entrega.filas == len(zonificaciones)
        assert set(ImportacionSmartflex.objects.values_list("etapa", flat=True)) == {"pendiente"}

        redis_propio.iniciar()  # 4. the broker back, empty; a worker with its beat
        inicio = time.monotonic()
        w = trabajadores(
            redis_propio.url,
            beat=True,
            ANULACIONES_RECUPERACION_SEGUNDOS="1",
            ANULACIONES_IMPORTACION_LATIDO_MINUTOS="0.02",
            **_correo_en(buzon),
        )

        def recuperado():
            etapas = set(
                ImportacionSmartflex.objects.filter(pk__in=[imp_a.pk, imp_f.pk, imp_b.pk]).values_list(
                    "etapa", flat=True
                )
            )
            return etapas == {"terminada"} and Entrega.objects.get(pk=entrega.pk).enviada_at is not None

        assert esperar(recuperado, 60), w.log.read_text()[-3000:]
        t_recuperar = time.monotonic() - inicio

        imp_c, pagina, t_despues = _subir(web, "c.csv", 20)  # 5. the server publishes again
        assert MENSAJE_SIN_COLA not in pagina
        assert esperar(lambda: ImportacionSmartflex.objects.get(pk=imp_c.pk).etapa == "terminada", 30), (
            w.log.read_text()[-3000:]
        )

    for imp, prefijo in ((imp_a, "A-"), (imp_f, "F-"), (imp_b, "B-"), (imp_c, "C-")):
        imp.refresh_from_db()
        assert (imp.etapa, imp.total, imp.creadas) == ("terminada", 20, 20), (imp.etapa, imp.mensaje)
        assert Solicitud.objects.filter(numero_smartflex__startswith=prefijo).count() == 20
    for imp in (imp_a, imp_f, imp_b):  # queued again by the pickup
        assert _en_log(w, f"Importación {imp.pk} sin avance")
    entrega.refresh_from_db()
    u.facturacion.refresh_from_db()
    facturacion = [c for c in _correos(buzon) if u.facturacion.email in c[0]]
    assert [c[3] for c in facturacion] == [[entrega.nombre_archivo]], facturacion  # once, with its workbook
    print(
        f"request times — broker up: import {t_arriba:.2f} s; broker frozen: import {t_congelado:.2f} s; "
        f"broker down: import {t_importar:.2f} s, "
        f"delivery {t_entrega:.2f} s; after restart: import {t_despues:.2f} s; "
        f"worker start to imports A, F, B done and the delivery mailed: {t_recuperar:.1f} s"
    )
    assert max(t_importar, t_entrega) < 5  # bounded: the user is answered in seconds
    assert t_congelado < 12  # ~6 s: CELERY_BROKER_SOCKET_TIMEOUT (2 s), one retry, kombu's 4 s reconnection bound


# --- 6. a worker killed in the middle of an import ------------------------------------------------
N_FILAS, LOTE_IMPORTACION = 3000, 50


@pytest.mark.django_db(transaction=True)
def test_trabajador_muerto_a_mitad_de_una_importacion(u, zona, redis_propio, trabajadores):
    """A 3,000-row Smartflex file imported 50 rows per batch. Worker A is SIGKILLed as soon as a
    batch is committed: the import stays «importando» and its heartbeat stops. Worker B's pickup
    (beat every second, an import without progress for 1.2 s is stale) queues it again; B
    re-validates and imports it: «terminada», every row imported exactly once (one Solicitud,
    one OT, one «registrar» audit row each), the rows A committed counted as unchanged."""
    from django.core.files.base import ContentFile

    from anulaciones.models import ImportacionSmartflex, Solicitud
    from anulaciones.tasks import importar_smartflex

    imp = ImportacionSmartflex.objects.create(usuario=u.gestion_red, nombre="grande.csv")
    imp.archivo.save("grande.csv", ContentFile(_csv("SF-K", N_FILAS)))
    lote = {"ANULACIONES_IMPORTACION_LOTE": str(LOTE_IMPORTACION)}
    a = trabajadores(redis_propio.url, **lote)
    assert esperar(lambda: _en_log(a, " ready."), 30), a.log.read_text()
    creadas = Solicitud.objects.filter(numero_smartflex__startswith="SF-K-")
    redis_propio.publicar(importar_smartflex, args=[imp.pk])
    limite = time.monotonic() + 60
    while not creadas.exists():  # its first batch committed: kill at once, the import is mid-way
        assert time.monotonic() < limite, a.log.read_text()
        time.sleep(0.005)
    _matar(a)
    al_matar = creadas.count()
    assert 0 < al_matar < N_FILAS and al_matar % LOTE_IMPORTACION == 0, al_matar
    imp.refresh_from_db()
    assert imp.etapa == "importando"

    inicio = time.monotonic()
    b = trabajadores(
        redis_propio.url,
        beat=True,
        ANULACIONES_RECUPERACION_SEGUNDOS="1",
        ANULACIONES_IMPORTACION_LATIDO_MINUTOS="0.02",
        **lote,
    )
    assert esperar(lambda: ImportacionSmartflex.objects.get(pk=imp.pk).etapa in ImportacionSmartflex.FINALES, 90), (
        b.log.read_text()[-3000:]
    )
    convergio = time.monotonic() - inicio
    _parar(b)

    imp.refresh_from_db()
    assert imp.etapa == "terminada", (imp.etapa, imp.mensaje)
    assert (imp.total, imp.creadas, imp.sin_cambios, imp.con_error) == (N_FILAS, N_FILAS - al_matar, al_matar, 0)
    assert creadas.count() == N_FILAS
    assert OrdenDeTrabajo.objects.filter(solicitud__in=creadas).count() == N_FILAS
    registros = (
        RegistroAuditoria.objects.filter(
            transicion="registrar", content_type__model="solicitud", object_id__in=creadas.values("pk")
        )
        .values("object_id")
        .annotate(n=Count("id"))
    )
    assert len(registros) == N_FILAS and {r["n"] for r in registros} == {1}
    assert _en_log(b, f"Importación {imp.pk} sin avance")
    print(f"killed after {al_matar} of {N_FILAS} rows; worker B start to «terminada»: {convergio:.1f} s")


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
@pytest.mark.parametrize(
    "error, status", [(_caida, 503), (lambda: InterfaceError("connection already closed"), 503), (_bloqueo_mutuo, 409)]
)
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
