from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True  # this module also declares the admin's config, below
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (connects the receivers)


class StaffAdminConfig(admin_apps.AdminConfig):
    """Django admin whose default site requires a verified second factor (Django's documented
    way to replace the default site, so every app's registrations land on it)."""

    default = False  # named explicitly in INSTALLED_APPS
    default_site = "accounts.admin_site.StaffAdminSite"
