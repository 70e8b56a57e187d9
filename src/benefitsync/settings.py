"""Django settings, read from the environment (see .env.example for every variable).

With no variable set, the embedded default runs: SQLite (WAL) and SqliteHuey in the data
directory, e-mail to a file outbox, secret and encryption keys generated once into the data
directory. `DATABASE_URL` and `REDIS_URL` switch to the scale mode (PostgreSQL, RedisHuey).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import dj_database_url
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

from benefitsync.lib import crypto
from benefitsync.lib.datadir import random_secret_key, read_or_create
from benefitsync.lib.env import env_bool, env_choice, env_int, env_list, env_path, env_str
from benefitsync.lib.logging import logging_config

PACKAGE_DIR = Path(__file__).resolve().parent


def _package_dir(name: str) -> Path:
    """An installed package's directory, found without importing the package."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImproperlyConfigured(f"the package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


# django-ninja's templates/ninja/ and static/ninja/ (Swagger UI for /api/docs).
NINJA_DIR = _package_dir("ninja")

DATA_DIR = env_path("BENEFITSYNC_DATA_DIR", Path.cwd() / "var")

DEBUG = env_bool("DEBUG", False)
# Production mode: secure cookies, HSTS, no generated keys. Off for the local embedded default.
PRODUCTION = env_bool("BENEFITSYNC_PRODUCTION", False)

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when BENEFITSYNC_PRODUCTION is true")
else:
    SECRET_KEY = env_str("SECRET_KEY") or read_or_create(DATA_DIR / "secret_key", random_secret_key)

# First key encrypts, all keys decrypt (rotation: prepend a new key, run `benefitsync rotate-keys`).
BENEFITSYNC_ENCRYPTION_KEYS = env_list("BENEFITSYNC_ENCRYPTION_KEYS")
if not BENEFITSYNC_ENCRYPTION_KEYS:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "BENEFITSYNC_ENCRYPTION_KEYS must be set when BENEFITSYNC_PRODUCTION is true"
        )
    # Generated once. Keep it apart from database backups: BENEFITSYNC_ENCRYPTION_KEY_FILE puts
    # it outside the data directory (docs/operations.md, "Backups").
    BENEFITSYNC_ENCRYPTION_KEYS = [
        read_or_create(
            env_path("BENEFITSYNC_ENCRYPTION_KEY_FILE", DATA_DIR / "encryption_key"),
            crypto.new_key,
        )
    ]
for _key in BENEFITSYNC_ENCRYPTION_KEYS:
    try:
        crypto.validate_key(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "BENEFITSYNC_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64 bytes; make one with `benefitsync new-encryption-key`)"
        ) from None

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or ["127.0.0.1", "localhost", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
BASE_URL = env_str("BENEFITSYNC_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Not "huey.contrib.djhuey": importing it loads huey's storage module, which imports redis
    # and psycopg (~0.1 s of CPU) in every command. `ops` re-exports its run_huey command; the
    # tasks modules import djhuey themselves when a job is enqueued or a worker starts.
    "csp",
    # Not "ninja": as an installed app it is imported at setup, and with it pydantic (~0.2 s of
    # CPU in every command). Its templates and static files (Swagger UI, pinned with
    # django-ninja, instead of a CDN with a floating version) are listed below from its package
    # directory; `api.docs.LocalSwagger` renders them.
    "benefitsync.accounts",
    "benefitsync.companies",
    "benefitsync.audit",
    "benefitsync.employees",
    "benefitsync.benefits",
    "benefitsync.payroll",
    "benefitsync.invitations",
    "benefitsync.integrations.personio",
    "benefitsync.support",  # no models: its templates/ are found through APP_DIRS
    "benefitsync.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Refuse an oversized body before CSRF (which reads request.POST) or any view reads it; the
    # middlewares above read no body, and the message is in the request's language.
    "benefitsync.lib.request_limits.RequestSizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "benefitsync.urls"
WSGI_APPLICATION = "benefitsync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates", NINJA_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "benefitsync.companies.context_processors.current_company",
                "benefitsync.benefits.context_processors.open_receipts",
            ],
            "builtins": ["benefitsync.lib.template_filters"],
        },
    }
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
DATABASES: dict[str, dict[str, Any]]
if DATABASE_URL:
    try:
        DATABASES = {"default": dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60))}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str(
            "TEST_DATABASE_NAME", "test_benefitsync"
        )
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "benefitsync.sqlite3",
            "OPTIONS": {
                # WAL lets the web server read while the worker writes; IMMEDIATE transactions
                # take the write lock up front instead of failing with "database is locked"
                # half-way through a sync.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file, not shared-cache memory: tests then see the same locking as production
            # (WAL + busy timeout) when threads or processes write at once.
            # One file per test process, so parallel test runs never share a database.
            "TEST": {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Jobs (Huey) --------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", False)
HUEY_WORKERS = env_int("HUEY_WORKERS", 2, minimum=1, maximum=64)
HUEY: dict[str, Any]
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": env_str("HUEY_QUEUE_NAME", "benefitsync"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": HUEY_WORKERS, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "benefitsync",
        # pytest-xdist's workers share the data directory: a queue file each, as each has its
        # own test database (a worker's queue depth must not count another worker's jobs).
        "filename": str(DATA_DIR / f"huey{os.environ.get('PYTEST_XDIST_WORKER', '')}.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        # This queue is polled (Redis's is waited on): an idle worker backs off up to max_delay
        # between looks, Huey's default 10 s — a change after a quiet spell would wait that long
        # on top of WEBHOOK_COALESCE_SECONDS (issue 17: within 10 s). One look a second per
        # idle worker thread costs a small SQLite read.
        "consumer": {"workers": HUEY_WORKERS, "worker_type": "thread", "max_delay": 1.0},
    }

# --- Auth ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Tests and the demo use a fast hasher; production keeps Django's default PBKDF2.
if env_bool("BENEFITSYNC_FAST_PASSWORD_HASHER", False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Every login form authenticates through the throttle (accounts/backends.py, throttle.py).
AUTHENTICATION_BACKENDS = ["benefitsync.accounts.backends.ThrottledModelBackend"]
# Login throttling (accounts/throttle.py): failures per account within the lock window lock it;
# from a busy address (more than 4 × LOGIN_MAX_FAILURES failures) an account gets fewer tries.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_BUSY_ADDRESS_FAILURES = env_int("LOGIN_BUSY_ADDRESS_FAILURES", 2, minimum=1)
LOGIN_LOCK_SECONDS = env_int("LOGIN_LOCK_SECONDS", 900, minimum=1)
# How many proxies in front of the web server append to X-Forwarded-For (0: trust none, use the
# connection's address). Set it only when every request passes those proxies (docs/operations.md).
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0, minimum=0, maximum=10)
# The cache holds the login-throttle counters where every web process sees them and a restart
# keeps them: Redis in the scale mode, a database table (created by `migrate`) otherwise.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Installs (and test runs) sharing one Redis keep their counters apart, as their queues.
            "KEY_PREFIX": env_str("HUEY_QUEUE_NAME", "benefitsync"),
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "benefitsync_cache",
        }
    )
}

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# A Content-Security-Policy on every response (django-csp): scripts, styles, images and fonts
# only from our own origin; an inline script would need the request's nonce
# (`{{ request.csp_nonce }}`); no plugins, no framing, forms post only to us. Swagger UI on
# /api/docs is served from django-ninja's static files (NINJA_DIR) and runs under the same policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF, csp_constants.NONCE],
        "style-src": [csp_constants.SELF],
        "img-src": [csp_constants.SELF, "data:"],
        "font-src": [csp_constants.SELF],
        "connect-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.NONE],
        "frame-ancestors": [csp_constants.NONE],
        "form-action": [csp_constants.SELF],
    }
}
if PRODUCTION:
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)

# --- I18N ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# One date format per language (2 Dec 2026 / 02.12.2026), see benefitsync/formats/.
FORMAT_MODULE_PATH = ["benefitsync.formats"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing root
STATICFILES_DIRS = [PACKAGE_DIR / "static", NINJA_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env_path("MEDIA_ROOT", DATA_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Without collectstatic (the embedded default), WhiteNoise serves straight from the app folders.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# --- Employees: invitations, receipts, outbox ----------------------------------------------------
INVITATION_TTL_DAYS = env_int("INVITATION_TTL_DAYS", 14, minimum=1)
RECEIPT_MAX_BYTES = env_int("RECEIPT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Receipts per benefit and month that are not rejected (benefits/receipts.py): a meal
# allowance takes one per working day.
RECEIPT_MAX_PER_MONTH = env_int("RECEIPT_MAX_PER_MONTH", 20, minimum=1, maximum=1000)
# No request body may be larger (lib/request_limits.py): the largest upload plus room for the
# form's other fields. Non-file form data stays bounded by Django's DATA_UPLOAD_MAX_MEMORY_SIZE.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", RECEIPT_MAX_BYTES + 1024 * 1024, minimum=1024)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 5, minimum=1)
OUTBOX_CLAIM_SECONDS = env_int("OUTBOX_CLAIM_SECONDS", 600, minimum=10)

# --- E-mail -------------------------------------------------------------------------------------
EMAIL_BACKEND = env_choice(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend",
    (
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.smtp.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
    ),
)
EMAIL_FILE_PATH = DATA_DIR / "outbox"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "benefitsync <no-reply@benefitsync.local>")

# --- Personio -----------------------------------------------------------------------------------
PERSONIO_BASE_URL = env_str("PERSONIO_BASE_URL", "https://api.personio.de")
PERSONIO_PARTNER_ID = env_str("PERSONIO_PARTNER_ID")
PERSONIO_APP_ID = env_str("PERSONIO_APP_ID")
# Keyword arguments for every PersonioClient (tests shrink the retry waits here).
PERSONIO_CLIENT_OPTIONS: dict[str, Any] = {}
SYNC_RUN_RETENTION_DAYS = env_int("SYNC_RUN_RETENTION_DAYS", 90, minimum=1)
SYNC_LEASE_SECONDS = env_int("SYNC_LEASE_SECONDS", 900, minimum=1)
# Where Personio delivers webhook events: this portal's address as Personio reaches it (HTTPS
# in production). Unset: the address `benefitsync run` serves on (it passes it to its children
# as BENEFITSYNC_SERVED_AT), else BENEFITSYNC_BASE_URL.
PUBLIC_URL = (
    env_str("BENEFITSYNC_PUBLIC_URL") or env_str("BENEFITSYNC_SERVED_AT") or BASE_URL
).rstrip("/")
# Register a webhook on connect (off: every company without webhooks uses the delta sync).
PERSONIO_WEBHOOKS = env_bool("BENEFITSYNC_PERSONIO_WEBHOOKS", True)
# Events of one company received within this many seconds become one webhook run.
WEBHOOK_COALESCE_SECONDS = env_int("WEBHOOK_COALESCE_SECONDS", 2, minimum=0)

# --- Logging ------------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
# plain: classic lines; json: one JSON object per line. Both carry company_id and run_id.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)

# --- Operations ---------------------------------------------------------------------------------
# Bearer token for /metrics; empty: /metrics is open (keep it on an internal network then).
METRICS_TOKEN = env_str("METRICS_TOKEN")
