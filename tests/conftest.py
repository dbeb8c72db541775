import itertools
import os

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from anulaciones import transitions
from anulaciones.models import Perfil, Zona
from anulaciones.roles import Rol

_numeros = itertools.count(1)


def pytest_sessionfinish(session, exitstatus):
    """With FAIL_ON_SKIP=1 (CI), a skipped test fails the run: nothing may be skipped for a
    missing service."""
    if os.environ.get("FAIL_ON_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"FAIL_ON_SKIP: {len(skipped)} test(s) skipped", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _hash_rapido(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _cache_vacia():
    """Each test starts with an empty cache (per-process memory under pytest): a rolled-back test
    database reuses ids, and a value cached by an earlier test must not answer a later one."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def zonas(db):
    return [Zona.objects.create(codigo=c, nombre=n) for c, n in (("Z1", "Zona Norte"), ("Z2", "Zona Sur"))]


@pytest.fixture
def zona(zonas):
    return zonas[0]


@pytest.fixture
def crear_usuario(db):
    def crear(rol, username=None, zona=None, team_leader=None):
        User = get_user_model()
        user = User.objects.create_user(username or f"{rol.lower()}_{next(_numeros)}", password="x")
        user.groups.add(Group.objects.get_or_create(name=rol)[0])  # flushed by transactional tests
        Perfil.objects.create(usuario=user, zona=zona, team_leader=team_leader)
        return user

    return crear


@pytest.fixture
def u(crear_usuario, zona):
    """One user per role, set up so that each is in scope for cases of ``zona`` by ``u.asesor``."""

    class Usuarios:
        pass

    us = Usuarios()
    us.team_leader = crear_usuario(Rol.TEAM_LEADER, "team_leader")
    us.asesor = crear_usuario(Rol.ASESOR, "asesor", team_leader=us.team_leader)
    us.monitora = crear_usuario(Rol.MONITORA, "monitora")
    us.gestion_red = crear_usuario(Rol.GESTION_RED, "gestion_red")
    us.coc = crear_usuario(Rol.COC, "coc")
    us.coz = crear_usuario(Rol.COZ, "coz", zona=zona)
    us.tecnico = crear_usuario(Rol.TECNICO, "tecnico", zona=zona)
    us.jefe_division = crear_usuario(Rol.JEFE_DIVISION, "jefe_division")
    us.facturacion = crear_usuario(Rol.FACTURACION, "facturacion")
    us.sistema = transitions.usuario_sistema()
    us.por_rol = {
        Rol.ASESOR: us.asesor,
        Rol.MONITORA: us.monitora,
        Rol.TEAM_LEADER: us.team_leader,
        Rol.GESTION_RED: us.gestion_red,
        Rol.COC: us.coc,
        Rol.COZ: us.coz,
        Rol.TECNICO: us.tecnico,
        Rol.JEFE_DIVISION: us.jefe_division,
        Rol.FACTURACION: us.facturacion,
        "SISTEMA": us.sistema,
    }
    return us


@pytest.fixture
def nueva_solicitud(u, zona):
    def crear(**extra):
        datos = dict(
            numero_smartflex=f"SF-{next(_numeros):06d}",
            tipo="instalacion",
            cliente_nombre="Juana Mamani",
            calle="Av. Busch",
            numero_puerta="123",
            zona=zona,
            referencias="Frente al mercado",
            caja_nap="NAP-01",
            plan="Fibra 100",
            vendedor="Pedro Vargas",
        )
        datos.update(extra)
        return transitions.crear_solicitud(u.asesor, **datos)

    return crear


@pytest.fixture
def esc(u, nueva_solicitud, zona):
    from .escenarios import Escenarios

    return Escenarios(u, nueva_solicitud, zona)


# --- browser tests -------------------------------------------------------------------------
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def navegador():
    """Debian's headless Chromium driven by Playwright (its own browser download cannot work
    here). `make test` / `.ci/run` install Chromium when it is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM in tests beside Playwright's loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def pagina(navegador, live_server):
    """A fresh browser context (desktop size) against the live server; ``pagina.url_base``."""
    contexto = navegador.new_context(viewport={"width": 1280, "height": 900}, locale="es-BO", base_url=live_server.url)
    page = contexto.new_page()
    page.set_default_timeout(10_000)
    yield page
    contexto.close()


@pytest.fixture
def telefono(navegador, live_server):
    """A phone-sized browser context (the técnico's)."""
    contexto = navegador.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="es-BO", base_url=live_server.url
    )
    page = contexto.new_page()
    page.set_default_timeout(10_000)
    yield page
    contexto.close()


@pytest.fixture
def entrar():
    """Log a browser page in as a user (password "x" from crear_usuario)."""

    def entrar(page, user, password="x"):
        page.goto("/cuentas/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/cuentas/login/" not in url)
        return page

    return entrar
