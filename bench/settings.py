"""Settings of the benchmark server: production settings plus one bare view (bench/urls.py),
so production code is not touched. Tasks queued by the measured paths stay in an in-memory
broker (no worker: the benchmark measures the request, not the e-mail)."""

import os

# bench/run.py sets these for its own processes; a process started another way (the benchmarks'
# tests) gets the same throwaway key instead of production's refusal.
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")

from config.settings.production import *  # noqa: E402, F403

ROOT_URLCONF = "bench.urls"
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_ALWAYS_EAGER = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
