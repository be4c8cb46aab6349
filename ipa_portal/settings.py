"""Settings of the process automation portal, read from environment variables.

With nothing set, the portal runs on the *embedded default*: a SQLite file in the project
folder, an in-memory channel layer and the engine's Celery tasks run in-process. With
``DATABASE_URL`` and ``REDIS_URL`` set it runs on PostgreSQL and Redis (production).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: str) -> int:
    return int(os.environ.get(name, default))


def envsecret(name: str) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    if value := os.environ.get(name):
        return value
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text().strip()
    return None


DEBUG = envbool("DEBUG", "true")
SECRET_KEY = envsecret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "embedded-default-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "channels",
    "administration",
    "processes",
    "workitems",
    "monitor",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ipa_portal.urls"
ASGI_APPLICATION = "ipa_portal.asgi.application"
WSGI_APPLICATION = "ipa_portal.wsgi.application"

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
                "ipa_portal.context_processors.storage_banner",
            ],
        },
    },
]

# --------------------------------------------------------------------------- database

DATABASE_CONFIGURED = bool(os.environ.get("DATABASE_URL"))  # else the embedded default (processes.storage)
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db' / 'portal.sqlite3'}"
# Persistent connections stay off by default: under Daphne every request's sync code runs
# in a thread of its own, and each such thread would keep a connection open.
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", "0"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE makes every transaction take the write lock at BEGIN, so concurrent
        # steps queue up (busy timeout) instead of failing with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Browser tests serve the app from another process: they need a file, not :memory:.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SQLITE_TEST_DATABASE", str(BASE_DIR / "db" / "test-portal.sqlite3"))
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "administration.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# ------------------------------------------------------------------ redis, celery, channels

REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED = not REDIS_URL

if EMBEDDED:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = False
else:
    # Redis pub/sub: one PUBLISH per push, no per-message queue in Redis; a message for a
    # socket that is not connected is dropped, which suits live updates (a page catches up
    # from the snapshot it gets on connecting). docs/design/acd.md has the measurements.
    # redis-py refuses (rather than queues) past max_connections, and every open page
    # reconnects at once after a restart; its 5 s default socket timeout is raised too.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {
        "hosts": [{"address": REDIS_URL, "socket_timeout": 15,
                   "max_connections": envint("CHANNEL_LAYER_MAX_CONNECTIONS", "2000")}],
    }}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "false")

CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", "300")}
# The timer sweep: due timers and undelivered engine events (the outbox) are picked up
# by a periodic task, so nothing depends on a broker countdown surviving.
ENGINE_SWEEP_SECONDS = float(os.environ.get("ENGINE_SWEEP_SECONDS", "1"))
CELERY_BEAT_SCHEDULE = {
    "engine-sweep": {"task": "processes.tasks.sweep", "schedule": ENGINE_SWEEP_SECONDS},
}

# ------------------------------------------------------------------------------ email

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ipa-portal@localhost")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "30")  # seconds; a send_email that takes longer fails

# ------------------------------------------------------------------------------- REST

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its authenticate_header makes anonymous requests a 401, not a 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "ipa_portal.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ipa_portal.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IPA Portal API",
    "DESCRIPTION": "Process definitions, instances and work items of the process automation portal.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# ------------------------------------------------------------------------ static files

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG  # serve without collectstatic on the embedded default

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------ engine

# A storage id names this node's share of running instances (the seed's n+1 servers).
ENGINE_STORAGE_ID = os.environ.get("ENGINE_STORAGE_ID", "")
# A node whose heartbeat is older than this many seconds is taken over by the live ones.
ENGINE_NODE_TIMEOUT = envint("ENGINE_NODE_TIMEOUT", "30")

# invoke_web_service (docs/external-actions.md): HTTPS is verified against this file (the seed's
# ca-bundle.crt, skipped when absent) + the certificate authorities of the administration pages
# + the public CAs when IPA_TRUST_PUBLIC_CAS. Uploaded WSDL files live in IPA_WSDL_DIR.
IPA_CA_BUNDLE = os.environ.get("IPA_CA_BUNDLE", str(BASE_DIR / "ca-bundle.crt"))
IPA_TRUST_PUBLIC_CAS = envbool("IPA_TRUST_PUBLIC_CAS", "true")
IPA_WSDL_DIR = Path(os.environ.get("IPA_WSDL_DIR", str(BASE_DIR / "wsdl")))
IPA_WEB_SERVICE_TIMEOUT = float(os.environ.get("IPA_WEB_SERVICE_TIMEOUT", "60"))

# External actions (docs/external-actions.md). Handlers: dotted paths of @handler callables
# (IPA_HANDLERS adds comma-separated ones to the two shipped examples).
IPA_HANDLERS = [
    "processes.external.handlers.http_json",
    "processes.external.handlers.render_template",
    *[path.strip() for path in os.environ.get("IPA_HANDLERS", "").split(",") if path.strip()],
]
# database actions: the statement, connect and free-connection timeout (seconds), and the
# connections each process may hold open per data source.
DATA_SOURCE_TIMEOUT = envint("DATA_SOURCE_TIMEOUT", "30")
DATA_SOURCE_POOL_SIZE = envint("DATA_SOURCE_POOL_SIZE", "4")
# Embedded default only: threads that run external actions after commit (0: in the committing thread).
EXTERNAL_CALL_THREADS = envint("EXTERNAL_CALL_THREADS", "4")
# A call still pending this long after it was handed to a runner is handed again by the sweep.
EXTERNAL_CALL_REDISPATCH_SECONDS = envint("EXTERNAL_CALL_REDISPATCH_SECONDS", "60")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {"ipa": {"level": os.environ.get("IPA_LOG_LEVEL", "INFO"), "propagate": True}},
}
