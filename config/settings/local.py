"""The developer's machine (``manage.py`` and ``make run`` use it unless DJANGO_SETTINGS_MODULE
says otherwise): embedded defaults, no server to install. The environment still overrides any
of them (DATABASE_URL=postgres://… to develop against PostgreSQL)."""

import os

from .base import *  # noqa: F403
from .base import env_bool, env_list

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "insecure-development-key-only-for-local"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

# runserver speaks plain http: no redirect to https, cookies sent over http, no HSTS remembered
# by the browser for localhost.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

# Readable log lines in a developer's terminal unless ANULACIONES_LOG_JSON=1.
ANULACIONES_LOG_JSON = env_bool("ANULACIONES_LOG_JSON", False)
LOGGING["handlers"]["console"]["formatter"] = "json" if ANULACIONES_LOG_JSON else "legible"  # noqa: F405
