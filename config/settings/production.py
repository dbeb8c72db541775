"""Production (gunicorn through ``config.wsgi``, Celery workers and beat through ``config.celery``):
every value from the environment (config/settings/base.py and README "Production set-up"), HTTPS
and secure cookies on, DEBUG off unless DJANGO_DEBUG says so. Without DJANGO_SECRET_KEY it
refuses to start: a default key would sign sessions and password-reset links anyone can forge."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_bool, env_list

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set (config.settings.production).")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
