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
        user.groups.add(Group.objects.get(name=rol))
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
        Rol.ASESOR: us.asesor, Rol.MONITORA: us.monitora, Rol.TEAM_LEADER: us.team_leader,
        Rol.GESTION_RED: us.gestion_red, Rol.COC: us.coc, Rol.COZ: us.coz, Rol.TECNICO: us.tecnico,
        Rol.JEFE_DIVISION: us.jefe_division, Rol.FACTURACION: us.facturacion, "SISTEMA": us.sistema,
    }
    return us


@pytest.fixture
def nueva_solicitud(u, zona):
    def crear(**extra):
        datos = dict(numero_smartflex=f"SF-{next(_numeros):06d}", tipo="instalacion",
                     cliente_nombre="Juana Mamani", calle="Av. Busch", numero_puerta="123", zona=zona,
                     referencias="Frente al mercado", caja_nap="NAP-01", plan="Fibra 100", vendedor="Pedro Vargas")
        datos.update(extra)
        return transitions.crear_solicitud(u.asesor, **datos)

    return crear


@pytest.fixture
def esc(u, nueva_solicitud, zona):
    from .escenarios import Escenarios

    return Escenarios(u, nueva_solicitud, zona)
