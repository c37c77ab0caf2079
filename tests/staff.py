"""Signing staff into admin in tests: always with a verified second factor, as in life.

Every admin test goes through staff_login (or the admin_client fixture, which uses it), so no
test reaches admin in a way a real staff member could not."""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def staff_login(client, user):
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)
    user.refresh_from_db()  # the device turned two_factor_enabled on, which the session hash covers
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
