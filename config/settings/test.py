"""pytest (``DJANGO_SETTINGS_MODULE`` in pyproject.toml; the worker and gunicorn processes the
tests start inherit it). Tasks run in process unless CELERY_TASK_ALWAYS_EAGER=0 (the tests with
a real worker). Otherwise production's shape — secure cookies, HSTS, DEBUG off — so the suite
checks what is deployed, except the https redirect: the live server speaks http."""

import os

from .base import *  # noqa: F403
from .base import env_bool, env_list

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "insecure-key-only-for-tests"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
if DEBUG:  # DJANGO_DEBUG=1: plain http as in local
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
    SECURE_HSTS_SECONDS = 0

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)
