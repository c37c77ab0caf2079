"""Throttles for forms anyone can post that send email or store an address.

Built on django-ratelimit (fixed windows in the shared cache). Each protected view is
limited per client IP and per email address, so neither many addresses from one machine nor
one address from many machines gets through. Over a limit the view raises Ratelimited and
django_ratelimit.middleware.RatelimitMiddleware renders core.views.ratelimited (a 429).
"""

from django.http import HttpRequest

from accounts.throttling import normalise_login_email
from core import http

# "count/period". Generous for a person, tight for a script.
SIGNUP_PER_IP = "10/h"
SIGNUP_PER_EMAIL = "3/h"
RESET_PER_IP = "5/m"
RESET_PER_EMAIL = "3/h"
WAITLIST_PER_IP = "20/h"
WAITLIST_PER_USER = "5/h"
# Each request emails a link: enough for a lost message, too few to flood an inbox.
VERIFY_RESEND_PER_USER = "5/h"
# Each try tests a guess at the current password: a borrowed session must not become an
# unlimited password oracle.
PASSWORD_CHANGE_PER_USER = "10/h"  # noqa: S105 (a rate, not a password)


def client_ip(request: HttpRequest) -> str:
    """core.http.client_ip (the address axes locks out) as the throttles' key
    (settings.RATELIMIT_IP_META_KEY), so they see the client behind the proxy in production
    rather than the proxy itself."""
    # Never empty: django-ratelimit parses the value as an address. Clients without one share
    # a bucket, which is the safe direction for a throttle.
    return http.client_ip(request) or "0.0.0.0"  # noqa: S104


def posted_email(group: str, request: HttpRequest) -> str:
    """A key for the posted `email`, in every case variant alike. A missing address is its own
    key (the form refuses it anyway)."""
    return normalise_login_email(request.POST.get("email")) or ""
