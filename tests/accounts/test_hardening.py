"""Lockouts behind the proxy, case variants, sign-up that reveals no account, and throttles."""

import types
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory

User = get_user_model()
pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # the load balancer: every request reaches Django from here
ATTACKER = "81.2.69.142"
OWNER = "93.184.216.34"


# The settings that decide the client IP, as production.py leaves them.
CLIENT_IP_SETTINGS = [
    "AXES_CLIENT_IP_CALLABLE",
    "AXES_IPWARE_PROXY_ORDER",
    "AXES_IPWARE_PROXY_COUNT",
    "AXES_IPWARE_PROXY_TRUSTED_IPS",
    "AXES_IPWARE_META_PRECEDENCE_ORDER",
    "IPWARE_STRICT",
    "RATELIMIT_IP_META_KEY",
]


def production_settings(monkeypatch, **environment: str) -> dict:
    """Run config/settings/production.py against a made-up environment and return its names.

    The environment is handed to django-environ only (never os.environ), so this test run's
    own database and cache settings are untouched."""
    import environ
    from cryptography.fernet import Fernet

    fake = {
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "clinic.example",
        "DATABASE_URL": "postgres://u:p@db.invalid/clinic",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "REDIS_URL": "redis://cache.invalid:6379/0",
        "MDI_API_BASE_URL": "https://mdi.invalid/api",
        "MDI_CLIENT_ID": "id",
        "MDI_CLIENT_SECRET": "secret",
        "MDI_WEBHOOK_SECRET": "s",
        "MDI_WEBHOOK_AUTHORIZATION": "Bearer s",
        "STRIPE_SECRET_KEY": "sk_test_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
        **environment,
    }
    monkeypatch.setattr(environ.Env, "ENVIRON", fake)
    path = settings_module_path("production")
    namespace = {"__name__": "config.settings._production_probe", "__package__": "config.settings"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102
    return namespace


def settings_module_path(name: str):
    import config.settings

    return Path(config.settings.__file__).parent / f"{name}.py"


@pytest.fixture
def behind_one_proxy(settings, monkeypatch):
    """The client-IP settings exactly as production.py computes them for one proxy."""
    production = production_settings(monkeypatch, PROXY_COUNT="1")
    for name in CLIENT_IP_SETTINGS:
        if name in production:
            setattr(settings, name, production[name])


@pytest.fixture
def frozen_throttle_clock(monkeypatch):
    """One fixed instant, so a throttle's window cannot roll over in the middle of a test."""
    import django_ratelimit.core

    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: 1.7e9))


def _login(client, email, password, forwarded_for=None, remote_addr=PROXY):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, **extra
    )


# --- 1. The lockout is keyed on the client behind the proxy, never on the proxy -------------


def test_behind_the_proxy_an_attacker_locks_only_their_own_address(behind_one_proxy):
    owner = UserFactory(email="victim@example.com")
    attacker = Client()
    for attempt in range(5):
        # Half the tries forge the owner's address in front; the proxy appends the real one.
        forged = f"{OWNER}, {ATTACKER}" if attempt % 2 else ATTACKER
        _login(attacker, "victim@example.com", "wrong", forwarded_for=forged)
    assert _login(attacker, "victim@example.com", DEFAULT_PASSWORD, ATTACKER).status_code == 429

    owner_client = Client()
    response = _login(owner_client, "victim@example.com", DEFAULT_PASSWORD, forwarded_for=OWNER)
    assert response.status_code == 302
    assert owner_client.session["_auth_user_id"] == str(owner.pk)


def test_without_a_proxy_a_forged_forwarded_for_does_not_escape_the_lockout(client):
    UserFactory(email="victim@example.com")
    for n in range(5):
        _login(client, "victim@example.com", "wrong", f"81.2.69.{n}", remote_addr=ATTACKER)
    response = _login(client, "victim@example.com", DEFAULT_PASSWORD, "81.2.69.99", ATTACKER)
    assert response.status_code == 429


# --- 2. Every case variant of one email shares one counter --------------------------------


def test_case_and_space_variants_of_an_email_share_one_lockout(client):
    UserFactory(email="victim@example.com")
    variants = [
        "victim@example.com",
        "Victim@Example.com",
        "VICTIM@EXAMPLE.COM",
        " victim@example.com",
    ]
    for variant in [*variants, "victim@Example.com"]:
        _login(client, variant, "wrong")
    response = _login(client, "Victim@Example.com", DEFAULT_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


# --- 3. Sign-up does not reveal accounts; throttles ---------------------------------------


def _signup(client, email, password="a-long-unusual-pass", password2=None, **extra):
    return client.post(
        reverse("accounts:signup"),
        {"email": email, "password1": password, "password2": password2 or password},
        **extra,
    )


def test_signup_with_an_existing_email_is_accepted_like_a_new_one_and_emails_the_owner(settings):
    settings.SITE_NAME = "Acme Health"
    settings.SITE_URL = "https://acme.example"
    owner = UserFactory(email="taken@example.com")

    fresh = _signup(Client(), "fresh@example.com")
    taken_client = Client()
    taken = _signup(taken_client, "Taken@Example.com")

    # Both are answered identically: the same redirect to the inbox page, nobody signed in.
    assert fresh.status_code == taken.status_code == 302
    assert fresh.url == taken.url == reverse("accounts:signup_check_email")
    assert "_auth_user_id" not in taken_client.session
    page = taken_client.get(taken.url).content.decode()
    assert "Check your email" in page
    assert "already" not in page.replace("Already have an account?", "")
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    owner.refresh_from_db()
    assert owner.check_password(DEFAULT_PASSWORD)

    notices = [m for m in mail.outbox if m.to == ["taken@example.com"]]
    assert len(notices) == 1
    assert "Someone tried to sign up to Acme Health" in notices[0].subject
    assert "https://acme.example/accounts/login/" in notices[0].body
    assert "https://acme.example/accounts/password-reset/" in notices[0].body
    assert "a-long-unusual-pass" not in notices[0].body


def test_signup_is_throttled_per_email_in_any_case(frozen_throttle_clock):
    for n in range(3):
        _signup(
            Client(),
            "Someone@Example.com" if n else "someone@example.com",
            REMOTE_ADDR=f"81.2.69.{n}",
        )
    response = _signup(Client(), "SOMEONE@example.com", REMOTE_ADDR="81.2.69.50")
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()


def test_signup_is_throttled_per_client_ip(frozen_throttle_clock):
    client = Client()
    for n in range(10):
        # Mismatched passwords: every post counts, whatever the form says.
        _signup(client, f"person{n}@example.com", password2="something-else-entirely")
    assert _signup(client, "person99@example.com").status_code == 429
    assert not User.objects.exists()


def test_the_sixth_password_reset_in_a_minute_from_one_ip_is_refused(client, frozen_throttle_clock):
    for n in range(5):
        response = client.post(reverse("accounts:password_reset"), {"email": f"p{n}@example.com"})
        assert response.status_code == 302
    response = client.post(reverse("accounts:password_reset"), {"email": "p6@example.com"})
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()


def test_password_reset_is_throttled_per_email_across_ips(frozen_throttle_clock):
    UserFactory(email="flooded@example.com")
    for n in range(3):
        Client().post(
            reverse("accounts:password_reset"),
            {"email": "Flooded@example.com"},
            REMOTE_ADDR=f"81.2.69.{n}",
        )
    response = Client().post(
        reverse("accounts:password_reset"),
        {"email": "flooded@example.com"},
        REMOTE_ADDR="81.2.69.9",
    )
    assert response.status_code == 429
    assert len(mail.outbox) == 3


def test_the_throttle_uses_the_client_behind_the_proxy(behind_one_proxy, frozen_throttle_clock):
    for n in range(5):
        Client().post(
            reverse("accounts:password_reset"),
            {"email": f"p{n}@example.com"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=ATTACKER,
        )
    blocked = Client().post(
        reverse("accounts:password_reset"),
        {"email": "p9@example.com"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=ATTACKER,
    )
    other = Client().post(
        reverse("accounts:password_reset"),
        {"email": "p9@example.com"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=OWNER,
    )
    assert (blocked.status_code, other.status_code) == (429, 302)


def test_with_two_proxies_the_client_is_the_second_entry_from_the_right(settings, monkeypatch):
    production = production_settings(monkeypatch, PROXY_COUNT="2")
    for name in CLIENT_IP_SETTINGS:
        if name in production:
            setattr(settings, name, production[name])
    from django.test import RequestFactory

    from core.ratelimit import client_ip

    request = RequestFactory().post(
        "/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{OWNER}, {ATTACKER}, 172.16.0.9"
    )
    assert client_ip(request) == ATTACKER


def test_production_refuses_a_proxy_count_below_one(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="PROXY_COUNT"):
        production_settings(monkeypatch, PROXY_COUNT="0")
