"""The one way a test signs a staff user in.

Staff sign-in is about to need a second factor (TOTP) for the admin; only this function will
change then, so no staff test may call `client.force_login` itself and bypass it.
"""

from django.test import Client

from accounts.models import User


def staff_login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client
