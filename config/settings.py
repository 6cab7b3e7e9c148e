"""Siteflow settings: one module, read from the environment.

With nothing set, Siteflow runs embedded: SQLite in WAL mode, Celery on kombu's filesystem
transport, the in-memory channel layer, a local-memory cache and an email file outbox, all under
var/. DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis, which is how it scales out.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-" + "x" * 40)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "anymail",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "core",
    "accounts",
    "builder",
    "crm",
    "campaigns",
    "workflows",
]

MIDDLEWARE = [
    "core.health.HealthCheckMiddleware",
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.DashboardWorkspaceMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.workspace",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'siteflow.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock when a transaction
    # starts instead of failing mid-way with "database is locked" when web, worker and beat collide.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
else:
    # A process-wide psycopg pool rather than CONN_MAX_AGE: under ASGI every request's sync code runs
    # in a thread of its own, so per-thread persistent connections are never reused and pile up.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
        "timeout": env.int("DB_POOL_TIMEOUT", default=10),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker, channel layer ------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")

BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR.mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only once it has run, so a worker killed mid-task leaves it on the broker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Publishing happens inside web requests: fail fast when the broker is down, the outbox sweeper
# picks the event up later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "events-sweep": {"task": "core.tasks.sweep_events", "schedule": 30.0},
    "crm-score-decay": {"task": "crm.tasks.score_decay", "schedule": crontab(hour=3, minute=15)},
    "crm-imports-resume": {"task": "crm.tasks.contact_imports_resume", "schedule": 300.0},
    "campaigns-start-due": {"task": "campaigns.tasks.lifecycle.campaigns_start_due", "schedule": 15.0},
    "campaigns-ab-decide": {"task": "campaigns.tasks.lifecycle.campaigns_ab_decide", "schedule": 60.0},
    "email-sends-sweep": {"task": "campaigns.tasks.delivery.email_sends_sweep", "schedule": 30.0},
    "workflows-sweep": {
        "task": "workflows.tasks.engine.executions_sweep",
        "schedule": float(env.int("WORKFLOW_SWEEP_SECONDS", default=5)),
    },
    "workflows-prune": {"task": "workflows.tasks.engine.step_runs_prune", "schedule": crontab(hour=3, minute=45)},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Events (outbox) ------------------------------------------------------------------------------
EVENTS_SWEEP_GRACE_SECONDS = env.int("EVENTS_SWEEP_GRACE_SECONDS", default=30)
EVENTS_MAX_ATTEMPTS = env.int("EVENTS_MAX_ATTEMPTS", default=8)
EVENTS_SWEEP_BATCH = 500

# --- Auth -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:home"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory" if PRODUCTION else "optional")
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
LOGIN_FAILED_WINDOW_SECONDS = 300
ACCOUNT_RATE_LIMITS = {"login_failed": f"10/m/ip,5/{LOGIN_FAILED_WINDOW_SECONDS}s/key", "signup": "20/h/ip"}
SOCIALACCOUNT_PROVIDERS = {}
for _provider in ("google", "github"):
    _client_id = env.str(f"{_provider.upper()}_CLIENT_ID", default="")
    if _client_id:
        SOCIALACCOUNT_PROVIDERS[_provider] = {
            "APPS": [{"client_id": _client_id, "secret": env.str(f"{_provider.upper()}_CLIENT_SECRET"), "key": ""}],
        }

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# --- API ------------------------------------------------------------------------------------------
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.UserRateThrottle", "core.api.throttling.WorkspaceRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("THROTTLE_USER", default="1200/min"),
        "workspace": env.str("THROTTLE_WORKSPACE", default="6000/min"),
        "auth_ip": env.str("THROTTLE_AUTH_IP", default="30/min"),
        "auth_account": env.str("THROTTLE_AUTH_ACCOUNT", default="10/min"),
    },
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    # How many proxies sit in front; only then is X-Forwarded-For trusted for per-address throttles.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=None),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Siteflow API",
    "DESCRIPTION": "Website builder wired to marketing automation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "accounts.roles.Role",
        "GrantableRoleEnum": "accounts.roles.GRANTABLE_ROLE_CHOICES",
        "ActivityKindEnum": "crm.models.ActivityKind",
        "RevisionKindEnum": "builder.models.RevisionKind",
        "JobStatusEnum": "crm.models.JobStatus",
        "ContactStatusEnum": "crm.models.ContactStatus",
        "CampaignStatusEnum": "campaigns.models.CampaignStatus",
        "SenderStatusEnum": "campaigns.models.SenderStatus",
        "SendStatusEnum": "campaigns.models.SendStatus",
        "WorkflowStatusEnum": "workflows.models.WorkflowStatus",
        "ExecutionStatusEnum": "workflows.models.ExecutionStatus",
        "StepStatusEnum": "workflows.models.StepStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
    ],
}

# --- Email ----------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Siteflow <no-reply@siteflow.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_FILE_PATH = VAR_DIR / "outbox"
# Anymail reads only Django settings, so each ANYMAIL_<NAME> variable becomes ANYMAIL["<NAME>"]:
# EMAIL_PROVIDER=sendgrid with ANYMAIL_SENDGRID_API_KEY, ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY, and
# ANYMAIL_WEBHOOK_SECRET ("user:password", the basic auth every tracking webhook must present).
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and name != "ANYMAIL_"
}
_esp = env.str("EMAIL_PROVIDER", default="")
if _esp:
    EMAIL_BACKEND = f"anymail.backends.{_esp}.EmailBackend"
elif env.str("EMAIL_URL", default=""):
    # EMAIL_URL=smtp+tls://user:pass@host:587 sets EMAIL_BACKEND, EMAIL_HOST and the rest.
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"

# --- Campaigns and delivery -----------------------------------------------------------------------
# Where recipients' pixels, links and unsubscribe pages point: the public address of this install.
EMAIL_PUBLIC_URL = env.str("EMAIL_PUBLIC_URL", default=SITE_URL).rstrip("/")
# An address whose mail the ESP's inbound webhook hands back, for mailto: unsubscribes
# (unsubscribe@mail.example.com becomes unsubscribe+<token>@mail.example.com); blank: https only.
UNSUBSCRIBE_MAILTO = env.str("UNSUBSCRIBE_MAILTO", default="")
# Rows a worker claims at a time, and how many workers send one campaign side by side.
SENDING_BATCH_SIZE = env.int("SENDING_BATCH_SIZE", default=200)
SENDING_PARALLELISM = env.int("SENDING_PARALLELISM", default=2)
# A claim lapses after this long, so rows held by a killed worker go back to the others.
SENDING_LEASE_SECONDS = env.int("SENDING_LEASE_SECONDS", default=120)
SENDING_MAX_ATTEMPTS = env.int("SENDING_MAX_ATTEMPTS", default=6)
# How long a double opt-in confirmation link stays valid.
OPTIN_MAX_AGE = env.int("OPTIN_MAX_AGE", default=7 * 24 * 3600)

# --- Workflows -----------------------------------------------------------------------------------
# A worker holds a running execution this long past its last step; killed, the sweeper takes it back.
WORKFLOW_LEASE_SECONDS = env.int("WORKFLOW_LEASE_SECONDS", default=60)
# A new or resumed execution the broker lost is re-enqueued by the sweeper after this long.
WORKFLOW_PENDING_GRACE_SECONDS = env.int("WORKFLOW_PENDING_GRACE_SECONDS", default=30)
# Executions the sweeper hands out per run.
WORKFLOW_SWEEP_BATCH = env.int("WORKFLOW_SWEEP_BATCH", default=500)
# Attempts at a step whose error is transient (a timeout, a 5xx) before it fails.
WORKFLOW_STEP_MAX_ATTEMPTS = env.int("WORKFLOW_STEP_MAX_ATTEMPTS", default=4)
# Step input and output older than this are pruned; the steps and counts stay.
WORKFLOW_RETENTION_DAYS = env.int("WORKFLOW_RETENTION_DAYS", default=30)
# The largest request body a webhook trigger accepts.
WORKFLOW_HOOK_MAX_BYTES = env.int("WORKFLOW_HOOK_MAX_BYTES", default=256 * 1024)
# Calls one webhook trigger URL accepts per period ("600/min"); more get a 429.
WORKFLOW_HOOK_RATE = env.str("WORKFLOW_HOOK_RATE", default="600/min")
# The longest an http_request step may wait for an answer (it must stay well inside the lease).
WORKFLOW_HTTP_TIMEOUT_MAX = env.int("WORKFLOW_HTTP_TIMEOUT_MAX", default=30)

# --- Internationalisation, static -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (CSV imports while they are processed) live under var/, never served over HTTP.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security -------------------------------------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REFERRER_POLICY = "same-origin"
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
ACCESS_LOG = env.bool("ACCESS_LOG", default=True)
from core.logging import build_logging_config  # noqa: E402  (needs the values above)

LOGGING = build_logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)

# --- Demo data ------------------------------------------------------------------------------------
DEMO_EMAIL = "demo@siteflow.local"
DEMO_PASSWORD = "siteflow-demo"

# --- Builder --------------------------------------------------------------------------------------
# A visitor must spend at least this long on a form (bots post at once) and post within the max age.
FORM_MIN_SUBMIT_SECONDS = env.float("FORM_MIN_SUBMIT_SECONDS", default=3.0)
FORM_TOKEN_MAX_AGE = env.int("FORM_TOKEN_MAX_AGE", default=7 * 24 * 3600)
# The public form endpoint (/f/<id>/) sits outside /api/, so it has a body limit of its own.
FORM_MAX_BODY_BYTES = env.int("FORM_MAX_BODY_BYTES", default=64 * 1024)
# Submissions per client address and per form, as "N/sec|min|hour|day".
FORM_RATE_IP = env.str("FORM_RATE_IP", default="10/min")
FORM_RATE_FORM = env.str("FORM_RATE_FORM", default="600/min")
TURNSTILE_VERIFY_URL = env.str(
    "TURNSTILE_VERIFY_URL", default="https://challenges.cloudflare.com/turnstile/v0/api/siteverify"
)

# --- CRM ------------------------------------------------------------------------------------------
# Phone numbers typed without a +country prefix are read as numbers of this region (ISO 3166 code).
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="US")
# The largest CSV file a contact import accepts; the API's body limit is raised to it for the upload.
CRM_IMPORT_MAX_BYTES = env.int("CRM_IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
