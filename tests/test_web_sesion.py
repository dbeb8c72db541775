"""Session security: login, throttling of failed logins, password change, CSRF, deploy checks."""
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_limpia():
    cache.clear()
    yield
    cache.clear()


def entrar(client, username, password, ip="10.0.0.1"):
    return client.post("/cuentas/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_login_y_logout(u, client):
    assert client.get("/").status_code == 302  # home needs a login
    r = entrar(client, "asesor", "x")
    assert r.status_code == 302 and r["Location"] == "/"
    assert "Casos por corregir" in client.get("/").content.decode()
    assert client.post("/cuentas/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_login_fallido_bloquea_al_usuario_desde_esa_ip(u, client, settings):
    settings.ANULACIONES_LOGIN_INTENTOS = 3
    for _ in range(3):
        r = entrar(client, "asesor", "mala")
        assert r.status_code == 200 and "Usuario o contraseña incorrectos" in r.content.decode()
    r = entrar(client, "asesor", "x")  # even the right password is refused while locked
    assert r.status_code == 429
    assert "Demasiados intentos fallidos" in r.content.decode()
    assert "_auth_user_id" not in client.session
    # another address, or another user, is not locked
    assert entrar(Client(), "asesor", "x", ip="10.0.0.2").status_code == 302
    assert entrar(Client(), "coc", "x").status_code == 302


def test_el_bloqueo_expira(u, client, settings):
    settings.ANULACIONES_LOGIN_INTENTOS = 2
    settings.ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS = 1
    entrar(client, "asesor", "mala")
    entrar(client, "asesor", "mala")
    assert entrar(client, "asesor", "x").status_code == 429
    limite = time.monotonic() + 5
    while (r := entrar(client, "asesor", "x")).status_code == 429 and time.monotonic() < limite:
        time.sleep(0.2)  # poll until the lock expires
    assert r.status_code == 302


def test_login_correcto_reinicia_el_contador(u, client, settings):
    settings.ANULACIONES_LOGIN_INTENTOS = 3
    entrar(client, "asesor", "mala")
    entrar(client, "asesor", "mala")
    assert entrar(client, "asesor", "x").status_code == 302
    client.post("/cuentas/logout/")
    entrar(client, "asesor", "mala")
    entrar(client, "asesor", "mala")
    assert entrar(client, "asesor", "x").status_code == 302


def test_cambio_de_contrasena(u, client):
    client.force_login(u.asesor)
    r = client.post("/cuentas/password_change/", {"old_password": "x", "new_password1": "Cortafuegos-2026!",
                                                  "new_password2": "Cortafuegos-2026!"})
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
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", "PYTEST_VERSION", "PYTEST_CURRENT_TEST",
                                                          "DJANGO_SECURE_SSL_REDIRECT"}}
    env.update(DJANGO_SECRET_KEY=secrets.token_urlsafe(64), DJANGO_ALLOWED_HOSTS="anulaciones.example.com",
               DJANGO_SETTINGS_MODULE="config.settings")
    r = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                       cwd=base, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout
