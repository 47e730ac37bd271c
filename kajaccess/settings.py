"""Settings for KajAccess.

Everything that differs between a laptop and production comes from the environment;
the defaults are safe for local development on the embedded SQLite database.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get(
    "SECRET_KEY", "django-insecure-kajaccess-development-key-change-me-in-production"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Index expressions with an operator class (the search's trigram indexes); harmless on SQLite.
    "django.contrib.postgres",
    "django.forms",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "rules",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "kajaccess",
    "contacts",
    "products",
    "purchases",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kajaccess.middleware.NotStoredMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kajaccess.middleware.CurrentSiteMiddleware",
    "kajaccess.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kajaccess.urls"
# Form widgets render through the project's templates, so templates/django/forms/ can
# replace Django's own where a page needs it faster.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "kajaccess.wsgi.application"

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
                "kajaccess.team.context_processors.team",
                "kajaccess.web.member_permissions",
            ],
        },
    },
]

# SQLite is the embedded default. The web server and the task worker write at the
# same time, so WAL, a busy timeout and immediate transactions keep both from
# meeting "database is locked".
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # What is read through a server-side cursor (`.iterator()`: the exports, the webhook
    # backlog) is read to its end: plan it for the whole result, not for its first tenth
    # (PostgreSQL's default), which walked the Progress CSV's 819,303 rows by index in
    # twice the time of the same query read at once.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c cursor_tuple_fraction=1".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sign-in by email, throttled by axes; what a member may do is decided by their role
# (kajaccess.roles).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "kajaccess.backends.EmailBackend",
    "rules.permissions.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Sign-in throttling (django-axes), for the dashboard's and the admin's sign-in alike:
# 5 failures for one email from one address refuse that pair for 15 minutes, counted
# from the latest attempt, even with the right password. Another email from the same
# address, or the same email from elsewhere, is not held up.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "kajaccess.sign_in.attempt_username"
AXES_CLIENT_IP_CALLABLE = "kajaccess.sign_in.client_address"
AXES_LOCKOUT_CALLABLE = "kajaccess.sign_in.refused"
AXES_RESET_ON_SUCCESS = True
# Only failures are kept; successful sign-ins are not logged.
AXES_DISABLE_ACCESS_LOG = True
# The client address is REMOTE_ADDR, unless every request comes through a proxy that
# sets a header for it: TRUSTED_PROXY_HEADER names it (e.g. X-Forwarded-For), and
# TRUSTED_PROXY_COUNT says how many proxies in a row append to it.
TRUSTED_PROXY_HEADER = (
    "HTTP_" + os.environ["TRUSTED_PROXY_HEADER"].strip().upper().replace("-", "_")
    if os.environ.get("TRUSTED_PROXY_HEADER", "").strip()
    else ""
)
TRUSTED_PROXY_COUNT = max(1, int(os.environ.get("TRUSTED_PROXY_COUNT", 1)))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# A password reset link works once, and only for this long.
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", 60 * 60 * 24))
# An invitation to join a site's team works once, and only for this long; an
# administrator can send a fresh one.
TEAM_INVITATION_TIMEOUT = int(os.environ.get("TEAM_INVITATION_TIMEOUT", 60 * 60 * 24 * 7))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# The product's words for Django's own form and sign-in messages (locale/en).
LOCALE_PATHS = [BASE_DIR / "locale"]
# A form refused for its CSRF token says so in the product's words, not Django's.
CSRF_FAILURE_VIEW = "kajaccess.views.csrf_failure"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": os.environ.get(
            "STATICFILES_BACKEND",
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "KajAccess <no-reply@kajaccess.local>")

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Where billing runs take the money: a dotted path to a purchases.billing.gateways.PaymentGateway.
# The test gateway takes no real money and declines only contacts whose test card is set so.
PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "purchases.billing.gateways.TestGateway")
# What the scheduler (`manage.py run_scheduler`, one process) queues for the workers, and
# when: a cron line (minute hour day month weekday, in TIME_ZONE), or six fields with the
# seconds first. Weekdays are written as words (Mon ... Sun), never numbers.
PERIODIC_TASKS = {
    "purchases.tasks.run_billing_task": os.environ.get("BILLING_SCHEDULE", "*/10 * * * *"),
    "purchases.tasks.process_access_task": os.environ.get("ACCESS_SWEEP_SCHEDULE", "*/10 * * * *"),
    # Looking every 20 seconds for runs stalled for 30 puts every run whose worker died
    # back in the queue within a minute of the death.
    "contacts.bulk.recovery.resume_stalled_bulk_actions_task": os.environ.get(
        "BULK_ACTION_RECOVERY_SCHEDULE", "*/20 * * * * *"
    ),
    "purchases.tasks.reconcile_access_facts_task": os.environ.get(
        "RECONCILE_SCHEDULE", "15 4 * * *"
    ),
    "contacts.imports.steps.forget_imports_task": os.environ.get(
        "IMPORT_CLEANUP_SCHEDULE", "30 3 * * *"
    ),
    # New events into webhook deliveries, and what is due (first sends and retries) sent.
    "purchases.webhooks.tasks.send_webhooks_task": os.environ.get(
        "WEBHOOKS_SCHEDULE", "*/5 * * * * *"
    ),
}
# An uploaded file never imported is dropped after this many days.
IMPORT_KEPT_DAYS = int(os.environ.get("IMPORT_KEPT_DAYS", 7))
# Webhooks go only to public addresses; this lets them go to loopback and private ones
# (and to http URLs), for a receiver on the developer's own machine and for the tests.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = os.environ.get("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "") == "1"
# A bulk action with no chunk done for this long counts as stopped, its worker dead: the
# recovery queues it again. A live run finishes a chunk every second or so.
BULK_ACTION_STALL_SECONDS = int(os.environ.get("BULK_ACTION_STALL_SECONDS", 30))

DJANGO_TABLES2_TEMPLATE = "contacts/table.html"

# Security: strict by default once DEBUG is off.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    # SECURE_COOKIES=false only for a plain-HTTP run on loopback, such as `make load`.
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# A pasted list of 100,000 emails (contacts.bulk.emails.MAX_EMAILS) is posted as a form
# field: room for it, still a bound on what one request may hold in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024
# The largest file a member may upload (a contact import); a larger one is not read.
FILE_UPLOAD_MAX_SIZE = 20 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "kajaccess.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# The rate counters of the API are kept in the database, so that every web process and
# machine counts one key's requests together (`createcachetable` makes its table).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "kajaccess_api_cache",
    },
}

# The public API (kajaccess.api): API keys only, JSON only, problems for every error.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["kajaccess.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["kajaccess.api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["kajaccess.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": os.environ.get("API_KEY_RATE", "600/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "kajaccess.api.pagination.IdCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "kajaccess.api.schema.ProblemsSchema",
    "EXCEPTION_HANDLER": "kajaccess.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "KajAccess API",
    "DESCRIPTION": (
        "Revoke, restore and grant customers' access from the systems where the reasons "
        "happen: a chargeback, a refund, a contract that ends. Authenticate every request "
        "with `Authorization: Api-Key <key>` (Settings > API keys). Errors are "
        "`application/problem+json` (RFC 9457)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kajaccess.api.schema.add_links",
    ],
    # Swagger UI from drf-spectacular-sidecar's static files, so the CSP stays 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
