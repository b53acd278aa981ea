"""Settings, read from the environment (see .env.example).

Defaults give a working development setup on an embedded SQLite file; point
``DATABASE_URL`` at PostgreSQL for production and for the concurrency tests.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


_DEV_SECRET_KEY = "dev-only-insecure-key-change-me"

DEBUG = _env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY in the environment: the development key is refused when DEBUG is off.")

ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "audit.apps.SignInProtectionConfig",  # django-axes
    "django_otp",
    "audit.apps.TwoFactorDevicesConfig",  # django-otp's TOTP devices
    "audit",
    "customers",
    "aftersales",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.ExplicitLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.recording.AuditContextMiddleware",
    "audit.twofactor.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# -- Sign-in protection (django-axes) and two-factor sign-in (django-otp) ------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username or address before the password
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "audit.signin.SignInHandler"
# A username is locked after this many failures within the lock time; an address (a whole office may sign in
# from one) after SIGNIN_IP_FAILURE_LIMIT.
AXES_FAILURE_LIMIT = int(os.environ.get("SIGNIN_FAILURE_LIMIT", "5"))
SIGNIN_IP_FAILURE_LIMIT = int(os.environ.get("SIGNIN_IP_FAILURE_LIMIT", "30"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("SIGNIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = False  # audit.signin clears the username's failures only (not the whole address's)
AXES_LOCKOUT_CALLABLE = "audit.signin.lockout_response"
AXES_ENABLE_ADMIN = True  # audit.admin replaces the attempts' admin with one whose "unlock" is audited
AXES_VERBOSE = False
# The client's address, as the audit log and the API's rate limits take it: REMOTE_ADDR, or with NUM_PROXIES
# proxies the address the outermost one saw (counted from the right of X-Forwarded-For: a client cannot forge it).
AXES_CLIENT_IP_CALLABLE = "audit.recording.client_ip"
# Two-factor sign-in (TOTP, e.g. WeChat/Authenticator apps): always offered; required for these roles when set
# (comma-separated, e.g. "supervisor,finance"): they set it up at their next sign-in.
TWO_FACTOR_REQUIRED_ROLES = _env_list("TWO_FACTOR_REQUIRED_ROLES", "")
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "售后服务后台")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # nobody sees another person's secret (audit.admin shows devices only)

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "aftersales.web.context_processors.workspace",
            ],
        },
    },
]

# Django's form templates, with the simplest widgets written in Python (the case page's dozen forms).
FORM_RENDERER = "config.forms.FastRenderer"

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a competing writer instead of failing at once; serialise
    # writers from the start of each transaction so a read-then-write
    # service cannot be overtaken between its read and its write.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ATOMIC_REQUESTS = False  # transactions belong to services

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
if not DEBUG:
    # WhiteNoise serves the vendored CSS/JS (no CDN) in production: run `manage.py collectstatic` first.
    # With DEBUG on, runserver's staticfiles app serves them.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Uploaded files (QC photos, the customer's evidence) go through Django's storage API and are only ever served
# through the views that check the case's scope: local files under MEDIA_ROOT, or a private bucket of an
# S3-compatible store (MEDIA_STORAGE=s3; install the extra: pip install -e ".[s3]").
MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "local")
# An export of more rows than this is written in the background to a file (reports.background) instead of
# streamed within the request.
EXPORT_STREAM_MAX_ROWS = int(os.environ.get("EXPORT_STREAM_MAX_ROWS", "20000"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if MEDIA_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("MEDIA_S3_BUCKET", ""),
            "endpoint_url": os.environ.get("MEDIA_S3_ENDPOINT_URL") or None,  # MinIO, OSS, COS … (empty: AWS)
            "region_name": os.environ.get("MEDIA_S3_REGION") or None,
            "access_key": os.environ.get("MEDIA_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("MEDIA_S3_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "file_overwrite": False,
        },
    }
elif MEDIA_STORAGE != "local":
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be local or s3, not {MEDIA_STORAGE!r}.")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "desk:home"
LOGOUT_REDIRECT_URL = "login"

# QC photos: content-checked JPEG/PNG/WebP, at most this many per inspection and this size each.
QC_PHOTO_MAX_COUNT = int(os.environ.get("QC_PHOTO_MAX_COUNT", "6"))
QC_PHOTO_MAX_BYTES = int(os.environ.get("QC_PHOTO_MAX_BYTES", str(5 * 1024 * 1024)))
# The customer's evidence (through the channel's API): photos up to QC_PHOTO_MAX_BYTES, short videos up to this.
EVIDENCE_MAX_COUNT = int(os.environ.get("EVIDENCE_MAX_COUNT", "9"))
EVIDENCE_VIDEO_MAX_BYTES = int(os.environ.get("EVIDENCE_VIDEO_MAX_BYTES", str(20 * 1024 * 1024)))
# The API refuses larger bodies with a JSON 413 before reading them: JSON requests (a batch of 500 orders is
# well under), and the evidence upload (every file at its largest).
API_MAX_JSON_BYTES = int(os.environ.get("API_MAX_JSON_BYTES", str(5 * 1024 * 1024)))
API_MAX_UPLOAD_BYTES = EVIDENCE_MAX_COUNT * max(EVIDENCE_VIDEO_MAX_BYTES, QC_PHOTO_MAX_BYTES) + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 20

SIMPLE_HISTORY_REVERT_DISABLED = True

# The cache holds the API's throttle counters: per process by default; with CACHE_URL (redis://…) shared by
# every process, which is what the per-key rates mean once there is more than one.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "aftersales.api.errors.api_exception_handler",
    "DEFAULT_METADATA_CLASS": "aftersales.api.schema.BriefMetadata",
    # Request bodies are JSON only, so a client generated from the schema needs no hand edits.
    "DEFAULT_PARSER_CLASSES": ["aftersales.api.parsers.SafeJSONParser"],
    "DEFAULT_THROTTLE_RATES": {"staff": os.environ.get("API_STAFF_RATE", "600/min")},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Rate limits count clients by address: X-Forwarded-For is believed only from this many proxies in front of
    # the app (0: never — a client could otherwise name any address it likes).
    "NUM_PROXIES": int(os.environ.get("NUM_PROXIES", "0")),
}

# django-import-export: importing orders needs the permission to add them.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
# A cell that a spreadsheet would run as a formula (=, +, -, @) is written as text.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

SPECTACULAR_SETTINGS = {
    "TITLE": "After-sales back office API",
    "DESCRIPTION": (
        "Channel systems (app, mini-program, live-stream shop, web) open cases, follow them and bring back the "
        "customer's decisions and rating with their API key; staff work cases with their session. "
        "Errors: 400 names each bad field, 403 no permission, 404 no such case (or not yours), "
        "409 not allowed now (the detail says why), 429 too many requests."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets used under several field names get one component each.
    "ENUM_NAME_OVERRIDES": {
        "CarrierEnum": "aftersales.models.choices.Carrier",
        "CompensationKindEnum": "aftersales.models.choices.CompensationKind",
        "ParcelStatusEnum": "aftersales.models.shipments.Shipment.Status",
    },
    # Swagger UI and ReDoc are served from the installed drf-spectacular-sidecar package (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# -- Background jobs ------------------------------------------------------------
# Default runner: `manage.py run_jobs` (no broker). With CELERY_BROKER_URL set
# (e.g. redis://127.0.0.1:6379/0) the same jobs run as Celery tasks on workers,
# scheduled by beat (see config/celery.py and docs/operations.md).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# -- Notifications ------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "aftersales@localhost")
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
# Channel systems set their own webhook URLs through the API: refuse private, loopback and link-local addresses
# (server-side request forgery) unless this is on (tests, or channel systems inside the same private network).
WEBHOOK_ALLOW_PRIVATE_HOSTS = _env_bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", False)

# -- The customer's progress page ------------------------------------------------------------------------
# Links in the customer's messages and the channel's events start with this address (the public one, behind
# the proxy); a link works while its case is open and for PROGRESS_LINK_DAYS after it finished.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
PROGRESS_LINK_DAYS = int(os.environ.get("PROGRESS_LINK_DAYS", "30"))
PROGRESS_PAGE_RATE = os.environ.get("PROGRESS_PAGE_RATE", "60/min")

# -- Carrier tracking -------------------------------------------------------------------------------------
# The aggregator a merchant holds an account with (empty: no tracking). Kuaidi100: the 授权key (KEY), the
# customer id (CUSTOMER), the salt the pushes are signed with (SALT, chosen by us and sent with each subscription),
# and the public URL of our push endpoint (TRACKING_CALLBACK_URL, e.g. https://…/api/v1/tracking/kuaidi100/).
TRACKING_PROVIDER = os.environ.get("TRACKING_PROVIDER", "")
TRACKING_KUAIDI100_KEY = os.environ.get("TRACKING_KUAIDI100_KEY", "")
TRACKING_KUAIDI100_CUSTOMER = os.environ.get("TRACKING_KUAIDI100_CUSTOMER", "")
TRACKING_KUAIDI100_SALT = os.environ.get("TRACKING_KUAIDI100_SALT", "")
TRACKING_KUAIDI100_URL = os.environ.get("TRACKING_KUAIDI100_URL", "https://poll.kuaidi100.com")
TRACKING_CALLBACK_URL = os.environ.get("TRACKING_CALLBACK_URL", "")
# Parcels on their way are asked about at most this often (hours) when no push has told us more.
TRACKING_PULL_HOURS = float(os.environ.get("TRACKING_PULL_HOURS", "6"))
TRACKING_TIMEOUT_SECONDS = float(os.environ.get("TRACKING_TIMEOUT_SECONDS", "10"))

# -- Personal data (PIPL) -----------------------------------------------------------------------------------
# Customers whose last case closed, and last order was placed, more than this many months ago are anonymised by
# the `retention` job (0: never). Cases, amounts and statistics stay.
PERSONAL_DATA_RETENTION_MONTHS = int(os.environ.get("PERSONAL_DATA_RETENTION_MONTHS", "0"))
# Follow-up visits (回访): due this many working hours after the case finished; an unreached customer is called
# again after FOLLOW_UP_RETRY_HOURS working hours.
# Customer messages by SMS (Aliyun or Tencent Cloud) and WeChat mini-program subscription messages; see
# docs/operations.md. Empty: those ways are off and customers hear from us by email.
SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "")  # "", "aliyun" or "tencent"
SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "")
SMS_ACCESS_KEY_ID = os.environ.get("SMS_ACCESS_KEY_ID", "")  # Tencent: SecretId
SMS_ACCESS_KEY_SECRET = os.environ.get("SMS_ACCESS_KEY_SECRET", "")  # Tencent: SecretKey
SMS_SDK_APP_ID = os.environ.get("SMS_SDK_APP_ID", "")  # Tencent only
SMS_REGION = os.environ.get("SMS_REGION", "")
SMS_ENDPOINT = os.environ.get("SMS_ENDPOINT", "")
# No SMS in these hours (local time); a message written then goes when they end.
SMS_QUIET_HOURS = os.environ.get("SMS_QUIET_HOURS", "21:00-08:00")
MINIPROGRAM_APP_ID = os.environ.get("MINIPROGRAM_APP_ID", "")
MINIPROGRAM_APP_SECRET = os.environ.get("MINIPROGRAM_APP_SECRET", "")
MINIPROGRAM_API_BASE = os.environ.get("MINIPROGRAM_API_BASE", "")
MINIPROGRAM_STATE = os.environ.get("MINIPROGRAM_STATE", "formal")  # formal, trial or developer
FOLLOW_UP_DUE_HOURS = int(os.environ.get("FOLLOW_UP_DUE_HOURS", "8"))
FOLLOW_UP_RETRY_HOURS = int(os.environ.get("FOLLOW_UP_RETRY_HOURS", "4"))

# Currency shown beside every amount; amounts are Decimal with two places.
CURRENCY = "CNY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes writes a line per failed sign-in at WARNING (kept) and chatter at INFO (not).
    "loggers": {"axes": {"level": "WARNING"}},
}

# -- Deployment: HTTPS behind a reverse proxy (docs/operations.md) -----------------------------------------
# Each defaults to the safe value when DEBUG is off; `manage.py check --deploy` with the production environment
# (.env.production.example) prints nothing.
_PRODUCTION = not DEBUG
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", _PRODUCTION)
# Only behind a proxy that sets (and strips any client's) X-Forwarded-Proto: then a request it forwarded over
# HTTPS counts as secure.
if _env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if _PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _PRODUCTION)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", _PRODUCTION)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", _PRODUCTION)
CSRF_COOKIE_SECURE = _env_bool("SECURE_COOKIES", _PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
# How long a sign-in lasts (Django's two weeks unless set, e.g. SESSION_HOURS=12 for a working day).
SESSION_COOKIE_AGE = int(float(os.environ.get("SESSION_HOURS", "336")) * 3600)
# The public origins forms are posted from, e.g. https://aftersales.example.com (needed behind a proxy).
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", "")
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "aftersales.api.errors.csrf_failure"  # JSON under /api/, Django's page elsewhere

# Content-Security-Policy (django-csp): scripts only from our own static files (vendored, never a CDN), no
# inline scripts or handlers; inline style attributes are allowed (layout only).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
