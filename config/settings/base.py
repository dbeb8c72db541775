"""Settings every profile shares, read from environment variables with embedded defaults.

The profiles (local, production, test) import this module and set what differs between them:
DEBUG, SECRET_KEY, ALLOWED_HOSTS, the e-mail backend, HTTPS and eager Celery. Importing any
of them has no side effect: it reads the environment and nothing else (no directory is created;
the filesystem broker's folders are made by the Celery app when it is configured, config/celery.py).
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("ANULACIONES_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


DEBUG = False  # each profile decides, from DJANGO_DEBUG
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# HTTPS and secure cookies unless a profile says otherwise (local and a debugging test run serve
# plain http). HTTPS redirect: turn it off only behind a trusted TLS-terminating proxy that already
# redirects (and set DJANGO_SECURE_PROXY_SSL_HEADER=1 when it sends X-Forwarded-Proto).
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
# Load balancers and orchestrators probe /salud/vivo and /salud/listo over plain http inside the
# network: answered there, not redirected to https (issue 20).
SECURE_REDIRECT_EXEMPT = [r"^salud/(vivo|listo)$"]
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_COOKIE_AGE", str(10 * 3600)))  # a working day

# Cache. Default: per-process memory; CACHE_URL=redis://host:6379/1 for a shared one. (Login
# throttling does not use it: django-axes counts failures in the database, below.)
if os.environ.get("CACHE_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
    }
# Login throttling: after N failed logins for one username from one address, lock that pair out.
ANULACIONES_LOGIN_INTENTOS = int(os.environ.get("ANULACIONES_LOGIN_INTENTOS", "5"))
ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS = int(os.environ.get("ANULACIONES_LOGIN_BLOQUEO_SEGUNDOS", "900"))
# django-axes does it, counting in the database (AXES_HANDLER's default, AxesDatabaseHandler), so
# every web process on every machine sees the same failures. Limit and cool-off are read from the
# two settings above on each request (anulaciones/views/cuentas.py). The lock is per username AND
# address; a successful login clears that pair's failures. The same counters throttle the wrong
# current password of the password-change form and the requests of the password-reset form.
AXES_FAILURE_LIMIT = "anulaciones.views.cuentas.limite_intentos"
AXES_COOLOFF_TIME = "anulaciones.views.cuentas.tiempo_bloqueo"
AXES_LOCKOUT_PARAMETERS = "anulaciones.views.cuentas.parametros_bloqueo"
AXES_LOCKOUT_CALLABLE = "anulaciones.views.cuentas.respuesta_bloqueo"  # Spanish page, HTTP 429
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # locked: refused, but the lock does not grow
AXES_VERBOSE = False
AUTHENTICATION_BACKENDS = [
    "anulaciones.views.cuentas.BackendBloqueo",  # axes: refuses a locked-out username + address
    "django.contrib.auth.backends.ModelBackend",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # OpClass in the models' trigram indexes (anulaciones/models/indices.py) needs it; harmless on
    # SQLite (its connection hooks act on PostgreSQL connections only).
    "django.contrib.postgres",
    "django_fsm",
    "django_tables2",
    "django_filters",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "health_check",
    "anulaciones",
]

MIDDLEWARE = [
    # First: one JSON log line and the metrics of every request, whatever answers it (issue 20).
    "anulaciones.middleware_registro.RegistroDePeticiones",
    "django.middleware.security.SecurityMiddleware",
    "anulaciones.cabeceras.LimiteDeCuerpo",  # 413 for a body larger than its page accepts, unread
    # Database faults (deadlock -> 409, dead connection -> 503 + Retry-After), never a 500; it
    # wraps every middleware that uses the database (sessions, authentication).
    "anulaciones.middleware.FallosDeBaseDeDatos",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (below)
    "anulaciones.cabeceras.PermisosMiddleware",  # Permissions-Policy
    "anulaciones.api.middleware.ErroresJsonApi",  # JSON 413 / 500 under /api/
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the lockout page
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
                "anulaciones.context_processors.relojes",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        # A persistent connection that died while idle (pg_terminate_backend, a PostgreSQL
        # restart or failover) is checked at the first query of the next request and replaced,
        # instead of failing that request (issue 13).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default (make run): the web server and the Celery worker's processes share one
    # file, and none of them may fail with "database is locked" (a lost e-mail task).
    _sqlite = DATABASES["default"].setdefault("OPTIONS", {})
    # Busy timeout: a writer waits up to 20 s for another one to commit instead of failing at once.
    _sqlite["timeout"] = 20
    # Writers take the lock when their transaction starts: a transaction never has to upgrade a
    # read lock to a write lock, which SQLite refuses at once whatever the timeout.
    _sqlite["transaction_mode"] = "IMMEDIATE"
    # WAL: readers never wait for the writer nor the writer for readers (the journal mode is kept
    # in the file; a memory database answers "memory"); NORMAL is the safe synchronous level in WAL.
    _sqlite["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"
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
LANGUAGES = [("es", "Español")]  # Spanish whatever the browser asks (LocaleMiddleware): texts, dates, numbers
TIME_ZONE = os.environ.get("TIME_ZONE", "America/La_Paz")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# --- Uploaded and generated files: where they live and how big they may be (issue 13) ----------
# Smartflex imports and the monthly workbooks must be readable by every web and worker process, on
# any machine (anulaciones/almacenamiento.py). ANULACIONES_ALMACENAMIENTO: "bd" = in PostgreSQL
# itself (a table of bytes, no extra server; the default with PostgreSQL), "s3" = an S3-compatible
# bucket through django-storages (the default when ANULACIONES_S3_BUCKET is set), "disco" =
# MEDIA_ROOT on the local disk (the default with SQLite: one machine only).
ANULACIONES_S3_BUCKET = os.environ.get("ANULACIONES_S3_BUCKET", "")
ANULACIONES_ALMACENAMIENTO = os.environ.get("ANULACIONES_ALMACENAMIENTO", "").strip().lower() or (
    "s3"
    if ANULACIONES_S3_BUCKET
    else "bd"
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    else "disco"
)
_ALMACENES = {
    "bd": {"BACKEND": "anulaciones.almacenamiento.AlmacenamientoBD"},
    "disco": {"BACKEND": "anulaciones.almacenamiento.AlmacenamientoLocal"},
    "s3": {
        "BACKEND": "anulaciones.almacenamiento.AlmacenamientoS3",
        "OPTIONS": {
            "bucket_name": ANULACIONES_S3_BUCKET,
            "location": os.environ.get("ANULACIONES_S3_PREFIJO", "anulaciones"),
            "endpoint_url": os.environ.get("ANULACIONES_S3_ENDPOINT") or None,  # MinIO, Ceph, …; empty = AWS
            "region_name": os.environ.get("ANULACIONES_S3_REGION") or None,
            # Credentials: the standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or an instance role).
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    },
}
if ANULACIONES_ALMACENAMIENTO not in _ALMACENES:
    raise RuntimeError(f"ANULACIONES_ALMACENAMIENTO={ANULACIONES_ALMACENAMIENTO!r}: use bd, s3 or disco.")
if ANULACIONES_ALMACENAMIENTO == "s3":
    import importlib.util

    if not ANULACIONES_S3_BUCKET:
        raise RuntimeError("ANULACIONES_ALMACENAMIENTO=s3 needs ANULACIONES_S3_BUCKET.")
    if importlib.util.find_spec("storages") is None:
        raise RuntimeError('ANULACIONES_S3_BUCKET needs django-storages: pip install "django-storages[s3]==1.14.6"')
STORAGES = {
    "default": _ALMACENES[ANULACIONES_ALMACENAMIENTO],
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Limits of an uploaded file (Smartflex import, GIS layer): size in MB; header columns; data rows;
# errors kept for the report (the total is counted); characters of a text field without a length
# in the model (referencias). Fields with a max_length are limited to it.
ANULACIONES_IMPORTACION_MAX_MB = float(os.environ.get("ANULACIONES_IMPORTACION_MAX_MB", "20"))
ANULACIONES_IMPORTACION_MAX_COLUMNAS = int(os.environ.get("ANULACIONES_IMPORTACION_MAX_COLUMNAS", "100"))
ANULACIONES_IMPORTACION_MAX_FILAS = int(os.environ.get("ANULACIONES_IMPORTACION_MAX_FILAS", "200000"))
ANULACIONES_IMPORTACION_MAX_ERRORES = int(os.environ.get("ANULACIONES_IMPORTACION_MAX_ERRORES", "200"))
ANULACIONES_IMPORTACION_MAX_TEXTO = int(os.environ.get("ANULACIONES_IMPORTACION_MAX_TEXTO", "2000"))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "correos"))  # the file-based backend's folder
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "anulaciones@localhost")

# --- Celery -----------------------------------------------------------------------------
# Embedded default: the kombu filesystem transport, which needs no server and works across
# processes on one machine; its folders are created when the Celery app is configured
# (config/celery.py). Production: CELERY_BROKER_URL=redis://host:6379/0.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
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
# A worker outlives its broker (tests/test_fallos.py restarts Redis under a running worker):
# it retries the connection at start and after a loss for as long as it takes, and lets a task
# that was running finish (the tasks are idempotent: if its acknowledgement is lost with the old
# connection, the redelivered message does nothing twice) instead of cancelling it.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # No task waits with a long ETA any more (the sweep finds what is due), so a message is
    # unacknowledged only while its task runs: Redis redelivers the message of a worker that
    # died after the visibility timeout, which must exceed the longest task (a large Smartflex
    # import).
    # A broker that stops answering without closing its connections (frozen, a failover, a NAT or
    # firewall dropping them) must not make a publish wait forever (the page that queues work
    # would never answer; tests/test_fallos.py freezes Redis under gunicorn): each command gives
    # up after the socket timeout and a publish is retried once. Nothing is lost: the page says
    # the work is kept and the periodic pickup queues it. The worker's consuming loop (BRPOP, in
    # the event loop) is not affected by the socket timeout.
    _socket_broker = float(os.environ.get("CELERY_BROKER_SOCKET_TIMEOUT", "2"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
        "socket_timeout": _socket_broker,
        "socket_connect_timeout": _socket_broker,
    }
    CELERY_TASK_PUBLISH_RETRY_POLICY = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
# Tasks go to the broker; the test profile runs them in process instead.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE = {
    # 4.2/5.2 and 19.2: SIs past their cut-off become vencido, warnings, late re-digitations.
    "barrer-plazos": {
        "task": "anulaciones.tasks.barrer_plazos",
        "schedule": float(os.environ.get("ANULACIONES_BARRIDO_SEGUNDOS", "60")),
    },
    # 21.1: the deliveries due, last month's stragglers and the month-end watch (hourly).
    "entrega-mensual": {
        "task": "anulaciones.tasks.entrega_mensual",
        "schedule": float(os.environ.get("ANULACIONES_ENTREGA_REVISION_SEGUNDOS", "3600")),
    },
    # The backstop of what is queued after a commit (normally at once): notices' e-mail, the
    # deliveries' e-mail, imports whose message was lost or whose worker died.
    "recuperar-pendientes": {
        "task": "anulaciones.tasks.recuperar",
        "schedule": float(os.environ.get("ANULACIONES_RECUPERACION_SEGUNDOS", "120")),
    },
    # Issue 19: the history the risk at entry is scored from, recomputed (daily by default).
    "recalcular-riesgo": {
        "task": "anulaciones.tasks.recalcular_riesgo",
        "schedule": float(os.environ.get("ANULACIONES_RIESGO_RECALCULO_SEGUNDOS", "86400")),
    },
    # Issue 18: status feeds left in the drop folder (ANULACIONES_SMARTFLEX_CARPETA; nothing when
    # unset), and the re-entries proposed as re-digitations (docs/smartflex.md).
    "recoger-estados-smartflex": {
        "task": "anulaciones.tasks.recoger_estados_smartflex",
        "schedule": float(os.environ.get("ANULACIONES_SMARTFLEX_CARPETA_SEGUNDOS", "300")),
    },
    "emparejar-redigitaciones": {
        "task": "anulaciones.tasks.emparejar_redigitaciones",
        "schedule": float(os.environ.get("ANULACIONES_SMARTFLEX_EMPAREJAR_SEGUNDOS", "300")),
    },
    "revisar-diferencias-smartflex": {
        "task": "anulaciones.tasks.revisar_diferencias",
        "schedule": float(os.environ.get("ANULACIONES_SMARTFLEX_EMPAREJAR_SEGUNDOS", "300")),
    },
}
# --- The procedure ----------------------------------------------------------------------
# The working calendar of the clocks (4.2, 5.2, 19.2; docs/relojes.md). Working hours per weekday
# in local time (TIME_ZONE): groups separated by ";", days ("lun-vie", "lun,mie") and intervals
# ("08:00-13:00 14:00-18:00"; "24:00" ends the day). A calendar marked «predeterminado» in the admin
# replaces it; zones may have their own calendar there.
ANULACIONES_HORARIO = os.environ.get("ANULACIONES_HORARIO", "lun-vie 08:00-20:00; sab 08:00-13:00")
ANULACIONES_FERIADOS = env_list("ANULACIONES_FERIADOS", "")  # YYYY-MM-DD, plus those in the admin
# An SI opened with less working time than this before the day's end is due at the next day's end.
ANULACIONES_SI_MINIMO_MINUTOS = int(os.environ.get("ANULACIONES_SI_MINIMO_MINUTOS", "60"))
# The re-digitation's 2 hours (19.2): "habil" (working time, the default) or "reloj" (wall clock).
ANULACIONES_REDIGITACION_HORAS = float(os.environ.get("ANULACIONES_REDIGITACION_HORAS", "2"))
ANULACIONES_REDIGITACION_MODO = os.environ.get("ANULACIONES_REDIGITACION_MODO", "habil")
ANULACIONES_UMBRAL_INDICADOR = float(os.environ.get("ANULACIONES_UMBRAL_INDICADOR", "95"))
# Warn the SI's destinatario this many minutes of working time before its deadline (once, and
# only in working hours).
ANULACIONES_AVISO_MINUTOS = int(os.environ.get("ANULACIONES_AVISO_MINUTOS", "60"))
# The month's workbook for Div. Facturación (21.1) is built from this many days before the
# month's last day (0 = on the last day).
ANULACIONES_ENTREGA_DIAS_ANTES = int(os.environ.get("ANULACIONES_ENTREGA_DIAS_ANTES", "2"))
# The month-end watch: Gestión de Red and Facturación are warned this many working days before the
# month ends (and again on its last working day) when digitized zonifications are in no delivery.
ANULACIONES_ENTREGA_DIAS_AVISO = int(os.environ.get("ANULACIONES_ENTREGA_DIAS_AVISO", "3"))
# An import still «en cola» after this many minutes (its message lost: broker down), or whose
# worker stopped saving progress this long ago (killed), is queued again by the periodic pickup.
ANULACIONES_IMPORTACION_LATIDO_MINUTOS = float(os.environ.get("ANULACIONES_IMPORTACION_LATIDO_MINUTOS", "10"))
# The address the links of e-mails start with (e.g. https://anulaciones.example.com); empty: no link.
ANULACIONES_URL_BASE = os.environ.get("ANULACIONES_URL_BASE", "")
# Tablero de Control (5.1): seconds between its automatic refreshes, rows per page.
ANULACIONES_TABLERO_REFRESCO = float(os.environ.get("ANULACIONES_TABLERO_REFRESCO", "30"))
ANULACIONES_TABLERO_POR_PAGINA = int(os.environ.get("ANULACIONES_TABLERO_POR_PAGINA", "25"))
# Upper bound of ``?per_page=`` on every paginated page (a 40,000-row Tablero page is 45 MB).
ANULACIONES_MAX_POR_PAGINA = int(os.environ.get("ANULACIONES_MAX_POR_PAGINA", "200"))
# Risk at entry (issue 19, docs/riesgo.md; anulaciones/puntaje.py). A factor's rate is smoothed
# towards the base rate with a prior worth this many Solicitudes; the factors' contributions are
# damped by ALFA (they overlap); Alto from ALTO × the base rate, Medio from MEDIO × the base rate.
ANULACIONES_RIESGO_PRIOR = float(os.environ.get("ANULACIONES_RIESGO_PRIOR", "20"))
ANULACIONES_RIESGO_ALFA = float(os.environ.get("ANULACIONES_RIESGO_ALFA", "0.5"))
ANULACIONES_RIESGO_ALTO = float(os.environ.get("ANULACIONES_RIESGO_ALTO", "2.0"))
ANULACIONES_RIESGO_MEDIO = float(os.environ.get("ANULACIONES_RIESGO_MEDIO", "1.3"))
# Seconds between recomputations of the history (the beat entry «recalcular-riesgo»).
ANULACIONES_RIESGO_RECALCULO_SEGUNDOS = float(os.environ.get("ANULACIONES_RIESGO_RECALCULO_SEGUNDOS", "86400"))

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
    # JSON nested beyond 20 levels is a 400, not a RecursionError (issue 13)
    "DEFAULT_PARSER_CLASSES": [
        "anulaciones.api.parsers.JSONAcotado",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # JSON only: the browsable API's pages carry inline style the CSP refuses; Swagger (/api/docs/)
    # is the human view of the API.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
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
    "ENUM_NAME_OVERRIDES": {
        "SolicitudTipoEnum": "anulaciones.models.Solicitud.Tipo",
        "ServicioTipoEnum": "anulaciones.models.ServicioIngenieria.Tipo",
    },
    # Schema and docs for logged-in users and tokens only (anonymous: 401; the pages redirect).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}
# Rows per batch of the Smartflex import (its task is in anulaciones.tasks, like every task).
ANULACIONES_IMPORTACION_LOTE = int(os.environ.get("ANULACIONES_IMPORTACION_LOTE", "1000"))

# --- Reconciliation with Smartflex (issue 18, docs/smartflex.md) -----------------------------
# A Solicitud registered within this many hours after a cancelled one of the same customer (same
# document, phone or normalized address) is proposed as its re-digitation.
ANULACIONES_SMARTFLEX_VENTANA_HORAS = float(os.environ.get("ANULACIONES_SMARTFLEX_VENTANA_HORAS", "48"))
# Classes of difference applied without a person when a feed is imported (empty: every one waits
# for Gestión de Red or the COC): anulada_en_smartflex (record the cancellation), sin_caso
# (create the cancelled case).
ANULACIONES_SMARTFLEX_AUTOMATICO = env_list("ANULACIONES_SMARTFLEX_AUTOMATICO", "")
# Link high-confidence pairs (same document and same address) without a person.
ANULACIONES_SMARTFLEX_VINCULAR_AUTOMATICO = env_bool("ANULACIONES_SMARTFLEX_VINCULAR_AUTOMATICO", False)
# Drop folder of status feeds (CSV/XLSX) picked up every CARPETA_SEGUNDOS; empty: no pickup. A
# file read is moved to procesados/ (or con_errores/ when it could not be imported).
ANULACIONES_SMARTFLEX_CARPETA = os.environ.get("ANULACIONES_SMARTFLEX_CARPETA", "")
ANULACIONES_SMARTFLEX_CARPETA_SEGUNDOS = float(os.environ.get("ANULACIONES_SMARTFLEX_CARPETA_SEGUNDOS", "300"))

# --- Security headers (anulaciones/cabeceras.py) -------------------------------------------------
# Content-Security-Policy (django-csp): everything from this origin only; no inline script, style
# or event handler anywhere (CSS in static/css/, scripts in static/js/, htmx without eval). The one
# explicit exception, on its own view: Redoc (/api/v1/redoc/) adds inline styles and blob: workers.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Permissions-Policy: no page uses camera, microphone, position, payment or USB.
ANULACIONES_PERMISSIONS_POLICY = os.environ.get(
    "ANULACIONES_PERMISSIONS_POLICY",
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()",
)

# Logs (issue 20.4, anulaciones/registro.py): one line per request (logger anulaciones.peticiones)
# and per Celery task (anulaciones.tareas), ids only, no personal data. ANULACIONES_LOG_JSON=1 (the
# default; local's is 0): one JSON object per line on stderr, for a log collector; 0: readable text.
# The Celery worker keeps this configuration (config/celery.py connects setup_logging).
ANULACIONES_LOG_JSON = env_bool("ANULACIONES_LOG_JSON", True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "anulaciones.registro.FormatoJson"},
        "legible": {"()": "anulaciones.registro.FormatoLegible"},
    },
    # Django's own request lines quote the raw path: the filter puts the route's pattern instead.
    "filters": {"sin_datos_personales": {"()": "anulaciones.registro.SinDatosPersonales"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if ANULACIONES_LOG_JSON else "legible",
            "filters": ["sin_datos_personales"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Metrics (issue 20.3, anulaciones/metricas.py) ------------------------------------------------
# /metricas answers Prometheus only with "Authorization: Bearer <token>"; empty: the URL is a 404.
# Several processes (gunicorn workers): PROMETHEUS_MULTIPROC_DIR, read by prometheus-client itself.
ANULACIONES_METRICAS_TOKEN = os.environ.get("ANULACIONES_METRICAS_TOKEN", "")
