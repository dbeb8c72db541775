"""The benchmark databases: the environment a run measures with, and a database dropped,
re-created and migrated (used by bench.run and bench.generar)."""

import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

RAIZ = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BD_DEFECTO = "postgres://postgres@127.0.0.1:5432/bench"


def _entorno(bd):
    os.environ["DATABASE_URL"] = bd
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DJANGO_DEBUG"] = "0"  # measure production settings, whatever the caller's shell exports
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")


def _admin(bd, sql):
    """Run ``sql`` on the server of ``bd``, connected to its ``postgres`` database."""
    import psycopg

    admin = urlunsplit(urlsplit(bd)._replace(path="/postgres"))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(sql)


def _nombre(bd):
    return urlsplit(bd).path.lstrip("/")


def _borrar(bd):
    _admin(bd, f'DROP DATABASE IF EXISTS "{_nombre(bd)}" WITH (FORCE)')


def _recrear(bd):
    _borrar(bd)
    _admin(bd, f'CREATE DATABASE "{_nombre(bd)}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=RAIZ,
        check=True,
        env=dict(os.environ, DATABASE_URL=bd),
    )
