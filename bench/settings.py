"""Settings of the benchmark server: the project's settings plus one bare view (bench/urls.py),
so production code is not touched. Tasks queued by the measured paths stay in an in-memory
broker (no worker: the benchmark measures the request, not the e-mail)."""
from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_ALWAYS_EAGER = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
