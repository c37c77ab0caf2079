"""Settings shared by every environment.

Only modules in config/settings/ read the environment; application code reads
django.conf.settings. Defaults here run on a laptop with nothing set: SQLite, tasks run
in-process after commit, the embedded MDI sandbox and sandbox payments.
"""

import base64
import hashlib
import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django_guid.integrations import CeleryIntegration

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# --- Core -----------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only-insecure-key-change-me-in-every-real-env")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
SITE_NAME = env("SITE_NAME", default="Thinclinic")
# --- Brand: re-skin a deployment from the environment, never by editing templates ---------
# The logo is a path under STATIC_URL (a file shipped in static/), so it passes the CSP's
# img-src 'self'; the colour reaches pages through /brand.css (no inline style under the CSP).
BRAND_LOGO_URL = env("BRAND_LOGO_URL", default="brand/logo.svg")
BRAND_PRIMARY_COLOR = env("BRAND_PRIMARY_COLOR", default="#1f5f8b")
# A bad value would be written straight into a stylesheet: refuse to start instead.
if not re.fullmatch(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})", BRAND_PRIMARY_COLOR):
    raise ImproperlyConfigured(
        f"BRAND_PRIMARY_COLOR must be a hex colour like #1f5f8b, not {BRAND_PRIMARY_COLOR!r}"
    )
SUPPORT_EMAIL = env("SUPPORT_EMAIL", default="support@localhost")
# The public origin used in links we send (password reset, notifications).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# USPS codes of the states where the brand's clinicians are licensed.
SUPPORTED_STATES = [
    s.strip().upper() for s in env.list("SUPPORTED_STATES", default=["CA", "FL", "NY", "TX", "WA"])
]
MINIMUM_PATIENT_AGE = env.int("MINIMUM_PATIENT_AGE", default=18)
# After a disqualifying answer stops an intake, how long before the same questionnaire can be
# started again (so a patient cannot simply answer differently at once); 0 turns it off.
INTAKE_DISQUALIFICATION_WAIT_DAYS = env.int("INTAKE_DISQUALIFICATION_WAIT_DAYS", default=30)

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves threads (runserver) that write at once, e.g. a double click.
    # IMMEDIATE takes the write lock when a transaction begins, so a second writer waits for
    # the first (up to `timeout` seconds) instead of failing with "database is locked" when
    # it tries to upgrade a read lock; WAL lets readers go on meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# A persistent connection the server has closed (restart, failover, idle timeout) is replaced
# before the request uses it, instead of answering that request with a 500.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")

INSTALLED_APPS = [
    "accounts.apps.StaffAdminConfig",  # django.contrib.admin, with two-step sign-in
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_fsm",
    "adminsortable2",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_guid",
    "django_ratelimit",
    "csp",
    "core",
    "accounts",
    "patients",
    "intake",
    "cases",
    "webhooks",
    "payments",
]
# The embedded MDI sandbox stands in for MDI on a laptop. It is installed (tables, permission,
# URLs) only when enabled, so a deployment without it has no trace of its routes or data.
MDI_SANDBOX_ENABLED = env.bool("MDI_SANDBOX_ENABLED", default=True)
if MDI_SANDBOX_ENABLED:
    INSTALLED_APPS.append("mdi_sandbox")

MIDDLEWARE = [
    # Request counts and latencies by view (django-prometheus), served by our own /metrics
    # (core.metrics). Outermost, so the time measured includes every other middleware.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # A request id (X-Request-ID, or a new one) on every log line of the request and of the
    # Celery tasks it enqueues (django-guid's Celery integration carries it in task headers).
    "django_guid.middleware.guid_middleware",
    # First, so no later middleware (CSRF reads POST) meets an unreadable Content-Length.
    "core.middleware.ContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Policy headers go on every response, errors and static files included.
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "core.middleware.DeclaredUploadSizeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Second factor: OTPMiddleware marks a verified session; ours stops an unverified one
    # that needs it (staff always, patients who opted in) from reaching anything else.
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication (it needs the user) and messages (it explains a sign-out).
    "core.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.NoStoreForAuthenticatedMiddleware",
    # Records refusals (another patient's record, a 403 in admin) as security events.
    "core.middleware.SecurityEventMiddleware",
    # Turns django-ratelimit's Ratelimited exception into our 429 page (RATELIMIT_VIEW).
    "django_ratelimit.middleware.RatelimitMiddleware",
    # The other half of the request metrics (django-prometheus's, every method label from a
    # fixed set): sees the view that ran, its response (an Axes lockout included) and any
    # exception.
    "core.request_metrics.RequestMetricsAfterMiddleware",
    # Axes must come last so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
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
                "core.context_processors.brand",
            ],
        },
    },
]

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.VarietyPasswordValidator", "OPTIONS": {"min_distinct": 4}},
]
LOGIN_URL = "accounts:login"
# Patients resume wherever they left off; staff are sent on to the admin from there.
LOGIN_REDIRECT_URL = "cases:home"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60  # one hour: a reset link is a key to health records
# A confirmation link only proves an inbox (it signs nobody in elsewhere): three days.
# The name authenticator apps show beside the code.
OTP_TOTP_ISSUER = env("SITE_NAME", default="thinclinic")
EMAIL_VERIFICATION_MAX_AGE = env.int("EMAIL_VERIFICATION_MAX_AGE", default=60 * 60 * 24 * 3)

# Brute-force protection: lock an email+IP pair after 5 failures for 15 minutes. Only the pair:
# a lock on the email alone would let anyone lock any patient out by guessing wrong.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
# Login matches the email case-insensitively, so the lockout must count every case variant
# (and stray spaces) of one address together, or each variant gets its own five tries.
AXES_USERNAME_CALLABLE = "accounts.throttling.axes_username"
# The client IP comes from django-ipware (installed for that reason: without it axes silently
# uses REMOTE_ADDR). Locally nothing sits in front of Django, so only REMOTE_ADDR counts and a
# forged X-Forwarded-For is ignored. production.py trusts the proxy's header instead.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_IPWARE_PROXY_COUNT = None
# With a proxy count set, take the address at that position even when the client sent its own
# X-Forwarded-For (which the proxy appends to); strict mode would fall back to the proxy's
# address, putting every such client in one shared bucket.
IPWARE_STRICT = False

# Throttles for sign-up, password reset and the waiting list (core/ratelimit.py). They share
# the client IP that axes resolves, and need a cache shared by every process: Redis when set.
RATELIMIT_IP_META_KEY = "core.ratelimit.client_ip"
RATELIMIT_VIEW = "core.views.ratelimited"

# Sessions end after a quiet spell whose length depends on the role (staff see every patient's
# records, so theirs is shorter), and after an absolute lifetime however active the user is
# (core.middleware.SessionTimeoutMiddleware). Each request slides the idle window.
SESSION_IDLE_TIMEOUT_PATIENT_SECONDS = env.int(
    "SESSION_IDLE_TIMEOUT_PATIENT_SECONDS", default=30 * 60
)
SESSION_IDLE_TIMEOUT_STAFF_SECONDS = env.int("SESSION_IDLE_TIMEOUT_STAFF_SECONDS", default=15 * 60)
SESSION_ABSOLUTE_LIFETIME_SECONDS = env.int(
    "SESSION_ABSOLUTE_LIFETIME_SECONDS", default=12 * 60 * 60
)
# Anonymous sessions (before sign-in) and the starting expiry of a new one; the middleware sets
# each signed-in session's expiry to its role's idle timeout.
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_PATIENT_SECONDS
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# Our URLs carry visit ids: no other site learns them from a Referer header.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): only our own scripts, styles and images run, so an
# injected tag or attribute in a page cannot run or phone home. No 'unsafe-inline' anywhere:
# templates keep scripts in static/js and styles in static/css.
_SELF = "'self'"
_NONE = "'none'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF],
        "img-src": [_SELF, "data:"],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        # Chromium applies form-action to the redirects that follow a POST too: checkout's
        # POST redirects to Stripe's hosted page when Stripe is the gateway (added below).
        "form-action": [_SELF],
        "frame-ancestors": [_NONE],
        "base-uri": [_NONE],
        "object-src": [_NONE],
    }
}
# Browser features no page of ours uses, denied to us and to anything we embed. Photo uploads
# use a file input (which may offer the camera app) and need no camera permission.
_DENIED_FEATURES = [
    "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture",
    "encrypted-media", "geolocation", "gyroscope", "hid", "idle-detection", "magnetometer",
    "microphone", "midi", "payment", "publickey-credentials-get", "screen-wake-lock", "serial",
    "usb", "xr-spatial-tracking",
]  # fmt: skip
PERMISSIONS_POLICY = {feature: [] for feature in _DENIED_FEATURES}

# --- Protected health information -----------------------------------------------------------
# Fernet keys, comma-separated. The first encrypts; every key decrypts (rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])


def local_field_encryption_key(secret_key: str) -> str:
    """A Fernet key derived from the secret key, for local and test runs only (production.py
    requires FIELD_ENCRYPTION_KEYS)."""
    return base64.urlsafe_b64encode(
        hashlib.sha256(f"fields:{secret_key}".encode()).digest()
    ).decode()


# Retention. Webhook bodies hold the patient's details as MDI sent them; once an event is
# processed (or resolved by support) and older than this, its body and looked-up context are
# cleared. The event key stays, so a late re-delivery is still recognised as a duplicate.
WEBHOOK_BODY_RETENTION_DAYS = env.int("WEBHOOK_BODY_RETENTION_DAYS", default=90)
# A visit declined, cancelled or with its prescription delivered or ended keeps its answers
# here this long after it closed; the clinical partner keeps the clinical record. 0 = never.
CLOSED_VISIT_ANSWER_RETENTION_DAYS = env.int("CLOSED_VISIT_ANSWER_RETENTION_DAYS", default=365)

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (photo IDs) live outside any public path and are served only through views
# that check who is asking; MEDIA_URL is deliberately not routed.
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "private_media")))
MEDIA_ROOT = PRIVATE_MEDIA_ROOT


def private_local_storage(root: Path) -> dict:
    """STORAGES["private"] for a folder on this machine (the default everywhere)."""
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(root),
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }


def private_s3_storage(
    *,
    bucket_name: str,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    location: str = "private",
    server_side_encryption: str | None = None,
    addressing_style: str | None = None,
) -> dict:
    """STORAGES["private"] for a bucket on S3 or an S3-compatible service (django-storages).

    The app has already encrypted every byte it writes (core.uploads), and only its
    access-checked views read files back: no object gets an ACL of its own (it stays as private
    as the bucket), a URL the storage might build is signed and lives a minute, and every object
    is opaque binary whatever its name says. No keys: boto3's own chain (instance role)."""
    object_parameters = {"ContentType": "application/octet-stream"}
    if server_side_encryption:
        object_parameters["ServerSideEncryption"] = server_side_encryption
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket_name,
            "endpoint_url": endpoint_url or None,
            "region_name": region_name or None,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "location": location,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 60,
            "signature_version": "s3v4",
            "file_overwrite": False,
            "object_parameters": object_parameters,
            "addressing_style": addressing_style or None,
        },
    }


# Where uploaded files live: "local" (PRIVATE_MEDIA_ROOT, the default) or "s3" (a private
# bucket, for several web hosts or none with a disk to keep). core.uploads is the only reader
# and writer, through STORAGES["private"].
PRIVATE_FILES_BACKEND = env("PRIVATE_FILES_BACKEND", default="local")
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if PRIVATE_FILES_BACKEND == "local":
    _private_storage = private_local_storage(PRIVATE_MEDIA_ROOT)
elif PRIVATE_FILES_BACKEND == "s3":
    _private_storage = private_s3_storage(
        bucket_name=AWS_STORAGE_BUCKET_NAME,
        endpoint_url=env("AWS_S3_ENDPOINT_URL", default=None),
        region_name=env("AWS_S3_REGION_NAME", default=None),
        access_key=env("AWS_ACCESS_KEY_ID", default=None),
        secret_key=env("AWS_SECRET_ACCESS_KEY", default=None),
        location=env("AWS_LOCATION", default="private"),
        server_side_encryption=env("AWS_S3_SERVER_SIDE_ENCRYPTION", default=None),
        addressing_style=env("AWS_S3_ADDRESSING_STYLE", default=None),
    )
else:
    raise ImproperlyConfigured(
        f"PRIVATE_FILES_BACKEND must be 'local' or 's3', not {PRIVATE_FILES_BACKEND!r}"
    )
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": _private_storage,
}
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
# 24 megapixels covers any phone photo; the header is checked against it before decoding.
UPLOAD_MAX_PIXELS = env.int("UPLOAD_MAX_PIXELS", default=24_000_000)

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <no-reply@localhost>")
# A notification task holds its row lock while it talks to the mail server: never forever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Where text messages go (core/sms.py). The console backend logs only that one was sent.
SMS_BACKEND = env("SMS_BACKEND", default="core.sms.ConsoleSmsBackend")

# --- Cache ----------------------------------------------------------------------------------
# Redis when configured, so the MDI token and throttles are shared across processes.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # django-ratelimit refuses a per-process cache because each process would count alone.
    # Without Redis there is one process (runserver, tests), so the count is still right;
    # production.py requires Redis and drops this.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_DEFAULT_QUEUE = "celery"  # named here so /metrics can measure it
# /metrics (Prometheus): with a token set, only `Authorization: Bearer <token>` may read it;
# without one it is served only with DEBUG on (a laptop), and is a 404 anywhere else.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Without a broker the embedded default runs tasks in-process. Services enqueue with
# transaction.on_commit, so even eager tasks run after the request's transaction commits.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
# Webhook events are processed by `manage.py process_webhooks` workers that claim them from
# the event table ("worker"), or in the receiving process right after it stores them
# ("inline": the embedded default and the tests, which run no workers).
WEBHOOK_PROCESSING = env(
    "WEBHOOK_PROCESSING", default="inline" if CELERY_TASK_ALWAYS_EAGER else "worker"
)
CELERY_TASK_EAGER_PROPAGATES = False
# Tasks are idempotent, so a worker lost mid-task may safely have its task redelivered.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# An outage of Redis must cost a request milliseconds, not seconds: fail the publish at once
# (every enqueued task's row has a sweeper or a support retry) instead of retrying in the
# request, and give up connecting quickly.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "max_retries": 0,  # a publish's connection attempt: once (the worker's own loop reconnects)
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
CELERY_BEAT_SCHEDULE: dict = {
    # Submissions a crash or a lost task left pending or sending, and duplicates to cancel.
    "case-submissions-sweep": {"task": "cases.tasks.case_submissions_sweep_task", "schedule": 60.0},
    # Notifications whose task was lost (Redis down when they were asked for).
    "notifications-sweep": {"task": "cases.tasks.notifications_sweep_task", "schedule": 60.0},
    # Lapsing card holds (flag, then release) and captures or releases a lost task left undone.
    "payments-sweep": {"task": "payments.tasks.payments_sweep_task", "schedule": 300.0},
    # Retention (daily): webhook bodies past WEBHOOK_BODY_RETENTION_DAYS, closed visits'
    # answers past CLOSED_VISIT_ANSWER_RETENTION_DAYS.
    "webhook-bodies-prune": {
        "task": "webhooks.tasks.webhook_bodies_prune_task",
        "schedule": 24 * 60 * 60.0,
    },
    "closed-visit-answers-purge": {
        "task": "cases.tasks.closed_visit_answers_purge_task",
        "schedule": 24 * 60 * 60.0,
    },
}

# --- MD Integrations ------------------------------------------------------------------------
# MDI_SANDBOX_ENABLED is read with INSTALLED_APPS above; production.py forces it off.
MDI_API_BASE_URL = env("MDI_API_BASE_URL", default=f"{SITE_URL}/mdi-sandbox/api")
# No defaults here: a fixed default would be a published key to every sandbox's patients.
# local.py falls back to per-installation random values; production.py requires them.
MDI_CLIENT_ID = env("MDI_CLIENT_ID", default="")
MDI_CLIENT_SECRET = env("MDI_CLIENT_SECRET", default="")
# Lists, so a secret can be rotated without refusing MDI's deliveries in between.
MDI_WEBHOOK_SECRET = env.list("MDI_WEBHOOK_SECRET", default=[])
MDI_WEBHOOK_AUTHORIZATION = env.list("MDI_WEBHOOK_AUTHORIZATION", default=[])
# Where local.py keeps the sandbox's generated credentials (git-ignored, mode 0600).
MDI_SANDBOX_CREDENTIALS_FILE = Path(
    env(
        "MDI_SANDBOX_CREDENTIALS_FILE",
        default=str(BASE_DIR / "var" / "mdi-sandbox-credentials.json"),
    )
)
# Where the sandbox posts its webhooks: our own endpoint.
MDI_SANDBOX_WEBHOOK_URL = env("MDI_SANDBOX_WEBHOOK_URL", default=f"{SITE_URL}/webhooks/mdi/")

# --- Payments -------------------------------------------------------------------------------
PAYMENTS_GATEWAY = env("PAYMENTS_GATEWAY", default="sandbox")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
# A list, like MDI's, so a rolled signing secret can be added before the old one is removed.
STRIPE_WEBHOOK_SECRET = env.list("STRIPE_WEBHOOK_SECRET", default=[])
# An uncaptured card hold lapses after about 7 days; support is warned this long before.
PAYMENT_HOLD_DAYS = env.int("PAYMENT_HOLD_DAYS", default=7)
PAYMENT_HOLD_WARNING_HOURS = env.int("PAYMENT_HOLD_WARNING_HOURS", default=24)
# Stripe's hosted checkout page: the checkout form's POST is redirected there.
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"
if PAYMENTS_GATEWAY == "stripe":
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(STRIPE_CHECKOUT_ORIGIN)

# --- Logging --------------------------------------------------------------------------------
# Log lines carry ids, never names, answers or bodies: logs are not a PHI store. Each carries
# the request id (django-guid), which also travels into the Celery tasks a request enqueues.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,  # a client's id is used only if it is a UUID; else a new one
    "RETURN_HEADER": True,
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True, log_parent=True)],
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
        # Production (config/settings/production.py): one JSON object per line.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(correlation_id)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        # One INFO line per request saying it made up a request id: noise, and measurable
        # cost on the webhook path under load (issue 15).
        "django_guid": {"level": "WARNING"},
    },
}
