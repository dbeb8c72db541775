"""Settings, all from environment variables with embedded defaults.

Embedded (no servers): SQLite file in the project, filesystem Celery broker under var/.
Production: DATABASE_URL=postgres://..., CELERY_BROKER_URL=redis://..., DJANGO_SECRET_KEY,
DJANGO_DEBUG unset (off), DJANGO_ALLOWED_HOSTS.
"""
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ANULACIONES_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


# Safe production defaults: debug off, and no default secret key outside debug.
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or (
    "insecure-development-key-only-for-debug" if DEBUG or os.environ.get("PYTEST_VERSION") else None
)
if not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    # HTTPS: on by default in production; turn off only behind a trusted TLS-terminating proxy
    # that already redirects (and set DJANGO_SECURE_PROXY_SSL_HEADER=1 when it sends X-Forwarded-Proto).
    # Under pytest (live server over http) the redirect defaults to off.
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not os.environ.get("PYTEST_VERSION"))
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_COOKIE_AGE", str(10 * 3600)))  # a working day

# Cache (login throttling counters). Default: per-process memory; with several processes set
# CACHE_URL=redis://host:6379/1 so that every process counts the same failed logins.
if os.environ.get("CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["CACHE_URL"]}}
# Login throttling: after N failed logins for one username from one address, lock that pair out.
ANULACIONES_LOGIN_INTENTOS = int(os.environ.get("ANULACIONES_LOGIN_INTENTOS", "5"))
ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS = int(os.environ.get("ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS", "900"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_fsm",
    "django_tables2",
    "django_filters",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anulaciones",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "anulaciones.views.contexto.navegacion",
                "anulaciones.context_processors.notificaciones",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for the writer instead of failing at once when two processes write.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "es"
TIME_ZONE = os.environ.get("TIME_ZONE", "America/La_Paz")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "anulaciones@localhost")

# --- Celery -----------------------------------------------------------------------------
# Embedded default: the kombu filesystem transport, which needs no server and works across
# processes on one machine. Production: CELERY_BROKER_URL=redis://host:6379/0.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "control_folder": str(_broker_dir / "control"),  # broadcast (remote control), not ./control
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A task scheduled with an ETA (the 2-hour re-digitation check) waits unacknowledged in
    # the worker; Redis redelivers it after the visibility timeout, so keep that longer than
    # the longest ETA (duplicates would be harmless: the tasks are idempotent).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", str(6 * 3600)))}
# Tests send tasks eagerly (in process) unless told otherwise; the worker integration test
# starts a real worker with CELERY_TASK_ALWAYS_EAGER=0.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", bool(os.environ.get("PYTEST_VERSION")))
CELERY_BEAT_SCHEDULE = {
    # 4.2/5.2 and 19.2: SIs past their cut-off become vencido, warnings, late re-digitations.
    "barrer-plazos": {"task": "anulaciones.tasks.barrer_plazos",
                      "schedule": float(os.environ.get("ANULACIONES_BARRIDO_SEGUNDOS", "60"))},
    # 21.1: the month's zonification workbook, on its day (checked hourly; built once a month).
    "entrega-mensual": {"task": "anulaciones.tasks.entrega_mensual",
                        "schedule": float(os.environ.get("ANULACIONES_ENTREGA_REVISION_SEGUNDOS", "3600"))},
    # E-mail of the notifications not mailed yet (normally sent at once; this is the backstop).
    "enviar-correos": {"task": "anulaciones.tasks.enviar_correos", "schedule": 300.0},
}

# --- The procedure ----------------------------------------------------------------------
# Working calendar for the same-day deadline (4.2, 5.2).
ANULACIONES_CORTE = os.environ.get("ANULACIONES_CORTE", "23:59:59")  # end-of-day cut-off, local time
ANULACIONES_DIAS_HABILES = [int(d) for d in env_list("ANULACIONES_DIAS_HABILES", "0,1,2,3,4,5")]  # Mon=0
ANULACIONES_FERIADOS = env_list("ANULACIONES_FERIADOS", "")  # YYYY-MM-DD, plus those in the admin
ANULACIONES_REDIGITACION_HORAS = float(os.environ.get("ANULACIONES_REDIGITACION_HORAS", "2"))
ANULACIONES_UMBRAL_INDICADOR = float(os.environ.get("ANULACIONES_UMBRAL_INDICADOR", "95"))
# Warn the SI's destinatario this many minutes before its deadline (once).
ANULACIONES_AVISO_MINUTOS = int(os.environ.get("ANULACIONES_AVISO_MINUTOS", "60"))
# The month's workbook for Div. Facturación (21.1) is built from this many days before the
# month's last day (0 = on the last day).
ANULACIONES_ENTREGA_DIAS_ANTES = int(os.environ.get("ANULACIONES_ENTREGA_DIAS_ANTES", "2"))
# Tablero de Control (5.1): seconds between its automatic refreshes, rows per page.
ANULACIONES_TABLERO_REFRESCO = float(os.environ.get("ANULACIONES_TABLERO_REFRESCO", "30"))
ANULACIONES_TABLERO_POR_PAGINA = int(os.environ.get("ANULACIONES_TABLERO_POR_PAGINA", "25"))

# --- REST API (/api/v1/) and the Smartflex import ------------------------------------------
# Token auth for machine clients (tokens from the admin or `manage.py crear_token USER`), session
# auth for the browser. Domain errors become 400/403/404/409 in one exception handler.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "anulaciones.api.paginacion.Paginacion",
    "EXCEPTION_HANDLER": "anulaciones.api.errores.manejar_excepcion",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 "rest_framework.renderers.BrowsableAPIRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Anulaciones COM-DSC-P10 API",
    "DESCRIPTION": "Solicitudes, órdenes de trabajo, servicios de ingeniería, zonificaciones, sus "
                   "transiciones y el indicador (III.2).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from the installed drf-spectacular-sidecar, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"SolicitudTipoEnum": "anulaciones.models.Solicitud.Tipo",
                            "ServicioTipoEnum": "anulaciones.models.ServicioIngenieria.Tipo"},
}
# The Smartflex import runs in a Celery task defined in anulaciones.importacion.
CELERY_IMPORTS = ("anulaciones.importacion",)
ANULACIONES_IMPORTACION_LOTE = int(os.environ.get("ANULACIONES_IMPORTACION_LOTE", "1000"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
