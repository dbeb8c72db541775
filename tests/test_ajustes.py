"""The settings profiles (config/settings/): who uses which, what each refuses or defaults to,
and that importing any of them has no side effect."""

import os
import re
import subprocess
import sys
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
PERFILES = ("config.settings.local", "config.settings.production", "config.settings.test")


def _python(codigo, tmp_path, **entorno):
    """``codigo`` in a fresh interpreter at the project's root, with an environment free of the
    test run's settings and of every variable the settings read."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "ANULACIONES_", "CELERY_", "PYTEST_"))
        and k not in {"DATABASE_URL", "EMAIL_BACKEND"}
    }
    env.update(ANULACIONES_VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(RAIZ), **entorno)
    r = subprocess.run([sys.executable, "-c", codigo], cwd=RAIZ, env=env, capture_output=True, text=True, timeout=120)
    return r


def _valores(tmp_path, modulo=None, nombres=(), preludio="", **entorno):
    codigo = (
        f"{preludio}\nfrom django.conf import settings as s\n"
        f"print(repr({{n: getattr(s, n, None) for n in {list(nombres)!r}}}))"
    )
    if modulo:
        entorno["DJANGO_SETTINGS_MODULE"] = modulo
    r = _python(codigo, tmp_path, **entorno)
    assert r.returncode == 0, r.stderr[-3000:]
    return eval(r.stdout.strip().splitlines()[-1])  # noqa: S307 - our own repr of plain values


def test_importar_los_ajustes_no_crea_nada(tmp_path):
    """Settings are read, never acted on: no folder appears (the filesystem broker's folders are
    made by the Celery app when it starts, below)."""
    for modulo in PERFILES:
        r = _python(f"import importlib; importlib.import_module({modulo!r})", tmp_path, DJANGO_SECRET_KEY="x")
        assert r.returncode == 0, r.stderr[-3000:]
    assert list(tmp_path.iterdir()) == []


def test_la_app_de_celery_crea_las_carpetas_del_broker_de_archivos_al_configurarse(tmp_path):
    r = _python(
        "from config.celery import app; print(app.conf.broker_url)",
        tmp_path,
        DJANGO_SETTINGS_MODULE="config.settings.local",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().startswith("filesystem://")
    carpetas = {p.name for p in (tmp_path / "var" / "celery-broker").iterdir()}
    assert carpetas == {"out", "processed", "control"}


def test_produccion_no_arranca_sin_clave_secreta(tmp_path):
    r = _python("import django; django.setup()", tmp_path, DJANGO_SETTINGS_MODULE="config.settings.production")
    assert r.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set" in r.stderr


def test_produccion_todo_del_entorno_y_seguro_por_defecto(tmp_path):
    v = _valores(
        tmp_path,
        "config.settings.production",
        [
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "EMAIL_BACKEND",
            "CELERY_TASK_ALWAYS_EAGER",
        ],
        DJANGO_SECRET_KEY="s3cr3t",
        DJANGO_ALLOWED_HOSTS="anulaciones.example.com",
    )
    assert v == {
        "DEBUG": False,
        "SECRET_KEY": "s3cr3t",
        "ALLOWED_HOSTS": ["anulaciones.example.com"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "CELERY_TASK_ALWAYS_EAGER": False,
    }
    # The variables of today keep working in production too.
    v = _valores(
        tmp_path,
        "config.settings.production",
        ["DEBUG", "DATABASES", "CELERY_BROKER_URL"],
        DJANGO_SECRET_KEY="s3cr3t",
        DJANGO_DEBUG="1",
        DATABASE_URL="postgres://u@db.example.com:5432/anul",
        CELERY_BROKER_URL="redis://redis.example.com:6379/0",
    )
    assert v["DEBUG"] is True and v["CELERY_BROKER_URL"] == "redis://redis.example.com:6379/0"
    assert v["DATABASES"]["default"]["HOST"] == "db.example.com"


def test_local_valores_embebidos(tmp_path):
    v = _valores(
        tmp_path,
        "config.settings.local",
        [
            "DEBUG",
            "ALLOWED_HOSTS",
            "SESSION_COOKIE_SECURE",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "EMAIL_BACKEND",
            "CELERY_BROKER_URL",
            "CELERY_TASK_ALWAYS_EAGER",
            "DATABASES",
        ],
    )
    assert v["DEBUG"] is True and v["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert (v["SESSION_COOKIE_SECURE"], v["SECURE_SSL_REDIRECT"], v["SECURE_HSTS_SECONDS"]) == (False, False, 0)
    assert v["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert v["CELERY_BROKER_URL"] == "filesystem://" and v["CELERY_TASK_ALWAYS_EAGER"] is False
    assert v["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert _valores(tmp_path, "config.settings.local", ["DEBUG"], DJANGO_DEBUG="0") == {"DEBUG": False}


def test_pruebas_tareas_en_proceso_salvo_que_el_entorno_diga_otra_cosa(tmp_path):
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "config.settings.test"  # pyproject.toml, for pytest-django
    assert _valores(tmp_path, "config.settings.test", ["CELERY_TASK_ALWAYS_EAGER", "SECURE_SSL_REDIRECT"]) == {
        "CELERY_TASK_ALWAYS_EAGER": True,
        "SECURE_SSL_REDIRECT": False,
    }
    assert _valores(tmp_path, "config.settings.test", ["CELERY_TASK_ALWAYS_EAGER"], CELERY_TASK_ALWAYS_EAGER="0") == {
        "CELERY_TASK_ALWAYS_EAGER": False
    }


def test_cada_entrada_usa_su_perfil(tmp_path):
    """manage.py (and make run) → local; gunicorn's config.wsgi and the Celery app → production;
    an explicit DJANGO_SETTINGS_MODULE always wins."""
    leer = "from django.conf import settings; print(settings.SETTINGS_MODULE)"
    r = _python(
        f"import runpy, sys; sys.argv = ['manage.py', 'shell', '-c', {leer!r}]; "
        "runpy.run_path('manage.py', run_name='__main__')",
        tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == "config.settings.local"
    for entrada in ("import config.wsgi", "from config.celery import app; app.conf.broker_url"):
        r = _python(f"{entrada}; {leer}", tmp_path, DJANGO_SECRET_KEY="x")
        assert r.returncode == 0, r.stderr[-3000:]
        assert r.stdout.strip().splitlines()[-1] == "config.settings.production", entrada
        r = _python(f"{entrada}; {leer}", tmp_path, DJANGO_SETTINGS_MODULE="config.settings.local")
        assert r.stdout.strip().splitlines()[-1] == "config.settings.local", entrada


def test_el_codigo_de_produccion_no_pregunta_si_corre_bajo_pytest():
    """Behaviour under test comes from the test profile, not from sniffing the test runner."""
    olfato = re.compile(r"PYTEST_(VERSION|CURRENT_TEST)|[\"']pytest[\"'] in sys\.modules")
    culpables = [
        str(p.relative_to(RAIZ))
        for carpeta in ("config", "anulaciones")
        for p in (RAIZ / carpeta).rglob("*.py")
        if olfato.search(p.read_text())
    ]
    assert culpables == []
