"""Session security: login, throttling of failed logins (django-axes, counted in the database so
that every server process sees them), password change and reset throttled the same way, CSRF,
deploy checks."""

import os
import secrets
import subprocess
import sys
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

pytestmark = pytest.mark.django_db


def entrar(client, username, password, ip="10.0.0.1"):
    return client.post("/cuentas/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


@contextmanager
def trabajador(n):
    """Serve a request as gunicorn worker ``n``: a process of its own, whose local-memory cache
    no other worker sees. Only the database is shared (as in production, `--workers 4`)."""
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"trabajador-{n}"}}
    ):
        yield


def test_login_y_logout(u, client):
    assert client.get("/").status_code == 302  # home needs a login
    r = entrar(client, "asesor", "x")
    assert r.status_code == 302 and r["Location"] == "/"
    assert "Casos por corregir" in client.get("/").content.decode()
    assert client.post("/cuentas/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_login_fallido_bloquea_al_usuario_desde_esa_ip(u, client, settings):
    settings.ANULACIONES_LOGIN_INTENTOS = 3
    for _ in range(2):
        r = entrar(client, "asesor", "mala")
        assert r.status_code == 200 and "Usuario o contraseña incorrectos" in r.content.decode()
    r = entrar(client, "asesor", "mala")  # the 3rd failure locks the pair
    assert r.status_code == 429
    r = entrar(client, "asesor", "x")  # even the right password is refused while locked
    assert r.status_code == 429
    html = r.content.decode()
    assert "Demasiados intentos fallidos" in html and "Espere 15 minutos" in html
    assert r["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session
    # another address, or another user, is not locked
    assert entrar(Client(), "asesor", "x", ip="10.0.0.2").status_code == 302
    assert entrar(Client(), "coc", "x").status_code == 302


def test_doce_intentos_en_varios_procesos_bloquean_la_cuenta(u, settings):
    """Issue 13: with 4 gunicorn workers each counting in its own memory, 12 wrong passwords
    (3 per worker) never locked the account. Counted in the database, the 5th locks it for
    every worker and every client; the right password is refused until the cool-off passes."""
    assert settings.ANULACIONES_LOGIN_INTENTOS == 5 and settings.ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS == 900
    clientes = [Client(), Client()]  # two browsers of the same address, each request to the next worker
    inicio = timezone.now()
    with time_machine.travel(inicio, tick=False):
        respuestas = []
        for i in range(12):
            with trabajador(i % 4):
                respuestas.append(entrar(clientes[i % 2], "asesor", "mala").status_code)
        assert respuestas[:4] == [200] * 4 and respuestas[4:] == [429] * 8
        for n in range(4):
            for cliente in clientes:
                with trabajador(n):
                    assert entrar(cliente, "asesor", "x").status_code == 429
                    assert cliente.get("/").status_code == 302  # not logged in
    with time_machine.travel(inicio + timedelta(seconds=899), tick=False), trabajador(1):
        assert entrar(clientes[0], "asesor", "x").status_code == 429  # still inside the cool-off
    with time_machine.travel(inicio + timedelta(seconds=901), tick=False), trabajador(2):
        r = entrar(clientes[1], "asesor", "x")
        assert r.status_code == 302 and r["Location"] == "/"
        assert clientes[1].get("/").status_code == 200


def test_intentos_durante_el_bloqueo_no_lo_alargan(u, settings):
    settings.ANULACIONES_LOGIN_INTENTOS = 2
    inicio = timezone.now()
    with time_machine.travel(inicio, tick=False):
        entrar(Client(), "asesor", "mala")
        assert entrar(Client(), "asesor", "mala").status_code == 429
    with time_machine.travel(inicio + timedelta(seconds=600), tick=False):
        assert entrar(Client(), "asesor", "mala").status_code == 429  # refused, not counted
    with time_machine.travel(inicio + timedelta(seconds=901), tick=False):
        assert entrar(Client(), "asesor", "x").status_code == 302


def test_login_correcto_reinicia_el_contador(u, client, settings):
    settings.ANULACIONES_LOGIN_INTENTOS = 3
    entrar(client, "asesor", "mala")
    entrar(client, "asesor", "mala")
    assert entrar(client, "asesor", "x").status_code == 302
    client.post("/cuentas/logout/")
    entrar(client, "asesor", "mala")
    entrar(client, "asesor", "mala")
    assert entrar(client, "asesor", "x").status_code == 302


def test_el_login_del_admin_tambien_se_bloquea(u, client, settings):
    settings.ANULACIONES_LOGIN_INTENTOS = 2
    u.gestion_red.is_staff = True
    u.gestion_red.save()
    datos = {"username": "gestion_red", "password": "mala", "next": "/admin/"}
    assert client.post("/admin/login/", datos, REMOTE_ADDR="10.0.0.9").status_code == 200
    assert client.post("/admin/login/", datos, REMOTE_ADDR="10.0.0.9").status_code == 429
    r = client.post("/admin/login/", {**datos, "password": "x"}, REMOTE_ADDR="10.0.0.9")
    assert r.status_code == 429 and "_auth_user_id" not in client.session
    # The same pair is locked on the application's login too: one count.
    assert entrar(Client(), "gestion_red", "x", ip="10.0.0.9").status_code == 429


def test_contrasena_actual_equivocada_cuenta_como_intento(u, client, settings):
    settings.ANULACIONES_LOGIN_INTENTOS = 3
    client.force_login(u.asesor)
    mala = {"old_password": "mala", "new_password1": "Cortafuegos-2026!", "new_password2": "Cortafuegos-2026!"}
    for _ in range(2):
        r = client.post("/cuentas/password_change/", mala, REMOTE_ADDR="10.0.0.1")
        assert r.status_code == 200 and "old_password" in r.context["form"].errors
    assert client.post("/cuentas/password_change/", mala, REMOTE_ADDR="10.0.0.1").status_code == 429
    buena = {**mala, "old_password": "x"}
    assert client.post("/cuentas/password_change/", buena, REMOTE_ADDR="10.0.0.1").status_code == 429
    u.asesor.refresh_from_db()
    assert u.asesor.check_password("x")
    assert entrar(Client(), "asesor", "x").status_code == 429  # the login of that pair as well


def test_restablecer_contrasena_limitado_por_correo_y_por_direccion(u, client, settings):
    settings.ANULACIONES_LOGIN_INTENTOS = 3
    u.asesor.email = "asesor@example.com"
    u.asesor.save()
    assert 'href="/cuentas/password_reset/"' in client.get("/cuentas/login/").content.decode()
    assert "Restablecer contraseña" in client.get("/cuentas/password_reset/").content.decode()
    # Per e-mail address, from any client address: 3 requests, then refused (no more mail).
    for i in range(3):
        r = client.post("/cuentas/password_reset/", {"email": "Asesor@Example.com"}, REMOTE_ADDR=f"10.1.0.{i}")
        assert r.status_code == 302 and r["Location"] == "/cuentas/password_reset/done/"
    assert len(mail.outbox) == 3
    r = client.post("/cuentas/password_reset/", {"email": "asesor@example.com"}, REMOTE_ADDR="10.1.0.9")
    assert r.status_code == 429 and "Demasiadas solicitudes de restablecimiento" in r.content.decode()
    assert len(mail.outbox) == 3
    # Per client address, whatever the e-mail (unknown addresses count too, and get the same answer).
    for i in range(3):
        r = client.post("/cuentas/password_reset/", {"email": f"nadie{i}@example.com"}, REMOTE_ADDR="10.2.0.1")
        assert r.status_code == 302
    assert (
        client.post("/cuentas/password_reset/", {"email": "otro@example.com"}, REMOTE_ADDR="10.2.0.1").status_code
        == 429
    )
    # The users' logins are not affected.
    assert entrar(Client(), "asesor", "x", ip="10.2.0.1").status_code == 302


def test_restablecer_en_varios_procesos(u, settings):
    """The reset counters live in the database too: a request to each of 4 workers counts once."""
    u.asesor.email = "asesor@example.com"
    u.asesor.save()
    codigos = []
    for i in range(7):
        with trabajador(i % 4):
            codigos.append(
                Client()
                .post("/cuentas/password_reset/", {"email": "asesor@example.com"}, REMOTE_ADDR=f"10.3.0.{i}")
                .status_code
            )
    assert codigos == [302] * 5 + [429] * 2
    assert len(mail.outbox) == 5


def test_cambio_de_contrasena(u, client):
    client.force_login(u.asesor)
    r = client.post(
        "/cuentas/password_change/",
        {"old_password": "x", "new_password1": "Cortafuegos-2026!", "new_password2": "Cortafuegos-2026!"},
    )
    assert r.status_code == 302
    u.asesor.refresh_from_db()
    assert u.asesor.check_password("Cortafuegos-2026!")


def test_csrf_en_cada_formulario(esc, u):
    s = esc.solicitud("registrada")
    c = Client(enforce_csrf_checks=True)
    c.force_login(u.gestion_red)
    html = c.get(f"/solicitudes/{s.pk}/").content.decode()
    assert html.count("csrfmiddlewaretoken") >= html.count('method="post"') > 0
    r = c.post(f"/accion/solicitud/{s.pk}/asignar_instalacion/", {"version": s.version})
    assert r.status_code == 403
    s.refresh_from_db()
    assert s.estado == "registrada"


def test_check_deploy_limpio_con_ajustes_de_produccion():
    base = Path(__file__).resolve().parent.parent
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_DEBUG", "PYTEST_VERSION", "PYTEST_CURRENT_TEST", "DJANGO_SECURE_SSL_REDIRECT"}
    }
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="anulaciones.example.com",
        DJANGO_SETTINGS_MODULE="config.settings.production",
    )
    r = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout
