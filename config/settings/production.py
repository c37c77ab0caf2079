"""Production: every secret comes from the environment and has no default.

A missing DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL or FIELD_ENCRYPTION_KEYS
raises ImproperlyConfigured at start-up, so the app never runs on a local default; so does
PRIVATE_FILES_BACKEND=s3 without AWS_STORAGE_BUCKET_NAME.
"""

import copy

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    AWS_STORAGE_BUCKET_NAME,
    CONTENT_SECURITY_POLICY,
    INSTALLED_APPS,
    PRIVATE_FILES_BACKEND,
    STORAGES,
    STRIPE_CHECKOUT_ORIGIN,
    env,
)

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a key that is not a Fernet key"
        ) from exc
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must name at least one key")

REDIS_URL = env("REDIS_URL")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = False
WEBHOOK_PROCESSING = "worker"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# The sandbox must never answer for MDI in production, whatever the environment says.
MDI_SANDBOX_ENABLED = False
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "mdi_sandbox"]
MDI_API_BASE_URL = env("MDI_API_BASE_URL")
MDI_CLIENT_ID = env("MDI_CLIENT_ID")
MDI_CLIENT_SECRET = env("MDI_CLIENT_SECRET")
MDI_WEBHOOK_SECRET = env.list("MDI_WEBHOOK_SECRET")
MDI_WEBHOOK_AUTHORIZATION = env.list("MDI_WEBHOOK_AUTHORIZATION")
PAYMENTS_GATEWAY = env("PAYMENTS_GATEWAY", default="stripe")
if PAYMENTS_GATEWAY != "stripe":
    raise ImproperlyConfigured("PAYMENTS_GATEWAY must be 'stripe' in production")
# Checkout's POST is redirected to Stripe's hosted page; form-action must allow it (base.py).
# A new dict: base's is shared with any other settings module imported in the same process.
_form_action = CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]
CONTENT_SECURITY_POLICY = {
    **CONTENT_SECURITY_POLICY,
    "DIRECTIVES": {
        **CONTENT_SECURITY_POLICY["DIRECTIVES"],
        "form-action": list(dict.fromkeys([*_form_action, STRIPE_CHECKOUT_ORIGIN])),
    },
}
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = [v.strip() for v in env.list("STRIPE_WEBHOOK_SECRET") if v.strip()]
if not STRIPE_WEBHOOK_SECRET:
    raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET must name at least one signing secret")

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = True

# TLS terminates at the proxy, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The client IP for lockouts and throttles. PROXY_COUNT is how many proxies stand in front of
# Django (default 1: the load balancer). Each appends the address it received the request from
# to X-Forwarded-For, so the client is the PROXY_COUNT-th entry from the right; anything left of
# it was written by the client and is not trusted. python-ipware counts only the proxies named
# inside the header (the last proxy is REMOTE_ADDR, not in it), hence the minus one.
PROXY_COUNT = env.int("PROXY_COUNT", default=1)
if PROXY_COUNT < 1:
    raise ImproperlyConfigured("PROXY_COUNT must be at least 1 (the proxy in front of Django)")
AXES_IPWARE_PROXY_COUNT = PROXY_COUNT - 1
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
IPWARE_STRICT = False
# Redis is the cache here, so django-ratelimit's shared-cache error (E003) must not be silenced.
# Its W001 only says Django's own RedisCache is not on its list; that backend's incr is Redis
# INCR, atomic, which is all the throttle needs.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Private files in a bucket need the bucket named: never a guess, never a fallback to the disk.
if PRIVATE_FILES_BACKEND == "s3" and not AWS_STORAGE_BUCKET_NAME:
    raise ImproperlyConfigured("PRIVATE_FILES_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")

# Structured logs: one JSON object per line (level, logger, request id, message) for the log
# pipeline; the same filter keeps the request id on every line.
# A copy: base's dict stays as it is for anything else that imports it.
LOGGING = copy.deepcopy(LOGGING)  # noqa: F405
LOGGING["handlers"]["console"]["formatter"] = "json"
