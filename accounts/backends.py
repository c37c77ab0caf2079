from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """ModelBackend whose username is the email address (see UserManager.get_by_natural_key)."""
