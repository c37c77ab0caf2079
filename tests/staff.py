"""The one way a test signs a staff member in to the admin (/staff/). Keep every admin test on
it: when staff sign-in gains a second factor, only this helper changes."""


def staff_login(client, user):
    client.force_login(user)
    return client
