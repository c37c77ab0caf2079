"""Two-step sign-in with an authenticator app (TOTP), on django-otp.

django-otp keeps the device, checks codes (with replay protection and growing delays after
wrong codes) and marks a session verified; this module only decides who must use it and
walks a user through adding a device. Staff must: nothing in admin opens without it. Patients
may turn it on from their account page.
"""

import django_otp
import segno
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.exceptions import DomainError
from core.models import SecurityEventKind
from core.security import security_event_record

DEVICE_NAME = "Authenticator app"


class CodeRefused(DomainError):
    pass


WRONG_CODE = (
    "That code didn't match. Codes change every 30 seconds: enter the one your app shows now."
)
TOO_MANY = "Too many wrong codes. Wait a minute, then enter the code your app shows."


def mfa_required(user: AbstractBaseUser) -> bool:
    """Whether this user may do nothing until a second factor verifies the session."""
    return user.is_staff or user.two_factor_enabled


def mfa_flag_sync(*, user_id: int) -> None:
    """Keep User.two_factor_enabled equal to "has a confirmed device", whoever changed the
    devices (these services, or an administrator deleting a lost one in admin)."""
    from accounts.models import User

    enabled = TOTPDevice.objects.filter(user_id=user_id, confirmed=True).exists()
    User.objects.filter(pk=user_id).exclude(two_factor_enabled=enabled).update(
        two_factor_enabled=enabled
    )


def mfa_device_pending(*, user: AbstractBaseUser) -> TOTPDevice:
    """The not-yet-confirmed device being set up (one at a time; a new visit keeps the
    secret already shown, so a code from an app that scanned it still works)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def mfa_qr_svg(*, device: TOTPDevice) -> str:
    """The otpauth:// address as an inline SVG QR code: drawn here, no third-party service
    ever sees the secret."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, border=2)


def _check(request: HttpRequest, device: TOTPDevice, code: str) -> None:
    allowed, _ = device.verify_is_allowed()
    if allowed and device.verify_token("".join(code.split())):
        return
    # Someone with the password guessing codes is what this event is for.
    security_event_record(
        kind=SecurityEventKind.SECOND_FACTOR_FAILED,
        request=request,
        detail="throttled" if not allowed else "wrong code",
    )
    raise CodeRefused(TOO_MANY if not allowed else WRONG_CODE)


@transaction.atomic
def mfa_device_confirm(*, request: HttpRequest, code: str) -> TOTPDevice:
    """Turn the pending device on once the user proves their app produces its codes, and
    mark this session verified. Any earlier device is replaced: one app per account."""
    device = mfa_device_pending(user=request.user)
    _check(request, device, code)
    TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    request.user.refresh_from_db(fields=["two_factor_enabled"])
    # The session hash covers the flag: every other session ends, this one stays.
    update_session_auth_hash(request, request.user)
    django_otp.login(request, device)
    return device


def mfa_verify(*, request: HttpRequest, code: str) -> TOTPDevice:
    """Second step of sign-in: the code from the user's confirmed device."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if device is None:
        raise CodeRefused("Two-step sign-in is not set up for this account.")
    _check(request, device, code)
    django_otp.login(request, device)
    return device


def mfa_disable(*, request: HttpRequest) -> None:
    """For patients only (staff cannot turn it off; an administrator can reset a lost one)."""
    if request.user.is_staff:
        raise DomainError("Staff accounts must keep two-step sign-in.")
    TOTPDevice.objects.filter(user=request.user).delete()
    request.user.refresh_from_db(fields=["two_factor_enabled"])
    update_session_auth_hash(request, request.user)
