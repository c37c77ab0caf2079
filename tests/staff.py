"""The one way tests sign staff in to the admin. When the admin asks for a second factor, this
function is the only place tests need to learn it."""

from django.test import Client

from accounts.models import User


def staff_login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client
