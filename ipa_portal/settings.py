"""Settings of the process automation portal, read from environment variables.

With nothing set, the portal runs on the *embedded default*: a SQLite file in the project
folder, an in-memory channel layer and the engine's Celery tasks run in-process. With
``DATABASE_URL`` and ``REDIS_URL`` set it runs on PostgreSQL and Redis (production).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

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


def machine_secret(path: Path) -> str:
    """A random key made once for this machine and kept in ``path`` (readable by its owner only).

    Without SECRET_KEY a single node still gets a key nobody can guess; a cluster sets
    SECRET_KEY (or SECRET_KEY_FILE) on every node, since they must share it.
    """
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


# Off unless asked for: Django's technical pages (tracebacks with local values, URL patterns,
# settings) must never reach a browser of a real installation. docs/security.md.
DEBUG = envbool("DEBUG", "false")
SECRET_KEY = envsecret("SECRET_KEY")
SECRET_KEY_GENERATED = not SECRET_KEY
if not SECRET_KEY:
    SECRET_KEY = machine_secret(Path(os.environ.get("IPA_SECRET_KEY_PATH", str(BASE_DIR / "db" / "secret-key"))))

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# Pages of other origins (scheme://host:port) that may open WebSockets with the session
# cookie besides the site itself (administration/origins.py); unset: CSRF_TRUSTED_ORIGINS.
IPA_ALLOWED_ORIGINS = [o.strip() for o in os.environ.get("IPA_ALLOWED_ORIGINS", "").split(",") if o.strip()]

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
    "axes",
    "csp",
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
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into administration.logins' answer
]

# HTTPS (docs/security.md): IPA_HTTPS=true turns every one of these on; each may be set alone.
# Behind a proxy that ends TLS, SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https".
IPA_HTTPS = envbool("IPA_HTTPS", "false")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(IPA_HTTPS))
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", str(IPA_HTTPS))
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", str(IPA_HTTPS))
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000" if IPA_HTTPS else "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", str(IPA_HTTPS))
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", str(IPA_HTTPS))
if proxy_header := os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip():
    name, _, value = proxy_header.partition(",")
    SECURE_PROXY_SSL_HEADER = (name.strip(), value.strip() or "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", str(12 * 3600))
# Content-Security-Policy (django-csp): the pages run only this site's own scripts and
# styles, nothing inline. The API's Swagger and Redoc pages (inline bootstrapping scripts)
# and Django's admin are left out of it.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs", "/api/redoc", "/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],  # the WebSockets of this site
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

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
                "monitor.context_processors.monitor_link",
                "ipa_portal.context_processors.storage_banner",
            ],
        },
    },
]

# --------------------------------------------------------------------------- database

DATABASE_CONFIGURED = bool(os.environ.get("DATABASE_URL"))  # else the embedded default (processes.storage)
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db' / 'portal.sqlite3'}"
# Each Daphne process serves HTTP from HTTP_THREADS threads (ipa_portal.asgi_handler), each
# keeping its connection for DB_CONN_MAX_AGE seconds: up to that many connections per process.
HTTP_THREADS = envint("HTTP_THREADS", "4")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", "60"),
                                              conn_health_checks=envbool("DB_CONN_HEALTH_CHECKS", "1"))}
# The engine's hot statements are prepared once per PostgreSQL connection (processes.queries);
# off behind a transaction-pooling proxy, which does not keep a client's prepared statements.
DB_PREPARE_HOT_STATEMENTS = envbool("DB_PREPARE_HOT_STATEMENTS", "1")
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

# Applied where a password is set through a form (admin, password change); the directory
# loader sets the demo's passwords directly, as an administrator's import.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": envint("PASSWORD_MIN_LENGTH", "10")}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Logins (administration/logins.py): django-axes locks a user name out from an address after
# AXES_FAILURE_LIMIT failures for AXES_COOLOFF_MINUTES; API tokens expire after
# IPA_TOKEN_LIFETIME_HOURS (0: never) and are revoked at logout.
AUTHENTICATION_BACKENDS = [
    "administration.logins.LockoutBackend",  # django-axes' check, for logins over the network
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "administration.logins.lockout_response"
AXES_ENABLED = envbool("AXES_ENABLED", "true")
IPA_TOKEN_LIFETIME_HOURS = envint("IPA_TOKEN_LIFETIME_HOURS", "720")
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

# Seconds a process trusts its list of who has a work item socket open (workitems/sockets.py);
# None: only this process's own sockets change it (embedded: one process holds them all).
WORKITEMS_OPEN_SOCKETS_MAX_AGE = None if EMBEDDED else 1.0

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
        "administration.logins.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON in, JSON out: forms belong to the HTML pages, and a schema that declares one body
    # type is one a generated client can use (docs/api.md). JSON bodies are bounded in size
    # (413) and nesting (400).
    "DEFAULT_PARSER_CLASSES": ["ipa_portal.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "ipa_portal.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "ipa_portal.openapi.PortalAutoSchema",
    "EXCEPTION_HANDLER": "ipa_portal.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
CSRF_FAILURE_VIEW = "ipa_portal.errors.csrf_failure"  # JSON under /api/
SPECTACULAR_SETTINGS = {
    "TITLE": "IPA Portal API",
    "DESCRIPTION": "Process definitions, instances and work items of the process automation portal.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # like every other endpoint
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request and response components apart, so read-only fields are required in answers only.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "InstanceStatusEnum": "processes.models.INSTANCE_STATUSES",
        "WorkItemStatusEnum": "workitems.models.WORK_ITEM_STATUSES",
        "PresenceStatusEnum": "administration.models.PRESENCE_CHOICES",
        "LicenseEnum": "administration.models.LICENSE_CHOICES",
        "RightEnum": "administration.api.views.RIGHT_CHOICES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ipa_portal.openapi.declare_common_refusals",
    ],
}

# ------------------------------------------------------------------------ static files

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # serve without collectstatic too (the embedded default, the tests' live servers)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------ engine

# A storage id names this node's share of running instances (the seed's n+1 servers).
ENGINE_STORAGE_ID = os.environ.get("ENGINE_STORAGE_ID", "")
# A node whose heartbeat is older than this many seconds is taken over by the live ones.
ENGINE_NODE_TIMEOUT = envint("ENGINE_NODE_TIMEOUT", "30")
# Each web process reads this often whether any node is live, for the pages' banner (workitems/engine_watch.py).
ENGINE_WATCH_SECONDS = float(os.environ.get("ENGINE_WATCH_SECONDS", "5"))

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
# http_json refuses loopback, link-local and private addresses unless this is on (SSRF):
# see processes/external/addresses.py.
IPA_HTTP_ALLOW_PRIVATE_ADDRESSES = envbool("IPA_HTTP_ALLOW_PRIVATE_ADDRESSES", "false")
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
